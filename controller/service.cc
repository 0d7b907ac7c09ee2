#include "controller/service.h"

#include <string>

namespace sweep {
namespace {

// Finishes `reactor` with the status the manager reports.
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

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerUnaryReactor* SweepServiceImpl::CreateSweep(
    grpc::CallbackServerContext* context, const v1::CreateSweepRequest* request,
    v1::CreateSweepResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->CreateSweep(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetSweep(
    grpc::CallbackServerContext* context, const v1::GetSweepRequest* request,
    v1::Sweep* response) {
  return Finished(context, manager_->GetSweep(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::ListSweeps(
    grpc::CallbackServerContext* context, const v1::ListSweepsRequest*,
    v1::ListSweepsResponse* response) {
  return Finished(context, manager_->ListSweeps(response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::UpdateSweepState(
    grpc::CallbackServerContext* context,
    const v1::UpdateSweepStateRequest* request, v1::Sweep* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->UpdateSweepState(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* SweepServiceImpl::ListTrials(
    grpc::CallbackServerContext* context, const v1::ListTrialsRequest* request,
    v1::ListTrialsResponse* response) {
  return Finished(context, manager_->ListTrials(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetTrial(
    grpc::CallbackServerContext* context, const v1::GetTrialRequest* request,
    v1::Trial* response) {
  return Finished(context, manager_->GetTrial(*request, response));
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetBestTrial(
    grpc::CallbackServerContext* context,
    const v1::GetBestTrialRequest* request, v1::Trial* response) {
  return Finished(context, manager_->GetBestTrial(*request, response));
}

grpc::ServerUnaryReactor* AgentServiceImpl::RegisterAgent(
    grpc::CallbackServerContext* context,
    const v1::RegisterAgentRequest* request,
    v1::RegisterAgentResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->RegisterAgent(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::AcquireTrial(
    grpc::CallbackServerContext* context,
    const v1::AcquireTrialRequest* request,
    v1::AcquireTrialResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->AcquireTrial(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::Heartbeat(
    grpc::CallbackServerContext* context, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse* response) {
  return Finished(context, manager_->Heartbeat(*request, response));
}

grpc::ServerUnaryReactor* AgentServiceImpl::ReportMetrics(
    grpc::CallbackServerContext* context,
    const v1::ReportMetricsRequest* request,
    v1::ReportMetricsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->ReportMetrics(*request, response, FinishWith(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::FinishTrial(
    grpc::CallbackServerContext* context, const v1::FinishTrialRequest* request,
    v1::FinishTrialResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  manager_->FinishTrial(*request, response, FinishWith(reactor));
  return reactor;
}

}  // namespace sweep
