#include "controller/service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/controller_channel.h"

namespace sweep {
namespace {

// Finishes `reactor` with the status the manager reports. A handler that
// changes state holds a Store::CommitHere around the manager's call: its
// change is committed and its reply sent on the handler's thread once the
// manager returned, unless a commit under way on another thread takes it.
SweepManager::Done FinishWith(grpc::ServerUnaryReactor* reactor) {
  return [reactor](const absl::Status& status) {
    reactor->Finish(ToGrpcStatus(status));
  };
}

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Constant time in the token's content: how much of a guess was right does
// not show in the reply's timing.
bool SameSecret(grpc::string_ref given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    difference |= static_cast<unsigned char>(given.data()[i]) ^
                  static_cast<unsigned char>(expected[i]);
  }
  return difference == 0;
}

// The reactor of a call refused for its missing or wrong token (finished
// with UNAUTHENTICATED), or null when the call may go on.
grpc::ServerUnaryReactor* RefuseWithoutToken(
    grpc::CallbackServerContext* context, const std::string& authorization) {
  if (authorization.empty()) return nullptr;
  const auto& metadata = context->client_metadata();
  const auto sent = metadata.find(kAuthorizationMetadataKey);
  if (sent != metadata.end() && SameSecret(sent->second, authorization)) {
    return nullptr;
  }
  return Finished(
      context,
      absl::UnauthenticatedError(
          sent == metadata.end()
              ? "this controller requires a token: set SWEEP_TOKEN to the "
                "token it was started with"
              : "wrong token: SWEEP_TOKEN is not the token this controller "
                "was started with"));
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerUnaryReactor* SweepServiceImpl::CreateSweep(
    grpc::CallbackServerContext* context, const v1::CreateSweepRequest* request,
    v1::CreateSweepResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->CreateSweep(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetSweep(
    grpc::CallbackServerContext* context, const v1::GetSweepRequest* request,
    v1::Sweep* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->GetSweep(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::ListSweeps(
    grpc::CallbackServerContext* context, const v1::ListSweepsRequest*,
    v1::ListSweepsResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->ListSweeps(response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::UpdateSweepState(
    grpc::CallbackServerContext* context,
    const v1::UpdateSweepStateRequest* request, v1::Sweep* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->UpdateSweepState(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* SweepServiceImpl::ListTrials(
    grpc::CallbackServerContext* context, const v1::ListTrialsRequest* request,
    v1::ListTrialsResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->ListTrials(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetTrial(
    grpc::CallbackServerContext* context, const v1::GetTrialRequest* request,
    v1::Trial* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->GetTrial(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetBestTrial(
    grpc::CallbackServerContext* context,
    const v1::GetBestTrialRequest* request, v1::Trial* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->GetBestTrial(*request, response));
}

grpc::ServerUnaryReactor* AgentServiceImpl::RegisterAgent(
    grpc::CallbackServerContext* context,
    const v1::RegisterAgentRequest* request,
    v1::RegisterAgentResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->RegisterAgent(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::AcquireTrial(
    grpc::CallbackServerContext* context,
    const v1::AcquireTrialRequest* request,
    v1::AcquireTrialResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->AcquireTrial(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::Heartbeat(
    grpc::CallbackServerContext* context, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  return Finished(context, manager_->Heartbeat(*request, response));
}

grpc::ServerUnaryReactor* AgentServiceImpl::ReportMetrics(
    grpc::CallbackServerContext* context,
    const v1::ReportMetricsRequest* request,
    v1::ReportMetricsResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->ReportMetrics(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::FinishTrial(
    grpc::CallbackServerContext* context, const v1::FinishTrialRequest* request,
    v1::FinishTrialResponse* response) {
  if (auto* refused = RefuseWithoutToken(context, authorization_))
    return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const Store::CommitHere commit_here(manager_->store());
  manager_->FinishTrial(*request, response, FinishWith(reactor));
  return reactor;
}

}  // namespace sweep
