#include "cli/trial_format.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/metrics_reader.h"
#include "cli/display_format.h"
#include "cli/table.h"
#include "cli/trial_config.h"
#include "search/early_stopping.h"
#include "search/value.h"

namespace sweep {
namespace {

using Align = TableColumn::Align;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<double> BestValue(const v1::Trial& trial) {
  if (!trial.has_best_value()) return std::nullopt;
  return trial.best_value();
}

std::string SummaryCell(const v1::Trial& trial, const std::string& metric) {
  const auto it = trial.summary().find(metric);
  return it == trial.summary().end() ? kMissingCell
                                     : FormatMetricValue(it->second);
}

std::string HostCell(const v1::Trial& trial) {
  if (!trial.host().empty()) return trial.host();
  return trial.agent_id().empty() ? kMissingCell : trial.agent_id();
}

std::string DurationCell(const v1::Trial& trial, absl::Time now) {
  const std::optional<absl::Duration> duration = TrialDuration(trial, now);
  return duration ? FormatCompactDuration(*duration) : kMissingCell;
}

// The widths CONFIG and WHY get when the output's width is unknown (a pipe,
// a file), and the least they get on a narrow terminal.
constexpr size_t kFlexibleWidth = 60;
constexpr size_t kLeastFlexibleWidth = 20;

// Why a trial ended, when it did not finish by itself: the stop decision
// that ended it, or the reason a failed, crashed or killed one ended. For a
// finished trial that never gave the search a value, that. In full: see
// FitWhy for its cut.
std::string WhyCell(const v1::Trial& trial, const std::string& metric) {
  if (trial.has_stop_decision()) {
    return FormatStopDecisionShort(trial.stop_decision());
  }
  switch (trial.state()) {
    case v1::TRIAL_STATE_FAILED:
    case v1::TRIAL_STATE_CRASHED:
    case v1::TRIAL_STATE_KILLED:
    case v1::TRIAL_STATE_STOPPED:
      break;
    case v1::TRIAL_STATE_FINISHED: {
      // With the agent's note of metric lines it ignored, the likely cause;
      // unless it logged the metric, only never as a finite number.
      const std::string missing = MissingMetricNote(trial, metric);
      if (missing.empty() || trial.end_reason().empty() ||
          trial.summary().contains(metric)) {
        return missing;
      }
      return absl::StrCat("no ", metric, ": ", trial.end_reason());
    }
    default:
      return "";
  }
  return trial.end_reason();
}

// A WHY cell cut to `width`: "exit code 2; its last line: ...": the cause
// is at the end of the line (Python's "...: [Errno 2] No such file or
// directory"), so a long one keeps how it ended and the line's end.
std::string FitWhy(const std::string& reason, size_t width) {
  static constexpr absl::string_view kLastLine = "; its last line: ";
  const size_t at = absl::string_view(reason).find(kLastLine);
  if (at == absl::string_view::npos || DisplayWidth(reason) <= width) {
    return FitCell(reason, width);
  }
  const absl::string_view how = absl::string_view(reason).substr(0, at);
  const absl::string_view line =
      absl::string_view(reason).substr(at + kLastLine.size());
  if (DisplayWidth(how) + 8 >= width) return FitCell(reason, width);
  return absl::StrCat(how, ": ",
                      FitCellKeepingEnd(line, width - DisplayWidth(how) - 2));
}

// The widths of CONFIG and WHY (0 when absent) in a table `width` wide
// whose other columns take `others` (separators included): what they need,
// as far as the width allows, at least kLeastFlexibleWidth each; with no
// width known, up to kFlexibleWidth each.
std::pair<size_t, size_t> FlexibleWidths(size_t width, size_t others,
                                         size_t config_need, size_t why_need) {
  if (width == 0) {
    return {std::min(config_need, kFlexibleWidth),
            std::min(why_need, kFlexibleWidth)};
  }
  const size_t budget = width > others ? width - others : 0;
  // Half each; what one needs less of, the other may take.
  const size_t half = why_need == 0 ? budget : budget / 2;
  size_t config =
      std::min(config_need, std::max(half, budget - std::min(why_need, half)));
  size_t why = std::min(why_need, budget - std::min(budget, config));
  config = std::max(config, std::min(config_need, kLeastFlexibleWidth));
  why = std::max(why, std::min(why_need, kLeastFlexibleWidth));
  return {config, why};
}

bool AnyWhy(const TrialList& trials, const std::string& metric) {
  return std::any_of(trials.begin(), trials.end(), [&](const v1::Trial& t) {
    return !WhyCell(t, metric).empty();
  });
}

// Each trial's config leaves, keeping only the keys whose values differ
// between the trials (or that some trials lack): constants say nothing when
// comparing trials and would push the keys that matter out of the cell.
// Every key stays when none differ; *filtered tells which happened.
std::vector<ConfigLeaves> DifferingConfigLeaves(const TrialList& trials,
                                                bool* filtered) {
  std::vector<ConfigLeaves> configs;
  std::map<std::string, const Value*> first_value;
  std::map<std::string, int> trials_with_key;
  std::set<std::string> differing;
  for (const v1::Trial& trial : trials) {
    configs.push_back(FlattenConfig(ParseTrialConfig(trial.config_json())));
  }
  for (const ConfigLeaves& leaves : configs) {
    for (const auto& [name, value] : leaves) {
      ++trials_with_key[name];
      const auto [it, inserted] = first_value.emplace(name, &value);
      if (!inserted && !ValuesEqual(*it->second, value)) differing.insert(name);
    }
  }
  for (const auto& [name, count] : trials_with_key) {
    if (count != trials.size()) differing.insert(name);
  }
  *filtered = !differing.empty();
  if (!*filtered) return configs;
  for (ConfigLeaves& leaves : configs) {
    leaves.erase(std::remove_if(leaves.begin(), leaves.end(),
                                [&](const auto& leaf) {
                                  return differing.count(leaf.first) == 0;
                                }),
                 leaves.end());
  }
  return configs;
}

std::vector<TableColumn> TrialTableColumns(
    const v1::Sweep& sweep, const std::vector<std::string>& summary_metrics,
    bool config_filtered, bool with_why) {
  std::vector<TableColumn> columns = {{"#", Align::kRight, 10},
                                      {"STATE", Align::kLeft, 10}};
  if (!sweep.metric_name().empty()) {
    columns.push_back(
        {absl::StrCat("BEST ", sweep.metric_name()), Align::kRight, 14});
  }
  for (const std::string& metric : summary_metrics) {
    columns.push_back({metric, Align::kRight, 14});
  }
  columns.push_back({config_filtered ? "CONFIG (differing)" : "CONFIG",
                     Align::kLeft, kFlexibleWidth});
  columns.push_back({"HOST", Align::kLeft, 20});
  columns.push_back({"DURATION", Align::kRight, 10});
  if (with_why) columns.push_back({"WHY", Align::kLeft, kFlexibleWidth});
  return columns;
}

std::string ExitCell(const v1::Trial& trial) {
  if (trial.ended_ms() == 0) return "";
  if (trial.has_signal()) return absl::StrCat("signal ", trial.signal());
  if (!trial.has_exit_code()) return "unknown (its agent did not report one)";
  return absl::StrCat(trial.exit_code());
}

std::string BestValueField(const v1::Sweep& sweep, const v1::Trial& trial) {
  if (sweep.metric_name().empty()) return "";
  if (trial.state() == v1::TRIAL_STATE_FINISHED) {
    const std::string missing = MissingMetricNote(trial, sweep.metric_name());
    if (!missing.empty()) return absl::StrCat("none: ", missing);
  }
  return absl::StrCat(sweep.metric_name(), " = ",
                      FormatOptionalValue(BestValue(trial)), " (best, ",
                      sweep.goal(), ")");
}

std::string PredictionField(const v1::Sweep& sweep, const v1::Trial& trial) {
  if (!trial.has_prediction()) {
    // Said, not left blank: a user wonders why the first trials of a
    // Bayesian sweep have none.
    return sweep.method() == "bayes"
               ? "none: a point of the initial space-filling design (or a "
                 "random one where no model could be fitted)"
               : "";
  }
  const v1::Prediction& p = trial.prediction();
  return absl::StrCat("mean ", FormatMetricValue(p.mean()), " \u00b1 ",
                      FormatMetricValue(p.stddev()), ", acquisition ",
                      FormatMetricValue(p.acquisition()));
}

std::string StopDecisionField(const v1::Trial& trial) {
  if (!trial.has_stop_decision()) return "";
  const v1::StopDecision& d = trial.stop_decision();
  if (d.rule() == kDivergedRule) {
    return absl::StrCat("diverged: not finite for ", d.band(),
                        d.band() == 1 ? " value" : " values in a row",
                        " (last ", FormatMetricValue(d.value()), ")");
  }
  return absl::StrCat(d.rule().empty() ? "stopping rule" : d.rule(), " at ",
                      StopUnit(d.rule()), " ", d.band(), ": value ",
                      FormatMetricValue(d.value()), ", threshold ",
                      FormatMetricValue(d.threshold()));
}

std::string MetricPointsField(const v1::Trial& trial) {
  std::string field = absl::StrCat(trial.metric_points(), " stored");
  if (trial.malformed_metric_lines() > 0) {
    absl::StrAppend(&field, ", ", trial.malformed_metric_lines(),
                    " malformed lines ignored");
  }
  return field;
}

std::string AgentField(const v1::Trial& trial) {
  if (trial.agent_id().empty()) return trial.host();
  if (trial.host().empty()) return trial.agent_id();
  return absl::StrCat(trial.agent_id(), " on ", trial.host());
}

Fields TrialFields(const v1::Sweep& sweep, const v1::Trial& trial,
                   absl::Time now, absl::TimeZone zone) {
  return {
      {"state", TrialStateName(trial.state())},
      {"end reason", trial.end_reason()},
      {"agent", AgentField(trial)},
      {"created", FormatLocalTime(trial.created_ms(), zone)},
      {"ended",
       trial.ended_ms() == 0 ? "" : FormatLocalTime(trial.ended_ms(), zone)},
      {"duration", DurationCell(trial, now)},
      {"exit", ExitCell(trial)},
      {"metric", BestValueField(sweep, trial)},
      {"metric points", MetricPointsField(trial)},
      {"prediction", PredictionField(sweep, trial)},
      {"stopped", StopDecisionField(trial)},
  };
}

// Every metric the summary holds, aligned, in name order.
std::string FormatSummary(const v1::Trial& trial) {
  const std::map<std::string, double> sorted(trial.summary().begin(),
                                             trial.summary().end());
  Fields fields;
  for (const auto& [name, value] : sorted) {
    fields.emplace_back(name, FormatMetricValue(value));
  }
  return FormatFieldList(fields, 2);
}

// A line of a program's output as a terminal may show it: what follows its
// last carriage return (a progress bar's final state; one that ends the
// line, as "\r\n" does, erases nothing), without its escape sequences
// (colours), through TerminalText, so that what is left cannot retitle,
// clear or recolour the user's terminal.
std::string TerminalSafe(absl::string_view line) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t cr = line.rfind('\r');
  if (cr != absl::string_view::npos) line.remove_prefix(cr + 1);
  if (line.find('\x1b') == absl::string_view::npos) return TerminalText(line);
  return TerminalText(WithoutTerminalEscapes(line));
}

std::string PrettyConfig(const std::string& config_json) {
  return DumpJson(ParseTrialConfig(config_json), 2);
}

}  // namespace

// The last `count` lines of the log, each indented, with a note on how many
// came before.
std::string FormatLogTail(const std::string& log_tail, int count) {
  std::vector<absl::string_view> lines = absl::StrSplit(log_tail, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  const std::size_t shown =
      std::min(lines.size(), static_cast<std::size_t>(std::max(count, 0)));
  std::string out;
  if (shown < lines.size()) {
    absl::StrAppend(&out, "  (", lines.size() - shown,
                    " earlier lines not shown; --json prints all)\n");
  }
  for (std::size_t i = lines.size() - shown; i < lines.size(); ++i) {
    absl::StrAppend(&out, "  ", TerminalSafe(lines[i]), "\n");
  }
  return out;
}

std::string FormatHistory(const v1::Sweep& sweep, const v1::Trial& trial) {
  std::set<std::string> names;
  for (const v1::MetricPoint& point : trial.history()) {
    for (const auto& [name, value] : point.values()) names.insert(name);
  }
  std::vector<std::string> ordered;
  if (names.erase(sweep.metric_name()) > 0) {
    ordered.push_back(sweep.metric_name());
  }
  ordered.insert(ordered.end(), names.begin(), names.end());
  std::vector<TableColumn> columns = {{"STEP", Align::kRight, 12},
                                      {"ELAPSED", Align::kRight, 10}};
  for (const std::string& name : ordered) {
    columns.push_back({name, Align::kRight, 14});
  }
  TextTable table(std::move(columns));
  for (const v1::MetricPoint& point : trial.history()) {
    std::vector<std::string> row = {absl::StrCat(point.step()),
                                    FormatCompactDuration(absl::Milliseconds(
                                        point.time_ms() - trial.created_ms()))};
    for (const std::string& name : ordered) {
      const auto it = point.values().find(name);
      row.push_back(it == point.values().end() ? ""
                                               : FormatMetricValue(it->second));
    }
    table.AddRow(std::move(row));
  }
  return table.Render();
}

std::vector<std::string> ChooseSummaryMetrics(const TrialList& trials,
                                              const std::string& sweep_metric,
                                              std::size_t limit) {
  std::set<std::string> names;
  for (const v1::Trial& trial : trials) {
    for (const auto& [name, value] : trial.summary()) {
      if (name != sweep_metric && !absl::StartsWith(name, "_")) {
        names.insert(name);
      }
    }
  }
  std::vector<std::string> chosen(names.begin(), names.end());
  if (chosen.size() > limit) chosen.resize(limit);
  return chosen;
}

std::string FormatTrialTable(const v1::Sweep& sweep, const TrialList& trials,
                             const std::vector<std::string>& summary_metrics,
                             absl::Time now, size_t width) {
  const bool with_why = AnyWhy(trials, sweep.metric_name());
  bool config_filtered = false;
  const std::vector<ConfigLeaves> configs =
      DifferingConfigLeaves(trials, &config_filtered);
  std::vector<TableColumn> columns =
      TrialTableColumns(sweep, summary_metrics, config_filtered, with_why);
  const size_t config_column = columns.size() - (with_why ? 4 : 3);
  const size_t why_column = columns.size() - 1;
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < trials.size(); ++i) {
    const v1::Trial& trial = trials[i];
    std::vector<std::string> row = {absl::StrCat(trial.number()),
                                    TrialStateName(trial.state())};
    if (!sweep.metric_name().empty()) {
      row.push_back(FormatOptionalValue(BestValue(trial)));
    }
    for (const std::string& metric : summary_metrics) {
      row.push_back(SummaryCell(trial, metric));
    }
    row.push_back(CompactConfig(configs[static_cast<std::size_t>(i)]));
    row.push_back(HostCell(trial));
    row.push_back(DurationCell(trial, now));
    if (with_why) row.push_back(WhyCell(trial, sweep.metric_name()));
    rows.push_back(std::move(row));
  }
  // What each column needs; CONFIG and WHY get what the others leave.
  std::vector<size_t> need(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    need[c] = DisplayWidth(columns[c].header);
    for (const std::vector<std::string>& row : rows) {
      need[c] = std::max(need[c], DisplayWidth(row[c]));
    }
  }
  size_t others = 2 * (columns.size() - 1);
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c == config_column || (with_why && c == why_column)) continue;
    others += std::min(need[c], columns[c].max_width);
  }
  const auto [config_width, why_width] = FlexibleWidths(
      width, others, need[config_column], with_why ? need[why_column] : 0);
  columns[config_column].max_width = config_width;
  if (with_why) {
    columns[why_column].max_width = why_width;
    for (std::vector<std::string>& row : rows) {
      row[why_column] = FitWhy(row[why_column], why_width);
    }
  }
  TextTable table(std::move(columns));
  for (std::vector<std::string>& row : rows) table.AddRow(std::move(row));
  return table.Render();
}

std::string MissingMetricNote(const v1::Trial& trial,
                              const std::string& metric) {
  if (metric.empty() || trial.has_best_value()) return "";
  if (trial.summary().contains(metric)) {
    return absl::StrCat(metric, " was never a finite number");
  }
  std::set<std::string> logged;
  for (const auto& [name, value] : trial.summary()) {
    if (!absl::StartsWith(name, "_")) logged.insert(name);
  }
  if (logged.empty())
    return absl::StrCat("never logged ", metric, " (nor any metric)");
  constexpr size_t kNamed = 4;
  std::vector<std::string> named;
  for (const std::string& name : logged) {
    if (named.size() == kNamed) break;
    named.push_back(name);
  }
  return absl::StrCat("never logged ", metric, "; logged ",
                      absl::StrJoin(named, ", "),
                      logged.size() > kNamed ? ", ..." : "");
}

std::string FormatStopDecisionShort(const v1::StopDecision& decision) {
  if (decision.rule() == kDivergedRule) {
    return absl::StrCat("diverged: ", FormatMetricValue(decision.value()), ", ",
                        decision.band(), " in a row");
  }
  return absl::StrCat(StopUnit(decision.rule()), " ", decision.band(), ": ",
                      FormatMetricValue(decision.value()), " vs ",
                      FormatMetricValue(decision.threshold()));
}

std::string FormatTrialDetail(const v1::Sweep& sweep, const v1::Trial& trial,
                              absl::Time now, absl::TimeZone zone,
                              int log_lines) {
  std::string out = absl::StrCat("Trial #", trial.number(), " of sweep ",
                                 trial.sweep_id(), "\n");
  absl::StrAppend(&out,
                  FormatFieldList(TrialFields(sweep, trial, now, zone), 2));
  absl::StrAppend(&out, "Config:\n",
                  IndentLines(PrettyConfig(trial.config_json()), 2));
  if (!trial.summary().empty()) {
    absl::StrAppend(&out, "Summary (last values):\n", FormatSummary(trial));
  }
  if (!trial.history().empty()) {
    absl::StrAppend(&out, "History:\n",
                    IndentLines(FormatHistory(sweep, trial), 2));
  }
  if (!trial.log_tail().empty()) {
    absl::StrAppend(&out, "Log tail:\n",
                    FormatLogTail(trial.log_tail(), log_lines));
  }
  return out;
}

std::string FormatBestTrial(const v1::Sweep& sweep, const v1::Trial& trial,
                            const absl::StatusOr<RerunCommand>& rerun,
                            absl::Time now) {
  std::string out = absl::StrCat("Best trial of sweep ", trial.sweep_id(),
                                 ": #", trial.number());
  if (!sweep.metric_name().empty()) {
    absl::StrAppend(&out, ", ", sweep.metric_name(), " = ",
                    FormatOptionalValue(BestValue(trial)), " (", sweep.goal(),
                    ")");
  }
  absl::StrAppend(&out, "\n");
  absl::StrAppend(&out,
                  FormatFieldList({{"state", TrialStateName(trial.state())},
                                   {"host", HostCell(trial)},
                                   {"duration", DurationCell(trial, now)}},
                                  2));
  absl::StrAppend(&out, "Config:\n", PrettyConfig(trial.config_json()), "\n");
  absl::StrAppend(&out, FormatRerun(rerun));
  return out;
}

std::string FormatRerun(const absl::StatusOr<RerunCommand>& rerun) {
  if (!rerun.ok()) {
    return absl::StrCat("(No rerun command: ", rerun.status().message(),
                        ".)\n");
  }
  std::string out = "Rerun it, from the directory its agent ran in";
  if (rerun->reads_args_json_file) {
    absl::StrAppend(&out, ", with the config above saved as ",
                    kRerunArgsJsonFile);
  }
  absl::StrAppend(&out, ":\n  ", rerun->environment, " \\\n    ",
                  rerun->command_line, "\n");
  if (!rerun->with_wandb_shim) {
    absl::StrAppend(&out, "(A W&B script run through the shim needs ",
                    rerun->python_dir,
                    "/shim first on PYTHONPATH too: `sweep best --wandb-shim` "
                    "puts it there.)\n");
  }
  return out;
}

}  // namespace sweep
