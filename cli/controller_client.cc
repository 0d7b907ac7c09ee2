#include "cli/controller_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/controller_channel.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

// Trials per ListTrials page: well under the server's 10,000 and small
// enough that pages with log tails stay far below the message size limit.
constexpr int64_t kTrialPageSize = 500;
// Replies larger than gRPC's 4 MiB default are legitimate (a page of trials
// with their log tails); the server bounds what it sends.
constexpr int kMaxReceiveMessageBytes = 256 << 20;

// Why the connection failed, in a few words, from gRPC's transport message
// (e.g. "failed to connect to all addresses; last error: UNKNOWN:
// ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused").
std::string UnreachableReason(const grpc::Status& status,
                              absl::Duration deadline) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrCat("no answer within ", absl::FormatDuration(deadline));
  }
  const std::string message = absl::AsciiStrToLower(status.error_message());
  struct KnownReason {
    const char* marker;
    const char* reason;
  };
  static constexpr KnownReason kKnownReasons[] = {
      {"handshake failed", "TLS handshake failed"},
      {"connection refused", "connection refused"},
      {"dns resolution failed", "unknown host"},
      {"name or service not known", "unknown host"},
      {"domain name not found", "unknown host"},
      {"no route to host", "no route to host"},
      {"network is unreachable", "network unreachable"},
      {"connection reset", "connection reset"},
      {"socket closed", "connection closed; if it serves TLS, use https://"},
      {"timed out", "connection timed out"},
  };
  for (const KnownReason& known : kKnownReasons) {
    if (absl::StrContains(message, known.marker)) return known.reason;
  }
  return "unavailable";
}

bool IsUnreachableCode(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// The channel to `address`, or when none can be made (an unreadable CA
// file) a placeholder, with the reason in *failure.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           absl::Status* failure) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  return MakeControllerChannelOrPlaceholder(address, args, failure);
}

// Keeps the first `limit` trials (a server may send more than page_size) and
// points next_after_number after the last one kept.
void TrimToLimit(int64_t limit, v1::ListTrialsResponse* response) {
  if (response->trials_size() <= limit) return;
  response->mutable_trials()->DeleteSubrange(
      static_cast<int>(limit),
      response->trials_size() - static_cast<int>(limit));
  response->set_next_after_number(
      response->trials(response->trials_size() - 1).number());
}

}  // namespace

std::string NormalizeControllerAddress(std::string address) {
  // What people paste: a URL (http://host:7420/), a host without its port.
  // https:// stays: it asks for TLS.
  const bool tls = absl::StartsWithIgnoreCase(address, kTlsScheme);
  if (tls) address.erase(0, std::strlen(kTlsScheme));
  for (const absl::string_view scheme : {"http://", "grpc://"}) {
    if (absl::StartsWithIgnoreCase(address, scheme)) {
      address.erase(0, scheme.size());
      break;
    }
  }
  while (!address.empty() && address.back() == '/') address.pop_back();
  // A bare IPv6 address ("::1", "fd00::5") gets its brackets.
  in6_addr ipv6;
  if (inet_pton(AF_INET6, address.c_str(), &ipv6) == 1) {
    address = absl::StrCat("[", address, "]");
  }
  // "[::1]:7420" and "host:7420" have a port; so do gRPC's own forms
  // ("unix:/path", "ipv6:[::1]:7420").
  const bool needs_port =
      address.empty() ? false
      : address.front() == '['
          ? address.find("]:") == std::string::npos
          : std::count(address.begin(), address.end(), ':') == 0;
  if (needs_port) absl::StrAppend(&address, ":", kDefaultControllerPort);
  return tls ? absl::StrCat(kTlsScheme, address) : address;
}

std::string ResolveControllerAddress(const std::string& flag_value,
                                     const char* env_value) {
  if (!flag_value.empty()) return NormalizeControllerAddress(flag_value);
  if (env_value != nullptr && env_value[0] != '\0') {
    return NormalizeControllerAddress(env_value);
  }
  return kDefaultControllerAddress;
}

std::string ResolveControllerAddress(const std::string& flag_value) {
  return ResolveControllerAddress(flag_value,
                                  std::getenv(kControllerEnvironmentVariable));
}

absl::Status DescribeRpcFailure(const grpc::Status& status,
                                const std::string& address, bool connected,
                                absl::Duration deadline) {
  if (status.ok()) return absl::OkStatus();
  std::optional<std::string> tls = TlsSetupFailure(status, address);
  if (!tls) tls = NotAControllerFailure(status);
  if (tls) {
    // Not worth retrying as it is: a setup to fix.
    return absl::FailedPreconditionError(
        absl::StrCat("cannot reach the controller at ", address, ": ", *tls));
  }
  if (IsUnreachableCode(status.error_code()) && !connected) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the controller at ", address, " (",
                     UnreachableReason(status, deadline),
                     "); start one with `sweep server` or set --controller / ",
                     kControllerEnvironmentVariable));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(
        absl::StrCat("the controller at ", address, " did not answer within ",
                     absl::FormatDuration(deadline)));
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnimplementedError(absl::StrCat(
        "the server at ", address, " does not answer the sweep API (",
        status.error_message(), "); is it a sweep controller?"));
  }
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_message().empty()) {
    return absl::Status(
        code, absl::StrCat("the controller at ", address,
                           " failed: ", absl::StatusCodeToString(code)));
  }
  return absl::Status(code, status.error_message());
}

ControllerClient::ControllerClient(std::string address, absl::Duration deadline)
    : address_(std::move(address)),
      deadline_(deadline),
      token_(TokenFromEnvironment()),
      channel_(MakeChannel(address_, &setup_)),
      stub_(v1::SweepService::NewStub(channel_)) {
  if (!token_.empty() && setup_.ok()) {
    setup_ = CheckToken(token_, kTokenEnvironmentVariable);
  }
}

ControllerClient::ControllerClient(std::string address,
                                   std::shared_ptr<grpc::Channel> channel,
                                   absl::Duration deadline)
    : address_(std::move(address)),
      deadline_(deadline),
      token_(TokenFromEnvironment()),
      channel_(std::move(channel)),
      stub_(v1::SweepService::NewStub(channel_)) {}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> ControllerClient::Call(Method method,
                                                const Request& request) {
  if (!setup_.ok()) return setup_;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  AttachToken(token_, &context);
  Response response;
  const grpc::Status status =
      (stub_.get()->*method)(&context, request, &response);
  if (status.ok()) return response;
  const bool connected =
      channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
  return DescribeRpcFailure(status, address_, connected, deadline_);
}

absl::StatusOr<v1::CreateSweepResponse> ControllerClient::CreateSweep(
    const std::string& definition_yaml, const std::string& file_name) {
  v1::CreateSweepRequest request;
  request.set_definition_yaml(definition_yaml);
  request.set_file_name(file_name);
  return Call<v1::CreateSweepRequest, v1::CreateSweepResponse>(
      &v1::SweepService::Stub::CreateSweep, request);
}

absl::StatusOr<v1::Sweep> ControllerClient::GetSweep(
    const std::string& sweep_id) {
  v1::GetSweepRequest request;
  request.set_sweep_id(sweep_id);
  return Call<v1::GetSweepRequest, v1::Sweep>(&v1::SweepService::Stub::GetSweep,
                                              request);
}

absl::StatusOr<v1::ListSweepsResponse> ControllerClient::ListSweeps() {
  return Call<v1::ListSweepsRequest, v1::ListSweepsResponse>(
      &v1::SweepService::Stub::ListSweeps, v1::ListSweepsRequest());
}

absl::StatusOr<v1::Sweep> ControllerClient::UpdateSweepState(
    const std::string& sweep_id, v1::SweepAction action) {
  v1::UpdateSweepStateRequest request;
  request.set_sweep_id(sweep_id);
  request.set_action(action);
  return Call<v1::UpdateSweepStateRequest, v1::Sweep>(
      &v1::SweepService::Stub::UpdateSweepState, request);
}

absl::StatusOr<v1::Trial> ControllerClient::GetTrial(
    const std::string& sweep_id, int64_t number, bool include_history) {
  if (!include_history) {
    v1::GetTrialRequest request;
    request.set_sweep_id(sweep_id);
    request.set_number(number);
    return Call<v1::GetTrialRequest, v1::Trial>(
        &v1::SweepService::Stub::GetTrial, request);
  }
  std::optional<v1::Trial> trial;
  RETURN_IF_ERROR(GetTrialPages(sweep_id, number, [&trial](v1::Trial& page) {
    if (!trial) {
      trial = std::move(page);
    } else {
      for (v1::MetricPoint& point : *page.mutable_history()) {
        *trial->add_history() = std::move(point);
      }
    }
    return absl::OkStatus();
  }));
  trial->clear_history_next_page_token();
  return *std::move(trial);
}

absl::Status ControllerClient::GetTrialPages(
    const std::string& sweep_id, int64_t number,
    const std::function<absl::Status(v1::Trial& page)>& on_page) {
  v1::GetTrialRequest request;
  request.set_sweep_id(sweep_id);
  request.set_number(number);
  request.set_include_history(true);
  // A reply carries at most 100,000 points (about 64 MiB); the rest come a
  // page at a time, each after where the last stopped.
  while (true) {
    absl::StatusOr<v1::Trial> page = Call<v1::GetTrialRequest, v1::Trial>(
        &v1::SweepService::Stub::GetTrial, request);
    if (!page.ok()) return page.status();
    const std::string next = page->history_next_page_token();
    RETURN_IF_ERROR(on_page(*page));
    if (next.empty()) return absl::OkStatus();
    request.set_history_page_token(next);
  }
}

absl::StatusOr<v1::Trial> ControllerClient::GetBestTrial(
    const std::string& sweep_id) {
  v1::GetBestTrialRequest request;
  request.set_sweep_id(sweep_id);
  return Call<v1::GetBestTrialRequest, v1::Trial>(
      &v1::SweepService::Stub::GetBestTrial, request);
}

absl::StatusOr<v1::ListTrialsResponse> ControllerClient::ListTrialsPage(
    const v1::ListTrialsRequest& request) {
  return Call<v1::ListTrialsRequest, v1::ListTrialsResponse>(
      &v1::SweepService::Stub::ListTrials, request);
}

absl::StatusOr<v1::ListTrialsResponse> ControllerClient::ListTrials(
    const std::string& sweep_id, int64_t after_number, int64_t limit,
    bool include_history) {
  v1::ListTrialsResponse all;
  v1::ListTrialsRequest request;
  request.set_sweep_id(sweep_id);
  request.set_include_history(include_history);
  request.set_after_number(after_number);
  while (true) {
    const int64_t wanted =
        limit > 0 ? limit - all.trials_size() : kTrialPageSize;
    request.set_page_size(
        static_cast<int32_t>(std::min(wanted, kTrialPageSize)));
    absl::StatusOr<v1::ListTrialsResponse> page = ListTrialsPage(request);
    if (!page.ok()) return page.status();
    for (v1::Trial& trial : *page->mutable_trials()) {
      *all.add_trials() = std::move(trial);
    }
    all.set_next_after_number(page->next_after_number());
    if (limit > 0 && all.trials_size() >= limit) {
      TrimToLimit(limit, &all);
      break;
    }
    if (page->next_after_number() == 0) break;
    // A page that does not move forward would loop for ever.
    if (page->next_after_number() <= request.after_number()) {
      return absl::InternalError(absl::StrCat(
          "the controller at ", address_, " returned a page of trials after #",
          request.after_number(), " that does not advance"));
    }
    request.set_after_number(page->next_after_number());
  }
  return all;
}

}  // namespace sweep
