// A learning-curve workload of the early-termination benchmark
// (BENCHMARKS.md section 4), as bench/learning_curves.py writes it: a pool of
// precomputed curves and the experiment design every replayer follows (ours in
// early_stop_bench, Optuna's in early_stop_peer.py).
#ifndef SWEEP_BENCH_EARLY_STOP_CURVES_H_
#define SWEEP_BENCH_EARLY_STOP_CURVES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sweep::bench {

// One configuration's training run.
struct LearningCurve {
  std::vector<double> values;  // The metric after epochs 1..N, as logged.
  int64_t epoch_ticks = 1;     // Simulated duration of one epoch, >= 1.
};

struct CurveWorkload {
  std::string name;
  std::string description;
  std::string metric;
  bool maximize = false;
  int64_t epochs = 0;  // Every curve has this many values.
  // The full-budget random search trains this many configs: the first N of
  // an ordering. Its budget, N * epochs, is every method's budget.
  int64_t random_search_trials = 0;
  int64_t workers = 0;  // Trials running at a time.
  // Seeded shuffles of the pool (indices into `curves`): the order in which
  // every method draws its configs.
  std::vector<std::vector<int64_t>> orderings;
  std::vector<LearningCurve> curves;
};

// Whether value `a` is strictly better than `b` for the workload's goal.
inline bool IsBetter(const CurveWorkload& w, double a, double b) {
  return w.maximize ? a > b : a < b;
}

// The best final value among the first random_search_trials configs of
// `ordering`: what the full-budget random search finds, the benchmark's
// target.
double RandomSearchBest(const CurveWorkload& w,
                        const std::vector<int64_t>& ordering);

// Reads and checks a workload file. InvalidArgument for a malformed file
// (every curve must have `epochs` finite values and epoch_ticks >= 1, every
// ordering must be a permutation of the pool), NotFound when it cannot be
// opened.
absl::StatusOr<CurveWorkload> LoadCurveWorkload(const std::string& path);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_EARLY_STOP_CURVES_H_
