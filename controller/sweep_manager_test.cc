// Lease expiry and lost grid points, with a fake clock and no server.
#include "controller/sweep_manager.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Calls an asynchronous manager method and waits for its completion.
template <typename Request, typename Response, typename Method>
absl::Status Call(SweepManager& manager, Method method, const Request& request,
                  Response* response) {
  absl::Notification done;
  absl::Status result;
  (manager.*method)(request, response, [&](const absl::Status& status) {
    result = status;
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

class SweepManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = ::testing::TempDir() + "/sweep_manager_test_" +
           std::to_string(getpid()) + "_" + std::to_string(counter++);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  // (Re)opens the store in dir_ with `options` and a manager over it.
  void Open(const StoreOptions& options = {}) {
    Close();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ManagerOptions manager_options;
    manager_options.lease_timeout_ms = 10'000;
    manager_options.heartbeat_interval_ms = 2'000;
    absl::StatusOr<std::unique_ptr<SweepManager>> manager =
        SweepManager::Create(store_.get(), &clock_, manager_options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
  }

  // Drains and closes both (before anything a store hook refers to dies).
  void Close() {
    manager_.reset();
    store_.reset();
  }

  std::string CreateSweep(const std::string& yaml) {
    v1::CreateSweepRequest request;
    request.set_definition_yaml(yaml);
    v1::CreateSweepResponse response;
    EXPECT_TRUE(
        Call(*manager_, &SweepManager::CreateSweep, request, &response).ok());
    return response.sweep().id();
  }

  std::string CreateGrid() {
    return CreateSweep(
        "method: grid\nprogram: t.py\nparameters:\n  a: {values: [1, 2]}\n");
  }

  std::string Register(const std::string& sweep_id) {
    v1::RegisterAgentRequest request;
    request.set_sweep_id(sweep_id);
    request.set_slots(2);
    v1::RegisterAgentResponse response;
    EXPECT_TRUE(
        Call(*manager_, &SweepManager::RegisterAgent, request, &response).ok());
    return response.agent_id();
  }

  absl::StatusOr<v1::Trial> GetTrial(const std::string& sweep_id,
                                     int64_t number) {
    v1::GetTrialRequest request;
    request.set_sweep_id(sweep_id);
    request.set_number(number);
    v1::Trial trial;
    RETURN_IF_ERROR(manager_->GetTrial(request, &trial));
    return trial;
  }

  // A heartbeat of `agent` listing the leases of `trials`.
  static v1::HeartbeatRequest HeartbeatListing(
      const std::string& agent,
      const std::vector<const v1::TrialAssignment*>& trials) {
    v1::HeartbeatRequest heartbeat;
    heartbeat.set_agent_id(agent);
    for (const v1::TrialAssignment* trial : trials) {
      v1::TrialLease* lease = heartbeat.add_leases();
      lease->set_sweep_id(trial->sweep_id());
      lease->set_number(trial->number());
      lease->set_lease_id(trial->lease_id());
    }
    return heartbeat;
  }

  v1::AcquireTrialResponse Acquire(const std::string& agent) {
    v1::AcquireTrialRequest request;
    request.set_agent_id(agent);
    v1::AcquireTrialResponse response;
    EXPECT_TRUE(
        Call(*manager_, &SweepManager::AcquireTrial, request, &response).ok());
    return response;
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SweepManager> manager_;
};

// An agent registering under a name takes over its holder's place (and
// learns which of the holder's trials are lost) only once the holder has
// been silent for a lease, or has said it is leaving: a second agent given
// the same name must not crash the first one's trials.
TEST_F(SweepManagerTest, ANameIsTakenOverOnlyFromASilentOrLeavingAgent) {
  const std::string id = CreateGrid();
  const auto register_as = [&](const std::string& name,
                               v1::RegisterAgentResponse* response) {
    v1::RegisterAgentRequest request;
    request.set_sweep_id(id);
    request.set_name(name);
    request.set_slots(1);
    return Call(*manager_, &SweepManager::RegisterAgent, request, response);
  };
  v1::RegisterAgentResponse first;
  ASSERT_TRUE(register_as("node-7", &first).ok());
  const v1::AcquireTrialResponse trial = Acquire(first.agent_id());
  ASSERT_TRUE(trial.has_trial());

  v1::RegisterAgentResponse second;
  EXPECT_TRUE(absl::IsAlreadyExists(register_as("node-7", &second)));
  clock_.AdvanceMs(6'000);
  v1::HeartbeatRequest heartbeat;
  heartbeat.set_agent_id(first.agent_id());
  v1::HeartbeatResponse ignored;
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &ignored).ok());
  const int64_t last_heard_ms = clock_.NowMs();
  clock_.AdvanceMs(9'000);  // 9 s of silence, under the 10 s lease.
  EXPECT_TRUE(absl::IsAlreadyExists(register_as("node-7", &second)));

  clock_.AdvanceMs(2'000);  // 11 s: the holder is gone.
  ASSERT_TRUE(register_as("node-7", &second).ok());
  ASSERT_EQ(second.lost_trials_size(), 1);
  EXPECT_EQ(second.lost_trials(0), trial.trial().number());
  const absl::StatusOr<v1::Trial> got = GetTrial(id, trial.trial().number());
  ASSERT_TRUE(got.ok());
  const v1::Trial& lost = *got;
  EXPECT_EQ(lost.state(), v1::TRIAL_STATE_CRASHED);
  // It ended when its agent was last heard, not when the name came back.
  EXPECT_EQ(lost.ended_ms(), last_heard_ms);
  // The lost grid point is handed out again.
  EXPECT_EQ(Acquire(second.agent_id()).trial().config_json(),
            trial.trial().config_json());

  // The same process registering again (its id was lost) is no newcomer.
  const auto register_process = [&](const std::string& name, int64_t pid,
                                    v1::RegisterAgentResponse* response) {
    v1::RegisterAgentRequest request;
    request.set_sweep_id(id);
    request.set_name(name);
    request.set_host("node-a");
    request.set_pid(pid);
    request.set_slots(1);
    return Call(*manager_, &SweepManager::RegisterAgent, request, response);
  };
  v1::RegisterAgentResponse self;
  ASSERT_TRUE(register_process("node-9", 41, &self).ok());
  // Its id starts with its name, for tables; what is unsafe there is left
  // out.
  EXPECT_THAT(self.agent_id(), ::testing::MatchesRegex("node-9-[a-z0-9]{6}"));
  v1::RegisterAgentResponse odd;
  ASSERT_TRUE(register_process("gpu 1,\"x\"\n", 43, &odd).ok());
  EXPECT_THAT(odd.agent_id(), ::testing::MatchesRegex("gpu1x-[a-z0-9]{6}"));
  EXPECT_TRUE(register_process("node-9", 41, &self).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(register_process("node-9", 42, &self)));

  // A restarted controller does not free every name at once: the agents it
  // recovers get a lease, as their trials do.
  Open();
  EXPECT_TRUE(absl::IsAlreadyExists(register_process("node-9", 42, &self)));
  clock_.AdvanceMs(11'000);
  EXPECT_TRUE(register_process("node-9", 42, &self).ok());

  // An agent that says it leaves frees its name at once.
  v1::HeartbeatRequest leaving;
  leaving.set_agent_id(second.agent_id());
  leaving.set_leaving(true);
  ASSERT_TRUE(manager_->Heartbeat(leaving, &ignored).ok());
  v1::RegisterAgentResponse third;
  EXPECT_TRUE(register_as("node-7", &third).ok());
}

// A sweep whose creation did not commit (a full disk) is neither listed
// nor found: after a restart it would not exist.
TEST_F(SweepManagerTest, ASweepThatFailedToCommitIsNotShown) {
  StoreOptions options;
  options.max_page_count = 40;
  Open(options);
  const std::string kept = CreateGrid();
  ASSERT_FALSE(kept.empty());
  v1::CreateSweepRequest request;
  request.set_definition_yaml(
      "# " + std::string(500 << 10, 'x') +
      "\nmethod: grid\nprogram: t.py\nparameters:\n  a: {values: [1]}\n");
  v1::CreateSweepResponse response;
  EXPECT_FALSE(
      Call(*manager_, &SweepManager::CreateSweep, request, &response).ok());
  const std::string lost = response.sweep().id();
  ASSERT_FALSE(lost.empty());
  v1::ListSweepsResponse list;
  ASSERT_TRUE(manager_->ListSweeps(&list).ok());
  ASSERT_EQ(list.sweeps_size(), 1);
  EXPECT_EQ(list.sweeps(0).id(), kept);
  v1::GetSweepRequest get;
  get.set_sweep_id(lost);
  v1::Sweep sweep;
  EXPECT_TRUE(absl::IsNotFound(manager_->GetSweep(get, &sweep)));
  // What is shown says the controller now refuses changes, and why.
  EXPECT_THAT(list.sweeps(0).controller_problem(),
              AllOf(HasSubstr("its store failed a write ("), HasSubstr("full"),
                    HasSubstr("restarted")));
  get.set_sweep_id(kept);
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.controller_problem(), list.sweeps(0).controller_problem());
  EXPECT_EQ(list.controller_problem(), sweep.controller_problem());
}

TEST_F(SweepManagerTest, AGridPointLostThreeTimesIsGivenUpAndSaidSo) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nparameters:\n  a: {values: [1]}\n");
  const std::string agent = Register(id);
  for (int loss = 0; loss < 3; ++loss) {
    ASSERT_TRUE(Acquire(agent).has_trial()) << loss;
    clock_.AdvanceMs(11'000);
    EXPECT_EQ(manager_->ExpireLeases(), 1);
  }
  v1::GetSweepRequest get;
  get.set_sweep_id(id);
  v1::Sweep sweep;
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_EQ(sweep.state_reason(),
            "every grid point was tried; 1 was given up after its "
            "trials were lost 3 times (agents killed or shut down, nodes that "
            "could not start them)");
}

// run_cap counts the trials that ran to an end of their own: a lost one
// frees its place (the sweep it had finished runs again) and its grid point
// is handed out again.
TEST_F(SweepManagerTest, ALostTrialDoesNotUseUpARunCapPlace) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nrun_cap: 2\n"
      "parameters:\n  a: {values: [1, 2, 3]}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  const v1::AcquireTrialResponse second = Acquire(agent);
  ASSERT_TRUE(first.has_trial() && second.has_trial());
  v1::GetSweepRequest get;
  get.set_sweep_id(id);
  v1::Sweep sweep;
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_EQ(sweep.state_reason(), "run_cap 2 reached; running trials finish");
  // The second trial's agent renews only the first's lease.
  clock_.AdvanceMs(6'000);
  v1::HeartbeatResponse response;
  ASSERT_TRUE(
      manager_->Heartbeat(HeartbeatListing(agent, {&first.trial()}), &response)
          .ok());
  clock_.AdvanceMs(6'000);
  EXPECT_EQ(manager_->ExpireLeases(), 1);
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_RUNNING);
  const v1::AcquireTrialResponse again = Acquire(agent);
  ASSERT_TRUE(again.has_trial());
  EXPECT_EQ(again.trial().config_json(), second.trial().config_json());
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_EQ(sweep.counts().total(), 3);
}

TEST_F(SweepManagerTest, ExtendedLeasesOutlastTheTimeTheControllerStood) {
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  ASSERT_TRUE(Acquire(agent).has_trial());
  clock_.AdvanceMs(9'000);
  manager_->ExtendLeases(5'000);  // As the reaper does after a stall.
  clock_.AdvanceMs(5'000);
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  clock_.AdvanceMs(2'000);
  EXPECT_EQ(manager_->ExpireLeases(), 1);
}

TEST_F(SweepManagerTest, AfterARestartAHeartbeatsScopeLetsASuccessorInAtOnce) {
  const std::string id = CreateGrid();
  v1::RegisterAgentRequest first;
  first.set_sweep_id(id);
  first.set_name("node-7");
  first.set_host("gpu7");
  first.set_slots(1);
  first.set_pid(4242);
  first.set_pid_scope("boot-a/pidns-1/gpu7");
  v1::RegisterAgentResponse registered;
  ASSERT_TRUE(
      Call(*manager_, &SweepManager::RegisterAgent, first, &registered).ok());
  Open();  // The controller restarts: scopes are not stored.
  v1::RegisterAgentRequest successor = first;
  successor.set_pid(4300);
  successor.set_predecessor_pid(4242);
  v1::RegisterAgentResponse response;
  v1::HeartbeatRequest heartbeat;
  heartbeat.set_agent_id(registered.agent_id());
  v1::HeartbeatResponse heard;
  // Heard without its scope (an older agent): its name stays held.
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &heard).ok());
  EXPECT_EQ(Call(*manager_, &SweepManager::RegisterAgent, successor, &response)
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Heard with it (then killed): its successor on that host, which saw pid
  // 4242 end in the same scope, takes the name at once.
  heartbeat.set_pid_scope(first.pid_scope());
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &heard).ok());
  EXPECT_TRUE(
      Call(*manager_, &SweepManager::RegisterAgent, successor, &response).ok());
  EXPECT_NE(response.agent_id(), registered.agent_id());
}

TEST_F(SweepManagerTest, AnAgentThatAcquiresIsLiveAtOnceAfterARestart) {
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  Open();  // The controller restarts: no agent heard from yet.
  v1::GetSweepRequest get;
  get.set_sweep_id(id);
  v1::Sweep sweep;
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.agents(), 0);
  ASSERT_TRUE(Acquire(agent).has_trial());
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.agents(), 1);
}

TEST_F(SweepManagerTest, AStalledStoreExtendsLeasesInsteadOfExpiringThem) {
  // A frozen file system holds a commit (and the calls waiting behind it,
  // which may be every thread that would hear heartbeats): its time does
  // not count against the agents.
  std::atomic<bool> hold{false};
  absl::Notification held, release;
  StoreOptions options;
  options.clock = &clock_;
  options.before_commit_for_testing = [&](const Mutation&) {
    if (!hold.exchange(false)) return;
    held.Notify();
    release.WaitForNotification();
  };
  Open(options);
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  ASSERT_TRUE(Acquire(agent).has_trial());  // Its lease runs out at 10 s.
  clock_.AdvanceMs(9'000);
  hold = true;
  v1::UpdateSweepStateRequest pause;
  pause.set_sweep_id(id);
  pause.set_action(v1::SWEEP_ACTION_PAUSE);
  v1::Sweep paused;
  absl::Notification committed;
  // On a thread of its own: the store may commit on the caller's.
  std::thread pauser([&] {
    manager_->UpdateSweepState(pause, &paused, [&](const absl::Status& status) {
      EXPECT_TRUE(status.ok()) << status;
      committed.Notify();
    });
  });
  held.WaitForNotification();  // From 9 s on.
  clock_.AdvanceMs(5'000);
  EXPECT_EQ(store_->BusySinceMs(), clock_.NowMs() - 5'000);
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  clock_.AdvanceMs(20'000);
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  release.Notify();
  committed.WaitForNotification();
  pauser.join();
  EXPECT_EQ(store_->BusySinceMs(), 0);
  // Extended by the 25 s stall: it runs out at 35 s, not before.
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  clock_.AdvanceMs(2'000);
  EXPECT_EQ(manager_->ExpireLeases(), 1);
}

TEST_F(SweepManagerTest, ExpiredLeaseCrashesTheTrialAndFreesItsGridPoint) {
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  const v1::AcquireTrialResponse second = Acquire(agent);
  ASSERT_TRUE(first.has_trial() && second.has_trial());
  EXPECT_GT(Acquire(agent).retry_after_ms(), 0);  // Both points are taken.

  // Only the first trial's lease is renewed.
  clock_.AdvanceMs(6'000);
  const v1::HeartbeatRequest heartbeat =
      HeartbeatListing(agent, {&first.trial()});
  v1::HeartbeatResponse response;
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &response).ok());
  EXPECT_EQ(response.revoked_size(), 0);
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  clock_.AdvanceMs(6'000);
  EXPECT_EQ(manager_->ExpireLeases(), 1);

  const absl::StatusOr<v1::Trial> got = GetTrial(id, second.trial().number());
  ASSERT_TRUE(got.ok());
  const v1::Trial& trial = *got;
  EXPECT_EQ(trial.state(), v1::TRIAL_STATE_CRASHED);
  EXPECT_THAT(trial.end_reason(), HasSubstr("lease expired"));
  // It ended when its agent was last heard (at the acquire), not 12 s on.
  EXPECT_EQ(trial.ended_ms(), trial.created_ms());

  // The lost point goes back to the queue.
  const v1::AcquireTrialResponse again = Acquire(agent);
  ASSERT_TRUE(again.has_trial());
  EXPECT_EQ(again.trial().config_json(), second.trial().config_json());

  // A heartbeat for the crashed trial's lease revokes it.
  v1::HeartbeatResponse revoked;
  ASSERT_TRUE(
      manager_->Heartbeat(HeartbeatListing(agent, {&second.trial()}), &revoked)
          .ok());
  EXPECT_EQ(revoked.revoked_size(), 1);
}

TEST_F(SweepManagerTest, GridFinishesWhenEveryPointEnded) {
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  for (int i = 0; i < 2; ++i) {
    const v1::AcquireTrialResponse acquired = Acquire(agent);
    ASSERT_TRUE(acquired.has_trial());
    v1::FinishTrialRequest finish;
    finish.set_sweep_id(id);
    finish.set_number(acquired.trial().number());
    finish.set_lease_id(acquired.trial().lease_id());
    finish.set_outcome(v1::FINISH_OUTCOME_EXITED);
    v1::FinishTrialResponse finished;
    ASSERT_TRUE(
        Call(*manager_, &SweepManager::FinishTrial, finish, &finished).ok());
  }
  v1::GetSweepRequest get;
  get.set_sweep_id(id);
  v1::Sweep sweep;
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);
  EXPECT_THAT(sweep.state_reason(), HasSubstr("every grid point"));
  EXPECT_THAT(Acquire(agent).exit_reason(), HasSubstr("finished"));
}

TEST_F(SweepManagerTest, ConcurrentChangesReachTheStoreInTheirOrder) {
  // Rows are written whole, so each sweep's changes must reach the store in
  // the order they were made: were the sweep row of trial 7 stored after
  // that of trial 8, the store would say the next trial is 8 while trial 8
  // exists, and a restarted controller would overwrite it. Every sweep row
  // the writer applies must have a next trial number at least that of the
  // one before.
  absl::Mutex mu;
  int64_t last_next = 0;
  int inversions = 0;
  int sweep_rows = 0;
  StoreOptions options;
  options.before_commit_for_testing = [&](const Mutation& mutation) {
    absl::MutexLock lock(&mu);
    for (const SweepRow& row : mutation.sweeps) {
      ++sweep_rows;
      if (row.next_trial_number < last_next) ++inversions;
      last_next = std::max(last_next, row.next_trial_number);
    }
  };
  Open(options);
  const std::string agent = Register(CreateSweep(
      "method: random\nprogram: t.py\nparameters:\n  x: {min: 0.0, max: "
      "1.0}\n"));

  // Many acquires in flight at once from several threads.
  constexpr int kThreads = 8;
  constexpr int kAcquires = 200;
  absl::Mutex done_mu;
  int answered = 0;
  std::vector<std::thread> threads;
  std::vector<v1::AcquireTrialResponse> responses(kThreads * kAcquires);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAcquires; ++i) {
        v1::AcquireTrialRequest request;
        request.set_agent_id(agent);
        manager_->AcquireTrial(request, &responses[t * kAcquires + i],
                               [&](const absl::Status&) {
                                 absl::MutexLock lock(&done_mu);
                                 ++answered;
                               });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  {
    absl::MutexLock lock(&done_mu);
    done_mu.Await(absl::Condition(
        +[](int* n) { return *n == kThreads * kAcquires; }, &answered));
  }
  Close();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sweep_rows, 1 + kThreads * kAcquires);
  EXPECT_EQ(inversions, 0);
  EXPECT_EQ(last_next, kThreads * kAcquires + 1);
}

// Reports `value` of loss for the trial as its report `sequence`.
void Report(SweepManager& manager, const v1::TrialAssignment& trial,
            int64_t sequence, double value) {
  v1::ReportMetricsRequest report;
  report.set_sweep_id(trial.sweep_id());
  report.set_number(trial.number());
  report.set_lease_id(trial.lease_id());
  report.set_sequence(sequence);
  (*report.add_points()->mutable_values())["loss"] = value;
  v1::ReportMetricsResponse reported;
  ASSERT_TRUE(
      Call(manager, &SweepManager::ReportMetrics, report, &reported).ok());
}

// Its program exited with `exit_code` (non-zero: failed).
void Finish(SweepManager& manager, const v1::TrialAssignment& trial,
            int exit_code) {
  v1::FinishTrialRequest finish;
  finish.set_sweep_id(trial.sweep_id());
  finish.set_number(trial.number());
  finish.set_lease_id(trial.lease_id());
  finish.set_outcome(v1::FINISH_OUTCOME_EXITED);
  finish.set_exit_code(exit_code);
  v1::FinishTrialResponse finished;
  ASSERT_TRUE(
      Call(manager, &SweepManager::FinishTrial, finish, &finished).ok());
}

// The trial that reached the target is known again after a restart: its
// failure then still takes the sweep back to running.
TEST_F(SweepManagerTest, ATargetTrialFailingAfterARestartReopensTheSweep) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: loss, target: 0.1}\n"
      "parameters:\n  a: {values: [1, 2, 3]}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  ASSERT_TRUE(first.has_trial());
  Report(*manager_, first.trial(), 1, 0.05);
  v1::GetSweepRequest get;
  get.set_sweep_id(id);
  v1::Sweep sweep;
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  ASSERT_EQ(sweep.state(), v1::SWEEP_STATE_FINISHED);

  Open();
  Finish(*manager_, first.trial(), 1);
  ASSERT_TRUE(manager_->GetSweep(get, &sweep).ok());
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_RUNNING) << sweep.state_reason();
  EXPECT_TRUE(Acquire(Register(id)).has_trial());
}

TEST_F(SweepManagerTest, AFailedTrialIsNeverTheBest) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: loss}\n"
      "parameters:\n  a: {values: [1, 2, 3]}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  const v1::AcquireTrialResponse second = Acquire(agent);
  Report(*manager_, first.trial(), 1, 0.5);
  Finish(*manager_, first.trial(), 0);
  // The second logs a better value, then fails.
  Report(*manager_, second.trial(), 1, 0.1);
  v1::GetBestTrialRequest request;
  request.set_sweep_id(id);
  v1::Trial best;
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), second.trial().number()) << "while it runs";
  Report(*manager_, second.trial(), 2, 0.05);
  Finish(*manager_, second.trial(), 1);
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), first.trial().number());
  EXPECT_EQ(best.best_value(), 0.5);
  Open();
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), first.trial().number()) << "after a restart";
}

TEST_F(SweepManagerTest, WhenEveryCandidateForTheBestFailsTheStoreIsRead) {
  // More trials than the manager keeps as candidates for the best fail, the
  // best of them first.
  const int failing = 40;
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: loss}\n"
      "parameters:\n  a: {min: 0.0, max: 1.0}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse good = Acquire(agent);
  Report(*manager_, good.trial(), 1, 100.0);
  Finish(*manager_, good.trial(), 0);
  std::vector<v1::TrialAssignment> doomed;
  for (int i = 0; i < failing; ++i) {
    const v1::AcquireTrialResponse acquired = Acquire(agent);
    ASSERT_TRUE(acquired.has_trial());
    Report(*manager_, acquired.trial(), 1, 1.0 + i);
    doomed.push_back(acquired.trial());
  }
  v1::GetBestTrialRequest request;
  request.set_sweep_id(id);
  v1::Trial best;
  for (const v1::TrialAssignment& trial : doomed) {
    ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
    EXPECT_EQ(best.number(), trial.number());
    Finish(*manager_, trial, 1);
  }
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), good.trial().number());
}

TEST_F(SweepManagerTest,
       AWorseTrialDoesNotTakeTheBestFromOneThatFellOffTheList) {
  const std::string id = CreateSweep(
      "method: random\nprogram: t.py\nmetric: {name: loss}\n"
      "parameters:\n  a: {min: 0.0, max: 1.0}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse kept = Acquire(agent);
  Report(*manager_, kept.trial(), 1, 50.0);
  Finish(*manager_, kept.trial(), 0);
  // 40 better trials push it off the list of candidates, then all but the
  // best of them fail.
  std::vector<v1::TrialAssignment> better;
  for (int i = 0; i < 40; ++i) {
    const v1::AcquireTrialResponse acquired = Acquire(agent);
    ASSERT_TRUE(acquired.has_trial());
    Report(*manager_, acquired.trial(), 1, 1.0 + i);
    better.push_back(acquired.trial());
  }
  for (size_t i = 1; i < better.size(); ++i) Finish(*manager_, better[i], 1);
  // A worse one logs while the list holds only the best, which then fails.
  const v1::AcquireTrialResponse worse = Acquire(agent);
  Report(*manager_, worse.trial(), 1, 100.0);
  Finish(*manager_, better[0], 1);
  v1::GetBestTrialRequest request;
  request.set_sweep_id(id);
  v1::Trial best;
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), kept.trial().number());
  EXPECT_EQ(best.best_value(), 50.0);
}

TEST_F(SweepManagerTest, TiedBestGoesToTheLowerTrialLiveAndAfterReopen) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: acc, goal: maximize}\n"
      "parameters:\n  a: {values: [1, 2]}\n");
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse first = Acquire(agent);
  const v1::AcquireTrialResponse second = Acquire(agent);
  ASSERT_TRUE(first.has_trial() && second.has_trial());
  // The second trial logs the value first.
  for (const v1::AcquireTrialResponse* acquired : {&second, &first}) {
    v1::ReportMetricsRequest report;
    report.set_sweep_id(id);
    report.set_number(acquired->trial().number());
    report.set_lease_id(acquired->trial().lease_id());
    report.set_sequence(1);
    (*report.add_points()->mutable_values())["acc"] = 0.5;
    v1::ReportMetricsResponse response;
    ASSERT_TRUE(
        Call(*manager_, &SweepManager::ReportMetrics, report, &response).ok());
  }
  v1::GetBestTrialRequest request;
  request.set_sweep_id(id);
  v1::Trial best;
  ASSERT_TRUE(manager_->GetBestTrial(request, &best).ok());
  EXPECT_EQ(best.number(), first.trial().number());

  Open();
  v1::Trial recovered;
  ASSERT_TRUE(manager_->GetBestTrial(request, &recovered).ok());
  EXPECT_EQ(recovered.number(), first.trial().number());
}

// Reports `values` (one point each, in order) of an acquired trial in one
// report; the reply's stop order, if any.
std::optional<v1::TrialOrder> ReportValues(SweepManager& manager,
                                           const v1::TrialAssignment& trial,
                                           int64_t sequence,
                                           const std::vector<double>& values) {
  v1::ReportMetricsRequest report;
  report.set_sweep_id(trial.sweep_id());
  report.set_number(trial.number());
  report.set_lease_id(trial.lease_id());
  report.set_sequence(sequence);
  for (double value : values) {
    (*report.add_points()->mutable_values())["loss"] = value;
  }
  v1::ReportMetricsResponse response;
  EXPECT_TRUE(
      Call(manager, &SweepManager::ReportMetrics, report, &response).ok());
  if (!response.has_order()) return std::nullopt;
  return response.order();
}

// A report carrying several iterations has each band it crosses judged:
// the outcome does not depend on how the agent batched the values.
TEST_F(SweepManagerTest, EveryBandAReportCrossesIsJudged) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: loss}\n"
      "early_terminate: {type: hyperband, min_iter: 1, eta: 2}\n"
      "parameters:\n  a: {values: [1, 2, 3, 4, 5]}\n");
  const std::string agent = Register(id);
  std::vector<v1::TrialAssignment> trials;
  for (int i = 0; i < 2; ++i) trials.push_back(Acquire(agent).trial());
  const std::string other_agent = Register(id);
  for (int i = 0; i < 2; ++i) trials.push_back(Acquire(other_agent).trial());
  // Three trials set band 1's threshold (sorted [1, 1.5, 2][floor(3 * 0.5)]:
  // 1.5) and band 2's.
  const double values[] = {1.0, 2.0, 1.5};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(ReportValues(*manager_, trials[i], 1, {values[i], values[i]})
                     .has_value());
  }
  // The fourth logs 9 at band 1 (worse than 1.5), then 1 at band 2 (no
  // worse than that band's 1.5), in one report: stopped at band 1.
  const std::optional<v1::TrialOrder> order =
      ReportValues(*manager_, trials[3], 1, {9.0, 1.0});
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->action(), v1::ORDER_ACTION_STOP);
  EXPECT_THAT(order->reason(), ::testing::HasSubstr("band 1: loss 9.0"));
}

// ASHA judges a trial once at each rung, when it reaches it; a controller
// restart does not judge it again there against trials that came later.
TEST_F(SweepManagerTest, AshaDoesNotJudgeARungAgainAfterARestart) {
  const std::string id = CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: loss}\n"
      "sweep: {early_terminate: {type: asha, min_resource: 1, "
      "max_resource: 27, reduction_factor: 3}}\n"
      "parameters:\n  a: {values: [1, 2, 3, 4, 5]}\n");
  std::vector<v1::TrialAssignment> trials;
  for (int i = 0; i < 2; ++i) {
    const std::string agent = Register(id);
    for (int j = 0; j < 2; ++j) trials.push_back(Acquire(agent).trial());
  }
  // Alone at rung 1, the first goes on.
  EXPECT_FALSE(ReportValues(*manager_, trials[0], 1, {5.0}).has_value());
  // Three better ones reach rung 1 after it.
  for (int i = 1; i < 4; ++i) {
    EXPECT_FALSE(ReportValues(*manager_, trials[i], 1, {1.0}).has_value());
  }
  Open();
  // Its next value is no rung: nothing to judge, before or after a restart.
  EXPECT_FALSE(ReportValues(*manager_, trials[0], 2, {0.0}).has_value());
  // Reaching rung 3 with the best value, it goes on too.
  EXPECT_FALSE(ReportValues(*manager_, trials[0], 3, {0.0}).has_value());
}

// A trial whose hand-out never reached its agent (the reply was lost: the
// controller was killed as it replied) is found by the agent's heartbeats,
// which do not list it, and ends soon, not after a whole lease.
TEST_F(SweepManagerTest, ATrialItsAgentNeverGotEndsWithinTwoHeartbeats) {
  const std::string id = CreateGrid();
  const std::string agent = Register(id);
  const v1::AcquireTrialResponse held = Acquire(agent);
  const v1::AcquireTrialResponse lost = Acquire(agent);
  ASSERT_TRUE(held.has_trial() && lost.has_trial());
  const v1::HeartbeatRequest heartbeat =
      HeartbeatListing(agent, {&held.trial()});
  v1::HeartbeatResponse ignored;
  // Right after the hand-out, a heartbeat built before the reply arrived
  // may not list it: nothing happens.
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &ignored).ok());
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &ignored).ok());
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  // Two heartbeat intervals later (well within the lease), one miss is not
  // enough; two are.
  clock_.AdvanceMs(4'001);
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &ignored).ok());
  EXPECT_EQ(manager_->ExpireLeases(), 0);
  ASSERT_TRUE(manager_->Heartbeat(heartbeat, &ignored).ok());
  EXPECT_EQ(manager_->ExpireLeases(), 1);
  const absl::StatusOr<v1::Trial> ended = GetTrial(id, lost.trial().number());
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->state(), v1::TRIAL_STATE_CRASHED);
  EXPECT_THAT(ended->end_reason(), ::testing::HasSubstr("never started"));
  const absl::StatusOr<v1::Trial> running = GetTrial(id, held.trial().number());
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->state(), v1::TRIAL_STATE_RUNNING);
  // Its grid point is handed out again.
  EXPECT_EQ(Acquire(agent).trial().config_json(), lost.trial().config_json());
}

TEST_F(SweepManagerTest, ARetriedReportIsAcknowledgedOnlyOnceCommitted) {
  // The writer is held while the first report waits to be committed; its
  // retry must not be acknowledged before it (a reply means committed).
  std::atomic<bool> hold{false};
  absl::Notification held, release;
  StoreOptions options;
  options.before_commit_for_testing = [&](const Mutation&) {
    if (hold.exchange(false)) {
      held.Notify();
      release.WaitForNotification();
    }
  };
  Open(options);
  const v1::AcquireTrialResponse acquired = Acquire(Register(CreateSweep(
      "method: grid\nprogram: t.py\nmetric: {name: loss}\nparameters:\n"
      "  a: {values: [1, 2]}\n")));

  v1::ReportMetricsRequest report;
  report.set_sweep_id(acquired.trial().sweep_id());
  report.set_number(acquired.trial().number());
  report.set_lease_id(acquired.trial().lease_id());
  report.set_sequence(1);
  (*report.add_points()->mutable_values())["loss"] = 0.5;
  absl::Mutex mu;
  std::vector<std::string> acknowledged;
  v1::ReportMetricsResponse first, retry;
  hold = true;
  manager_->ReportMetrics(report, &first, [&](const absl::Status& status) {
    EXPECT_TRUE(status.ok()) << status;
    absl::MutexLock lock(&mu);
    acknowledged.push_back("first");
  });
  held.WaitForNotification();
  manager_->ReportMetrics(report, &retry, [&](const absl::Status& status) {
    EXPECT_TRUE(status.ok()) << status;
    absl::MutexLock lock(&mu);
    acknowledged.push_back("retry");
  });
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(acknowledged.empty()) << "acknowledged before the commit";
  }
  release.Notify();
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](std::vector<std::string>* a) { return a->size() == 2; },
        &acknowledged));
    EXPECT_EQ(acknowledged, (std::vector<std::string>{"first", "retry"}));
  }
  EXPECT_EQ(retry.stored_through_sequence(), 1);
  Close();
}

// A trial lost with its agent ended when it was last heard of: its own last
// report counts, not only the agent's heartbeats (a trial started after the
// last heartbeat had a duration of zero).
TEST_F(SweepManagerTest, ATrialLostAtATakeoverEndsAtItsLastReport) {
  const std::string id = CreateGrid();
  v1::RegisterAgentRequest request;
  request.set_sweep_id(id);
  request.set_name("node-9");
  request.set_slots(1);
  v1::RegisterAgentResponse first;
  ASSERT_TRUE(
      Call(*manager_, &SweepManager::RegisterAgent, request, &first).ok());
  const v1::AcquireTrialResponse trial = Acquire(first.agent_id());
  ASSERT_TRUE(trial.has_trial());
  clock_.AdvanceMs(3'000);
  Report(*manager_, trial.trial(), 1, 0.5);
  const int64_t reported_ms = clock_.NowMs();
  clock_.AdvanceMs(11'000);  // Silent for longer than the 10 s lease.
  v1::RegisterAgentResponse second;
  ASSERT_TRUE(
      Call(*manager_, &SweepManager::RegisterAgent, request, &second).ok());
  ASSERT_EQ(second.lost_trials_size(), 1);
  const absl::StatusOr<v1::Trial> lost = GetTrial(id, trial.trial().number());
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->state(), v1::TRIAL_STATE_CRASHED);
  EXPECT_EQ(lost->ended_ms(), reported_ms);
  EXPECT_EQ(lost->ended_ms() - lost->created_ms(), 3'000);
}

}  // namespace
}  // namespace sweep
