#include "controller/sweep_entry.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "controller/trial_rows.h"
#include "search/grid_search.h"
#include "search/value.h"

namespace sweep {
namespace {

uint64_t GridPointsOf(const SweepSpec& spec) {
  if (spec.method != Method::kGrid) return 0;
  return GridSize(spec).value_or(0);
}

std::string MethodName(Method m) {
  switch (m) {
    case Method::kGrid:
      return "grid";
    case Method::kRandom:
      return "random";
    case Method::kBayes:
      return "bayes";
  }
  return "random";
}

// The spec with its seed set: a sweep that names none gets one derived from
// its id (shown in its normalized definition, to be copied into a YAML that
// should repeat it).
SweepSpec Seeded(SweepSpec spec, const std::string& sweep_id) {
  if (!spec.extension.seed) spec.extension.seed = SeedFromSweepId(sweep_id);
  return spec;
}

}  // namespace

SweepManager::SweepEntry::SweepEntry(SweepRow sweep_row, SweepSpec sweep_spec)
    : row(std::move(sweep_row)),
      spec(Seeded(std::move(sweep_spec), row.id)),
      searcher(MakeSearcher(spec)),
      grid_points(GridPointsOf(spec)),
      stopper(MakeEarlyStopper(spec)),
      keeps_ended(searcher->ReadsFinished(spec)) {}

void SweepManager::SweepEntry::ToProto(v1::Sweep* out) const {
  out->set_id(row.id);
  out->set_name(row.name);
  out->set_method(MethodName(spec.method));
  out->set_state(static_cast<v1::SweepState>(row.state));
  out->set_state_reason(row.state_reason);
  out->set_definition_yaml(row.definition_yaml);
  out->set_normalized_json(NormalizedDefinition(spec).dump());
  out->set_created_ms(row.created_ms);
  *out->mutable_counts() = counts;
  if (spec.metric) {
    out->set_metric_name(spec.metric->name);
    out->set_goal(spec.metric->goal == Goal::kMaximize ? "maximize"
                                                       : "minimize");
  }
  if (best_trial != 0) out->set_best_trial(best_trial);
  if (best_value) out->set_best_value(*best_value);
  out->set_grid_points(grid_points);
  out->set_run_cap(spec.run_cap.value_or(0));
  if (stopper) out->set_early_terminate_json(stopper->Describe().dump());
}

void SweepManager::SweepEntry::MaybeStop(RunningTrial& trial) {
  if (!stopper || trial.order) return;
  std::optional<StopVerdict> verdict = stopper->Judge(trial.row.number);
  if (!verdict) return;
  v1::TrialOrder order;
  order.set_sweep_id(row.id);
  order.set_number(trial.row.number);
  order.set_action(v1::ORDER_ACTION_STOP);
  order.set_reason(verdict->Reason(spec.metric->name));
  trial.order = order;
  trial.row.stop_json =
      nlohmann::json{{"rule", verdict->rule},
                     {"band", verdict->band},
                     {"value", StoredDouble(verdict->value)},
                     {"threshold", StoredDouble(verdict->threshold)}}
          .dump();
  // Counted in the rule's figures once the trial ends stopped: a program
  // may finish by itself before the order reaches it.
}

void SweepManager::SweepEntry::CountEnded(int state) {
  counts.set_running(counts.running() - 1);
  switch (state) {
    case v1::TRIAL_STATE_FINISHED:
      counts.set_finished(counts.finished() + 1);
      break;
    case v1::TRIAL_STATE_FAILED:
      counts.set_failed(counts.failed() + 1);
      break;
    case v1::TRIAL_STATE_CRASHED:
      counts.set_crashed(counts.crashed() + 1);
      break;
    case v1::TRIAL_STATE_KILLED:
      counts.set_killed(counts.killed() + 1);
      break;
    case v1::TRIAL_STATE_STOPPED:
      counts.set_stopped(counts.stopped() + 1);
      break;
    default:
      counts.set_running(counts.running() + 1);
  }
}

void SweepManager::SweepEntry::OfferBest(int64_t number, double value) {
  if (!spec.metric || !std::isfinite(value)) return;
  const Goal goal = spec.metric->goal;
  // Ties go to the lower trial number, whichever logged the value first, so
  // the best trial is the same live and after a restart's recovery.
  const auto better = [goal](const std::pair<double, int64_t>& a,
                             const std::pair<double, int64_t>& b) {
    if (a.first != b.first) return IsBetter(goal, a.first, b.first);
    return a.second < b.second;
  };
  const std::pair<double, int64_t> offered(value, number);
  if (!best_candidates_complete && best_evicted &&
      IsBetter(goal, *best_evicted, value)) {
    return;  // A trial that fell off the list is better.
  }
  auto it =
      std::find_if(best_candidates.begin(), best_candidates.end(),
                   [number](const auto& c) { return c.second == number; });
  if (it != best_candidates.end()) {
    if (!better(offered, *it)) return;
    best_candidates.erase(it);
  }
  best_candidates.insert(
      std::lower_bound(best_candidates.begin(), best_candidates.end(), offered,
                       better),
      offered);
  if (best_candidates.size() > kBestCandidates) {
    const double evicted = best_candidates.back().first;
    if (!best_evicted || IsBetter(goal, evicted, *best_evicted)) {
      best_evicted = evicted;
    }
    best_candidates.pop_back();
    best_candidates_complete = false;
  }
  best_value = best_candidates.front().first;
  best_trial = best_candidates.front().second;
}

void SweepManager::SweepEntry::DropBest(int64_t number) {
  auto it =
      std::find_if(best_candidates.begin(), best_candidates.end(),
                   [number](const auto& c) { return c.second == number; });
  if (it == best_candidates.end()) return;
  best_candidates.erase(it);
  if (!best_candidates.empty()) {
    best_value = best_candidates.front().first;
    best_trial = best_candidates.front().second;
    return;
  }
  best_value.reset();
  best_trial = 0;
  best_needs_rescan = !best_candidates_complete;
}

bool SweepManager::SweepEntry::IsDone() const {
  return row.state == v1::SWEEP_STATE_FINISHED ||
         row.state == v1::SWEEP_STATE_CANCELED;
}

TrialRow SweepManager::SweepEntry::EndTrial(int64_t number, int state,
                                            const std::string& reason,
                                            int64_t now_ms) {
  auto it = running.find(number);
  RunningTrial& trial = it->second;
  trial.row.state = state;
  trial.row.ended_ms = now_ms;
  trial.row.end_reason = reason;
  // The lease id stays: a repeated FinishTrial from its agent is recognised.
  if (keeps_ended) {
    TrialRecord record;
    record.id = number;
    record.state = SearchStateOf(state);
    record.point = std::move(trial.point);
    record.objective = SearchObjective(trial.row);
    ended.push_back(std::move(record));
  }
  CountEnded(state);
  if (state == v1::TRIAL_STATE_FAILED || state == v1::TRIAL_STATE_CRASHED ||
      state == v1::TRIAL_STATE_KILLED) {
    recent_bad_ends.push_back(number);
    if (recent_bad_ends.size() > kRecentBadEnds) recent_bad_ends.pop_front();
    DropBest(number);
    if (number == target_trial) target_trial_ended_badly = true;
  }
  if (stopper) stopper->Forget(number);
  TrialRow row_copy = std::move(trial.row);
  if (auto agent = running_by_agent.find(row_copy.agent_id);
      agent != running_by_agent.end()) {
    agent->second.erase(number);
    if (agent->second.empty()) running_by_agent.erase(agent);
  }
  running.erase(it);
  return row_copy;
}

void SweepManager::SweepEntry::AddRunning(RunningTrial trial) {
  const int64_t number = trial.row.number;
  running_by_agent[trial.row.agent_id].insert(number);
  running.emplace(number, std::move(trial));
}

bool SweepManager::SweepEntry::FinishIfGridCovered() {
  if (spec.method != Method::kGrid || !running.empty()) return false;
  if (row.state != v1::SWEEP_STATE_RUNNING &&
      row.state != v1::SWEEP_STATE_PENDING) {
    return false;
  }
  RandomEngine rng(0);
  const SearchContext context{spec, ended, {}};
  absl::StatusOr<std::optional<Suggestion>> next =
      searcher->Suggest(context, rng);
  if (!next.ok() || next->has_value()) return false;
  // Points whose every trial was lost (kMaxCrashesPerPoint times) count as
  // covered, but never ran to an end: say so.
  absl::flat_hash_map<std::string, bool> ran_to_an_end;
  for (const TrialRecord& trial : ended) {
    bool& ran = ran_to_an_end[PointKey(trial.point)];
    ran = ran || trial.state != TrialState::kCrashed;
  }
  const int64_t given_up =
      std::count_if(ran_to_an_end.begin(), ran_to_an_end.end(),
                    [](const auto& point) { return !point.second; });
  SetState(v1::SWEEP_STATE_FINISHED,
           given_up == 0
               ? std::string("every grid point was covered")
               : absl::StrCat("every grid point was tried; ", given_up,
                              given_up == 1 ? " was" : " were",
                              " given up after its trials were lost ",
                              kMaxCrashesPerPoint,
                              " times (agents killed or shut down, nodes "
                              "that could not start them)"));
  return true;
}

void SweepManager::SweepEntry::FinishByTarget(int64_t number, double value) {
  target_trial = number;
  target_trial_ended_badly = false;
  state_before_target = static_cast<v1::SweepState>(row.state);
  reason_before_target = row.state_reason;
  SetState(v1::SWEEP_STATE_FINISHED,
           absl::StrCat("trial ", number, " reached the metric target (",
                        PythonFloatRepr(value), ")"));
}

bool SweepManager::SweepEntry::ReconsiderTarget() {
  if (!target_trial_ended_badly) return false;
  target_trial_ended_badly = false;
  if (row.state != v1::SWEEP_STATE_FINISHED || !spec.metric ||
      !spec.metric->target) {
    target_trial = 0;
    return false;
  }
  if (BestMeetsTarget()) {
    const v1::SweepState before = state_before_target;
    const std::string reason = reason_before_target;
    FinishByTarget(best_trial, *best_value);
    state_before_target = before;
    reason_before_target = reason;
    return true;
  }
  target_trial = 0;
  SetState(state_before_target, reason_before_target);
  return true;
}

bool SweepManager::SweepEntry::BestMeetsTarget() const {
  return spec.metric && spec.metric->target && best_value &&
         !IsBetter(spec.metric->goal, *spec.metric->target, *best_value);
}

bool SweepManager::SweepEntry::SettleRunCap() {
  if (!spec.run_cap) return false;
  const auto reason = [this] {
    return absl::StrCat("run_cap ", *spec.run_cap,
                        " reached; running trials finish");
  };
  const bool reached = CountedTowardRunCap() >= *spec.run_cap;
  if (reached && (row.state == v1::SWEEP_STATE_RUNNING ||
                  row.state == v1::SWEEP_STATE_PENDING)) {
    SetState(v1::SWEEP_STATE_FINISHED, reason());
    return true;
  }
  if (!reached && row.state == v1::SWEEP_STATE_FINISHED &&
      row.state_reason == reason()) {
    SetState(v1::SWEEP_STATE_RUNNING, "");
    // A value that reached metric.target meanwhile (not acted on while the
    // cap had finished the sweep) finishes it now.
    if (BestMeetsTarget()) FinishByTarget(best_trial, *best_value);
    return true;
  }
  return false;
}

void SweepManager::SweepEntry::SetState(v1::SweepState state,
                                        const std::string& reason) {
  row.state = state;
  row.state_reason = reason;
}

}  // namespace sweep
