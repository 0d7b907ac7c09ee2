#include "agent/controller_connection.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/controller_channel.h"

namespace sweep {

bool IsRetryable(const absl::Status& status) {
  // CANCELLED comes from the controller's side (a call cut off while it shut
  // down): this agent never cancels its own calls, and its own stop request
  // ends the retries before another attempt.
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

bool IsRetryable(const grpc::Status& status) {
  return IsRetryable(FromGrpcStatus(status));
}

ControllerConnection::ControllerConnection(const std::string& address,
                                           RetryPolicy policy,
                                           std::string token)
    : address_(address),
      policy_(policy),
      token_(std::move(token)),
      jitter_(std::random_device{}()) {
  grpc::ChannelArguments args;
  // Reconnect promptly once a restarted controller is back: attempts at
  // most a second apart, each given 2 s to connect (gRPC's own minimum is
  // 20 s, long enough to lose a lease to one black-holed attempt).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  if (!token_.empty()) {
    setup_ = CheckToken(token_, kTokenEnvironmentVariable);
  }
  // Calls fail with setup_ before they reach a placeholder channel.
  absl::Status channel_failure;
  channel_ =
      MakeControllerChannelOrPlaceholder(address, args, &channel_failure);
  if (!channel_failure.ok()) setup_ = channel_failure;
  agents_ = v1::AgentService::NewStub(channel_);
  sweeps_ = v1::SweepService::NewStub(channel_);
}

std::chrono::milliseconds ControllerConnection::NextBackoff(
    std::chrono::milliseconds current) {
  const auto doubled = std::min(current * 2, policy_.max_backoff);
  absl::MutexLock lock(&mu_);
  // Full jitter in [doubled/2, doubled]: agents that lost the controller
  // together do not come back in lockstep.
  std::uniform_int_distribution<int64_t> spread(doubled.count() / 2,
                                                doubled.count());
  return std::chrono::milliseconds(spread(jitter_));
}

void ControllerConnection::Prepare(grpc::ClientContext* context) const {
  const std::chrono::system_clock::time_point cap{
      std::chrono::system_clock::duration(deadline_cap_.load())};
  context->set_deadline(
      std::min(cap, std::chrono::system_clock::now() + policy_.call_deadline));
  AttachToken(token_, context);
}

void ControllerConnection::CapDeadlines(
    std::chrono::system_clock::time_point latest) {
  deadline_cap_ =
      std::min(deadline_cap_.load(), latest.time_since_epoch().count());
}

absl::Status ControllerConnection::CallOnce(
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  if (!setup_.ok()) return setup_;
  grpc::ClientContext context;
  Prepare(&context);
  return FromGrpcStatus(call(&context));
}

absl::Status ControllerConnection::CallWithRetry(
    const std::function<grpc::Status(grpc::ClientContext*)>& call,
    const std::atomic<bool>* stop,
    const std::function<void(const grpc::Status&, std::chrono::milliseconds)>&
        on_retry,
    const std::function<std::optional<std::string>(const grpc::Status&)>&
        give_up) {
  if (!setup_.ok()) return setup_;
  std::chrono::milliseconds backoff = policy_.initial_backoff;
  while (true) {
    grpc::ClientContext context;
    Prepare(&context);
    const grpc::Status status = call(&context);
    if (status.ok() || !IsRetryable(status)) return FromGrpcStatus(status);
    if (give_up) {
      if (std::optional<std::string> why = give_up(status)) {
        return absl::FailedPreconditionError(*why);
      }
    }
    if (on_retry) on_retry(status, backoff);
    // Wait out the backoff. When the channel is not connected, wait on it:
    // a fail-fast call to such a channel fails at once without driving its
    // connection attempt, so with nobody waiting on the channel a
    // reconnection could stall mid-handshake (seen: several seconds after a
    // controller restart, longer than a short lease). WaitForConnected
    // drives it and ends the wait as soon as the controller is back. A
    // connected channel whose call failed (a slow or stopping controller)
    // gets the whole backoff. Short slices honour a stop request promptly.
    const bool was_connected =
        channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
    const auto until = std::chrono::system_clock::now() + backoff;
    while (true) {
      if (stop != nullptr && stop->load()) {
        return absl::CancelledError("stopped while the controller was away");
      }
      const auto now = std::chrono::system_clock::now();
      if (now >= until) break;
      const auto slice_end =
          std::min(until, now + std::chrono::milliseconds(50));
      if (was_connected) {
        std::this_thread::sleep_until(slice_end);
      } else if (channel_->WaitForConnected(slice_end)) {
        break;
      }
    }
    backoff = NextBackoff(backoff);
  }
}

}  // namespace sweep
