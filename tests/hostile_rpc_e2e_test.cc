// Hostile RPCs against the real `sweep server`: thousands of seeded random
// calls to every method with adversarial fields (empty, huge, control
// characters and invalid UTF-8, NUL bytes, extreme and negative numbers,
// NaN and infinite metrics, unknown enum values, too many points, replayed
// and skipped sequence numbers, other trials' leases), some aimed at a real
// sweep, agent and trial so that they reach deep code. Every call must get
// a definite status (never UNKNOWN, never a dropped connection), the server
// must stay up, and a second sweep the calls never name must keep exactly
// what it had.
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sweep/v1/sweep.grpc.pb.h"
#include "tests/subprocess.h"

namespace sweep {
namespace {

namespace v1 = ::sweep::v1;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::StartServer;

constexpr char kGrid[] = R"(name: hostile
program: train.py
method: grid
metric: {name: loss, goal: minimize}
early_terminate: {type: hyperband, min_iter: 2, eta: 2}
parameters:
  x: {values: [1, 2, 3, 4, 5, 6, 7, 8]}
  y: {min: 0, max: 3}
)";

class HostileRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    // Leases outlast the test: the safe trial must not expire meanwhile.
    server_ =
        StartServer(dir_.Path("data"), 0, {"--lease-timeout-ms", "3600000"});
    ASSERT_NE(server_.process, nullptr) << server_.error;
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    auto channel = grpc::CreateCustomChannel(
        server_.address, grpc::InsecureChannelCredentials(), args);
    sweeps_ = v1::SweepService::NewStub(channel);
    agents_ = v1::AgentService::NewStub(channel);
    const char* seed = std::getenv("SWEEP_HOSTILE_SEED");
    seed_ = seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261124;
    rng_.seed(seed_);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(20));
    return context;
  }

  // A legitimate sweep with an agent and a running trial that logged
  // `points` points.
  struct Target {
    std::string sweep_id;
    std::string agent_id;
    v1::TrialAssignment trial;
  };
  Target MakeTarget(int points) {
    Target t;
    v1::CreateSweepRequest create;
    create.set_definition_yaml(kGrid);
    v1::CreateSweepResponse created;
    EXPECT_TRUE(sweeps_->CreateSweep(Context().get(), create, &created).ok());
    t.sweep_id = created.sweep().id();
    v1::RegisterAgentRequest reg;
    reg.set_sweep_id(t.sweep_id);
    reg.set_host("test");
    reg.set_slots(2);
    v1::RegisterAgentResponse registered;
    EXPECT_TRUE(agents_->RegisterAgent(Context().get(), reg, &registered).ok());
    t.agent_id = registered.agent_id();
    v1::AcquireTrialRequest acquire;
    acquire.set_agent_id(t.agent_id);
    v1::AcquireTrialResponse acquired;
    EXPECT_TRUE(
        agents_->AcquireTrial(Context().get(), acquire, &acquired).ok());
    t.trial = acquired.trial();
    v1::ReportMetricsRequest report;
    report.set_sweep_id(t.sweep_id);
    report.set_number(t.trial.number());
    report.set_lease_id(t.trial.lease_id());
    report.set_sequence(1);
    for (int i = 0; i < points; ++i) {
      v1::MetricPoint* point = report.add_points();
      point->set_step(i);
      (*point->mutable_values())["loss"] = 10.0 - i;
    }
    v1::ReportMetricsResponse reported;
    EXPECT_TRUE(
        agents_->ReportMetrics(Context().get(), report, &reported).ok());
    return t;
  }

  // --- Adversarial values.
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string String() {
    switch (Pick(10)) {
      case 0:
        return "";
      case 1:
        return std::string(1 + Pick(1000), static_cast<char>('a' + Pick(26)));
      case 2:
        return std::string("a\0b", 3);
      case 3:
        return invalid_utf8_ ? "\xff\xfe\xc0\x80" : "\xc3\xa9\x7f";
      case 4:
        return "\u202e\U0001F600\t\r\n";
      case 5:
        return "../../etc/passwd";
      case 6:
        return "'; DROP TABLE trials; --";
      case 7:
        return "%s%n%x";
      case 8: {
        // Random code points (random bytes when invalid UTF-8 is allowed).
        std::string text;
        for (int i = Pick(32); i > 0; --i) {
          if (invalid_utf8_) {
            text += static_cast<char>(Pick(256));
            continue;
          }
          const int c = Pick(0x800);
          if (c < 0x80) {
            text += static_cast<char>(c);
          } else {
            text += static_cast<char>(0xC0 | (c >> 6));
            text += static_cast<char>(0x80 | (c & 0x3F));
          }
        }
        return text;
      }
      default:
        return "x";
    }
  }

  // Now and then a field far beyond any limit: 1 to 6 MiB.
  std::string MaybeHuge(std::string usual) {
    if (Pick(40) != 0) return usual;
    return std::string((1 << 20) * (1 + Pick(6)), 'h');
  }

  int64_t Int() {
    static const int64_t kValues[] = {0,
                                      1,
                                      -1,
                                      2,
                                      7,
                                      1000,
                                      std::numeric_limits<int32_t>::max(),
                                      std::numeric_limits<int64_t>::max(),
                                      std::numeric_limits<int64_t>::min(),
                                      -1000000};
    return kValues[Pick(10)];
  }

  double Double() {
    static const double kValues[] = {0.0,
                                     -0.0,
                                     1.5,
                                     -1e308,
                                     1e308,
                                     std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::denorm_min(),
                                     3.0};
    return kValues[Pick(10)];
  }

  // A real id now and then, so that calls get past the lookups.
  std::string SweepId(const Target& t) {
    return Pick(2) == 0 ? t.sweep_id : String();
  }
  std::string AgentId(const Target& t) {
    return Pick(2) == 0 ? t.agent_id : String();
  }

  void AddPoints(v1::ReportMetricsRequest& report) {
    const int count = Pick(5) == 0 ? 10'001 : Pick(20);
    for (int i = 0; i < count; ++i) {
      v1::MetricPoint* point = report.add_points();
      point->set_step(Pick(3) == 0 ? Int() : i);
      point->set_time_ms(Int());
      const int keys = Pick(4);
      for (int k = 0; k < keys; ++k) {
        (*point->mutable_values())[Pick(2) == 0 ? "loss" : String()] = Double();
      }
    }
  }

  // One random call; its status.
  grpc::Status RandomCall(const Target& t) {
    auto context = Context();
    last_kind_ = Pick(12);
    switch (last_kind_) {
      case 0: {
        v1::CreateSweepRequest r;
        r.set_definition_yaml(
            MaybeHuge(Pick(2) == 0 ? String() : kGrid + String()));
        r.set_file_name(String());
        v1::CreateSweepResponse out;
        return sweeps_->CreateSweep(context.get(), r, &out);
      }
      case 1: {
        v1::GetSweepRequest r;
        r.set_sweep_id(SweepId(t));
        v1::Sweep out;
        return sweeps_->GetSweep(context.get(), r, &out);
      }
      case 2: {
        v1::UpdateSweepStateRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_action(
            static_cast<v1::SweepAction>(Pick(2) == 0 ? Pick(5) : Int()));
        v1::Sweep out;
        return sweeps_->UpdateSweepState(context.get(), r, &out);
      }
      case 3: {
        v1::ListTrialsRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_after_number(Int());
        r.set_page_size(static_cast<int32_t>(Int()));
        r.set_include_history(Pick(2) == 0);
        v1::ListTrialsResponse out;
        return sweeps_->ListTrials(context.get(), r, &out);
      }
      case 4: {
        v1::GetTrialRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_number(Pick(2) == 0 ? t.trial.number() : Int());
        r.set_include_history(Pick(2) == 0);
        v1::Trial out;
        return sweeps_->GetTrial(context.get(), r, &out);
      }
      case 5: {
        v1::GetBestTrialRequest r;
        r.set_sweep_id(SweepId(t));
        v1::Trial out;
        return sweeps_->GetBestTrial(context.get(), r, &out);
      }
      case 6: {
        v1::RegisterAgentRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_name(String());
        r.set_host(MaybeHuge(String()));
        r.set_slots(static_cast<int32_t>(Int()));
        const int gpus = Pick(4) == 0 ? 10'000 : Pick(3);
        for (int i = 0; i < gpus; ++i) r.add_gpus(String());
        r.set_pid(Int());
        v1::RegisterAgentResponse out;
        return agents_->RegisterAgent(context.get(), r, &out);
      }
      case 7: {
        v1::AcquireTrialRequest r;
        r.set_agent_id(AgentId(t));
        v1::AcquireTrialResponse out;
        return agents_->AcquireTrial(context.get(), r, &out);
      }
      case 8: {
        v1::HeartbeatRequest r;
        r.set_agent_id(AgentId(t));
        const int leases = Pick(4) == 0 ? 5'000 : Pick(3);
        for (int i = 0; i < leases; ++i) {
          v1::TrialLease* lease = r.add_leases();
          lease->set_sweep_id(SweepId(t));
          lease->set_number(Pick(2) == 0 ? t.trial.number() : Int());
          lease->set_lease_id(Pick(2) == 0 ? t.trial.lease_id() : String());
        }
        v1::HeartbeatResponse out;
        return agents_->Heartbeat(context.get(), r, &out);
      }
      case 9:
      case 10: {
        v1::ReportMetricsRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_number(Pick(2) == 0 ? t.trial.number() : Int());
        r.set_lease_id(Pick(2) == 0 ? t.trial.lease_id() : String());
        r.set_sequence(Pick(2) == 0 ? 2 + Pick(4) : Int());
        r.set_malformed_lines(Int());
        AddPoints(r);
        v1::ReportMetricsResponse out;
        return agents_->ReportMetrics(context.get(), r, &out);
      }
      default: {
        v1::FinishTrialRequest r;
        r.set_sweep_id(SweepId(t));
        r.set_number(Pick(2) == 0 ? t.trial.number() : Int());
        r.set_lease_id(Pick(2) == 0 ? t.trial.lease_id() : String());
        r.set_outcome(
            static_cast<v1::FinishOutcome>(Pick(2) == 0 ? Pick(5) : Int()));
        r.set_exit_code(static_cast<int32_t>(Int()));
        r.set_signal(static_cast<int32_t>(Int()));
        r.set_log_tail(MaybeHuge(String()));
        r.set_message(String());
        v1::FinishTrialResponse out;
        return agents_->FinishTrial(context.get(), r, &out);
      }
    }
  }

  ScopedTempDir dir_{"hostile-rpc"};  // Destroyed last.
  ServerProcess server_;
  std::unique_ptr<v1::SweepService::Stub> sweeps_;
  std::unique_ptr<v1::AgentService::Stub> agents_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  // Whether String() may return invalid UTF-8, which gRPC refuses before
  // any code of ours runs.
  bool invalid_utf8_ = false;
  int last_kind_ = 0;  // Which method RandomCall called last.
};

TEST_F(HostileRpcTest, EveryCallGetsADefiniteAnswerAndNothingStoredIsLost) {
  SCOPED_TRACE("SWEEP_HOSTILE_SEED=" + std::to_string(seed_));
  const Target safe = MakeTarget(3);
  Target victim = MakeTarget(2);
  ASSERT_FALSE(safe.sweep_id.empty());
  ASSERT_FALSE(victim.sweep_id.empty());

  v1::GetTrialRequest get;
  get.set_sweep_id(safe.sweep_id);
  get.set_number(safe.trial.number());
  get.set_include_history(true);
  v1::Trial before;
  ASSERT_TRUE(sweeps_->GetTrial(Context().get(), get, &before).ok());
  ASSERT_EQ(before.history_size(), 3);

  // The statuses the API documents for refusals; anything else (INTERNAL,
  // UNKNOWN, a crash's UNAVAILABLE, DEADLINE_EXCEEDED from a hang) fails.
  const std::set<grpc::StatusCode> allowed = {
      grpc::StatusCode::OK,
      grpc::StatusCode::INVALID_ARGUMENT,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::FAILED_PRECONDITION,
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      grpc::StatusCode::OUT_OF_RANGE,
      grpc::StatusCode::ALREADY_EXISTS,
  };
  std::map<grpc::StatusCode, int> seen;
  std::map<int, double> kind_seconds;
  constexpr int kCalls = 5000;
  for (int i = 0; i < kCalls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const grpc::Status status = RandomCall(victim);
    kind_seconds[last_kind_] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    ++seen[status.error_code()];
    ASSERT_TRUE(allowed.count(status.error_code()))
        << "call " << i << ": status " << status.error_code() << " "
        << status.error_message();
    if (i % 1000 == 999) victim = MakeTarget(1);  // Fresh state to poke at.
  }
  // Requests that are not even valid protobuf strings: gRPC refuses them
  // before our code runs (UNIMPLEMENTED, as grpc 1.51's callback server
  // answers an unparsable request); they must change nothing either.
  invalid_utf8_ = true;
  // Quiet: protobuf logs each invalid string it serializes.
  google::protobuf::LogHandler* previous = google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  for (int i = 0; i < 200; ++i) RandomCall(victim);
  google::protobuf::SetLogHandler(previous);
  invalid_utf8_ = false;
  for (const auto& [kind, seconds] : kind_seconds) {
    std::cout << "method " << kind << ": " << seconds << " s\n";
  }
  for (const auto& [code, count] : seen) {
    std::cout << "status " << code << ": " << count << " calls\n";
  }
  EXPECT_GT(seen[grpc::StatusCode::OK], 0);
  EXPECT_GT(seen[grpc::StatusCode::INVALID_ARGUMENT], 0);

  ASSERT_FALSE(server_.process->exited()) << "the server died";
  v1::Trial after;
  ASSERT_TRUE(sweeps_->GetTrial(Context().get(), get, &after).ok());
  EXPECT_EQ(after.state(), v1::TRIAL_STATE_RUNNING);
  ASSERT_EQ(after.history_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(after.history(i).step(), before.history(i).step());
    EXPECT_EQ(after.history(i).values().at("loss"),
              before.history(i).values().at("loss"));
  }
  v1::GetSweepRequest get_sweep;
  get_sweep.set_sweep_id(safe.sweep_id);
  v1::Sweep sweep;
  ASSERT_TRUE(sweeps_->GetSweep(Context().get(), get_sweep, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_RUNNING);
  EXPECT_EQ(sweep.counts().total(), 1);
  EXPECT_EQ(sweep.counts().running(), 1);
}

}  // namespace
}  // namespace sweep
