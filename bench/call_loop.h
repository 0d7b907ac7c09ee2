// The machinery shared by the benchmark's call loops: RunRecorder, which
// counts and times the calls of one run, and CallLoop, a chain of gRPC
// callback-API calls with one in flight at a time.
#ifndef SWEEP_BENCH_CALL_LOOP_H_
#define SWEEP_BENCH_CALL_LOOP_H_

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/latency_histogram.h"

namespace sweep::bench {

enum class Method {
  kRegisterAgent,
  kAcquireTrial,
  kReportMetrics,
  kFinishTrial,
  kEmptyCall,
};
inline constexpr int kMethods = 5;
const char* MethodName(Method method);

// Counts and times the calls of one run; only calls that complete while the
// measured window is open count. Thread-safe.
class RunRecorder {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RunRecorder(int loops) : loops_(loops), running_(loops) {}

  // A call issued at `start` just completed with `status`.
  void RecordCall(Method method, Clock::time_point start,
                  const grpc::Status& status);
  // A loop failed for a reason other than a call's status.
  void RecordError(const std::string& message);
  void RecordTrial(bool stopped);
  // A loop is ready for the measured load (its agent registered).
  void RecordReady();
  // A loop issues no more calls.
  void RecordLoopEnded();

  void OpenWindow() { measuring_.store(true, std::memory_order_relaxed); }
  void CloseWindow() { measuring_.store(false, std::memory_order_relaxed); }
  // Asks every loop to end after its call in flight.
  void Stop() { stopping_.store(true, std::memory_order_relaxed); }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  bool WaitAllReady(absl::Duration timeout) {
    return all_ready_.WaitForNotificationWithTimeout(timeout);
  }
  bool WaitAllEnded(absl::Duration timeout) {
    return all_ended_.WaitForNotificationWithTimeout(timeout);
  }

  const LatencyHistogram& all() const { return all_; }
  const LatencyHistogram& of(Method method) const {
    return by_method_[static_cast<int>(method)];
  }
  uint64_t trials() const { return trials_.load(); }
  uint64_t stopped_trials() const { return stopped_trials_.load(); }
  uint64_t errors() const { return errors_.load(); }
  std::string first_error() const;

 private:
  const int loops_;
  std::atomic<bool> measuring_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> ready_{0};
  std::atomic<int> running_;
  absl::Notification all_ready_;
  absl::Notification all_ended_;
  LatencyHistogram all_;
  std::array<LatencyHistogram, kMethods> by_method_;
  std::atomic<uint64_t> trials_{0};
  std::atomic<uint64_t> stopped_trials_{0};
  std::atomic<uint64_t> errors_{0};
  mutable absl::Mutex mu_;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

// A loop of calls, one in flight at a time, each issued from the previous
// one's completion (on a gRPC thread). Thread-compatible: the chain of
// completions orders every access. Must outlive its calls: destroy it only
// after RecordLoopEnded().
class CallLoop {
 public:
  using Completion = std::function<void(grpc::Status)>;
  // Starts one call with the given context and completion (e.g.
  // stub->async()->Method(context, &request, &response, done)).
  using Starter = std::function<void(grpc::ClientContext*, Completion)>;

  // Each call gets `deadline`; a loop with a positive `think` waits that
  // long after each call before the next (a paced, open-loop agent), and
  // `phase` (in [0, 1)) of it before its first measured call.
  CallLoop(RunRecorder* recorder, absl::Duration deadline,
           absl::Duration think = absl::ZeroDuration(), double phase = 0)
      : recorder_(recorder),
        deadline_(deadline),
        think_(think),
        phase_(phase) {}
  virtual ~CallLoop() = default;
  CallLoop(const CallLoop&) = delete;
  CallLoop& operator=(const CallLoop&) = delete;

  virtual void Start() = 0;

 protected:
  // Starts a call with a fresh context and a deadline; when it succeeds and
  // the run goes on, runs `next`; otherwise the loop ends.
  void Issue(Method method, const Starter& start, std::function<void()> next);
  // Ends the loop for a reason other than a failed call.
  void Fail(const std::string& message);
  // The loop is ready for the measured load (e.g. its agent registered).
  void MarkReady();
  // Runs `next` after the loop's phase of a think (at once for a closed
  // loop), or ends the loop if the run stops meanwhile.
  void AfterPhase(std::function<void()> next);

  RunRecorder* recorder() const { return recorder_; }

 private:
  // Runs `next` after think_ (on a gRPC thread), or ends the loop if the run
  // stops meanwhile.
  void AfterThinking(std::function<void()> next);
  void After(absl::Duration delay, std::function<void()> next);

  RunRecorder* const recorder_;
  const absl::Duration deadline_;
  const absl::Duration think_;
  const double phase_;
  // Alarms used in turn, for the same reason as contexts_.
  std::array<std::optional<grpc::Alarm>, 2> alarms_;
  int next_alarm_ = 0;
  // Two contexts used in turn, so that a call's context is never destroyed
  // inside its own completion.
  std::array<std::optional<grpc::ClientContext>, 2> contexts_;
  int next_context_ = 0;
  bool ready_ = false;

  // Ends the loop; a loop that ends before it was ready counts as ready, so
  // that nobody waits for it.
  void End();
};

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_CALL_LOOP_H_
