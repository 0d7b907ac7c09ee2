#include "controller/trial_rows.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "search/early_stopping.h"
#include "search/value.h"

namespace sweep {

nlohmann::json StoredDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

double DoubleFromStored(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value == "Infinity") return std::numeric_limits<double>::infinity();
  if (value == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::quiet_NaN();
}

std::string PredictionToJson(double mean, double stddev, double acquisition) {
  return nlohmann::json{{"mean", StoredDouble(mean)},
                        {"stddev", StoredDouble(stddev)},
                        {"acquisition", StoredDouble(acquisition)}}
      .dump();
}

std::string SummaryToJson(const absl::flat_hash_map<std::string, double>& m) {
  std::vector<std::pair<std::string, double>> sorted(m.begin(), m.end());
  std::sort(sorted.begin(), sorted.end());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : sorted) out[key] = StoredDouble(value);
  return out.dump();
}

absl::flat_hash_map<std::string, double> SummaryFromJson(
    const std::string& json) {
  absl::flat_hash_map<std::string, double> out;
  const nlohmann::json parsed =
      nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return out;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_number() || value == "NaN" || value == "Infinity" ||
        value == "-Infinity") {
      out[key] = DoubleFromStored(value);
    }
  }
  return out;
}

TrialState SearchStateOf(int wire_state) {
  switch (wire_state) {
    case v1::TRIAL_STATE_FINISHED:
      return TrialState::kFinished;
    case v1::TRIAL_STATE_FAILED:
      return TrialState::kFailed;
    case v1::TRIAL_STATE_CRASHED:
      return TrialState::kCrashed;
    case v1::TRIAL_STATE_KILLED:
      return TrialState::kKilled;
    case v1::TRIAL_STATE_STOPPED:
      return TrialState::kStopped;
    default:
      return TrialState::kRunning;
  }
}

std::optional<std::pair<std::string, int64_t>> StoppedAt(
    const std::string& stop_json) {
  if (stop_json.empty()) return std::nullopt;
  const nlohmann::json stop =
      nlohmann::json::parse(stop_json, nullptr, /*allow_exceptions=*/false);
  if (!stop.is_object()) return std::nullopt;
  const nlohmann::json& rule = stop.value("rule", nlohmann::json());
  const nlohmann::json& band = stop.value("band", nlohmann::json());
  return std::pair(rule.is_string() ? rule.get<std::string>() : "",
                   band.is_number_integer() ? band.get<int64_t>() : 0);
}

std::optional<double> SearchObjective(const TrialRow& row) {
  if (row.state == v1::TRIAL_STATE_STOPPED) {
    const auto stop = StoppedAt(row.stop_json);
    if (stop && stop->first == kDivergedRule) return std::nullopt;
  }
  return row.best_value;
}

std::optional<Point> PointOfRow(const TrialRow& row, const SweepSpec& spec) {
  const Value parsed =
      Value::parse(row.point_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != spec.parameters.size()) {
    return std::nullopt;
  }
  return Point(parsed.begin(), parsed.end());
}

void TrialToProto(const TrialRow& row, v1::Trial* out) {
  out->set_sweep_id(row.sweep_id);
  out->set_number(row.number);
  out->set_state(static_cast<v1::TrialState>(row.state));
  out->set_config_json(row.config_json);
  out->set_agent_id(row.agent_id);
  out->set_host(row.host);
  out->set_created_ms(row.created_ms);
  if (row.ended_ms != 0) out->set_ended_ms(row.ended_ms);
  if (row.ended_ms != 0) {
    // A crashed trial's agent reported no exit (it died, or the trial's
    // lease ran out) unless it gave a status or a signal.
    if (row.signal != 0) {
      out->set_signal(row.signal);
    } else if (row.state != v1::TRIAL_STATE_CRASHED || row.exit_code != 0) {
      out->set_exit_code(row.exit_code);
    }
  }
  for (const auto& [key, value] : SummaryFromJson(row.summary_json)) {
    (*out->mutable_summary())[key] = value;
  }
  if (row.best_value) out->set_best_value(*row.best_value);
  out->set_log_tail(row.log_tail);
  const nlohmann::json prediction = nlohmann::json::parse(
      row.prediction_json, nullptr, /*allow_exceptions=*/false);
  if (prediction.is_object()) {
    // Tolerant: a row written before non-finite values were kept has a
    // null where the value was infinite.
    const auto number = [&](const char* key) {
      return DoubleFromStored(prediction.value(key, nlohmann::json()));
    };
    out->mutable_prediction()->set_mean(number("mean"));
    out->mutable_prediction()->set_stddev(number("stddev"));
    out->mutable_prediction()->set_acquisition(number("acquisition"));
  }
  const nlohmann::json stop =
      nlohmann::json::parse(row.stop_json, nullptr, /*allow_exceptions=*/false);
  if (stop.is_object()) {
    const nlohmann::json& rule = stop.value("rule", nlohmann::json());
    const nlohmann::json& band = stop.value("band", nlohmann::json());
    out->mutable_stop_decision()->set_rule(
        rule.is_string() ? rule.get<std::string>() : "");
    out->mutable_stop_decision()->set_band(
        band.is_number_integer() ? band.get<int64_t>() : 0);
    out->mutable_stop_decision()->set_value(
        DoubleFromStored(stop.value("value", nlohmann::json())));
    out->mutable_stop_decision()->set_threshold(
        DoubleFromStored(stop.value("threshold", nlohmann::json())));
  }
  out->set_end_reason(row.end_reason);
  out->set_metric_points(row.metric_points);
  out->set_malformed_metric_lines(row.malformed_lines);
}

std::vector<MetricPointRow> PointsFromProto(
    const google::protobuf::RepeatedPtrField<v1::MetricPoint>& points) {
  std::vector<MetricPointRow> rows;
  rows.reserve(points.size());
  for (const v1::MetricPoint& p : points) {
    MetricPointRow row;
    row.step = p.step();
    row.time_ms = p.time_ms();
    row.values.assign(p.values().begin(), p.values().end());
    std::sort(row.values.begin(), row.values.end());
    rows.push_back(std::move(row));
  }
  return rows;
}

void PointToProto(const MetricPointRow& row, v1::MetricPoint* out) {
  out->set_step(row.step);
  out->set_time_ms(row.time_ms);
  for (const auto& [key, value] : row.values) {
    (*out->mutable_values())[key] = value;
  }
}

bool IsBetter(Goal goal, double a, double b) {
  return goal == Goal::kMaximize ? a > b : a < b;
}

}  // namespace sweep
