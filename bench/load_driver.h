// The client side of the controller load benchmark (BENCHMARKS.md section
// 1): many loops of calls driven by gRPC's callback API. Each loop (a
// simulated agent, or an empty-call loop for the floor) has at most one call
// in flight and issues its next call from the previous one's completion, so
// N loops are N calls in flight and no thread each.
#ifndef SWEEP_BENCH_LOAD_DRIVER_H_
#define SWEEP_BENCH_LOAD_DRIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sweep::bench {

struct LoadOptions {
  std::string address;  // host:port
  int loops = 16;       // Simulated agents, or empty-call loops.
  // Connections the loops are spread over, round robin (an agent is one
  // process with its own connection; 1,000 connections would only measure
  // the file-descriptor limits).
  int channels = 16;
  // Runs before the measured window, after every agent registered.
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  absl::Duration rpc_deadline = absl::Seconds(30);
  // Positive: each loop waits this long after each call before the next, so
  // the offered load is at most loops / think calls per second (an open
  // loop, as agents whose programs report every so often); zero: each loop
  // calls again at once (a closed loop, the most the server can take).
  // Paced loops make their first call at a random point within one think
  // (seeded, the same each run), as independent agents do: started
  // together they would call in bursts, every second's calls within a few
  // milliseconds. The warmup then lasts at least two thinks, so the
  // measured window sees them all in their stride.
  absl::Duration think = absl::ZeroDuration();
  // Called on the driving thread at the start of the measured window, every
  // sample_interval within it, and at its end (before the loops stop), with
  // the time since the window started.
  std::function<void(absl::Duration elapsed)> sample;
  absl::Duration sample_interval = absl::Seconds(1);
  // Simulated agents only: metric reports per trial, and whether a trial
  // ends at its first stop order (as a real agent's would) instead of
  // making every report (the same work for every trial, as the Optuna peer
  // does by default).
  int reports_per_trial = 10;
  bool honour_stop = false;
};

struct CallStats {
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// What happened in the measured window (errors: over the whole run).
struct LoadResult {
  double seconds = 0;
  uint64_t calls = 0;           // Completed OK.
  uint64_t trials = 0;          // FinishTrial acknowledged.
  uint64_t stopped_trials = 0;  // Of those, ended after a stop order.
  uint64_t errors = 0;  // Failed calls; a loop ends at its first failure.
  std::string first_error;
  CallStats all;
  std::map<std::string, CallStats> by_method;  // Methods that were called.
  double client_cpu_seconds = 0;               // This process, in the window.
  // At each sample: (seconds into the window, calls and trials so far), to
  // show whether the rate holds over time.
  struct Progress {
    double seconds;
    uint64_t calls;
    uint64_t trials;
  };
  std::vector<Progress> progress;
};

// Simulated agents of sweep `sweep_id` at `options.address`: each registers,
// then runs trials back to back: AcquireTrial, reports_per_trial
// ReportMetrics of one point each (a noisy decreasing "loss" curve), and
// FinishTrial (outcome STOPPED when a report carried a stop order).
absl::StatusOr<LoadResult> RunAgentLoad(const LoadOptions& options,
                                        const std::string& sweep_id);

// The floor: loops of bench-only EmptyService calls at `options.address`.
absl::StatusOr<LoadResult> RunEmptyLoad(const LoadOptions& options);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_LOAD_DRIVER_H_
