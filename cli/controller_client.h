// The CLI's connection to the controller: where it is, a deadline on every
// call, and failures turned into one line a person can act on.
#ifndef SWEEP_CLI_CONTROLLER_CLIENT_H_
#define SWEEP_CLI_CONTROLLER_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sweep/v1/sweep.grpc.pb.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

inline constexpr char kDefaultControllerAddress[] = "localhost:7420";
inline constexpr char kDefaultControllerPort[] = "7420";
inline constexpr char kControllerEnvironmentVariable[] = "SWEEP_CONTROLLER";
inline constexpr absl::Duration kDefaultRpcDeadline = absl::Seconds(10);

// The controller address: `flag_value` (from --controller) when non-empty,
// else `env_value` (SWEEP_CONTROLLER) when set and non-empty, else
// kDefaultControllerAddress. `env_value` may be null. A given address is
// normalized: a URL's scheme (but https://, which asks for TLS) and trailing
// slashes dropped, a bare IPv6 address bracketed, the default port added to
// a host without one ("gpu-01" is "gpu-01:7420").
std::string NormalizeControllerAddress(std::string address);

std::string ResolveControllerAddress(const std::string& flag_value,
                                     const char* env_value);

// As above, reading SWEEP_CONTROLLER from the environment.
std::string ResolveControllerAddress(const std::string& flag_value);

// A failed call as a status whose message reads well after "sweep: ".
// A controller that cannot be reached (UNAVAILABLE or DEADLINE_EXCEEDED
// while the channel is not connected) becomes Unavailable with "cannot reach
// the controller at ADDRESS (REASON); start one with `sweep server` or set
// --controller / SWEEP_CONTROLLER". A connected controller that does not
// answer in time becomes DeadlineExceeded naming the address; a server
// without the sweep API (UNIMPLEMENTED) is named as such. Every other
// code is kept with the controller's message (INVALID_ARGUMENT's message is
// the validator's diagnostics, one per line).
absl::Status DescribeRpcFailure(const grpc::Status& status,
                                const std::string& address, bool connected,
                                absl::Duration deadline);

// SweepService calls with a deadline each, and $SWEEP_TOKEN when set (over
// TLS for an https:// address; see agent/controller_channel.h). Construction
// does not connect; each call connects if needed and fails fast when nothing
// listens. Thread-safe (gRPC stubs are).
class ControllerClient {
 public:
  explicit ControllerClient(std::string address,
                            absl::Duration deadline = kDefaultRpcDeadline);
  // Uses `channel` (e.g. an in-process one in tests); `address` only labels
  // messages.
  ControllerClient(std::string address, std::shared_ptr<grpc::Channel> channel,
                   absl::Duration deadline = kDefaultRpcDeadline);

  const std::string& address() const { return address_; }
  bool is_default_address() const {
    return address_ == kDefaultControllerAddress;
  }

  absl::StatusOr<v1::CreateSweepResponse> CreateSweep(
      const std::string& definition_yaml, const std::string& file_name);
  absl::StatusOr<v1::Sweep> GetSweep(const std::string& sweep_id);
  absl::StatusOr<v1::ListSweepsResponse> ListSweeps();
  absl::StatusOr<v1::Sweep> UpdateSweepState(const std::string& sweep_id,
                                             v1::SweepAction action);
  // With include_history, every point, fetched a page at a time.
  absl::StatusOr<v1::Trial> GetTrial(const std::string& sweep_id,
                                     int64_t number, bool include_history);
  // The trial with its history a page (at most 100,000 points) at a time,
  // so that a long one is never held whole: `on_page` gets the trial with
  // its first page of points, then the same trial with each next page; its
  // failure ends the walk and is returned.
  absl::Status GetTrialPages(
      const std::string& sweep_id, int64_t number,
      const std::function<absl::Status(v1::Trial& page)>& on_page);
  absl::StatusOr<v1::Trial> GetBestTrial(const std::string& sweep_id);

  // Trials numbered above `after_number`, in number order, following pages
  // until `limit` trials (0: no limit) or the last page. The reply's
  // next_after_number is where to continue, 0 when nothing is left.
  absl::StatusOr<v1::ListTrialsResponse> ListTrials(const std::string& sweep_id,
                                                    int64_t after_number,
                                                    int64_t limit,
                                                    bool include_history);

 private:
  // One unary call on the stub with the deadline; failures pass through
  // DescribeRpcFailure.
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  absl::StatusOr<v1::ListTrialsResponse> ListTrialsPage(
      const v1::ListTrialsRequest& request);

  const std::string address_;
  const absl::Duration deadline_;
  const std::string token_;  // $SWEEP_TOKEN, sent with every call.
  absl::Status setup_;       // Why no channel could be made, if so.
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::SweepService::Stub> stub_;
};

}  // namespace sweep

#endif  // SWEEP_CLI_CONTROLLER_CLIENT_H_
