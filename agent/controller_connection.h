// The agent's line to the controller: every call has a deadline, and calls
// that fail in a retryable way (UNAVAILABLE, DEADLINE_EXCEEDED) are retried
// with capped exponential backoff and jitter until they succeed, fail for
// good, or the caller's `stop` turns true. Thread-safe.
#ifndef SWEEP_AGENT_CONTROLLER_CONNECTION_H_
#define SWEEP_AGENT_CONTROLLER_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "sweep/v1/sweep.grpc.pb.h"

namespace sweep {

struct RetryPolicy {
  std::chrono::milliseconds call_deadline{10'000};
  std::chrono::milliseconds initial_backoff{100};
  // Short: a controller back from a restart is found within about a second,
  // well inside any lease; a failed call to a controller that is down costs
  // next to nothing (the channel fails it at once).
  std::chrono::milliseconds max_backoff{1'000};
};

class ControllerConnection {
 public:
  // `address` as MakeControllerChannel takes it; `token` goes with every
  // call (none when empty). A channel that cannot be made (an unreadable
  // CA file) fails every call with the reason, FailedPrecondition.
  ControllerConnection(const std::string& address, RetryPolicy policy,
                       std::string token = "");

  const std::string& address() const { return address_; }
  v1::AgentService::Stub& agents() { return *agents_; }
  v1::SweepService::Stub& sweeps() { return *sweeps_; }

  // Runs `call` (one attempt, given a fresh context with the deadline set)
  // until it succeeds or fails with a non-retryable status. Between attempts
  // it waits with backoff, waking early when `*stop` becomes true (then it
  // returns Cancelled). `on_retry` (may be empty) hears about each failure,
  // e.g. to log "controller unreachable, retrying".
  // `give_up` (may be empty) may turn a retryable failure into a final one:
  // given it, it returns what to say (the call then fails with
  // FailedPrecondition and that message), or nullopt to retry.
  absl::Status CallWithRetry(
      const std::function<grpc::Status(grpc::ClientContext*)>& call,
      const std::atomic<bool>* stop,
      const std::function<void(const grpc::Status&, std::chrono::milliseconds)>&
          on_retry = {},
      const std::function<std::optional<std::string>(const grpc::Status&)>&
          give_up = {});

  // One attempt, no retry.
  absl::Status CallOnce(
      const std::function<grpc::Status(grpc::ClientContext*)>& call);

  // Every call from now on ends by `latest` at the latest (its deadline is
  // the earlier of that and the usual one): a shutdown's last deliveries.
  void CapDeadlines(std::chrono::system_clock::time_point latest);

 private:
  std::chrono::milliseconds NextBackoff(std::chrono::milliseconds current);

  // A context with the deadline and the token.
  void Prepare(grpc::ClientContext* context) const;

  const std::string address_;
  const RetryPolicy policy_;
  const std::string token_;
  absl::Status setup_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentService::Stub> agents_;
  std::unique_ptr<v1::SweepService::Stub> sweeps_;
  absl::Mutex mu_;
  std::mt19937_64 jitter_ ABSL_GUARDED_BY(mu_);
  // CapDeadlines's, in system_clock ticks; max when there is none.
  std::atomic<std::chrono::system_clock::rep> deadline_cap_{
      std::chrono::system_clock::time_point::max().time_since_epoch().count()};
};

// True for the failures worth retrying.
bool IsRetryable(const absl::Status& status);
bool IsRetryable(const grpc::Status& status);

// absl form of a gRPC status.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sweep

#endif  // SWEEP_AGENT_CONTROLLER_CONNECTION_H_
