// Replays a learning-curve workload through an early-termination rule exactly
// as the controller drives it: each epoch's value is Observe()d in logging
// order and the trial Judge()d right after; a stopped trial ends there
// (CountStop, then Forget), a trial that logged its last epoch finishes
// (Forget). `workload.workers` trials run at a time in simulated time: an
// epoch of curve c lasts c.epoch_ticks, a freed worker starts the ordering's
// next config at once, and simultaneous epoch ends are taken in worker order.
// bench/early_stop_peer.py implements the same schedule for Optuna; both sides
// must stay in step (the summary checks that the no-stopping runs agree).
#ifndef SWEEP_BENCH_EARLY_STOP_REPLAY_H_
#define SWEEP_BENCH_EARLY_STOP_REPLAY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "bench/early_stop_curves.h"
#include "search/early_stopping.h"

namespace sweep::bench {

// One method on one ordering.
struct ReplayOutcome {
  // The best final value of the full-budget random search: the first
  // random_search_trials configs of the ordering, each trained to the end.
  double target = 0;
  // Epochs spent (by every trial, as they happened) when a trial first
  // finished with a final value at least as good as `target`; nullopt when
  // that did not happen within the budget.
  std::optional<int64_t> epochs_to_target;
  std::optional<int64_t> ticks_to_target;  // The simulated time then.
  // The best final value of the trials that finished within the budget.
  std::optional<double> best_final;
  int64_t epochs_spent = 0;
  int64_t trials_started = 0;
  int64_t trials_finished = 0;
  int64_t trials_stopped = 0;
};

// Replays `ordering` (a permutation of the pool) through `stopper`, until
// random_search_trials * epochs epochs are spent (the budget: running trials
// are cut there) or the ordering is used up. Without a stopper (nullptr)
// only the first random_search_trials configs run: the full-budget random
// search itself. The stopper must be fresh; trial ids are positions in the
// ordering.
ReplayOutcome ReplayCurves(const CurveWorkload& workload,
                           const std::vector<int64_t>& ordering,
                           EarlyStopper* stopper);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_EARLY_STOP_REPLAY_H_
