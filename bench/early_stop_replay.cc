#include "bench/early_stop_replay.h"

#include <functional>
#include <queue>
#include <utility>

namespace sweep::bench {
namespace {

// A trial occupying a worker.
struct RunningCurve {
  int64_t trial = 0;  // Position in the ordering.
  const LearningCurve* curve = nullptr;
  int64_t epochs_done = 0;
};

class CurveReplay {
 public:
  CurveReplay(const CurveWorkload& workload,
              const std::vector<int64_t>& ordering, EarlyStopper* stopper)
      : workload_(workload),
        ordering_(ordering),
        stopper_(stopper),
        budget_(workload.random_search_trials * workload.epochs),
        max_trials_(stopper ? static_cast<int64_t>(ordering.size())
                            : workload.random_search_trials),
        workers_(static_cast<size_t>(workload.workers)) {
    outcome_.target = RandomSearchBest(workload, ordering);
  }

  ReplayOutcome Run() {
    for (size_t w = 0; w < workers_.size(); ++w) StartNext(w, 0);
    while (!events_.empty() && outcome_.epochs_spent < budget_) {
      const auto [now, w] = events_.top();
      events_.pop();
      if (LogEpoch(w, now)) StartNext(w, now);
    }
    return outcome_;
  }

 private:
  using Event = std::pair<int64_t, size_t>;  // (time, worker).

  bool Better(double a, double b) const { return IsBetter(workload_, a, b); }

  void StartNext(size_t w, int64_t now) {
    if (next_ >= max_trials_ || outcome_.epochs_spent >= budget_) return;
    const LearningCurve& curve = workload_.curves[ordering_[next_]];
    workers_[w] = {next_++, &curve, 0};
    ++outcome_.trials_started;
    events_.push({now + curve.epoch_ticks, w});
  }

  // The trial on worker `w` logs its next epoch at `now`; true when the
  // trial ended (finished or stopped) and the worker is free.
  bool LogEpoch(size_t w, int64_t now) {
    RunningCurve& run = workers_[w];
    const double value = run.curve->values[run.epochs_done++];
    ++outcome_.epochs_spent;
    if (stopper_) stopper_->Observe(run.trial, value);
    if (run.epochs_done == workload_.epochs) {
      Finish(run.trial, value, now);
      return true;
    }
    if (stopper_) {
      if (std::optional<StopVerdict> verdict = stopper_->Judge(run.trial)) {
        stopper_->CountStop(verdict->rule, verdict->band);
        stopper_->Forget(run.trial);
        ++outcome_.trials_stopped;
        return true;
      }
    }
    events_.push({now + run.curve->epoch_ticks, w});
    return false;
  }

  void Finish(int64_t trial, double final_value, int64_t now) {
    if (stopper_) stopper_->Forget(trial);
    ++outcome_.trials_finished;
    if (!outcome_.best_final || Better(final_value, *outcome_.best_final)) {
      outcome_.best_final = final_value;
    }
    if (!outcome_.epochs_to_target && !Better(outcome_.target, final_value)) {
      outcome_.epochs_to_target = outcome_.epochs_spent;
      outcome_.ticks_to_target = now;
    }
  }

  const CurveWorkload& workload_;
  const std::vector<int64_t>& ordering_;
  EarlyStopper* const stopper_;
  const int64_t budget_;
  const int64_t max_trials_;
  std::vector<RunningCurve> workers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  int64_t next_ = 0;  // The ordering's next position to start.
  ReplayOutcome outcome_;
};

}  // namespace

ReplayOutcome ReplayCurves(const CurveWorkload& workload,
                           const std::vector<int64_t>& ordering,
                           EarlyStopper* stopper) {
  return CurveReplay(workload, ordering, stopper).Run();
}

}  // namespace sweep::bench
