// Fault injection through the real binary: a real `sweep server` and several
// real `sweep agent` processes running a real Python program on a grid sweep
// and a random sweep, while the test SIGKILLs the controller at random
// moments (restarting it on the same data dir and port) and SIGKILLs agents,
// now together with their programs as a node dying would, now alone (their
// guard process then ends their programs), starting new ones.
// Afterwards: every grid point finished exactly once, no trial left running,
// every finished trial has each of its metric points exactly once (a crashed
// one a prefix of them, never a repeat), and run_cap was respected.
//
// The kill moments come from a seeded engine (SWEEP_FAULT_SEED overrides the
// seed; a failure prints it). The delays between faults are the faults'
// randomness, not synchronization: every outcome is awaited by asking.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/subprocess.h"
#include "tests/sweep_cli.h"

namespace sweep {
namespace {

using ::nlohmann::json;
using ::sweep::testing::BackgroundProcess;
using ::sweep::testing::ExitStatus;
using ::sweep::testing::JsonInt;
using ::sweep::testing::PickFreePort;
using ::sweep::testing::PollUntil;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::StartServer;
using ::sweep::testing::Stream;
using ::sweep::testing::SweepCli;
using ::sweep::testing::WriteFile;

constexpr int kGridPoints = 24;
constexpr int kRandomCap = 16;
constexpr int kSteps = 10;
constexpr std::chrono::seconds kDrainTimeout(180);

// Logs kSteps points of `loss` (1000 x + step) with short pauses, so that a
// trial spans several reports and faults land in the middle of them.
constexpr char kProgram[] = R"(import time

import sweep_client

x = sweep_client.config()["x"]
for step in range(10):
    sweep_client.log({"loss": 1000 * x + step}, step=step)
    time.sleep(0.04)
)";

// The parent pid of `pid` from /proc, or 0.
pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t end = stat.rfind(')');
  if (end == std::string::npos) return 0;
  std::istringstream rest(stat.substr(end + 1));
  char state = 0;
  pid_t parent = 0;
  rest >> state >> parent;
  return parent;
}

// Every process descended from `root`.
std::set<pid_t> Descendants(pid_t root) {
  std::map<pid_t, pid_t> parents;
  if (DIR* proc = opendir("/proc")) {
    while (dirent* entry = readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0') continue;
      parents[static_cast<pid_t>(pid)] = ParentOf(static_cast<pid_t>(pid));
    }
    closedir(proc);
  }
  std::set<pid_t> found;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [pid, parent] : parents) {
      if ((parent == root || found.count(parent)) && !found.count(pid)) {
        found.insert(pid);
        grew = true;
      }
    }
  }
  return found;
}

// SIGKILLs `root` and everything it started (its programs run in process
// groups of their own), as the death of its machine would. The agent is
// stopped first so that it starts nothing more meanwhile.
void KillTree(pid_t root) {
  kill(root, SIGSTOP);
  const std::set<pid_t> descendants = Descendants(root);
  for (pid_t pid : descendants) kill(pid, SIGSTOP);
  for (pid_t pid : descendants) kill(pid, SIGKILL);
  kill(root, SIGKILL);
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(WriteFile(dir_.Path("steps.py"), kProgram));
    port_ = PickFreePort();
    ASSERT_NE(port_, 0);
    StartController();
    ASSERT_NE(server_.process, nullptr) << server_.error;
    cli_ = SweepCli(server_.address);
    const char* seed = std::getenv("SWEEP_FAULT_SEED");
    seed_ = seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261124;
    rng_.seed(seed_);
  }

  void StartController() {
    // Short leases so that a dead agent's trials are noticed within the
    // test; frequent heartbeats so that agents renew well within them.
    server_ =
        StartServer(dir_.Path("data"), port_,
                    {"--lease-timeout-ms", "2500", "--heartbeat-interval-ms",
                     "250", "--sync", "normal"});
  }

  std::string CreateSweep(const std::string& name, const std::string& yaml) {
    const std::string file = dir_.Path(name + ".yaml");
    EXPECT_TRUE(WriteFile(file, yaml));
    return cli_.Create(file);
  }

  // An agent of `sweep` named `name` (empty: no name).
  std::unique_ptr<BackgroundProcess> StartAgent(const std::string& sweep,
                                                const std::string& name) {
    std::vector<std::string> args = {"--workdir", dir_.Path("runs"),
                                     "--max-consecutive-failures", "0"};
    if (!name.empty()) {
      args.push_back("--name");
      args.push_back(name);
    }
    return cli_.StartAgent(sweep, dir_.path(), args);
  }

  // A one-point sweep of kReleasedProgram and its agent, once the program
  // logged its first five points and waits for the file `release`.
  void StartReleasedTrial(std::string* id,
                          std::unique_ptr<BackgroundProcess>* agent);

  // SIGKILLs the controller, then lets StartReleasedTrial's program end.
  void KillControllerAndReleaseTheTrial() {
    ASSERT_TRUE(server_.process->Signal(SIGKILL));
    ASSERT_TRUE(server_.process->WaitForExit(std::chrono::seconds(10)));
    ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  }

  // Waits for the agent of StartReleasedTrial to exit; expects its trial
  // finished with all ten points, which *trial then holds.
  void AwaitReleasedTrialFinished(BackgroundProcess& agent,
                                  const std::string& id, json* trial) {
    const std::optional<ExitStatus> exit =
        agent.WaitForExit(std::chrono::seconds(60));
    ASSERT_TRUE(exit.has_value()) << agent.Output(Stream::kStderr);
    *trial = cli_.TrialWithHistory(id, 1);
    EXPECT_EQ((*trial)["state"], "finished")
        << trial->value("end_reason", "") << "\n"
        << agent.Output(Stream::kStderr);
    EXPECT_EQ(JsonInt((*trial)["metric_points"]), 10);
  }

  std::chrono::milliseconds Uniform(int min_ms, int max_ms) {
    return std::chrono::milliseconds(
        std::uniform_int_distribution<int>(min_ms, max_ms)(rng_));
  }

  ScopedTempDir dir_{"fault-e2e"};  // Destroyed last.
  int port_ = 0;
  ServerProcess server_;
  SweepCli cli_{""};
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

struct Agent {
  std::string sweep;
  std::string name;
  std::unique_ptr<BackgroundProcess> process;
};

// Checks one trial's stored history: steps 0, 1, ... each once, with the
// program's values; all kSteps of them when the trial finished.
void ExpectHistoryExactlyOnce(const json& trial) {
  const int64_t number = JsonInt(trial["number"]);
  const int64_t x = trial["config"]["x"];
  const json& history = trial["history"];
  const std::string state = trial["state"];
  if (state == "finished") {
    EXPECT_EQ(history.size(), static_cast<size_t>(kSteps))
        << "finished trial " << number
        << " must hold every point once: " << history.dump();
  }
  EXPECT_LE(history.size(), static_cast<size_t>(kSteps))
      << "trial " << number << " holds a point twice: " << history.dump();
  EXPECT_EQ(JsonInt(trial["metric_points"]),
            static_cast<int64_t>(history.size()));
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(JsonInt(history[i]["step"]), static_cast<int64_t>(i))
        << "trial " << number << " point " << i;
    EXPECT_EQ(history[i]["values"]["loss"].get<double>(),
              1000.0 * static_cast<double>(x) + static_cast<double>(i))
        << "trial " << number << " point " << i;
  }
}

TEST_F(FaultInjectionTest, NothingLostOrDuplicatedThroughRepeatedKills) {
  SCOPED_TRACE("SWEEP_FAULT_SEED=" + std::to_string(seed_));
  std::string grid_values;
  for (int x = 1; x <= kGridPoints; ++x) {
    grid_values += (x > 1 ? ", " : "") + std::to_string(x);
  }
  const std::string grid = CreateSweep("grid", R"(
name: faults-grid
program: steps.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x:
    values: [)" + grid_values + "]\n");
  const std::string random = CreateSweep("random", R"(
name: faults-random
program: steps.py
method: random
run_cap: )" + std::to_string(kRandomCap) + R"(
metric: {name: loss, goal: minimize}
parameters:
  x:
    min: 1
    max: 1000000
)");
  ASSERT_FALSE(grid.empty());
  ASSERT_FALSE(random.empty());

  std::vector<Agent> agents;
  int started = 0;
  auto start_agent = [&](const std::string& sweep, std::string name) {
    if (name.empty()) name = "agent-" + std::to_string(++started);
    agents.push_back(Agent{sweep, name, StartAgent(sweep, name)});
    ASSERT_NE(agents.back().process, nullptr);
  };
  start_agent(grid, "");
  start_agent(grid, "");
  start_agent(grid, "");
  start_agent(random, "");
  start_agent(random, "");

  // Five rounds of faults: the controller killed and restarted, then an
  // agent killed, with its programs or alone, and replaced, by one that
  // takes over its name (and so hears at once about its lost trials) or by a
  // new one.
  int controller_kills = 0, agent_kills = 0;
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(Uniform(200, 1200));
    ASSERT_TRUE(server_.process->Signal(SIGKILL));
    ASSERT_TRUE(server_.process->WaitForExit(std::chrono::seconds(10)));
    ++controller_kills;
    std::this_thread::sleep_for(Uniform(0, 800));
    StartController();
    ASSERT_NE(server_.process, nullptr) << server_.error;

    std::this_thread::sleep_for(Uniform(100, 1000));
    std::vector<size_t> alive;
    for (size_t i = 0; i < agents.size(); ++i) {
      if (!agents[i].process->exited()) alive.push_back(i);
    }
    if (alive.empty()) break;  // Both sweeps are done already.
    Agent& victim = agents[alive[std::uniform_int_distribution<size_t>(
        0, alive.size() - 1)(rng_)]];
    if (round % 2 == 0) {
      KillTree(victim.process->pid());  // Its machine died.
    } else {
      // The agent alone (the OOM killer): its guard ends its programs.
      victim.process->Signal(SIGKILL);
    }
    ASSERT_TRUE(victim.process->WaitForExit(std::chrono::seconds(10)));
    ++agent_kills;
    const std::string sweep = victim.sweep;
    const std::string name = round % 2 == 0 ? victim.name : "";
    start_agent(sweep, name);
  }
  RecordProperty("controller_kills", controller_kills);
  RecordProperty("agent_kills", agent_kills);

  // Every agent left alive drains its sweep and exits by itself.
  for (Agent& agent : agents) {
    if (agent.process->exited()) continue;
    const std::optional<ExitStatus> exit =
        agent.process->WaitForExit(kDrainTimeout);
    ASSERT_TRUE(exit.has_value()) << agent.name << " did not finish; stderr:\n"
                                  << agent.process->Output(Stream::kStderr);
    EXPECT_EQ(exit->exit_code, 0) << agent.name << ":\n"
                                  << agent.process->Output(Stream::kStderr);
  }

  // The grid: each point finished exactly once; the rest crashed.
  std::map<int64_t, int> finished_per_x;
  int crashed = 0;
  for (const json& listed : cli_.Trials(grid)) {
    const json trial = cli_.TrialWithHistory(grid, JsonInt(listed["number"]));
    const std::string state = trial["state"];
    EXPECT_TRUE(state == "finished" || state == "crashed") << trial.dump();
    const int64_t x = trial["config"]["x"];
    if (state == "finished") ++finished_per_x[x];
    crashed += state == "crashed";
    ExpectHistoryExactlyOnce(trial);
  }
  ASSERT_EQ(finished_per_x.size(), static_cast<size_t>(kGridPoints));
  for (const auto& [x, count] : finished_per_x) {
    EXPECT_EQ(count, 1) << "grid point x=" << x;
  }
  const json grid_status = cli_.Json({"status", grid});
  EXPECT_EQ(grid_status["state"], "finished") << grid_status;
  EXPECT_EQ(JsonInt(grid_status["counts"]["running"]), 0);

  // The random sweep: exactly run_cap trials finished (lost ones do not
  // count toward it), none running, none repeated.
  const std::vector<json> random_trials = cli_.Trials(random);
  std::set<std::string> configs;
  int random_finished = 0;
  for (const json& listed : random_trials) {
    const json trial = cli_.TrialWithHistory(random, JsonInt(listed["number"]));
    const std::string state = trial["state"];
    EXPECT_TRUE(state == "finished" || state == "crashed") << trial.dump();
    EXPECT_TRUE(configs.insert(trial["config"].dump()).second);
    crashed += state == "crashed";
    random_finished += state == "finished";
    ExpectHistoryExactlyOnce(trial);
  }
  EXPECT_EQ(random_finished, kRandomCap);
  const json random_status = cli_.Json({"status", random});
  EXPECT_EQ(random_status["state"], "finished") << random_status;
  EXPECT_EQ(JsonInt(random_status["counts"]["running"]), 0);
  EXPECT_EQ(JsonInt(random_status["counts"]["total"]) -
                JsonInt(random_status["counts"]["crashed"]),
            kRandomCap);
  std::cout << "fault injection (seed " << seed_ << "): " << controller_kills
            << " controller kills, " << agent_kills << " agent kills, "
            << crashed << " trials crashed and handed out again\n";
}

// Logs five points, waits for a file named "release", logs five more and
// notes that it ended: its end falls where the test wants it.
constexpr char kReleasedProgram[] = R"(import os
import time

import sweep_client

for step in range(5):
    sweep_client.log({"loss": float(step)}, step=step)
deadline = time.time() + 60
while not os.path.exists("release") and time.time() < deadline:
    time.sleep(0.02)
for step in range(5, 10):
    sweep_client.log({"loss": float(step)}, step=step)
with open("ended", "w") as f:
    f.write("ended")
)";

void FaultInjectionTest::StartReleasedTrial(
    std::string* id, std::unique_ptr<BackgroundProcess>* agent) {
  ASSERT_TRUE(WriteFile(dir_.Path("released.py"), kReleasedProgram));
  *id = CreateSweep("released", R"(
program: released.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x: {values: [1]}
)");
  ASSERT_FALSE(id->empty());
  *agent = StartAgent(*id, "");
  ASSERT_NE(*agent, nullptr);
  ASSERT_TRUE(PollUntil(
      [&] {
        const std::vector<json> trials = cli_.Trials(*id);
        return trials.size() == 1 && JsonInt(trials[0]["metric_points"]) >= 5;
      },
      std::chrono::seconds(60)))
      << (*agent)->Output(Stream::kStderr);
}

// A program that ends while the controller is down: its last reports and
// its finish wait in the agent, and the controller comes back after more
// than a lease (2.5 s). The agent renews the lease of a trial until its
// finish is delivered, and finds the controller again promptly, so the trial
// finishes with every point instead of being declared lost.
TEST_F(FaultInjectionTest, ATrialEndingWhileTheControllerIsDownIsNotLost) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent;
  ASSERT_NO_FATAL_FAILURE(StartReleasedTrial(&id, &agent));
  ASSERT_NO_FATAL_FAILURE(KillControllerAndReleaseTheTrial());
  ASSERT_TRUE(
      PollUntil([&] { return std::ifstream(dir_.Path("ended")).good(); },
                std::chrono::seconds(60)));
  // The outage: twice the lease, long enough for the agent's retries to
  // back off to their longest wait.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const int64_t restarted_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  StartController();
  ASSERT_NE(server_.process, nullptr) << server_.error;

  json trial;
  ASSERT_NO_FATAL_FAILURE(AwaitReleasedTrialFinished(*agent, id, &trial));
  // It ended when its program did, not when the controller heard of it.
  EXPECT_LT(JsonInt(trial["ended_ms"]), restarted_ms);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              ::testing::HasSubstr("is finished"));
  // The outage is said (once, or twice should a call get through as the
  // controller dies), not a line a retry (5 s of retries, up to 1 s apart);
  // and its end too.
  const std::string err = agent->Output(Stream::kStderr);
  EXPECT_THAT(err, ::testing::HasSubstr("the controller answers again"));
  size_t outage_lines = 0;
  for (size_t at = err.find("controller unavailable"); at != std::string::npos;
       at = err.find("controller unavailable", at + 1)) {
    ++outage_lines;
  }
  EXPECT_GE(outage_lines, 1u) << err;
  EXPECT_LE(outage_lines, 2u) << err;
}

// An agent whose trial ended while the controller is down, with nothing
// left running: the first signal says it waits to deliver, the second gives
// up and exits (one signal from a scheduler must not read as "finishing
// running trials", and two must be enough).
TEST_F(FaultInjectionTest, ASecondSignalGivesUpOnReportsWhenNothingRuns) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent;
  ASSERT_NO_FATAL_FAILURE(StartReleasedTrial(&id, &agent));
  ASSERT_NO_FATAL_FAILURE(KillControllerAndReleaseTheTrial());
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, "trial 1 ended",
                                 std::chrono::seconds(60)))
      << agent->Output(Stream::kStderr);

  ASSERT_TRUE(agent->Signal(SIGTERM));
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr,
                                 "taking no new trials; delivering",
                                 std::chrono::seconds(10)))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(agent->Signal(SIGTERM));
  const std::optional<ExitStatus> exit =
      agent->WaitForExit(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value()) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              ::testing::HasSubstr("were not delivered"));
}

// A cancel acknowledged just before the controller died, which the agent
// (frozen meanwhile) never heard: the restarted controller still orders its
// running trial killed.
TEST_F(FaultInjectionTest, ACancelTheAgentMissedBeforeARestartStillKills) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent;
  ASSERT_NO_FATAL_FAILURE(StartReleasedTrial(&id, &agent));

  ASSERT_TRUE(agent->Signal(SIGSTOP));
  const sweep::testing::ProcessResult canceled = cli_.Run({"cancel", id});
  ASSERT_EQ(canceled.exit_code, 0) << canceled.err;
  ASSERT_TRUE(server_.process->Signal(SIGKILL));
  ASSERT_TRUE(server_.process->WaitForExit(std::chrono::seconds(10)));
  StartController();
  ASSERT_NE(server_.process, nullptr) << server_.error;
  ASSERT_TRUE(agent->Signal(SIGCONT));

  const std::optional<ExitStatus> exit =
      agent->WaitForExit(std::chrono::seconds(60));
  ASSERT_TRUE(exit.has_value()) << agent->Output(Stream::kStderr);
  const json trial = cli_.Json({"trials", id, "1"});
  EXPECT_EQ(trial["state"], "killed") << trial.dump();
  EXPECT_THAT(trial.value("end_reason", ""),
              ::testing::HasSubstr("the sweep was canceled"));
}

// A controller stopped (SIGSTOP: a paused VM, a swap storm) for longer than
// a lease, while its agents kept trying to heartbeat: their trials live on.
TEST_F(FaultInjectionTest, AStoppedControllerDoesNotCrashTheTrialsOnWaking) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent;
  ASSERT_NO_FATAL_FAILURE(StartReleasedTrial(&id, &agent));

  ASSERT_TRUE(server_.process->Signal(SIGSTOP));
  // The stall: well past the 2.5 s lease.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  ASSERT_TRUE(server_.process->Signal(SIGCONT));
  EXPECT_TRUE(server_.process->WaitForLine(
      Stream::kStderr, "no lease was checked for", std::chrono::seconds(30)));
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));

  json trial;
  ASSERT_NO_FATAL_FAILURE(AwaitReleasedTrialFinished(*agent, id, &trial));
  EXPECT_EQ(cli_.Trials(id).size(), 1u);
}

}  // namespace
}  // namespace sweep
