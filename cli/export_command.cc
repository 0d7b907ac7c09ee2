#include "cli/export_command.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/display_format.h"
#include "cli/trial_config.h"

namespace sweep {
namespace {

constexpr const char* kTrialColumns[] = {"number",
                                         "state",
                                         "best_value",
                                         "created",
                                         "ended",
                                         "duration_s",
                                         "exit_code",
                                         "signal",
                                         "agent",
                                         "host",
                                         "end_reason",
                                         "stop_decision.rule",
                                         "stop_decision.band",
                                         "stop_decision.value",
                                         "stop_decision.threshold"};
constexpr char kConfigPrefix[] = "config.";
constexpr char kSummaryPrefix[] = "summary.";

Value NullIfEmpty(const std::string& text) {
  return text.empty() ? Value(nullptr) : Value(text);
}

// The columns every trial has, before its parameters and metrics.
Value TrialFields(const v1::Trial& trial) {
  const bool ended = trial.ended_ms() != 0;
  Value row = Value::object();
  row["number"] = trial.number();
  row["state"] = TrialStateName(trial.state());
  row["best_value"] =
      trial.has_best_value() ? Value(trial.best_value()) : Value(nullptr);
  row["created"] = NullIfEmpty(FormatIsoTime(trial.created_ms()));
  row["ended"] = NullIfEmpty(FormatIsoTime(trial.ended_ms()));
  row["duration_s"] =
      ended && trial.created_ms() != 0
          ? Value(static_cast<double>(trial.ended_ms() - trial.created_ms()) /
                  1000.0)
          : Value(nullptr);
  row["exit_code"] =
      trial.has_exit_code() ? Value(trial.exit_code()) : Value(nullptr);
  row["signal"] = trial.has_signal() ? Value(trial.signal()) : Value(nullptr);
  row["agent"] = NullIfEmpty(trial.agent_id());
  row["host"] = NullIfEmpty(trial.host());
  row["end_reason"] = NullIfEmpty(trial.end_reason());
  const bool stopped = trial.has_stop_decision();
  const v1::StopDecision& stop = trial.stop_decision();
  row["stop_decision.rule"] = stopped ? Value(stop.rule()) : Value(nullptr);
  row["stop_decision.band"] = stopped ? Value(stop.band()) : Value(nullptr);
  row["stop_decision.value"] = stopped ? Value(stop.value()) : Value(nullptr);
  row["stop_decision.threshold"] =
      stopped ? Value(stop.threshold()) : Value(nullptr);
  return row;
}

// Metrics are stored as doubles, so whether the program logged 4 or 4.0 is
// lost; an integral value (an epoch, a step or sample count) is exported as
// an integer, so that pandas reads such a column as integers.
Value MetricValue(double value) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53.
  if (std::trunc(value) == value && std::abs(value) <= kExactIntegers) {
    return Value(static_cast<int64_t>(value));
  }
  return Value(value);
}

// The parameters and metrics of a trial under their prefixed column names.
std::vector<std::pair<std::string, Value>> ParameterAndMetricFields(
    const v1::Trial& trial) {
  std::vector<std::pair<std::string, Value>> fields;
  for (auto& [name, value] :
       FlattenConfig(ParseTrialConfig(trial.config_json()))) {
    fields.emplace_back(absl::StrCat(kConfigPrefix, name), std::move(value));
  }
  for (const auto& [name, value] : trial.summary()) {
    fields.emplace_back(absl::StrCat(kSummaryPrefix, name), MetricValue(value));
  }
  return fields;
}

std::string CsvCell(const Value& value) {
  if (value.is_null()) return "";
  if (value.is_number_float()) {
    const double number = value.get<double>();
    // "nan", not an empty cell: a diverged run differs from a metric never
    // logged (pandas reads both as NaN).
    if (std::isnan(number)) return "nan";
    if (std::isinf(number)) return number > 0 ? "inf" : "-inf";
    return DumpJson(value);
  }
  return CsvField(FormatConfigValue(value));
}

std::string CsvLine(const std::vector<std::string>& fields) {
  return absl::StrCat(absl::StrJoin(fields, ","), "\n");
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file << contents;
  if (file) file.close();
  if (!file) {
    // A local failure, not the controller's (which exits 3, "retry").
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(text);
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

ExportTable BuildExportTable(const TrialList& trials,
                             const std::string& metric_name) {
  std::vector<Value> fixed;
  std::vector<std::vector<std::pair<std::string, Value>>> dynamic;
  std::set<std::string> config_columns;
  std::set<std::string> summary_columns;
  if (!metric_name.empty()) {
    summary_columns.insert(absl::StrCat(kSummaryPrefix, metric_name));
  }
  for (const v1::Trial& trial : trials) {
    fixed.push_back(TrialFields(trial));
    dynamic.push_back(ParameterAndMetricFields(trial));
    for (const auto& [name, value] : dynamic.back()) {
      (name.rfind(kConfigPrefix, 0) == 0 ? config_columns : summary_columns)
          .insert(name);
    }
  }
  ExportTable table;
  table.columns.assign(std::begin(kTrialColumns), std::end(kTrialColumns));
  table.columns.insert(table.columns.end(), config_columns.begin(),
                       config_columns.end());
  table.columns.insert(table.columns.end(), summary_columns.begin(),
                       summary_columns.end());
  // By name, not by an ordered_json lookup (a scan of the object): a trial
  // can log tens of thousands of metric names.
  absl::flat_hash_map<std::string, Value*> cells;
  for (std::size_t i = 0; i < fixed.size(); ++i) {
    cells.clear();
    for (auto& [name, value] : fixed[i].items()) cells[name] = &value;
    for (auto& [name, value] : dynamic[i]) cells[name] = &value;
    std::vector<Value> row;
    row.reserve(table.columns.size());
    for (const std::string& column : table.columns) {
      const auto it = cells.find(column);
      row.push_back(it == cells.end() ? Value(nullptr)
                                      : std::move(*it->second));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string FormatExportCsv(const ExportTable& table) {
  std::vector<std::string> header;
  for (const std::string& column : table.columns) {
    header.push_back(CsvField(column));
  }
  std::string csv = CsvLine(header);
  for (const std::vector<Value>& row : table.rows) {
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const Value& cell : row) cells.push_back(CsvCell(cell));
    csv += CsvLine(cells);
  }
  return csv;
}

std::string FormatExportJson(const ExportTable& table) {
  if (table.rows.empty()) return "[]\n";
  // One object per line: still one JSON document, and easy to grep.
  const auto dump = [](const Value& value) {
    if (value.is_number_float() && !std::isfinite(value.get<double>())) {
      // JSON has no NaN or infinity: protobuf's names, as `trials --json`
      // gives them (pandas.read_json reads them as numbers).
      const double number = value.get<double>();
      return std::string(std::isnan(number) ? "\"NaN\""
                         : number > 0       ? "\"Infinity\""
                                            : "\"-Infinity\"");
    }
    return DumpJson(value);
  };
  std::vector<std::string> keys;
  keys.reserve(table.columns.size());
  for (const std::string& column : table.columns) keys.push_back(dump(column));
  std::vector<std::string> objects;
  for (const std::vector<Value>& row : table.rows) {
    std::string object = "{";
    for (std::size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&object, i == 0 ? "" : ",", keys[i], ":", dump(row[i]));
    }
    objects.push_back(object + "}");
  }
  return absl::StrCat("[\n", absl::StrJoin(objects, ",\n"), "\n]\n");
}

int RunExport(const ExportOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err) {
  const absl::StatusOr<std::string> sweep_id =
      SweepIdOrNewest(options.sweep_id, client, err);
  if (!sweep_id.ok()) return ReportFailure(sweep_id.status(), err);
  const absl::StatusOr<v1::ListTrialsResponse> trials =
      client.ListTrials(*sweep_id, /*after_number=*/0, /*limit=*/0,
                        /*include_history=*/false);
  if (!trials.ok()) return ReportFailure(trials.status(), err);
  // The sweep's metric always has its column, so that
  // df["summary.<metric>"] works before any trial has logged it.
  const absl::StatusOr<v1::Sweep> sweep = client.GetSweep(*sweep_id);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  const ExportTable table =
      BuildExportTable(trials->trials(), sweep->metric_name());
  const std::string text = options.format == "json" ? FormatExportJson(table)
                                                    : FormatExportCsv(table);
  if (options.output.empty()) {
    out << text;
    return 0;
  }
  const absl::Status written = WriteFile(options.output, text);
  if (!written.ok()) return ReportFailure(written, err);
  out << "Exported " << table.rows.size() << " trials of sweep " << *sweep_id
      << " to " << options.output << "\n";
  return 0;
}

void RegisterExportCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand(
      "export", "Write every trial of a sweep as one flat row, CSV or JSON");
  command->footer(
      "Columns: number, state, best_value, created, ended (ISO 8601 UTC), "
      "duration_s, exit_code, signal, agent, host, end_reason, "
      "stop_decision.rule, .band, .value and .threshold (for a trial an early "
      "termination rule stopped), then config.<param> for each parameter "
      "(nested ones dotted: config.optimizer.lr) and summary.<metric> for the "
      "last logged value of each metric (the sweep's metric always has its "
      "column), the names pandas.json_normalize gives. Columns are the union "
      "over all trials; missing values are empty (CSV) or null (JSON); NaN "
      "and infinities are nan, inf, -inf in CSV and \"NaN\", \"Infinity\", "
      "\"-Infinity\" in JSON (pandas reads both as numbers).\n"
      "  pandas: pd.read_csv(\"trials.csv\") or pd.read_json(\"trials.json\")");
  AddOptionalSweepIdArgument(command, &options->sweep_id);
  command->add_option("--format", options->format, "csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "json"}));
  command->add_option("--output,-o", options->output,
                      "Write to this file instead of stdout");
  BindControllerCommand<ExportOptions>(command, options, RunExport, run);
}

}  // namespace sweep
