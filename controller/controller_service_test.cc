// The controller through its gRPC services, on an in-process channel, with a
// real SQLite store in a temporary directory.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

#include "controller/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sweep/v1/sweep.grpc.pb.h"

namespace sweep {
namespace {

using ::testing::HasSubstr;

std::string NewDataDir() {
  static std::atomic<int> counter{0};
  return ::testing::TempDir() + "/controller_service_test_" +
         std::to_string(getpid()) + "_" + std::to_string(counter++);
}

constexpr char kGridYaml[] = R"(method: grid
program: train.py
metric: {name: loss, goal: minimize}
parameters:
  a: {values: [1, 2, 3]}
  b: {values: [x, y]}
)";

class ControllerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.listen = "127.0.0.1:0";
    options_.data_dir = NewDataDir();
    Restart();
  }
  void TearDown() override {
    sweeps_.reset();
    agents_.reset();
    server_.reset();
    std::filesystem::remove_all(options_.data_dir);
  }

  void Restart() {
    sweeps_.reset();
    agents_.reset();
    server_.reset();
    absl::StatusOr<std::unique_ptr<ControllerServer>> server =
        ControllerServer::Start(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    auto channel = server_->grpc_server()->InProcessChannel(args);
    sweeps_ = v1::SweepService::NewStub(channel);
    agents_ = v1::AgentService::NewStub(channel);
  }

  std::string CreateSweep(const std::string& yaml) {
    grpc::ClientContext context;
    v1::CreateSweepRequest request;
    request.set_definition_yaml(yaml);
    v1::CreateSweepResponse response;
    const grpc::Status status =
        sweeps_->CreateSweep(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.sweep().id();
  }

  std::string Register(const std::string& sweep_id,
                       const std::string& name = "") {
    grpc::ClientContext context;
    v1::RegisterAgentRequest request;
    request.set_sweep_id(sweep_id);
    request.set_name(name);
    request.set_host("test-host");
    request.set_slots(1);
    v1::RegisterAgentResponse response;
    const grpc::Status status =
        agents_->RegisterAgent(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.agent_id();
  }

  v1::AcquireTrialResponse Acquire(const std::string& agent_id) {
    grpc::ClientContext context;
    v1::AcquireTrialRequest request;
    request.set_agent_id(agent_id);
    v1::AcquireTrialResponse response;
    const grpc::Status status =
        agents_->AcquireTrial(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // A new agent's first trial of sweep `id` (number 0 when none).
  v1::TrialAssignment FirstTrial(const std::string& id) {
    return Acquire(Register(id)).trial();
  }

  grpc::Status Report(const v1::TrialAssignment& trial, int64_t sequence,
                      std::vector<std::map<std::string, double>> points,
                      v1::ReportMetricsResponse* response = nullptr) {
    grpc::ClientContext context;
    v1::ReportMetricsRequest request;
    request.set_sweep_id(trial.sweep_id());
    request.set_number(trial.number());
    request.set_lease_id(trial.lease_id());
    request.set_sequence(sequence);
    int64_t step = 0;
    for (const auto& values : points) {
      v1::MetricPoint* p = request.add_points();
      p->set_step(step++);
      for (const auto& [k, v] : values) (*p->mutable_values())[k] = v;
    }
    v1::ReportMetricsResponse ignored;
    return agents_->ReportMetrics(&context, request,
                                  response ? response : &ignored);
  }

  // A heartbeat of `agent_id` holding `trial`'s lease.
  grpc::Status Heartbeat(const std::string& agent_id,
                         const v1::TrialAssignment& trial,
                         v1::HeartbeatResponse* response) {
    grpc::ClientContext context;
    v1::HeartbeatRequest request;
    request.set_agent_id(agent_id);
    v1::TrialLease* lease = request.add_leases();
    lease->set_sweep_id(trial.sweep_id());
    lease->set_number(trial.number());
    lease->set_lease_id(trial.lease_id());
    return agents_->Heartbeat(&context, request, response);
  }

  grpc::Status Finish(const v1::TrialAssignment& trial, int exit_code,
                      v1::FinishTrialResponse* response = nullptr) {
    grpc::ClientContext context;
    v1::FinishTrialRequest request;
    request.set_sweep_id(trial.sweep_id());
    request.set_number(trial.number());
    request.set_lease_id(trial.lease_id());
    request.set_outcome(v1::FINISH_OUTCOME_EXITED);
    request.set_exit_code(exit_code);
    request.set_log_tail("last line\n");
    v1::FinishTrialResponse ignored;
    return agents_->FinishTrial(&context, request,
                                response ? response : &ignored);
  }

  v1::Sweep GetSweep(const std::string& id) {
    grpc::ClientContext context;
    v1::GetSweepRequest request;
    request.set_sweep_id(id);
    v1::Sweep sweep;
    EXPECT_TRUE(sweeps_->GetSweep(&context, request, &sweep).ok());
    return sweep;
  }

  grpc::Status SetState(const std::string& id, v1::SweepAction action,
                        const std::string& reason = "",
                        v1::Sweep* out = nullptr) {
    grpc::ClientContext context;
    v1::UpdateSweepStateRequest request;
    request.set_sweep_id(id);
    request.set_action(action);
    request.set_reason(reason);
    v1::Sweep sweep;
    return sweeps_->UpdateSweepState(&context, request,
                                     out != nullptr ? out : &sweep);
  }

  v1::Trial GetTrial(const std::string& id, int64_t number) {
    grpc::ClientContext context;
    v1::GetTrialRequest request;
    request.set_sweep_id(id);
    request.set_number(number);
    request.set_include_history(true);
    v1::Trial trial;
    const grpc::Status status = sweeps_->GetTrial(&context, request, &trial);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return trial;
  }

  ServerOptions options_;
  std::unique_ptr<ControllerServer> server_;
  std::unique_ptr<v1::SweepService::Stub> sweeps_;
  std::unique_ptr<v1::AgentService::Stub> agents_;
};

TEST_F(ControllerServiceTest, InvalidDefinitionCarriesEveryMessage) {
  grpc::ClientContext context;
  v1::CreateSweepRequest request;
  request.set_file_name("bad.yaml");
  request.set_definition_yaml(
      "method: grid\nmetric: {name: l, goal: maximise}\nparameters:\n  x: "
      "{min: 2, max: 1}\n");
  v1::CreateSweepResponse response;
  const grpc::Status status =
      sweeps_->CreateSweep(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("bad.yaml:2:25: metric.goal"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("bad.yaml:4:20: parameters.x: max (1) must be "
                        "greater than min (2)"));
}

TEST_F(ControllerServiceTest, UnknownIdsAreNotFoundWithTheId) {
  grpc::ClientContext context;
  v1::GetSweepRequest request;
  request.set_sweep_id("nosuchid");
  v1::Sweep sweep;
  const grpc::Status status = sweeps_->GetSweep(&context, request, &sweep);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nosuchid"));
  // A huge id is quoted in part: the whole would not fit in the reply.
  grpc::ClientContext long_context;
  request.set_sweep_id(std::string(100'000, 'a'));
  const grpc::Status long_status =
      sweeps_->GetSweep(&long_context, request, &sweep);
  EXPECT_EQ(long_status.error_code(), grpc::StatusCode::NOT_FOUND)
      << long_status.error_message();
  EXPECT_THAT(long_status.error_message(),
              HasSubstr("no sweep with id '" + std::string(64, 'a') + "...'"));

  grpc::ClientContext acquire_context;
  v1::AcquireTrialRequest acquire;
  acquire.set_agent_id("a-ghost");
  v1::AcquireTrialResponse response;
  EXPECT_EQ(
      agents_->AcquireTrial(&acquire_context, acquire, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);

  const std::string id = CreateSweep(kGridYaml);
  grpc::ClientContext trial_context;
  v1::GetTrialRequest get;
  get.set_sweep_id(id);
  get.set_number(42);
  v1::Trial trial;
  const grpc::Status missing = sweeps_->GetTrial(&trial_context, get, &trial);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("trial 42"));
}

TEST_F(ControllerServiceTest, TrialLifecycleStoresEveryMetricOnce) {
  const std::string id = CreateSweep(kGridYaml);
  EXPECT_EQ(GetSweep(id).state(), v1::SWEEP_STATE_PENDING);
  EXPECT_EQ(GetSweep(id).grid_points(), 6u);
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse acquired = Acquire(agent);
  ASSERT_TRUE(acquired.has_trial());
  const v1::TrialAssignment& trial = acquired.trial();
  EXPECT_EQ(trial.number(), 1);
  EXPECT_EQ(trial.config_json(), R"({"a":1,"b":"x"})");
  EXPECT_EQ(trial.program(), "train.py");
  EXPECT_EQ(trial.metric_name(), "loss");
  EXPECT_EQ(GetSweep(id).state(), v1::SWEEP_STATE_RUNNING);

  ASSERT_TRUE(Report(trial, 1, {{{"loss", 0.5}, {"acc", 0.1}}}).ok());
  // A retried report is acknowledged and not stored twice.
  v1::ReportMetricsResponse again;
  ASSERT_TRUE(Report(trial, 1, {{{"loss", 0.5}, {"acc", 0.1}}}, &again).ok());
  EXPECT_EQ(again.stored_through_sequence(), 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ASSERT_TRUE(Report(trial, 2, {{{"loss", 0.25}}, {{"loss", nan}}}).ok());
  v1::FinishTrialResponse finished;
  ASSERT_TRUE(Finish(trial, 0, &finished).ok());
  EXPECT_EQ(finished.state(), v1::TRIAL_STATE_FINISHED);
  // A repeated finish is acknowledged again.
  ASSERT_TRUE(Finish(trial, 0).ok());

  const v1::Trial stored = GetTrial(id, 1);
  EXPECT_EQ(stored.state(), v1::TRIAL_STATE_FINISHED);
  ASSERT_EQ(stored.history_size(), 3);
  EXPECT_EQ(stored.history(0).values().at("acc"), 0.1);
  EXPECT_EQ(stored.history(1).values().at("loss"), 0.25);
  EXPECT_TRUE(std::isnan(stored.history(2).values().at("loss")));
  EXPECT_EQ(stored.best_value(), 0.25);  // Non-finite values are ignored.
  EXPECT_TRUE(std::isnan(stored.summary().at("loss")));
  EXPECT_EQ(stored.log_tail(), "last line\n");

  // Reports after the end are refused, and change nothing.
  const grpc::Status late = Report(trial, 3, {{{"loss", 0.0}}});
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GetTrial(id, 1).history_size(), 3);

  grpc::ClientContext best_context;
  v1::GetBestTrialRequest best_request;
  best_request.set_sweep_id(id);
  v1::Trial best;
  ASSERT_TRUE(sweeps_->GetBestTrial(&best_context, best_request, &best).ok());
  EXPECT_EQ(best.number(), 1);
}

TEST_F(ControllerServiceTest, LongHistoriesComeInPagesOfAtMost100000Points) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id);
  // Trials 1, 2 and 3 log 60,000, 50,000 and 10 points.
  for (int reports : {6, 5, 0}) {
    const v1::AcquireTrialResponse acquired = Acquire(agent);
    ASSERT_TRUE(acquired.has_trial());
    int64_t sequence = 0;
    for (int r = 0; r < reports; ++r) {
      std::vector<std::map<std::string, double>> points(10'000);
      for (int i = 0; i < 10'000; ++i) points[i] = {{"loss", r * 10'000 + i}};
      ASSERT_TRUE(Report(acquired.trial(), ++sequence, points).ok());
    }
    if (reports == 0) {
      ASSERT_TRUE(Report(acquired.trial(), 1,
                         std::vector<std::map<std::string, double>>(
                             10, {{"loss", 1.0}}))
                      .ok());
    }
    ASSERT_TRUE(Finish(acquired.trial(), 0).ok());
  }

  // A page of trials ends before a history that would pass 100,000 points.
  auto list = [&](int64_t after) {
    grpc::ClientContext context;
    v1::ListTrialsRequest request;
    request.set_sweep_id(id);
    request.set_after_number(after);
    request.set_include_history(true);
    v1::ListTrialsResponse response;
    const grpc::Status status =
        sweeps_->ListTrials(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  const v1::ListTrialsResponse first = list(0);
  ASSERT_EQ(first.trials_size(), 1);
  EXPECT_EQ(first.trials(0).history_size(), 60'000);
  EXPECT_EQ(first.next_after_number(), 1);
  const v1::ListTrialsResponse second = list(1);
  ASSERT_EQ(second.trials_size(), 2);
  EXPECT_EQ(second.trials(0).history_size(), 50'000);
  EXPECT_EQ(second.trials(1).history_size(), 10);
  EXPECT_EQ(second.next_after_number(), 0);

  auto get = [&](int64_t offset, int32_t limit, v1::Trial* trial) {
    grpc::ClientContext context;
    v1::GetTrialRequest request;
    request.set_sweep_id(id);
    request.set_number(1);
    request.set_include_history(true);
    request.set_history_offset(offset);
    request.set_history_limit(limit);
    return sweeps_->GetTrial(&context, request, trial);
  };
  v1::Trial page;
  ASSERT_TRUE(get(59'990, 0, &page).ok());
  EXPECT_EQ(page.metric_points(), 60'000);
  ASSERT_EQ(page.history_size(), 10);
  EXPECT_EQ(page.history(0).values().at("loss"), 59'990);
  EXPECT_EQ(page.history(9).values().at("loss"), 59'999);
  page.Clear();
  ASSERT_TRUE(get(20'000, 3, &page).ok());
  ASSERT_EQ(page.history_size(), 3);
  EXPECT_EQ(page.history(2).values().at("loss"), 20'002);
  page.Clear();
  ASSERT_TRUE(get(60'000, 0, &page).ok());
  EXPECT_EQ(page.history_size(), 0);
  // Pages that follow each other by token: the points after the last one.
  auto get_after = [&](const std::string& token, int32_t limit,
                       v1::Trial* trial) {
    grpc::ClientContext context;
    v1::GetTrialRequest request;
    request.set_sweep_id(id);
    request.set_number(1);
    request.set_include_history(true);
    request.set_history_page_token(token);
    request.set_history_limit(limit);
    return sweeps_->GetTrial(&context, request, trial);
  };
  page.Clear();
  ASSERT_TRUE(get(0, 25'000, &page).ok());
  int64_t seen = page.history_size();
  std::string token = page.history_next_page_token();
  while (!token.empty()) {
    v1::Trial next;
    ASSERT_TRUE(get_after(token, 25'000, &next).ok());
    ASSERT_GT(next.history_size(), 0);
    EXPECT_EQ(next.history(0).values().at("loss"), seen);
    seen += next.history_size();
    token = next.history_next_page_token();
  }
  EXPECT_EQ(seen, 60'000);
  const grpc::Status bad_token = get_after("12", 0, &page);
  EXPECT_EQ(bad_token.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_token.error_message(), HasSubstr("history_page_token"));
  const grpc::Status negative = get(-1, 0, &page);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(negative.error_message(), HasSubstr("history_offset"));
  const grpc::Status too_many = get(0, 100'001, &page);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_many.error_message(), HasSubstr("history_limit"));
}

TEST_F(ControllerServiceTest, AStateChangeKeepsTheReasonItCarries) {
  const std::string id = CreateSweep(kGridYaml);
  v1::Sweep sweep;
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_PAUSE, "", &sweep).ok());
  EXPECT_EQ(sweep.state_reason(), "paused by a user");
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_RESUME).ok());
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_PAUSE,
                       "sweep run stopped: 2 trials failed in a row", &sweep)
                  .ok());
  EXPECT_EQ(sweep.state_reason(),
            "sweep run stopped: 2 trials failed in a row");
  for (const std::string& bad :
       {std::string("a \x1b]0;title\x07"), std::string(1001, 'x')}) {
    const grpc::Status refused = SetState(id, v1::SWEEP_ACTION_CANCEL, bad);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.error_message(), HasSubstr("reason"));
  }
  // Refused, so nothing changed.
  EXPECT_EQ(GetSweep(id).state(), v1::SWEEP_STATE_PAUSED);
}

TEST_F(ControllerServiceTest, StateChangesAndOrders) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  ASSERT_TRUE(first.has_trial());

  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_PAUSE).ok());
  const v1::AcquireTrialResponse paused = Acquire(agent);
  EXPECT_GT(paused.retry_after_ms(), 0);
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_RESUME).ok());
  EXPECT_TRUE(Acquire(agent).has_trial());

  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_CANCEL).ok());
  v1::HeartbeatResponse orders;
  ASSERT_TRUE(Heartbeat(agent, first.trial(), &orders).ok());
  ASSERT_EQ(orders.orders_size(), 1);
  EXPECT_EQ(orders.orders(0).action(), v1::ORDER_ACTION_KILL);
  EXPECT_TRUE(orders.sweep_done());
  EXPECT_FALSE(Acquire(agent).exit_reason().empty());

  const grpc::Status resume = SetState(id, v1::SWEEP_ACTION_RESUME);
  EXPECT_EQ(resume.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(resume.error_message(), HasSubstr("canceled"));

  // The killed program exits with a signal: the trial is killed, not failed.
  grpc::ClientContext finish_context;
  v1::FinishTrialRequest finish;
  finish.set_sweep_id(id);
  finish.set_number(first.trial().number());
  finish.set_lease_id(first.trial().lease_id());
  finish.set_outcome(v1::FINISH_OUTCOME_KILLED);
  finish.set_signal(15);
  v1::FinishTrialResponse finished;
  ASSERT_TRUE(agents_->FinishTrial(&finish_context, finish, &finished).ok());
  EXPECT_EQ(finished.state(), v1::TRIAL_STATE_KILLED);
}

// An order the agent never acted on (its program had already failed when
// the order was decided) does not turn the failure into a kill or a stop.
TEST_F(ControllerServiceTest, AFailureTheAgentReportsAsItsOwnStaysAFailure) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse trial = Acquire(agent);
  ASSERT_TRUE(trial.has_trial());
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_CANCEL).ok());  // A KILL order.
  grpc::ClientContext context;
  v1::FinishTrialRequest finish;
  finish.set_sweep_id(id);
  finish.set_number(trial.trial().number());
  finish.set_lease_id(trial.trial().lease_id());
  finish.set_outcome(v1::FINISH_OUTCOME_EXITED);
  finish.set_exit_code(1);
  finish.set_message("exit code 1; its last line: no data");
  v1::FinishTrialResponse finished;
  ASSERT_TRUE(agents_->FinishTrial(&context, finish, &finished).ok());
  EXPECT_EQ(finished.state(), v1::TRIAL_STATE_FAILED);
}

TEST_F(ControllerServiceTest, RunCapAndTargetFinishTheSweep) {
  const std::string capped = CreateSweep(
      "method: random\nprogram: t.py\nrun_cap: 2\nparameters:\n  x: {min: "
      "0.0, max: 1.0}\n");
  const std::string agent = Register(capped);
  EXPECT_TRUE(Acquire(agent).has_trial());
  EXPECT_TRUE(Acquire(agent).has_trial());
  EXPECT_EQ(GetSweep(capped).state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_THAT(Acquire(agent).exit_reason(), HasSubstr("run_cap 2 reached"));

  const std::string targeted = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: acc, goal: maximize, "
      "target: 0.9}\nparameters:\n  x: {min: 0.0, max: 1.0}\n");
  const std::string agent2 = Register(targeted);
  const v1::AcquireTrialResponse trial = Acquire(agent2);
  ASSERT_TRUE(Report(trial.trial(), 1, {{{"acc", 0.5}}}).ok());
  EXPECT_EQ(GetSweep(targeted).state(), v1::SWEEP_STATE_RUNNING);
  ASSERT_TRUE(Report(trial.trial(), 2, {{{"acc", 0.95}}}).ok());
  EXPECT_EQ(GetSweep(targeted).state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_THAT(GetSweep(targeted).state_reason(), HasSubstr("target"));
}

// Fields a well-behaved agent never sends are refused, naming the field,
// and change nothing stored.
TEST_F(ControllerServiceTest, RefusesImpossibleAgentFields) {
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nparameters:\n  x: {min: 0.0, max: "
      "1.0}\n");
  const v1::TrialAssignment trial = FirstTrial(id);
  ASSERT_NE(trial.number(), 0);

  grpc::Status status = Report(trial, 1, {{{"loss\x1b[31m", 1.0}}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("control character"));
  status = Report(trial, 1,
                  {{{"c1\xc2\x9b"
                     "31m",
                     1.0}}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const auto report_malformed = [&](int64_t sequence, int64_t count) {
    grpc::ClientContext context;
    v1::ReportMetricsRequest request;
    request.set_sweep_id(trial.sweep_id());
    request.set_number(trial.number());
    request.set_lease_id(trial.lease_id());
    request.set_sequence(sequence);
    request.set_malformed_lines(count);
    v1::ReportMetricsResponse response;
    return agents_->ReportMetrics(&context, request, &response);
  };
  status = report_malformed(1, -1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("malformed_lines"));
  // Saturated, not wrapped around.
  ASSERT_TRUE(report_malformed(1, std::numeric_limits<int64_t>::max()).ok());
  ASSERT_TRUE(report_malformed(2, std::numeric_limits<int64_t>::max()).ok());
  EXPECT_EQ(GetTrial(id, trial.number()).malformed_metric_lines(),
            std::numeric_limits<int64_t>::max());

  for (const int outcome : {99, -1}) {
    grpc::ClientContext context;
    v1::FinishTrialRequest finish;
    finish.set_sweep_id(trial.sweep_id());
    finish.set_number(trial.number());
    finish.set_lease_id(trial.lease_id());
    finish.set_outcome(static_cast<v1::FinishOutcome>(outcome));
    v1::FinishTrialResponse finished;
    status = agents_->FinishTrial(&context, finish, &finished);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("outcome"));
  }
  EXPECT_EQ(GetTrial(id, trial.number()).state(), v1::TRIAL_STATE_RUNNING);

  for (const std::vector<std::string>& gpus :
       {std::vector<std::string>{"0", "0"}, std::vector<std::string>{""},
        std::vector<std::string>(2000, "x")}) {
    grpc::ClientContext context;
    v1::RegisterAgentRequest request;
    request.set_sweep_id(id);
    request.set_host("h");
    request.set_slots(1);
    for (const std::string& gpu : gpus) request.add_gpus(gpu);
    v1::RegisterAgentResponse response;
    status = agents_->RegisterAgent(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("GPU"));
  }
}

// A program logging a new name each step: the summary keeps the first
// 10,000 names and the sweep's metric, the history every value.
TEST_F(ControllerServiceTest, ASummaryKeepsTenThousandNamesAndTheMetric) {
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: loss}\nparameters:\n"
      "  x: {min: 0.0, max: 1.0}\n");
  const v1::TrialAssignment trial = FirstTrial(id);
  ASSERT_NE(trial.number(), 0);
  std::map<std::string, double> first;
  std::map<std::string, double> more = {{"loss", 0.5}};
  for (int i = 0; i < 10'005; ++i) {
    (i < 10'000 ? first : more)[absl::StrCat("m", i)] = i;
  }
  ASSERT_TRUE(Report(trial, 1, {first}).ok());
  ASSERT_TRUE(Report(trial, 2, {more, {{"m0", -1.0}}}).ok());
  const v1::Trial stored = GetTrial(id, trial.number());
  EXPECT_EQ(stored.summary_size(), 10'001);
  EXPECT_EQ(stored.summary().at("loss"), 0.5);
  EXPECT_EQ(stored.summary().at("m0"), -1.0);
  EXPECT_FALSE(stored.summary().contains("m10000"));
  EXPECT_EQ(stored.best_value(), 0.5);
  EXPECT_EQ(stored.metric_points(), 3);
}

// A trial that reached the target and then failed is nobody's best: the
// sweep goes on, or finishes by another trial whose value meets the target.
TEST_F(ControllerServiceTest, ATargetReachedByATrialThatThenFailsDoesNotCount) {
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: acc, goal: maximize, "
      "target: 0.9}\nparameters:\n  x: {min: 0.0, max: 1.0}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  const v1::AcquireTrialResponse second = Acquire(agent);
  ASSERT_TRUE(first.has_trial() && second.has_trial());
  ASSERT_TRUE(Report(first.trial(), 1, {{{"acc", 0.95}}}).ok());
  EXPECT_EQ(GetSweep(id).state(), v1::SWEEP_STATE_FINISHED);
  ASSERT_TRUE(Finish(first.trial(), 1).ok());
  v1::Sweep sweep = GetSweep(id);
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_RUNNING) << sweep.state_reason();
  EXPECT_FALSE(sweep.has_best_trial());
  EXPECT_TRUE(Acquire(agent).has_trial());

  // Another reaches it and fails; a third had reached it meanwhile.
  const v1::AcquireTrialResponse third = Acquire(agent);
  ASSERT_TRUE(third.has_trial());
  ASSERT_TRUE(Report(second.trial(), 1, {{{"acc", 0.97}}}).ok());
  EXPECT_THAT(GetSweep(id).state_reason(),
              HasSubstr(absl::StrCat("trial ", second.trial().number(), " ")));
  ASSERT_TRUE(Report(third.trial(), 1, {{{"acc", 0.92}}}).ok());
  ASSERT_TRUE(Finish(second.trial(), 1).ok());
  sweep = GetSweep(id);
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_THAT(sweep.state_reason(),
              HasSubstr(absl::StrCat("trial ", third.trial().number(),
                                     " reached the metric target (0.92)")));
  EXPECT_EQ(sweep.best_trial(), third.trial().number());

  // Stopped by its user after the target: final, whatever the trial does.
  const std::string stopped = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: acc, goal: maximize, "
      "target: 0.9}\nparameters:\n  x: {min: 0.0, max: 1.0}\n");
  const v1::AcquireTrialResponse held = Acquire(Register(stopped));
  ASSERT_TRUE(held.has_trial());
  ASSERT_TRUE(Report(held.trial(), 1, {{{"acc", 0.95}}}).ok());
  ASSERT_TRUE(SetState(stopped, v1::SWEEP_ACTION_STOP).ok());
  ASSERT_TRUE(Finish(held.trial(), 1).ok());
  EXPECT_EQ(GetSweep(stopped).state(), v1::SWEEP_STATE_FINISHED);
}

TEST_F(ControllerServiceTest, ConcurrentAcquiresOnAGridGetDistinctPoints) {
  std::string yaml =
      "method: grid\nprogram: t.py\nparameters:\n  a: {min: 1, max: 15}\n  "
      "b: {values: [p, q, r, s, t, u, v, w, x, y]}\n";
  const std::string id = CreateSweep(yaml);
  ASSERT_EQ(GetSweep(id).grid_points(), 150u);
  const std::string agent = Register(id);
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::vector<std::string> configs;
  int waits = 0;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] {
      const v1::AcquireTrialResponse r = Acquire(agent);
      absl::MutexLock lock(&mu);
      if (r.has_trial()) {
        configs.push_back(r.trial().config_json());
      } else {
        ++waits;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(configs.size(), 150u);
  EXPECT_EQ(std::set<std::string>(configs.begin(), configs.end()).size(), 150u);
  EXPECT_EQ(waits, 50);
  EXPECT_EQ(GetSweep(id).counts().total(), 150);
}

TEST_F(ControllerServiceTest, RestartRecoversEverythingAndAgentsCarryOn) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id, "host-a:0");
  const v1::AcquireTrialResponse done_trial = Acquire(agent);
  ASSERT_TRUE(Report(done_trial.trial(), 1, {{{"loss", 3.0}}}).ok());
  ASSERT_TRUE(Finish(done_trial.trial(), 1).ok());
  const v1::AcquireTrialResponse running = Acquire(agent);
  ASSERT_TRUE(Report(running.trial(), 1, {{{"loss", 2.0}}}).ok());

  Restart();

  const v1::Sweep sweep = GetSweep(id);
  EXPECT_EQ(sweep.counts().total(), 2);
  EXPECT_EQ(sweep.counts().failed(), 1);
  EXPECT_EQ(sweep.counts().running(), 1);
  EXPECT_EQ(GetTrial(id, 1).history_size(), 1);
  // The running trial carries on under its lease.
  ASSERT_TRUE(Report(running.trial(), 2, {{{"loss", 1.0}}}).ok());
  ASSERT_TRUE(Finish(running.trial(), 0).ok());
  EXPECT_EQ(GetTrial(id, 2).history_size(), 2);
  EXPECT_EQ(GetSweep(id).best_value(), 1.0);
  // The next trial continues the grid.
  const v1::AcquireTrialResponse next = Acquire(agent);
  ASSERT_TRUE(next.has_trial());
  EXPECT_EQ(next.trial().number(), 3);
  EXPECT_EQ(next.trial().config_json(), R"({"a":2,"b":"x"})");
}

// A cancel its agent had not heard of when the controller went down still
// kills the running trial after the restart.
TEST_F(ControllerServiceTest, ACancelSurvivesARestartBeforeTheAgentHearsIt) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id, "host-a:0");
  const v1::AcquireTrialResponse running = Acquire(agent);
  ASSERT_TRUE(running.has_trial());
  ASSERT_TRUE(SetState(id, v1::SWEEP_ACTION_CANCEL).ok());

  Restart();

  v1::HeartbeatResponse orders;
  ASSERT_TRUE(Heartbeat(agent, running.trial(), &orders).ok());
  ASSERT_EQ(orders.orders_size(), 1);
  EXPECT_EQ(orders.orders(0).action(), v1::ORDER_ACTION_KILL);
  EXPECT_EQ(orders.orders(0).reason(), "the sweep was canceled");
  // A report's reply carries it too.
  v1::ReportMetricsResponse reply;
  ASSERT_TRUE(Report(running.trial(), 1, {{{"loss", 1.0}}}, &reply).ok());
  EXPECT_EQ(reply.order().action(), v1::ORDER_ACTION_KILL);
}

// A name held by an agent the controller still hears from is not taken
// over (sweep_manager_test has the takeover after a lease of silence).
TEST_F(ControllerServiceTest, ALiveAgentsNameIsRefusedToASecondAgent) {
  const std::string id = CreateSweep(kGridYaml);
  const std::string agent = Register(id, "node-7");
  const v1::AcquireTrialResponse first = Acquire(agent);
  ASSERT_TRUE(first.has_trial());

  grpc::ClientContext context;
  v1::RegisterAgentRequest request;
  request.set_sweep_id(id);
  request.set_name("node-7");
  request.set_slots(1);
  v1::RegisterAgentResponse response;
  const grpc::Status refused =
      agents_->RegisterAgent(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("an agent named 'node-7' is running for this sweep"));
  EXPECT_EQ(GetTrial(id, 1).state(), v1::TRIAL_STATE_RUNNING);
}

TEST_F(ControllerServiceTest, OversizedAndMalformedRequestsAreRefused) {
  grpc::ClientContext context;
  v1::CreateSweepRequest request;
  request.set_definition_yaml(std::string(5 << 20, 'a'));
  v1::CreateSweepResponse response;
  EXPECT_EQ(sweeps_->CreateSweep(&context, request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  const std::string id = CreateSweep(kGridYaml);
  const v1::AcquireTrialResponse trial = Acquire(Register(id));
  EXPECT_EQ(Report(trial.trial(), 0, {{{"loss", 1.0}}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Report(trial.trial(), 1, {{{std::string(300, 'k'), 1.0}}}).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  // Nothing stored was lost.
  EXPECT_EQ(GetSweep(id).counts().running(), 1);
  ASSERT_TRUE(Report(trial.trial(), 1, {{{"loss", 1.0}}}).ok());
}

TEST_F(ControllerServiceTest, HyperbandStopsAWeakTrialVisibly) {
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: loss}\n"
      "early_terminate: {type: hyperband, min_iter: 3, eta: 3}\n"
      "parameters:\n  x: {min: 0.0, max: 1.0}\n");
  const std::string agent = Register(id);
  const v1::TrialAssignment strong = Acquire(agent).trial();
  const v1::TrialAssignment weak = Acquire(agent).trial();
  ASSERT_TRUE(
      Report(strong, 1, {{{"loss", 10}}, {{"loss", 9}}, {{"loss", 8}}}).ok());
  v1::ReportMetricsResponse reply;
  ASSERT_TRUE(Report(weak, 1, {{{"loss", 10}}, {{"loss", 10}}}, &reply).ok());
  EXPECT_FALSE(reply.has_order());  // Not at a band yet.
  ASSERT_TRUE(Report(weak, 2, {{{"loss", 10}}}, &reply).ok());
  ASSERT_TRUE(reply.has_order());
  EXPECT_EQ(reply.order().action(), v1::ORDER_ACTION_STOP);
  EXPECT_THAT(reply.order().reason(),
              HasSubstr("hyperband band 3: loss 10.0 is worse than the "
                        "threshold 8.0"));
  // The strong trial goes on.
  v1::ReportMetricsResponse strong_reply;
  ASSERT_TRUE(Report(strong, 2, {{{"loss", 7}}}, &strong_reply).ok());
  EXPECT_FALSE(strong_reply.has_order());

  grpc::ClientContext context;
  v1::FinishTrialRequest finish;
  finish.set_sweep_id(id);
  finish.set_number(weak.number());
  finish.set_lease_id(weak.lease_id());
  finish.set_outcome(v1::FINISH_OUTCOME_STOPPED);
  finish.set_signal(15);
  v1::FinishTrialResponse finished;
  ASSERT_TRUE(agents_->FinishTrial(&context, finish, &finished).ok());
  EXPECT_EQ(finished.state(), v1::TRIAL_STATE_STOPPED);

  const v1::Trial stopped = GetTrial(id, weak.number());
  EXPECT_EQ(stopped.stop_decision().rule(), "hyperband");
  EXPECT_EQ(stopped.stop_decision().band(), 3);
  EXPECT_EQ(stopped.stop_decision().value(), 10);
  EXPECT_EQ(stopped.stop_decision().threshold(), 8);
  EXPECT_EQ(stopped.history_size(), 3);  // Its metrics are kept.
  EXPECT_EQ(stopped.best_value(), 10);

  const auto check_bands = [&] {
    const nlohmann::json bands =
        nlohmann::json::parse(GetSweep(id).early_terminate_json());
    EXPECT_EQ(bands["rule"], "hyperband");
    EXPECT_EQ(bands["bands"][0]["band"], 3);
    EXPECT_EQ(bands["bands"][0]["trials"], 2);
    EXPECT_EQ(bands["bands"][0]["threshold"], 8.0);
    EXPECT_EQ(bands["bands"][0]["stopped"], 1);
  };
  check_bands();
  Restart();
  check_bands();  // Rebuilt from the stored metrics.
  EXPECT_EQ(GetSweep(id).counts().stopped(), 1);
}

}  // namespace
}  // namespace sweep
