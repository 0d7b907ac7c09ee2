// The gRPC callback-API adapters of SweepService and AgentService: each
// handler checks the call's token (when the controller has one), hands the
// request to the SweepManager and finishes the reactor in the manager's
// completion (after the store committed). No other logic lives here.
#ifndef SWEEP_CONTROLLER_SERVICE_H_
#define SWEEP_CONTROLLER_SERVICE_H_

#include <string>
#include <utility>

#include "agent/controller_channel.h"
#include "controller/sweep_manager.h"
#include "sweep/v1/sweep.grpc.pb.h"

namespace sweep {

class SweepServiceImpl final : public v1::SweepService::CallbackService {
 public:
  // `token`: what every call must carry (see agent/controller_channel.h);
  // empty: none.
  SweepServiceImpl(SweepManager* manager, const std::string& token)
      : manager_(manager), authorization_(Authorization(token)) {}

  grpc::ServerUnaryReactor* CreateSweep(
      grpc::CallbackServerContext* context,
      const v1::CreateSweepRequest* request,
      v1::CreateSweepResponse* response) override;
  grpc::ServerUnaryReactor* GetSweep(grpc::CallbackServerContext* context,
                                     const v1::GetSweepRequest* request,
                                     v1::Sweep* response) override;
  grpc::ServerUnaryReactor* ListSweeps(
      grpc::CallbackServerContext* context,
      const v1::ListSweepsRequest* request,
      v1::ListSweepsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSweepState(
      grpc::CallbackServerContext* context,
      const v1::UpdateSweepStateRequest* request, v1::Sweep* response) override;
  grpc::ServerUnaryReactor* ListTrials(
      grpc::CallbackServerContext* context,
      const v1::ListTrialsRequest* request,
      v1::ListTrialsResponse* response) override;
  grpc::ServerUnaryReactor* GetTrial(grpc::CallbackServerContext* context,
                                     const v1::GetTrialRequest* request,
                                     v1::Trial* response) override;
  grpc::ServerUnaryReactor* GetBestTrial(grpc::CallbackServerContext* context,
                                         const v1::GetBestTrialRequest* request,
                                         v1::Trial* response) override;

 private:
  SweepManager* const manager_;
  // What calls must carry ("Bearer TOKEN"); empty: nothing.
  const std::string authorization_;
};

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  AgentServiceImpl(SweepManager* manager, const std::string& token)
      : manager_(manager), authorization_(Authorization(token)) {}

  grpc::ServerUnaryReactor* RegisterAgent(
      grpc::CallbackServerContext* context,
      const v1::RegisterAgentRequest* request,
      v1::RegisterAgentResponse* response) override;
  grpc::ServerUnaryReactor* AcquireTrial(
      grpc::CallbackServerContext* context,
      const v1::AcquireTrialRequest* request,
      v1::AcquireTrialResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* ReportMetrics(
      grpc::CallbackServerContext* context,
      const v1::ReportMetricsRequest* request,
      v1::ReportMetricsResponse* response) override;
  grpc::ServerUnaryReactor* FinishTrial(
      grpc::CallbackServerContext* context,
      const v1::FinishTrialRequest* request,
      v1::FinishTrialResponse* response) override;

 private:
  SweepManager* const manager_;
  // What calls must carry ("Bearer TOKEN"); empty: nothing.
  const std::string authorization_;
};

// The gRPC form of a status (the one edge where absl meets gRPC).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_SERVICE_H_
