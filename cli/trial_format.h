// Text for the trial-level commands (`sweep trials`, `sweep trials ID N`,
// `sweep best`), built from proto messages so it is tested without a
// controller. Thread-safe.
#ifndef SWEEP_CLI_TRIAL_FORMAT_H_
#define SWEEP_CLI_TRIAL_FORMAT_H_

#include <google/protobuf/repeated_field.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/rerun_command.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

using TrialList = google::protobuf::RepeatedPtrField<v1::Trial>;

// How many summary metrics the trials table shows when none are named.
inline constexpr std::size_t kDefaultSummaryColumns = 3;

// Summary metrics worth a column: the union of the trials' summary keys,
// sorted, without the sweep metric (it has its own column) and without
// bookkeeping keys that start with '_' (_step, _runtime), at most `limit`.
std::vector<std::string> ChooseSummaryMetrics(const TrialList& trials,
                                              const std::string& sweep_metric,
                                              std::size_t limit);

// The trials table: #, STATE, the best value of the sweep metric, one column
// per `summary_metrics` (their last values), CONFIG (only the parameters
// whose values differ between the trials, when some do), HOST, DURATION (up
// to `now` for running trials) and, when any trial was early-terminated,
// STOP. `width`: the output's width in columns (OutputColumns()), which
// CONFIG and WHY widen or narrow to fit; 0 (unknown) gives them 60 each.
std::string FormatTrialTable(const v1::Sweep& sweep, const TrialList& trials,
                             const std::vector<std::string>& summary_metrics,
                             absl::Time now, size_t width = 0);

// Why a trial that ran gave the search no value, or "" when it gave one (or
// the sweep has no metric): "never logged val_loss; logged epoch/val_loss,
// loss" (a misspelt name, a logger's prefix), "val_loss was never a finite
// number".
std::string MissingMetricNote(const v1::Trial& trial,
                              const std::string& metric);

// "band 9: 0.532 vs 0.41": where the stopping rule judged the trial, its
// value there and the threshold it failed.
std::string FormatStopDecisionShort(const v1::StopDecision& decision);

// The trial's metric history as a table: a row a point, the sweep's metric
// first, then every other name the points have.
std::string FormatHistory(const v1::Sweep& sweep, const v1::Trial& trial);

// The last `count` lines of a log tail, each indented, with a note on how
// many came before.
std::string FormatLogTail(const std::string& log_tail, int count);

// One trial in full: state and end reason, agent and host, times, exit code,
// best value, prediction, stop decision, config, summary, the metric history
// when the trial carries it, and the last `log_lines` lines of its output.
std::string FormatTrialDetail(const v1::Sweep& sweep, const v1::Trial& trial,
                              absl::Time now, absl::TimeZone zone,
                              int log_lines);

// The best trial: number and value, its config as JSON, and how to rerun
// it: `rerun` or, when it could not be made, why.
std::string FormatBestTrial(const v1::Sweep& sweep, const v1::Trial& trial,
                            const absl::StatusOr<RerunCommand>& rerun,
                            absl::Time now);

// "Rerun it, from the directory its agent ran in:" and the environment and
// command lines that do, or why there is no rerun command.
std::string FormatRerun(const absl::StatusOr<RerunCommand>& rerun);

}  // namespace sweep

#endif  // SWEEP_CLI_TRIAL_FORMAT_H_
