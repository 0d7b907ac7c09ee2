#include "cli/sweep_format.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/display_format.h"
#include "cli/table.h"
#include "cli/trial_format.h"
#include "search/value.h"

namespace sweep {
namespace {

using Align = TableColumn::Align;

std::string MethodSummary(const v1::Sweep& sweep) {
  std::string summary = sweep.method();
  if (sweep.grid_points() > 0) {
    absl::StrAppend(&summary, ", ", sweep.grid_points(),
                    sweep.grid_points() == 1 ? " point" : " points");
  }
  if (sweep.run_cap() > 0)
    absl::StrAppend(&summary, ", run_cap ", sweep.run_cap());
  return summary;
}

std::string StateWithReason(const v1::Sweep& sweep) {
  std::string state = SweepStateName(sweep.state());
  if (!sweep.state_reason().empty()) {
    absl::StrAppend(&state, " (", sweep.state_reason(), ")");
  }
  return state;
}

std::string BestCell(const v1::Sweep& sweep) {
  if (sweep.best_trial() == 0 || !sweep.has_best_value()) return kMissingCell;
  return absl::StrCat(FormatMetricValue(sweep.best_value()), " (#",
                      sweep.best_trial(), ")");
}

// "12 (3 running, 7 finished, 2 failed)", naming only states that occur.
std::string CountsField(const v1::TrialCounts& counts) {
  const std::pair<const char*, int64_t> by_state[] = {
      {"running", counts.running()}, {"finished", counts.finished()},
      {"failed", counts.failed()},   {"crashed", counts.crashed()},
      {"killed", counts.killed()},   {"stopped", counts.stopped()}};
  std::vector<std::string> parts;
  for (const auto& [state, count] : by_state) {
    if (count > 0) parts.push_back(absl::StrCat(count, " ", state));
  }
  std::string field = absl::StrCat(counts.total());
  if (!parts.empty())
    absl::StrAppend(&field, " (", absl::StrJoin(parts, ", "), ")");
  return field;
}

std::string MetricField(const v1::Sweep& sweep) {
  if (sweep.metric_name().empty()) return "none";
  return absl::StrCat(sweep.metric_name(), " (", sweep.goal(), ")");
}

std::string BestField(const v1::Sweep& sweep) {
  if (sweep.best_trial() == 0 || !sweep.has_best_value()) {
    const bool ended = sweep.state() == v1::SWEEP_STATE_FINISHED ||
                       sweep.state() == v1::SWEEP_STATE_CANCELED;
    return ended ? "none" : "none yet";
  }
  return absl::StrCat("#", sweep.best_trial(), ", ", sweep.metric_name(), " = ",
                      FormatMetricValue(sweep.best_value()));
}

std::string Percent(int64_t part, uint64_t whole) {
  return absl::StrCat(static_cast<int64_t>(100.0 * static_cast<double>(part) /
                                           static_cast<double>(whole)),
                      "%");
}

// Trials started against the sweep's bounds: grid points and run_cap.
std::string ProgressField(const v1::Sweep& sweep) {
  const int64_t total = sweep.counts().total();
  std::vector<std::string> parts;
  if (sweep.grid_points() > 0) {
    // Points handed out again (a failed one under sweep.retry_failed, a
    // lost one) make more trials than points, not progress past 100%. A
    // lost trial's point is run again: it is not progress.
    const uint64_t points = sweep.grid_points();
    const int64_t covered = total - sweep.counts().crashed();
    parts.push_back(
        static_cast<uint64_t>(covered) <= points
            ? absl::StrCat(covered, " of ", points, " grid points (",
                           Percent(covered, points), ")")
            : absl::StrCat(total, " trials for ", points,
                           " grid points (some rerun after a failure or a "
                           "lost agent)"));
  }
  if (sweep.run_cap() > 0) {
    parts.push_back(absl::StrCat(
        total, " of run_cap ", sweep.run_cap(), " (",
        Percent(total, static_cast<uint64_t>(sweep.run_cap())), ")"));
  }
  return absl::StrJoin(parts, "; ");
}

// The JSON indented under a heading; text that is not JSON is shown as is.
std::string PrettyJson(const std::string& json) {
  const Value parsed =
      Value::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return json;
  return DumpJson(parsed, 2);
}

// A number of the stopping rule's description, as text ("-" when absent).
std::string NumberText(const Value& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return FormatMetricValue(v.get<double>());
  return std::string(kMissingCell);
}

// The line on diverged trials under a rule's state, when the description
// has one.
std::string DivergedText(const Value& d) {
  const Value& diverged = d.value("diverged", Value());
  if (!diverged.is_object()) return "";
  return absl::StrCat(
      "  diverged (metric not finite for ",
      NumberText(diverged.value("after", Value())),
      " values in a row): ", NumberText(diverged.value("stopped", Value())),
      " stopped\n");
}

// The stopping rule's state (the controller's description: rule, settings,
// and per band or rung the trials that reached it, the current threshold and
// how many it stopped) as a heading line and a table; nullopt for a
// description of another shape, which is then shown as JSON.
std::optional<std::string> EarlyTerminationText(const std::string& json) {
  const Value d =
      Value::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!d.is_object() || !d.contains("rule") || !d["rule"].is_string()) {
    return std::nullopt;
  }
  const std::string rule = d["rule"].get<std::string>();
  std::string heading;
  std::string unit;
  const char* list = nullptr;
  if (rule == "hyperband") {
    heading = absl::StrCat(
        "hyperband (eta ", NumberText(d.value("eta", Value())),
        d.value("strict", Value()) == Value(true) ? ", strict" : ", not strict",
        ")");
    unit = "band";
    list = "bands";
  } else if (rule == "asha") {
    heading =
        absl::StrCat("asha (reduction factor ",
                     NumberText(d.value("reduction_factor", Value())), ")");
    unit = "rung";
    list = "rungs";
  } else if (rule == "median") {
    return absl::StrCat(
        "median (warm-up ", NumberText(d.value("warmup_steps", Value())),
        " iterations, at least ", NumberText(d.value("min_trials", Value())),
        " other trials): ", NumberText(d.value("stopped", Value())),
        " stopped, ", NumberText(d.value("steps_seen", Value())),
        " iterations seen\n", DivergedText(d));
  } else {
    return std::nullopt;
  }
  if (!d.contains(list) || !d[list].is_array()) return std::nullopt;
  TextTable table({{absl::AsciiStrToUpper(unit), Align::kRight, 8},
                   {"TRIALS", Align::kRight, 8},
                   {"THRESHOLD", Align::kRight, 14},
                   {"STOPPED", Align::kRight, 8}});
  // Rows up to the first band no trial reached; the rest (W&B's bands from
  // min_iter go on far past any real run) are summed up in one line.
  const Value& bands = d[list];
  size_t shown = 0;
  for (const Value& band : bands) {
    if (!band.is_object()) return std::nullopt;
    ++shown;
    table.AddRow({NumberText(band.value("band", Value())),
                  NumberText(band.value("trials", Value())),
                  NumberText(band.value("threshold", Value())),
                  NumberText(band.value("stopped", Value()))});
    if (band.value("trials", Value()) == Value(0)) break;
  }
  std::string out = absl::StrCat(heading, "\n", IndentLines(table.Render(), 2));
  if (shown < bands.size()) {
    // W&B's bands from min_iter go on without end (here up to 2^40): the
    // next few say where the series goes, a count of them would not.
    constexpr size_t kNamed = 3;
    std::vector<std::string> next;
    for (size_t i = shown; i < bands.size() && next.size() < kNamed; ++i) {
      next.push_back(bands[i].is_object()
                         ? NumberText(bands[i].value("band", Value()))
                         : std::string(kMissingCell));
    }
    absl::StrAppend(&out, "  (more ", list, ": ", absl::StrJoin(next, ", "),
                    bands.size() - shown > kNamed ? ", ..." : "",
                    "; none reached yet)\n");
  }
  absl::StrAppend(&out, DivergedText(d));
  return out;
}

}  // namespace

std::string AgentCommand(const std::string& sweep_id,
                         const std::string& controller_address,
                         bool is_default_address) {
  std::string command = absl::StrCat("sweep agent ", sweep_id);
  if (!is_default_address) {
    absl::StrAppend(&command, " --controller ", controller_address);
  }
  return command;
}

std::string FormatCreatedSweep(const v1::Sweep& sweep,
                               const std::string& controller_address,
                               bool is_default_address) {
  return absl::StrCat(
      "Created sweep ", sweep.id(), " (", MethodSummary(sweep),
      ")\nRun an agent with:\n  ",
      AgentCommand(sweep.id(), controller_address, is_default_address), "\n");
}

std::string FormatTrialProgress(const v1::TrialCounts& counts) {
  if (counts.running() == 0) return absl::StrCat(counts.total());
  return absl::StrCat(counts.total(), " (", counts.running(), " running)");
}

std::string FormatSweepTable(const v1::ListSweepsResponse& response,
                             absl::TimeZone zone) {
  const std::string problem =
      response.controller_problem().empty()
          ? ""
          : absl::StrCat("The controller: ",
                         TerminalText(response.controller_problem()), "\n");
  if (response.sweeps().empty()) {
    return problem.empty()
               ? "No sweeps yet. Create one with `sweep create FILE.yaml`.\n"
               : "No sweeps.\n" + problem;
  }
  TextTable table({{"ID", Align::kLeft, 12},
                   {"NAME", Align::kLeft, 32},
                   {"METHOD", Align::kLeft, 8},
                   {"STATE", Align::kLeft, 10},
                   {"TRIALS", Align::kRight, 16},
                   {"AGENTS", Align::kRight, 6},
                   {"BEST", Align::kRight, 24},
                   {"CREATED", Align::kLeft, 26}});
  for (const v1::Sweep& sweep : response.sweeps()) {
    table.AddRow(
        {sweep.id(), sweep.name().empty() ? kMissingCell : sweep.name(),
         sweep.method(), SweepStateName(sweep.state()),
         FormatTrialProgress(sweep.counts()), absl::StrCat(sweep.agents()),
         BestCell(sweep), FormatLocalTime(sweep.created_ms(), zone)});
  }
  return table.Render() + problem;
}

// The agents alive on the sweep; for a sweep that still wants trials,
// none is said plainly with the command that starts one.
std::string AgentsField(const v1::Sweep& sweep) {
  if (sweep.agents() > 0) {
    return absl::StrCat(sweep.agents(),
                        " (heard from within a lease: running or waiting)");
  }
  const bool wants_trials = sweep.state() == v1::SWEEP_STATE_RUNNING ||
                            sweep.state() == v1::SWEEP_STATE_PENDING;
  return wants_trials ? absl::StrCat("none: start one with `sweep agent ",
                                     sweep.id(), "`")
                      : "none";
}

std::string FormatSweepStatus(
    const v1::Sweep& sweep,
    const google::protobuf::RepeatedPtrField<v1::Trial>& recent_trials,
    absl::Time now, absl::TimeZone zone, size_t width) {
  std::string out = absl::StrCat("Sweep ", sweep.id());
  if (!sweep.name().empty()) absl::StrAppend(&out, ": ", sweep.name());
  absl::StrAppend(&out, "\n");
  if (!sweep.controller_problem().empty()) {
    // First: every state below is frozen until it is dealt with.
    absl::StrAppend(&out, "The controller: ",
                    TerminalText(sweep.controller_problem()), "\n");
  }
  // The labels W&B users give a sweep, and the metric's target, from the
  // normalized definition.
  const Value normalized = Value::parse(sweep.normalized_json(), nullptr,
                                        /*allow_exceptions=*/false);
  const auto label = [&](const char* key) -> std::string {
    if (!normalized.is_object() || !normalized.contains(key) ||
        !normalized[key].is_string()) {
      return "";
    }
    return normalized[key].get<std::string>();
  };
  std::string metric = MetricField(sweep);
  if (normalized.is_object() && normalized.contains("metric") &&
      normalized["metric"].is_object() &&
      normalized["metric"].contains("target") &&
      normalized["metric"]["target"].is_number()) {
    absl::StrAppend(
        &metric, ", target ",
        FormatMetricValue(normalized["metric"]["target"].get<double>()),
        " ends the sweep");
  }
  std::vector<std::pair<std::string, std::string>> fields;
  if (!label("description").empty()) {
    fields.emplace_back("description", label("description"));
  }
  const std::string project =
      label("entity").empty() ? label("project")
      : label("project").empty()
          ? label("entity")
          : absl::StrCat(label("entity"), "/", label("project"));
  if (!project.empty()) fields.emplace_back("project", project);
  fields.insert(fields.end(),
                {{"method", sweep.method()},
                 {"state", StateWithReason(sweep)},
                 {"metric", metric},
                 {"trials", CountsField(sweep.counts())},
                 {"agents", AgentsField(sweep)},
                 {"best", BestField(sweep)},
                 {"progress", ProgressField(sweep)},
                 {"created", FormatLocalTime(sweep.created_ms(), zone)}});
  absl::StrAppend(&out, FormatFieldList(fields, 2));
  if (!sweep.early_terminate_json().empty()) {
    const std::optional<std::string> text =
        EarlyTerminationText(sweep.early_terminate_json());
    if (text.has_value()) {
      absl::StrAppend(&out, "Early termination: ", *text);
    } else {
      absl::StrAppend(&out, "Early termination:\n",
                      IndentLines(PrettyJson(sweep.early_terminate_json()), 2));
    }
  }
  if (!recent_trials.empty()) {
    const std::vector<std::string> metrics = ChooseSummaryMetrics(
        recent_trials, sweep.metric_name(), kDefaultSummaryColumns);
    absl::StrAppend(
        &out, "Recent trials:\n",
        IndentLines(FormatTrialTable(sweep, recent_trials, metrics, now,
                                     width > 2 ? width - 2 : 0),
                    2));
  }
  return out;
}

std::string FormatStateChange(const v1::Sweep& sweep, bool unchanged) {
  return absl::StrCat("Sweep ", sweep.id(),
                      unchanged ? " was already " : " is now ",
                      StateWithReason(sweep), ".\n");
}

}  // namespace sweep
