// One sweep's in-memory state inside the SweepManager. Internal to
// controller/.
#ifndef SWEEP_CONTROLLER_SWEEP_ENTRY_H_
#define SWEEP_CONTROLLER_SWEEP_ENTRY_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "controller/store.h"
#include "controller/sweep_manager.h"
#include "search/early_stopping.h"
#include "search/searcher.h"
#include "search/spec.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

// A trial an agent holds, kept whole in memory until it ends.
struct RunningTrial {
  TrialRow row;
  Point point;
  int64_t lease_expires_ms = 0;
  absl::flat_hash_map<std::string, double> summary;
  // A stop or kill decided but not yet carried out by the agent.
  std::optional<v1::TrialOrder> order;
  // Heartbeats of its agent in a row that did not list it, though it was
  // created two heartbeat intervals before them: the reply handing it out
  // never reached the agent (a controller killed as it replied, a call
  // that timed out).
  int unheld_heartbeats = 0;
};

struct SweepManager::AgentEntry {
  AgentRow row;
  // When the agent last called (registered or heartbeat): one heard within
  // a lease is alive, and its name is not free for another agent.
  mutable std::atomic<int64_t> last_heard_ms{0};
  // Its RegisterAgentRequest.pid_scope; empty for an agent recovered from
  // the store (not kept there).
  std::string pid_scope;
  // Heard from since the controller started (a recovered agent is given a
  // lease, but is not counted live until it calls).
  mutable std::atomic<bool> heard{false};
};

class SweepManager::SweepEntry {
 public:
  SweepEntry(SweepRow row, SweepSpec spec);

  absl::Mutex mu;
  SweepRow row ABSL_GUARDED_BY(mu);
  // Its creation failed to commit: it is not found nor listed (it would be
  // gone after a restart). Kept allocated, as callers may hold it.
  std::atomic<bool> uncommitted{false};
  const SweepSpec spec;
  const std::unique_ptr<Searcher> searcher;
  const uint64_t grid_points;  // 0 unless method is grid.
  // The early termination rule, or null.
  const std::unique_ptr<EarlyStopper> stopper ABSL_PT_GUARDED_BY(mu);

  // Whether `ended` is kept: only for a searcher that reads it.
  const bool keeps_ended;
  // The searcher's view of every ended trial, in the order they ended (empty
  // unless keeps_ended).
  std::vector<TrialRecord> ended ABSL_GUARDED_BY(mu);
  absl::btree_map<int64_t, RunningTrial> running ABSL_GUARDED_BY(mu);
  // The numbers in `running` by the agent running them (what a heartbeat
  // checks against the leases it lists, without a scan of every trial).
  absl::flat_hash_map<std::string, absl::btree_set<int64_t>> running_by_agent
      ABSL_GUARDED_BY(mu);

  // Adds a trial to `running` (and to running_by_agent).
  void AddRunning(RunningTrial trial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  v1::TrialCounts counts ABSL_GUARDED_BY(mu);
  // The best of the trials that ran or run without failing (a failed,
  // crashed or killed trial keeps its values but is nobody's best).
  int64_t best_trial ABSL_GUARDED_BY(mu) = 0;
  std::optional<double> best_value ABSL_GUARDED_BY(mu);
  // The best values of such trials, best first, one per trial and at most
  // kBestCandidates: when the best trial fails, the next takes its place
  // without a read of the store.
  static constexpr size_t kBestCandidates = 32;
  std::vector<std::pair<double, int64_t>> best_candidates ABSL_GUARDED_BY(mu);
  // False once a trial fell off the end of best_candidates; best_evicted is
  // the best value that did. While incomplete, values worse than it are not
  // taken in (a trial that fell off may be better), so an emptied list means
  // only a rescan of the store knows the best.
  bool best_candidates_complete ABSL_GUARDED_BY(mu) = true;
  std::optional<double> best_evicted ABSL_GUARDED_BY(mu);
  bool best_needs_rescan ABSL_GUARDED_BY(mu) = false;
  // Trials that ended failed, crashed or killed lately, newest last (at most
  // kRecentBadEnds): a rescan must skip them even where the store does not
  // have their end yet.
  static constexpr size_t kRecentBadEnds = 4096;
  std::deque<int64_t> recent_bad_ends ABSL_GUARDED_BY(mu);
  // The trial whose value of the metric reached metric.target and finished
  // the sweep (0: none), and the state and reason the sweep had before.
  // When that trial then ends failed, crashed or killed, it is nobody's best
  // and no longer finishes the sweep: see ReconsiderTarget.
  int64_t target_trial ABSL_GUARDED_BY(mu) = 0;
  bool target_trial_ended_badly ABSL_GUARDED_BY(mu) = false;
  v1::SweepState state_before_target ABSL_GUARDED_BY(mu) =
      v1::SWEEP_STATE_RUNNING;
  std::string reason_before_target ABSL_GUARDED_BY(mu);

  // The sweep as the wire shows it.
  void ToProto(v1::Sweep* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Counts one more trial in `state` (and one less running when it ended).
  void CountEnded(int state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Records a trial's value of the sweep metric as the best when it is.
  void OfferBest(int64_t number, double value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // True when the sweep hands out no more trials.
  bool IsDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Forgets the trial's values as a best (it failed, crashed or was
  // killed); sets best_needs_rescan when no candidate is left.
  void DropBest(int64_t number) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Moves a running trial to the ended list in `state` (a failed, crashed or
  // killed one out of the best).
  TrialRow EndTrial(int64_t number, int state, const std::string& reason,
                    int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Finishes a grid sweep whose every point is covered and none runs.
  // Returns true when it changed the state.
  bool FinishIfGridCovered() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Finishes the sweep: trial `number`'s `value` reached metric.target.
  void FinishByTarget(int64_t number, double value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Once the trial that reached the target ended failed, crashed or killed
  // (with the best up to date): the best trial, when its value meets the
  // target too, finishes the sweep instead; else the sweep returns to the
  // state it had. Returns true when it changed the state.
  bool ReconsiderTarget() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The trials run_cap counts: all but the lost ones (crashed: their agent
  // died, was shut down or lost its lease, or their node could not start
  // them), which are run again.
  int64_t CountedTowardRunCap() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return counts.total() - counts.crashed();
  }
  // Finishes the sweep when its run_cap is reached; a sweep it finished
  // whose trial was lost since goes back to running. Returns true when it
  // changed the state.
  bool SettleRunCap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The best value meets the sweep's metric.target (false without one).
  bool BestMeetsTarget() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Asks the stopping rule about a running trial without an order yet; on a
  // stop, gives it a STOP order and records why in its row.
  void MaybeStop(RunningTrial& trial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Sets the state and its reason.
  void SetState(v1::SweepState state, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_SWEEP_ENTRY_H_
