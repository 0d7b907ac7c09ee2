// The agent through the real binary: real `sweep agent` processes against a
// real `sweep server`, running real Python programs the tests write into
// their own directory. Metrics, stop and kill orders, failures, the W&B shim,
// argv without a shell, --count, --max-consecutive-failures, GPUs and the
// first-SIGTERM drain.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
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
using ::sweep::testing::ExpectOverlappingRunsOnDifferentGpus;
using ::sweep::testing::GpuRun;
using ::sweep::testing::JsonInt;
using ::sweep::testing::PollUntil;
using ::sweep::testing::ProcessIsGone;
using ::sweep::testing::ProcessResult;
using ::sweep::testing::ReadFile;
using ::sweep::testing::RunProcess;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::SourceDir;
using ::sweep::testing::StartServer;
using ::sweep::testing::Stream;
using ::sweep::testing::SweepBinary;
using ::sweep::testing::SweepCli;
using ::sweep::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::seconds kAgentTimeout(60);
constexpr std::chrono::seconds kConditionTimeout(30);

// A YAML double-quoted scalar holding `text` (no newlines in it).
std::string YamlQuoted(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// A grid sweep running `program`: `parameters` is the YAML body of the
// parameters block, indented by two spaces.
std::string GridSweep(const std::string& program, const std::string& parameters,
                      const std::string& extra = "") {
  return "name: e2e-agent\n"
         "program: " +
         program +
         "\n"
         "method: grid\n"
         "metric:\n"
         "  name: value\n"
         "  goal: minimize\n" +
         extra + "parameters:\n" + parameters;
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

class AgentEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    server_ = StartServer(dir_.Path("data"), 0, ServerArgs());
    ASSERT_NE(server_.process, nullptr) << server_.error;
    cli_ = SweepCli(server_.address);
  }

  // Frequent heartbeats so that orders (cancel) reach agents promptly.
  virtual std::vector<std::string> ServerArgs() const {
    return {"--heartbeat-interval-ms", "200"};
  }

  // Writes the program and the sweep, creates it; returns its id.
  std::string CreateSweep(const std::string& program_name,
                          const std::string& program, const std::string& yaml) {
    if (!program.empty()) {
      EXPECT_TRUE(WriteFile(dir_.Path(program_name), program));
    }
    const std::string file =
        dir_.Path("sweep-" + std::to_string(++sweeps_) + ".yaml");
    EXPECT_TRUE(WriteFile(file, yaml));
    return cli_.Create(file);
  }

  // An agent in the test's directory (where the programs are).
  std::unique_ptr<BackgroundProcess> StartAgent(
      const std::string& id, std::vector<std::string> args,
      const std::vector<std::string>& extra_env = {},
      const std::string& working_dir = "") {
    if (std::find(args.begin(), args.end(), "--workdir") == args.end()) {
      args.push_back("--workdir");
      args.push_back(dir_.Path("runs"));
    }
    return cli_.StartAgent(id, working_dir.empty() ? dir_.path() : working_dir,
                           args, extra_env);
  }

  // `sweep agent ID --gpus auto` on a node whose nvidia-smi (a stub on PATH)
  // lists `gpus`, with CUDA_VISIBLE_DEVICES set to `visible` (unset when
  // nullopt, whatever the runner's).
  // A grid over x in `values` running `program` as drain.py, and an agent
  // (with `args`) whose first trial has started (it wrote started-1); sets
  // *id. Null after a failure, which it records.
  std::unique_ptr<BackgroundProcess> StartOnFirstTrial(
      const std::string& program, const std::string& values,
      const std::vector<std::string>& args, std::string* id) {
    *id = CreateSweep(
        "drain.py", program,
        GridSweep("drain.py", "  x:\n    values: " + values + "\n"));
    if (id->empty()) {
      ADD_FAILURE() << "the sweep was not created";
      return nullptr;
    }
    std::unique_ptr<BackgroundProcess> agent = StartAgent(*id, args);
    if (agent == nullptr) {
      ADD_FAILURE() << "the agent did not start";
      return nullptr;
    }
    if (!PollUntil([&] { return FileExists(dir_.Path("started-1")); },
                   kConditionTimeout)) {
      ADD_FAILURE() << "its first trial did not start\n"
                    << agent->Output(Stream::kStderr);
      return nullptr;
    }
    return agent;
  }
  std::unique_ptr<BackgroundProcess> StartAgentWithGpusAuto(
      const std::string& id, const std::vector<int>& gpus,
      const std::optional<std::string>& visible) {
    std::string listing;
    for (const int gpu : gpus) listing += std::to_string(gpu) + "\\n";
    if (mkdir(dir_.Path("bin").c_str(), 0755) != 0 ||
        !WriteFile(dir_.Path("bin/nvidia-smi"),
                   "#!/bin/sh\nprintf '" + listing + "'\n",
                   /*executable=*/true)) {
      return nullptr;
    }
    const char* path = std::getenv("PATH");
    return StartAgent(
        id, {"--gpus", "auto"},
        {"PATH=" + dir_.Path("bin") + ":" + (path != nullptr ? path : ""),
         visible ? "CUDA_VISIBLE_DEVICES=" + *visible
                 : std::string("CUDA_VISIBLE_DEVICES")});
  }

  // Waits for `agent` to exit by itself.
  ExitStatus AwaitAgent(BackgroundProcess& agent) {
    const std::optional<ExitStatus> exit = agent.WaitForExit(kAgentTimeout);
    EXPECT_TRUE(exit.has_value()) << "the agent did not exit; stderr:\n"
                                  << agent.Output(Stream::kStderr);
    return exit.value_or(ExitStatus{});
  }

  // An agent on `id` run to its own exit: its exit status and stderr.
  struct AgentRun {
    int exit_code = -1;
    std::string err;
  };
  AgentRun RunAgentToItsEnd(const std::string& id,
                            std::vector<std::string> args,
                            const std::vector<std::string>& extra_env = {}) {
    std::unique_ptr<BackgroundProcess> agent =
        StartAgent(id, std::move(args), extra_env);
    if (agent == nullptr) {
      ADD_FAILURE() << "the agent did not start";
      return {};
    }
    const int exit_code = AwaitAgent(*agent).exit_code;
    return {exit_code, agent->Output(Stream::kStderr)};
  }

  // A process of an earlier trial of sweep `id` (tagged as the agent tags
  // them) on GPU 0: it lets go (writes "released" and exits) once the file
  // "go" exists. Returned once it runs (it wrote "holding"): a child not yet
  // past its exec still shows this process's environment, without the tag.
  std::unique_ptr<BackgroundProcess> StartGpuZeroHolder(const std::string& id) {
    if (!WriteFile(dir_.Path("holder.py"), R"(import os
import time

open("holding", "w").close()
while not os.path.exists("go"):
    time.sleep(0.02)
open("released", "w").close()
)")) {
      return nullptr;
    }
    std::unique_ptr<BackgroundProcess> holder = BackgroundProcess::Start(
        {"/usr/bin/env", "python3", dir_.Path("holder.py")},
        {{"SWEEP_RUN_TAG=" + id + "-4242-7-0123456789abcdef",
          "CUDA_VISIBLE_DEVICES=0"},
         dir_.path()});
    if (holder == nullptr ||
        !PollUntil([&] { return FileExists(dir_.Path("holding")); },
                   kConditionTimeout)) {
      return nullptr;
    }
    return holder;
  }

  json SweepStatus(const std::string& id) { return cli_.Json({"status", id}); }

  // A one-point grid of `program` (saved as `file`), run to its end by an
  // agent reading metrics from stdout too; its trial, with its history when
  // asked.
  json RunWithStdoutMetrics(const std::string& file, const std::string& program,
                            bool with_history) {
    const std::string id =
        CreateSweep(file, program, GridSweep(file, "  x:\n    values: [1]\n"));
    EXPECT_FALSE(id.empty());
    std::unique_ptr<BackgroundProcess> agent =
        id.empty() ? nullptr : StartAgent(id, {"--stdout-metrics"});
    EXPECT_NE(agent, nullptr);
    if (agent == nullptr) return json();
    EXPECT_EQ(AwaitAgent(*agent).exit_code, 0)
        << agent->Output(Stream::kStderr);
    return with_history ? cli_.TrialWithHistory(id, 1)
                        : cli_.Json({"trials", id, "1"});
  }

  json Config(const json& trial) { return trial["config"]; }

  ScopedTempDir dir_{"agent-e2e"};  // Destroyed last.
  ServerProcess server_;
  SweepCli cli_{""};
  int sweeps_ = 0;
};

// Logs 20 points at steps 0..19: value = 100 * x + step, fraction =
// step / 7 + x; the first ten at once, the rest spread out, so that they
// travel in several batches.
constexpr char kTwentyPoints[] = R"(import time

import sweep_client

x = sweep_client.config()["x"]
for step in range(20):
    sweep_client.log({"value": 100 * x + step, "fraction": step / 7 + x},
                     step=step)
    if step >= 10:
        time.sleep(0.03)
)";

void ExpectTwentyPointsInOrder(const json& trial, int64_t x) {
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 20u) << trial.dump();
  EXPECT_EQ(JsonInt(trial["metric_points"]), 20);
  for (int step = 0; step < 20; ++step) {
    const json& point = history[step];
    EXPECT_EQ(JsonInt(point["step"]), step) << point.dump();
    EXPECT_EQ(point["values"]["value"].get<double>(), 100.0 * x + step);
    EXPECT_EQ(point["values"]["fraction"].get<double>(),
              static_cast<double>(step) / 7.0 + static_cast<double>(x));
  }
}

// Reads every trial of `id` with its history; checks each logged its twenty
// points in order and returns how many trials each agent ran.
std::map<std::string, int> ExpectEveryPointOfEveryTrial(const SweepCli& cli,
                                                        const std::string& id) {
  std::map<std::string, int> trials_per_agent;
  std::set<int64_t> xs;
  for (const json& listed : cli.Trials(id)) {
    const json trial = cli.TrialWithHistory(id, JsonInt(listed["number"]));
    if (!trial.is_object()) continue;
    EXPECT_EQ(trial["state"], "finished")
        << trial.value("end_reason", "") << "\n"
        << trial.dump();
    ++trials_per_agent[trial["agent_id"]];
    const int64_t x = trial["config"]["x"];
    xs.insert(x);
    ExpectTwentyPointsInOrder(trial, x);
    EXPECT_EQ(JsonInt(trial["malformed_metric_lines"]), 0);
  }
  EXPECT_EQ(xs, (std::set<int64_t>{1, 2, 3, 4}));
  return trials_per_agent;
}

// An agent started against an address where no controller listens (port 1
// refuses connections) keeps trying, but says so once, not a line a retry.
TEST(AgentRetryLogTest, AnUnreachableControllerIsLoggedOnceNotEverySecond) {
  std::unique_ptr<BackgroundProcess> agent = BackgroundProcess::Start(
      {SweepBinary(), "agent", "abcd1234", "--controller", "127.0.0.1:1"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, "cannot reach the controller",
                                 std::chrono::seconds(10)));
  // Retries come every 0.1-1 s: the old agent logged a second line well
  // within this.
  EXPECT_FALSE(agent->WaitForLines(Stream::kStderr,
                                   std::regex("cannot reach the controller"), 2,
                                   std::chrono::seconds(4)))
      << agent->Output(Stream::kStderr);
  agent->Signal(SIGTERM);
  const std::optional<ExitStatus> exit =
      agent->WaitForExit(std::chrono::seconds(20));
  ASSERT_TRUE(exit.has_value());
  // Stopped, not failed: 128 + SIGTERM, as a drained agent exits.
  EXPECT_EQ(exit->exit_code, 128 + SIGTERM) << agent->Output(Stream::kStderr);
}

// The trial that reached metric.target finishes the sweep, then fails: the
// sweep goes back to running, and the agent, whose other slot had heard
// "finished" meanwhile, takes the last grid point instead of leaving the
// sweep with nobody on it.
TEST_F(AgentEndToEndTest,
       AnAgentStaysWhenItsTargetTrialFailsAndReopensTheSweep) {
  const std::string program = R"(import os, sys, time
import sweep_client

def wait_for(path):
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)

x = sweep_client.config()["x"]
sweep_client.log({"value": 0.01 if x == 1 else 0.5})
if x == 1:
    wait_for(")" + dir_.Path("fail") +
                              R"(")
    sys.exit(1)
if x == 2:
    wait_for(")" + dir_.Path("go") +
                              R"(")
)";
  const std::string id =
      CreateSweep("target.py", program,
                  GridSweep("target.py", "  x:\n    values: [1, 2, 3]\n",
                            "  target: 0.05\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--slots", "2"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil([&] { return SweepStatus(id)["state"] == "finished"; },
                        kAgentTimeout))
      << agent->Output(Stream::kStderr);
  // The agent is alive on it (sweep status and ls count it).
  EXPECT_EQ(JsonInt(SweepStatus(id)["agents"]), 1);
  // Trial 2 ends; its slot hears the sweep is finished while trial 1 runs.
  ASSERT_TRUE(WriteFile(dir_.Path("go"), ""));
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr,
                                 "asking again once this agent's running "
                                 "trials have ended",
                                 kAgentTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(WriteFile(dir_.Path("fail"), ""));
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 3u) << agent->Output(Stream::kStderr);
  EXPECT_EQ(trials[0]["state"], "failed");
  EXPECT_EQ(trials[2]["state"], "finished");
  const json status = SweepStatus(id);
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(JsonInt(status.value("agents", json(0))), 0) << status.dump();
}

TEST_F(AgentEndToEndTest, TwoAgentsDeliverEveryPointInOrder) {
  const std::string id =
      CreateSweep("twenty.py", kTwentyPoints,
                  GridSweep("twenty.py", "  x:\n    values: [1, 2, 3, 4]\n"));
  ASSERT_FALSE(id.empty());
  // Each agent takes exactly two of the four trials. The first is given
  // W&B's sweep path (entity/project/ID), as migrated launch scripts do.
  std::unique_ptr<BackgroundProcess> first = StartAgent(
      "team/project/" + id, {"--count", "2", "--workdir", dir_.Path("runs-a")});
  std::unique_ptr<BackgroundProcess> second =
      StartAgent(id, {"--count", "2", "--workdir", dir_.Path("runs-b")});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(AwaitAgent(*first).exit_code, 0) << first->Output(Stream::kStderr);
  EXPECT_EQ(AwaitAgent(*second).exit_code, 0)
      << second->Output(Stream::kStderr);
  EXPECT_THAT(first->Output(Stream::kStderr),
              HasSubstr("exiting after 2 trials"));
  EXPECT_THAT(second->Output(Stream::kStderr),
              HasSubstr("exiting after 2 trials"));

  const std::map<std::string, int> trials_per_agent =
      ExpectEveryPointOfEveryTrial(cli_, id);
  ASSERT_EQ(trials_per_agent.size(), 2u);
  for (const auto& [agent, trials] : trials_per_agent) {
    EXPECT_EQ(trials, 2) << agent;
  }
  EXPECT_EQ(SweepStatus(id)["state"], "finished");
}

// Two terminals in one directory, `sweep agent ID` in each (as W&B users run
// one agent per GPU): neither may take the other for its own restart.
TEST_F(AgentEndToEndTest, TwoAgentsInOneDirectoryDoNotDisplaceEachOther) {
  const std::string id =
      CreateSweep("twenty.py", kTwentyPoints,
                  GridSweep("twenty.py", "  x:\n    values: [1, 2, 3, 4]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> first = StartAgent(id, {"--count", "2"});
  std::unique_ptr<BackgroundProcess> second = StartAgent(id, {"--count", "2"});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(AwaitAgent(*first).exit_code, 0) << first->Output(Stream::kStderr);
  EXPECT_EQ(AwaitAgent(*second).exit_code, 0)
      << second->Output(Stream::kStderr);
  // The controller answered all along: no outage is said to end.
  EXPECT_THAT(second->Output(Stream::kStderr),
              Not(HasSubstr("the controller answers again")));
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["crashed"]), 0)
      << first->Output(Stream::kStderr) << second->Output(Stream::kStderr);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 4);
  ExpectEveryPointOfEveryTrial(cli_, id);
}

// A lease shorter than a trial: only heartbeats keep trials alive.
class ShortLeaseAgentEndToEndTest : public AgentEndToEndTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--heartbeat-interval-ms", "200", "--lease-timeout-ms", "1500"};
  }
};

// kTwentyPoints after 3 s without a word, as a real epoch would.
constexpr char kSlowTwentyPoints[] = R"(import time

import sweep_client

time.sleep(3)
x = sweep_client.config()["x"]
for step in range(20):
    sweep_client.log({"value": 100 * x + step, "fraction": step / 7 + x},
                     step=step)
)";

// Logs a point, says it started, then waits for a "release" file (20 s at
// most) and logs a second one. SIGTERM leaves a mark.
constexpr char kDrainProgram[] = R"(import os
import signal
import sys
import time

import sweep_client

trial = os.environ["SWEEP_TRIAL_ID"]

def on_term(signum, frame):
    open(f"term-{trial}", "w").close()
    sys.exit(143)

signal.signal(signal.SIGTERM, on_term)
sweep_client.log({"value": 0}, step=0)
open(f"started-{trial}", "w").close()
deadline = time.time() + 20
while not os.path.exists("release"):
    if time.time() > deadline:
        sys.exit("never released")
    time.sleep(0.02)
sweep_client.log({"value": 1}, step=1)
)";

// Two agents given the same --name (a launch script's fixed name): the
// second must not take the first for its own dead predecessor and crash its
// trials; it waits, saying why, and gets the name once the first has left.
TEST_F(ShortLeaseAgentEndToEndTest, ASecondAgentWithTheSameNameWaits) {
  std::string id;
  std::unique_ptr<BackgroundProcess> first =
      StartOnFirstTrial(kDrainProgram, "[1, 2]", {"--name", "node-1"}, &id);
  ASSERT_NE(first, nullptr);
  std::unique_ptr<BackgroundProcess> second =
      StartAgent(id, {"--name", "node-1", "--workdir", dir_.Path("runs-2")});
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->WaitForLine(
      Stream::kStderr, "an agent named 'node-1' is running", kConditionTimeout))
      << second->Output(Stream::kStderr);
  EXPECT_EQ(cli_.Json({"trials", id, "1"})["state"], "running");
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  EXPECT_EQ(AwaitAgent(*first).exit_code, 0) << first->Output(Stream::kStderr);
  EXPECT_EQ(AwaitAgent(*second).exit_code, 0)
      << second->Output(Stream::kStderr);
  // The controller answered all along: no outage is said to end.
  EXPECT_THAT(second->Output(Stream::kStderr),
              Not(HasSubstr("the controller answers again")));
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["crashed"]), 0)
      << first->Output(Stream::kStderr) << second->Output(Stream::kStderr);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 2);
}

// An agent suspended (SIGSTOP) past its lease: its trial is crashed; woken,
// it stops the program and says why, and goes on with the sweep.
TEST_F(ShortLeaseAgentEndToEndTest, ASuspendedAgentSaysWhyItStopsALostTrial) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent =
      StartOnFirstTrial(kDrainProgram, "[1]", {}, &id);
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Signal(SIGSTOP));
  const bool crashed = PollUntil(
      [&] {
        return cli_.Json({"trials", id, "1"})["state"] == "crashed";
      },
      kConditionTimeout);
  ASSERT_TRUE(agent->Signal(SIGCONT));
  ASSERT_TRUE(crashed);
  const std::optional<std::string> ended =
      agent->WaitForLine(Stream::kStderr, "trial 1 ended", kConditionTimeout);
  ASSERT_TRUE(ended.has_value()) << agent->Output(Stream::kStderr);
  EXPECT_THAT(*ended, HasSubstr("(its lease was lost: not reported)"));
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  EXPECT_EQ(cli_.Json({"trials", id, "2"})["state"], "finished");
}

// A lease far longer than the test: only a name handed over at once shows.
class LongLeaseAgentEndToEndTest : public AgentEndToEndTest {
 protected:
  std::vector<std::string> ServerArgs() const override {
    return {"--heartbeat-interval-ms", "200", "--lease-timeout-ms", "600000"};
  }
};

// An agent killed outright (the OOM killer) and started again under its
// --name on the same machine takes the name over at once, its predecessor
// being gone, instead of waiting out the lease; one started while the
// holder still runs waits, in the same work dir too.
TEST_F(LongLeaseAgentEndToEndTest,
       ARestartedAgentTakesOverADeadOnesNameAtOnce) {
  std::string id;
  std::unique_ptr<BackgroundProcess> first =
      StartOnFirstTrial(kDrainProgram, "[1, 2]", {"--name", "node-1"}, &id);
  ASSERT_NE(first, nullptr);
  std::unique_ptr<BackgroundProcess> second =
      StartAgent(id, {"--name", "node-1"});
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->WaitForLine(
      Stream::kStderr, "an agent named 'node-1' is running", kConditionTimeout))
      << second->Output(Stream::kStderr);
  ASSERT_TRUE(second->Signal(SIGTERM));
  ASSERT_TRUE(second->WaitForExit(kAgentTimeout).has_value());
  EXPECT_EQ(cli_.Json({"trials", id, "1"})["state"], "running");

  ASSERT_TRUE(first->Signal(SIGKILL));
  ASSERT_TRUE(first->WaitForExit(kAgentTimeout).has_value());
  std::unique_ptr<BackgroundProcess> third =
      StartAgent(id, {"--name", "node-1"});
  ASSERT_NE(third, nullptr);
  ASSERT_TRUE(third->WaitForLine(
      Stream::kStderr,
      "trial 1 of this agent's previous run was marked crashed", kAgentTimeout))
      << third->Output(Stream::kStderr);
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  EXPECT_EQ(AwaitAgent(*third).exit_code, 0) << third->Output(Stream::kStderr);
  EXPECT_EQ(cli_.Json({"trials", id, "1"})["state"], "crashed");
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 2) << status.dump();
  EXPECT_EQ(status["state"], "finished");
}

// A second signal terminates running programs; one that ignores SIGTERM is
// killed after the grace: the trial was cut short by its agent's shutdown,
// not failed, and its point is run again.
TEST_F(AgentEndToEndTest, ATrialKilledByItsAgentsShutdownIsInterrupted) {
  constexpr char kStubborn[] = R"(import os
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
open("started-" + os.environ["SWEEP_TRIAL_ID"], "w").close()
deadline = time.time() + 30
while time.time() < deadline:
    time.sleep(0.02)
)";
  const std::string id =
      CreateSweep("stubborn.py", kStubborn,
                  GridSweep("stubborn.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--kill-grace", "0.5"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_.Path("started-1")); },
                        kConditionTimeout))
      << agent->Output(Stream::kStderr);
  for (const char* line :
       {"taking no new ones", "terminating 1 running trial"}) {
    ASSERT_TRUE(agent->Signal(SIGTERM));
    ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, line, kConditionTimeout))
        << agent->Output(Stream::kStderr);
  }
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 143)
      << agent->Output(Stream::kStderr);
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "crashed") << trial.dump();
  EXPECT_THAT(trial.value("end_reason", ""),
              HasSubstr("interrupted: its agent was shut down"));
}

// A third signal kills the programs at once, and still delivers their last
// points and their finish: the trial is recorded as interrupted, not left
// running until its lease runs out.
TEST_F(AgentEndToEndTest, AThirdSignalKillsAndStillReportsTheTrial) {
  constexpr char kFastStubborn[] = R"(import os
import signal
import time

import sweep_client

signal.signal(signal.SIGTERM, signal.SIG_IGN)
step = 0
while True:
    sweep_client.log({"loss": 1.0 + step}, step=step)
    if step == 20:
        open("started-" + os.environ["SWEEP_TRIAL_ID"], "w").close()
    step += 1
    time.sleep(0.005)
)";
  const std::string id =
      CreateSweep("fast_stubborn.py", kFastStubborn,
                  GridSweep("fast_stubborn.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--kill-grace", "60"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_.Path("started-1")); },
                        kConditionTimeout))
      << agent->Output(Stream::kStderr);
  for (const char* line : {"taking no new ones", "terminating 1 running trial",
                           "killing 1 running trial"}) {
    ASSERT_TRUE(agent->Signal(SIGTERM));
    ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, line, kConditionTimeout))
        << agent->Output(Stream::kStderr);
  }
  AwaitAgent(*agent);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              Not(HasSubstr("were not delivered")));
  const json trial = cli_.Json({"trials", id, "1"});
  EXPECT_EQ(trial["state"], "crashed") << trial.dump();
  EXPECT_THAT(trial.value("end_reason", ""),
              HasSubstr("interrupted: its agent was shut down"));
  // Every whole line the program wrote was stored.
  std::ifstream metrics(dir_.Path("runs/" + id + "/trial-1/metrics.jsonl"));
  std::string content((std::istreambuf_iterator<char>(metrics)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(JsonInt(trial["metric_points"]),
            std::count(content.begin(), content.end(), '\n'));
}

// A program that exits as SIGTERM would make it (143) while its agent is
// not shutting down failed: only a shutdown makes a trial "interrupted".
TEST_F(AgentEndToEndTest, AProgramExiting143ByItselfFailed) {
  const std::string id =
      CreateSweep("term.py", "import sys\nsys.exit(143)\n",
                  GridSweep("term.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--count", "1"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "failed") << trial.dump();
  EXPECT_EQ(trial["exit_code"], 143);
}

// An agent started where the sweep's script is not (the wrong directory, a
// node without the code) would fail every trial it took: it refuses first.
TEST_F(AgentEndToEndTest, AnAgentWithoutTheProgramRefusesBeforeAnyTrial) {
  const std::string id =
      CreateSweep("twenty.py", kTwentyPoints,
                  GridSweep("twenty.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(mkdir(dir_.Path("elsewhere").c_str(), 0755), 0);
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {}, {}, dir_.Path("elsewhere"));
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 2);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr("the sweep's program twenty.py is not in " +
                        dir_.Path("elsewhere")));
  // Naming a plain interpreter is no reason to skip the check.
  std::unique_ptr<BackgroundProcess> with_interpreter = StartAgent(
      id, {"--interpreter", "/usr/bin/python3"}, {}, dir_.Path("elsewhere"));
  ASSERT_NE(with_interpreter, nullptr);
  EXPECT_EQ(AwaitAgent(*with_interpreter).exit_code, 2);
  EXPECT_THAT(with_interpreter->Output(Stream::kStderr),
              HasSubstr("the sweep's program twenty.py is not in"));
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["total"]), 0);
}

// Two projects on one host, each with its own sweep, each agent started in
// its project's directory with the default --workdir.
TEST_F(ShortLeaseAgentEndToEndTest, AgentsOfDifferentSweepsDoNotInterfere) {
  std::vector<std::string> ids;
  std::vector<std::unique_ptr<BackgroundProcess>> agents;
  for (const std::string project : {"a", "b"}) {
    const std::string project_dir = dir_.Path(project);
    ASSERT_EQ(mkdir(project_dir.c_str(), 0755), 0);
    ASSERT_TRUE(WriteFile(project_dir + "/twenty.py", kSlowTwentyPoints));
    const std::string file = project_dir + "/sweep.yaml";
    ASSERT_TRUE(
        WriteFile(file, GridSweep("twenty.py", "  x:\n    values: [1, 2]\n")));
    ids.push_back(cli_.Create(file));
    ASSERT_FALSE(ids.back().empty());
    agents.push_back(
        cli_.StartAgent(ids.back(), project_dir, {"--slots", "2"}));
    ASSERT_NE(agents.back(), nullptr);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(AwaitAgent(*agents[i]).exit_code, 0)
        << agents[i]->Output(Stream::kStderr);
    const std::string err = agents[i]->Output(Stream::kStderr);
    EXPECT_THAT(err, Not(HasSubstr("no agent with id"))) << err;
    for (const json& listed : cli_.Trials(ids[i])) {
      const json trial =
          cli_.TrialWithHistory(ids[i], JsonInt(listed["number"]));
      EXPECT_EQ(trial["state"], "finished") << trial.value("end_reason", "");
      EXPECT_EQ(trial["history"].size(), 20u);
    }
  }
}

constexpr char kQuickProgram[] = R"(import sweep_client

sweep_client.log({"value": sweep_client.config()["x"]})
)";

TEST_F(AgentEndToEndTest, CountIsPerAgentAndAgentsExitWhenTheGridIsDone) {
  const std::string id =
      CreateSweep("quick.py", kQuickProgram,
                  GridSweep("quick.py", "  x:\n    values: [1, 2, 3, 4, 5]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> counted =
      StartAgent(id, {"--count", "2", "--slots", "2"});
  ASSERT_NE(counted, nullptr);
  EXPECT_EQ(AwaitAgent(*counted).exit_code, 0)
      << counted->Output(Stream::kStderr);
  json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 2);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 2);
  EXPECT_EQ(status["state"], "running");

  // No --count: it runs what is left and exits by itself.
  std::unique_ptr<BackgroundProcess> rest = StartAgent(id, {});
  ASSERT_NE(rest, nullptr);
  EXPECT_EQ(AwaitAgent(*rest).exit_code, 0) << rest->Output(Stream::kStderr);
  EXPECT_THAT(rest->Output(Stream::kStderr),
              HasSubstr("exiting after 3 trials"));
  status = SweepStatus(id);
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 5);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 5);
}

// A random sweep over one float, on the quick program.
std::string RandomSweep(const std::string& extra) {
  return "program: quick.py\n"
         "method: random\n"
         "metric: {name: value, goal: minimize}\n" +
         extra +
         "parameters:\n"
         "  x: {min: 0.0, max: 1.0}\n";
}

// The x of each trial of `id`, in trial order.
std::vector<double> TrialXs(const SweepCli& cli, const std::string& id) {
  std::vector<double> xs;
  for (const json& trial : cli.Trials(id)) {
    xs.push_back(trial["config"]["x"].get<double>());
  }
  return xs;
}

TEST_F(AgentEndToEndTest, ASeedReproducesThePreviewAndNewSweepsDrawAnew) {
  const std::string seeded_yaml = RandomSweep("sweep: {seed: 42}\n");
  const std::string seeded_file = dir_.Path("seeded.yaml");
  ASSERT_TRUE(WriteFile(seeded_file, seeded_yaml));
  const ProcessResult validated =
      cli_.Run({"validate", seeded_file, "--preview", "3", "--json"});
  ASSERT_EQ(validated.exit_code, 0) << validated.err;
  const json preview = json::parse(validated.out);
  ASSERT_EQ(preview["preview"].size(), 3u) << preview.dump();
  std::vector<double> previewed;
  for (const json& trial : preview["preview"]) {
    previewed.push_back(trial["config"]["x"].get<double>());
  }

  std::vector<std::string> ids;
  for (const std::string& yaml :
       {seeded_yaml, seeded_yaml, RandomSweep(""), RandomSweep("")}) {
    ids.push_back(CreateSweep("quick.py", kQuickProgram, yaml));
    ASSERT_FALSE(ids.back().empty());
    std::unique_ptr<BackgroundProcess> agent =
        StartAgent(ids.back(), {"--count", "3"});
    ASSERT_NE(agent, nullptr);
    EXPECT_EQ(AwaitAgent(*agent).exit_code, 0)
        << agent->Output(Stream::kStderr);
  }
  // The seed gives the preview's trials, in order, in every sweep.
  EXPECT_EQ(TrialXs(cli_, ids[0]), previewed);
  EXPECT_EQ(TrialXs(cli_, ids[1]), previewed);
  // Without one, each sweep draws its own (W&B's behaviour): a second sweep
  // of the same file is more samples, not the same ones again.
  const std::vector<double> third = TrialXs(cli_, ids[2]);
  const std::vector<double> fourth = TrialXs(cli_, ids[3]);
  ASSERT_EQ(third.size(), 3u);
  ASSERT_EQ(fourth.size(), 3u);
  EXPECT_NE(third, fourth);
  EXPECT_NE(third, previewed);
  // The seed a sweep drew is in its normalized definition: copied into the
  // file, it repeats that sweep.
  const json normalized = SweepStatus(ids[2])["normalized"];
  ASSERT_TRUE(normalized["sweep"]["seed"].is_number_integer())
      << normalized.dump();
  const std::string copied = CreateSweep(
      "quick.py", kQuickProgram,
      RandomSweep("sweep: {seed: " +
                  std::to_string(normalized["sweep"]["seed"].get<int64_t>()) +
                  "}\n"));
  ASSERT_FALSE(copied.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(copied, {"--count", "3"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0);
  EXPECT_EQ(TrialXs(cli_, copied), third);
}

// Changes directory before reading its configuration and logging, as Hydra
// (before 1.2) does.
constexpr char kChdirProgram[] = R"(import os

import sweep_client

os.makedirs("outputs/run", exist_ok=True)
os.chdir("outputs/run")
sweep_client.log({"value": sweep_client.config()["x"]})
)";

TEST_F(AgentEndToEndTest, TrialPathsStillWorkAfterTheProgramChangesDirectory) {
  const std::string id =
      CreateSweep("chdir.py", kChdirProgram,
                  GridSweep("chdir.py", "  x:\n    values: [7]\n"));
  ASSERT_FALSE(id.empty());
  // A relative --workdir: the paths given to the trial are absolute anyway.
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--workdir", "relative-runs"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["state"], "finished") << trials[0].dump();
  EXPECT_EQ(trials[0]["summary"]["value"], 7.0) << trials[0].dump();
  EXPECT_TRUE(FileExists(dir_.Path("relative-runs/" + id + "/trial-1")));
}

// Logs its x as the loss and notes the configuration it saw.
constexpr char kSeenProgram[] = R"(import json
import os

import sweep_client

config = sweep_client.config()
with open("seen-" + os.environ.get("SWEEP_TRIAL_ID", "rerun") + ".json",
          "w") as out:
    json.dump(config, out)
sweep_client.log({"value": config["opt"]["x"]})
)";

TEST_F(AgentEndToEndTest, TheBestTrialsRerunCommandRunsItsConfiguration) {
  const std::string id = CreateSweep(
      "seen.py", kSeenProgram,
      GridSweep("seen.py",
                "  opt:\n    parameters:\n      x:\n        values: [3, 1, "
                "2]\n      name:\n        value: it's \"quoted\"\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const ProcessResult best = cli_.Run({"best", id});
  ASSERT_EQ(best.exit_code, 0) << best.err;
  // "  ENVIRONMENT \\\n    COMMAND\n" after "Rerun it...:".
  const size_t at = best.out.find("Rerun it");
  ASSERT_NE(at, std::string::npos) << best.out;
  const size_t first = best.out.find('\n', at) + 1;
  const size_t second = best.out.find('\n', first) + 1;
  const size_t end = best.out.find('\n', second);
  ASSERT_NE(end, std::string::npos) << best.out;
  const std::string environment = best.out.substr(first, second - first - 1);
  ASSERT_EQ(environment.substr(environment.size() - 2), " \\") << best.out;
  const std::string command = environment.substr(0, environment.size() - 1) +
                              best.out.substr(second, end - second);
  const ProcessResult rerun =
      RunProcess({"/bin/sh", "-c", "cd " + dir_.path() + " && " + command},
                 std::chrono::seconds(60));
  ASSERT_EQ(rerun.exit_code, 0) << command << "\n" << rerun.err;
  const std::optional<std::string> seen =
      ReadFile(dir_.Path("seen-rerun.json"));
  ASSERT_TRUE(seen.has_value()) << command;
  EXPECT_EQ(json::parse(*seen),
            json({{"opt", {{"x", 1}, {"name", "it's \"quoted\""}}}}));
}

TEST_F(AgentEndToEndTest,
       AnAgentOfAPausedSweepSaysItWaitsAndGoesOnAfterResume) {
  const std::string id =
      CreateSweep("quick.py", kQuickProgram,
                  GridSweep("quick.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(cli_.Run({"pause", id}).exit_code, 0);
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--count", "1"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil(
      [&] {
        return agent->Output(Stream::kStderr).find("the sweep is paused") !=
               std::string::npos;
      },
      std::chrono::seconds(30)))
      << agent->Output(Stream::kStderr);
  ASSERT_EQ(cli_.Run({"resume", id}).exit_code, 0);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::string err = agent->Output(Stream::kStderr);
  // Said once, however many times it asked meanwhile.
  EXPECT_EQ(err.find("the sweep is paused"), err.rfind("the sweep is paused"))
      << err;
  EXPECT_EQ(cli_.Trials(id).size(), 1u);
}

// One slot: the next trial is asked for once the last one's end is recorded,
// so the searcher never takes the trial that just ended for a running one.
TEST_F(AgentEndToEndTest, OneSlotAsksForTheNextTrialOnlyAfterTheLastEnded) {
  const std::string id =
      CreateSweep("quick.py", kQuickProgram,
                  GridSweep("quick.py", "  x:\n    values: [1, 2, 3, 4]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 4u);
  for (size_t i = 1; i < trials.size(); ++i) {
    EXPECT_GE(JsonInt(trials[i]["created_ms"]),
              JsonInt(trials[i - 1]["ended_ms"]))
        << "trial " << i + 1 << " was handed out before trial " << i
        << " ended";
  }
  // Nor does the last trial keep the grid "taken" when the agent asks again.
  EXPECT_THAT(agent->Output(Stream::kStderr),
              Not(HasSubstr("taken by a running trial")));
}

// Ignores SIGTERM ("ignore") or dies of it ("die"); either way it starts a
// grandchild that notes SIGTERM and carries on, logs three points and waits
// to be killed (for 60 s at most).
constexpr char kStubbornProgram[] = R"(import os
import signal
import subprocess
import sys
import time

import sweep_client

GRANDCHILD = """
import os, signal, sys, time
def note(signum, frame):
    with open(sys.argv[1] + ".term", "a") as f:
        f.write("TERM\\n")
signal.signal(signal.SIGTERM, note)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1] + ".pid")
for _ in range(600):
    time.sleep(0.1)
"""

trial = os.environ["SWEEP_TRIAL_ID"]
if sweep_client.config()["mode"] == "ignore":
    def note_term(signum, frame):
        with open(f"main-{trial}.term", "a") as f:
            f.write(f"{time.time()}\n")
    signal.signal(signal.SIGTERM, note_term)
subprocess.Popen([sys.executable, "-c", GRANDCHILD, f"grandchild-{trial}"])
deadline = time.time() + 20
while not os.path.exists(f"grandchild-{trial}.pid"):
    if time.time() > deadline:
        sys.exit("the grandchild did not start")
    time.sleep(0.02)
for step in range(3):
    sweep_client.log({"value": step}, step=step)
for _ in range(600):
    time.sleep(0.1)
sys.exit("nobody killed me")
)";

TEST_F(AgentEndToEndTest, CancelKillsTheWholeProcessGroupAfterTheGrace) {
  const std::string id = CreateSweep(
      "stubborn.py", kStubbornProgram,
      GridSweep("stubborn.py", "  mode:\n    values: [ignore, die]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--slots", "2", "--kill-grace", "1"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil(
      [&] {
        const std::vector<json> trials = cli_.Trials(id);
        int logged = 0;
        for (const json& trial : trials) {
          logged += JsonInt(trial["metric_points"]) == 3 &&
                    trial["state"] == "running";
        }
        return logged == 2;
      },
      kConditionTimeout))
      << agent->Output(Stream::kStderr);

  const ProcessResult cancel = cli_.Run({"cancel", id});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  // A canceled sweep sends its agents home, saying so (whether the agent
  // learns it from a heartbeat or from its next ask).
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr("sweep " + id + " is canceled: canceled by a user"));

  for (const json& listed : cli_.Trials(id)) {
    const int64_t number = JsonInt(listed["number"]);
    const json trial = cli_.TrialWithHistory(id, number);
    const std::string mode = Config(trial)["mode"];
    SCOPED_TRACE("trial " + std::to_string(number) + " (" + mode + ")");
    EXPECT_EQ(trial["state"], "killed") << trial.dump();
    EXPECT_EQ(JsonInt(trial["metric_points"]), 3) << "metrics are kept";
    EXPECT_EQ(trial["history"].size(), 3u);
    EXPECT_EQ(trial["summary"]["value"], 2.0);

    const std::string prefix =
        dir_.Path("grandchild-" + std::to_string(number));
    const std::optional<std::string> pid_text = ReadFile(prefix + ".pid");
    ASSERT_TRUE(pid_text.has_value());
    const int grandchild = std::stoi(*pid_text);
    EXPECT_TRUE(PollUntil([&] { return ProcessIsGone(grandchild); },
                          std::chrono::seconds(10)))
        << "the grandchild " << grandchild << " outlived its trial";
    if (!ProcessIsGone(grandchild)) kill(grandchild, SIGKILL);
    EXPECT_TRUE(FileExists(prefix + ".term"))
        << "the group gets SIGTERM before SIGKILL";

    if (mode == "ignore") {
      // Only SIGKILL ends it, once the grace (1 s) after SIGTERM is over.
      EXPECT_EQ(trial["signal"], SIGKILL);
      const std::optional<std::string> term =
          ReadFile(dir_.Path("main-" + std::to_string(number) + ".term"));
      ASSERT_TRUE(term.has_value()) << "the program got no SIGTERM";
      const double term_ms = std::stod(*term) * 1000;
      EXPECT_GE(JsonInt(trial["ended_ms"]) - term_ms, 900)
          << "SIGKILL came before the grace was over";
    } else {
      EXPECT_EQ(trial["signal"], SIGTERM);
    }
  }
  EXPECT_EQ(SweepStatus(id)["state"], "canceled");
}

// Starts a grandchild in its process group (in a session of its own with
// the argument "--setsid", as torchrun starts its workers), writes both
// pids, then sleeps.
constexpr char kFamilyProgram[] = R"py(import os
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session="--setsid" in sys.argv)
with open("family.tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.rename("family.tmp", "family.pids")
time.sleep(600)
)py";

// A one-point sweep of kFamilyProgram, run by an agent with a 1 s grace.
class AgentFamilyTest : public AgentEndToEndTest {
 protected:
  // Starts it and waits until the program and its child run.
  void StartFamily(const std::string& extra_yaml = "") {
    const std::string id = CreateSweep(
        "family.py", kFamilyProgram,
        GridSweep("family.py", "  x:\n    values: [1]\n", extra_yaml));
    ASSERT_FALSE(id.empty());
    agent_ = StartAgent(id, {"--kill-grace", "1"});
    ASSERT_NE(agent_, nullptr);
    std::optional<std::string> pids;
    ASSERT_TRUE(PollUntil(
        [&] { return (pids = ReadFile(dir_.Path("family.pids"))).has_value(); },
        kConditionTimeout))
        << agent_->Output(Stream::kStderr);
    ASSERT_EQ(std::sscanf(pids->c_str(), "%d %d", &program_, &grandchild_), 2);
    ASSERT_FALSE(ProcessIsGone(program_));
    ASSERT_FALSE(ProcessIsGone(grandchild_));
  }

  // SIGKILLs the agent: its guard must end the program and its child.
  void KillTheAgentAndExpectNoOrphans() {
    ASSERT_TRUE(agent_->Signal(SIGKILL));
    ASSERT_TRUE(agent_->WaitForExit(kAgentTimeout).has_value());
    EXPECT_TRUE(PollUntil(
        [&] { return ProcessIsGone(program_) && ProcessIsGone(grandchild_); },
        kConditionTimeout))
        << "the trial outlived its killed agent";
  }

  void TearDown() override {
    if (program_ > 0 && !ProcessIsGone(program_)) kill(program_, SIGKILL);
    if (grandchild_ > 0 && !ProcessIsGone(grandchild_)) {
      kill(grandchild_, SIGKILL);
    }
    AgentEndToEndTest::TearDown();
  }

  std::unique_ptr<BackgroundProcess> agent_;
  int program_ = 0;
  int grandchild_ = 0;
};

// A node whose disk fills while a trial runs (here a file size limit on the
// agent: its writes fail as on a full disk): the trial's output the log
// could not take makes it the node's failure (crashed, its grid point
// back), its tail is the program's last words, not the last that fit, and
// the agent exits 2.
TEST_F(AgentEndToEndTest, OutputTheLogCannotTakeIsTheNodesFailure) {
  const std::string id =
      CreateSweep("big.py", R"(import sys
sys.stdout.write(("y" * 1023 + "\n") * 1024)
sys.stdout.flush()
raise RuntimeError("boom at the end")
)",
                  GridSweep("big.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = cli_.StartAgent(
      id, dir_.path(),
      {"--workdir", dir_.Path("runs"), "--max-consecutive-failures", "0"}, {},
      {"/bin/sh", "-c", "ulimit -f 400 && exec \"$@\"", "sh"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 2) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr("bytes of output could not be written"));
  const json trial = cli_.Json({"trials", id, "1"});
  EXPECT_EQ(trial["state"], "crashed") << trial.dump();
  EXPECT_THAT(trial.dump(), HasSubstr("the node's failure"));
  EXPECT_THAT(trial["log_tail"].get<std::string>(),
              HasSubstr("RuntimeError: boom at the end"))
      << trial.dump();
}

// SIGKILL gives the agent no chance to stop its trial; its guard process
// ends the trial's whole process group instead.
TEST_F(AgentFamilyTest, AKilledAgentTakesItsProgramsWithIt) {
  ASSERT_NO_FATAL_FAILURE(StartFamily());
  KillTheAgentAndExpectNoOrphans();
}

// A worker in a session of its own (torchrun's) is out of the group; the
// guard finds it by its launch's tag.
TEST_F(AgentFamilyTest, AKilledAgentTakesItsProgramsSetsidWorkersWithIt) {
  ASSERT_NO_FATAL_FAILURE(
      StartFamily("command:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n"
                  "  - --setsid\n  - ${args}\n"));
  ASSERT_NE(getpgid(grandchild_), getpgid(program_));
  KillTheAgentAndExpectNoOrphans();
}

// Prints as it stops, as a training script saving a checkpoint does.
constexpr char kSavesOnTermProgram[] = R"py(import os
import signal
import sys
import time

def save(signum, frame):
    print("saving a checkpoint", flush=True)
    with open("saved.tmp", "w") as f:
        f.write("saved")
    os.rename("saved.tmp", "saved")
    sys.exit(0)

signal.signal(signal.SIGTERM, save)
with open("started.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("started.tmp", "started")
while True:
    print("training", flush=True)
    time.sleep(0.05)
)py";

// The agent is SIGKILLed: its guard stops the program, which can still print
// as it stops (its output pipe is held, not closed on it) and whose last
// lines still reach its log.
TEST_F(AgentEndToEndTest, AProgramStoppingAfterItsAgentDiedCanStillPrint) {
  const std::string id =
      CreateSweep("saves.py", kSavesOnTermProgram,
                  GridSweep("saves.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--kill-grace", "10"});
  ASSERT_NE(agent, nullptr);
  std::optional<std::string> pid;
  ASSERT_TRUE(PollUntil(
      [&] { return (pid = ReadFile(dir_.Path("started"))).has_value(); },
      kConditionTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(agent->Signal(SIGKILL));
  ASSERT_TRUE(agent->WaitForExit(kAgentTimeout).has_value());
  EXPECT_TRUE(
      PollUntil([&] { return ReadFile(dir_.Path("saved")).has_value(); },
                kConditionTimeout))
      << "the program could not finish saving";
  const int program = std::stoi(*pid);
  EXPECT_TRUE(
      PollUntil([&] { return ProcessIsGone(program); }, kConditionTimeout));
  if (!ProcessIsGone(program)) kill(program, SIGKILL);
  const std::optional<std::string> log =
      ReadFile(dir_.Path("runs/" + id + "/trial-1/output.log"));
  ASSERT_TRUE(log.has_value());
  EXPECT_THAT(*log, HasSubstr("training\nsaving a checkpoint\n"));
}

// Many slots under a low soft limit on open files (each running trial holds
// a few descriptors): the agent raises it to the hard limit.
TEST_F(AgentEndToEndTest, ManySlotsRunUnderALowSoftLimitOnOpenFiles) {
  rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < 512) {
    GTEST_SKIP() << "the hard limit (" << limit.rlim_max
                 << ") leaves nothing to raise";
  }
  std::string values;
  for (int x = 1; x <= 24; ++x)
    values += (x > 1 ? ", " : "") + std::to_string(x);
  const std::string id = CreateSweep(
      "sleepy.py",
      "import time\nimport sweep_client\nsweep_client.log({'value': "
      "1})\ntime.sleep(1)\n",
      GridSweep("sleepy.py", "  x:\n    values: [" + values + "]\n"));
  ASSERT_FALSE(id.empty());
  // Inherited by the agent: 48 descriptors, where 24 running trials need
  // over a hundred.
  const rlimit low{48, limit.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--slots", "24"});
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 24) << status.dump();
}

// The agent's guard process: its child named sweep-guard, or 0.
int GuardOf(int agent) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    const size_t open = stat.find('(');
    const size_t close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    int parent = 0;
    char state = 0;
    std::istringstream rest(stat.substr(close + 1));
    rest >> state >> parent;
    if (parent == agent &&
        stat.substr(open + 1, close - open - 1) == "sweep-guard") {
      return std::stoi(name);
    }
  }
  return 0;
}

// Someone kills the guard: the agent starts another, which still ends the
// trial should the agent be killed next.
TEST_F(AgentFamilyTest, AKilledGuardIsReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartFamily());
  const int guard = GuardOf(agent_->pid());
  ASSERT_NE(guard, 0);
  ASSERT_EQ(kill(guard, SIGKILL), 0);
  ASSERT_TRUE(agent_->WaitForLine(Stream::kStderr,
                                  "the orphan guard (pid " +
                                      std::to_string(guard) +
                                      ") died; restarted as pid",
                                  kConditionTimeout))
      << agent_->Output(Stream::kStderr);
  // Named once it runs its own code.
  EXPECT_TRUE(PollUntil([&] { return GuardOf(agent_->pid()) != 0; },
                        kConditionTimeout));
  KillTheAgentAndExpectNoOrphans();
}

constexpr char kCrashingProgram[] = R"(import sys

print("warming up")
print("E2E-DISTINCTIVE-CRASH-LINE 4711", flush=True)
sys.exit(3)
)";

TEST_F(AgentEndToEndTest, ACrashingProgramFailsWithItsLogTail) {
  const std::string id =
      CreateSweep("crash.py", kCrashingProgram,
                  GridSweep("crash.py", "  x:\n    value: 1\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);

  const json trial = cli_.Json({"trials", id, "1"});
  EXPECT_EQ(trial["state"], "failed") << trial.dump();
  EXPECT_EQ(trial["exit_code"], 3);
  EXPECT_THAT(trial.value("log_tail", ""),
              HasSubstr("E2E-DISTINCTIVE-CRASH-LINE 4711"));
  const ProcessResult detail = cli_.Run({"trials", id, "1"});
  EXPECT_EQ(detail.exit_code, 0) << detail.err;
  EXPECT_THAT(detail.out, HasSubstr("E2E-DISTINCTIVE-CRASH-LINE 4711"));
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["failed"]), 1);
}

constexpr char kFailingProgram[] = R"(import sys

sys.exit("failing on purpose")
)";

TEST_F(AgentEndToEndTest, TooManyConsecutiveFailuresStopTheAgent) {
  const std::string id = CreateSweep(
      "fail.py", kFailingProgram,
      GridSweep("fail.py", "  x:\n    values: [1, 2, 3, 4, 5, 6]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--max-consecutive-failures", "2"});
  ASSERT_NE(agent, nullptr);
  const ExitStatus exit = AwaitAgent(*agent);
  const std::string err = agent->Output(Stream::kStderr);
  EXPECT_EQ(exit.exit_code, 2) << err;
  EXPECT_THAT(err, HasSubstr("2 trials failed in a row"));
  EXPECT_THAT(err, HasSubstr("--max-consecutive-failures"));
  // Each line of its log says when (logs are kept for days).
  EXPECT_THAT(err, ::testing::ContainsRegex(
                       "(^|\n)[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:"
                       "[0-9]{2} sweep agent: trial 1 started"));
  // The last failed trial's last line of output says why.
  EXPECT_THAT(err, HasSubstr("trial 2 ended with exit code 1, its last line: "
                             "failing on purpose"));
  EXPECT_THAT(err, Not(HasSubstr("--wandb-shim")));
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 2);
  EXPECT_EQ(JsonInt(status["counts"]["failed"]), 2);
  EXPECT_EQ(status["state"], "running");
}

TEST_F(AgentEndToEndTest, AWandbScriptWithoutTheShimIsToldAboutIt) {
  const std::string id =
      CreateSweep("uses_wandb.py",
                  // As `import wandb` fails where W&B is not installed (raised
                  // here so that an installed W&B cannot change the outcome).
                  "raise ModuleNotFoundError(\"No module named 'wandb'\")\n",
                  GridSweep("uses_wandb.py", "  x:\n    values: [1, 2, 3]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--max-consecutive-failures", "1"});
  ASSERT_NE(agent, nullptr);
  const ExitStatus exit = AwaitAgent(*agent);
  const std::string err = agent->Output(Stream::kStderr);
  EXPECT_EQ(exit.exit_code, 2) << err;
  EXPECT_THAT(err, HasSubstr("No module named 'wandb'"));
  EXPECT_THAT(err, HasSubstr("add --wandb-shim"));
}

// Options that would fail every trial the agent took are usage errors (2).
TEST_F(AgentEndToEndTest, AMissingInterpreterOrTooFewGpusIsRefusedAtStart) {
  const std::string id =
      CreateSweep("fail.py", kFailingProgram,
                  GridSweep("fail.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--interpreter", "/nonexistent/python"},
        std::vector<std::string>{"--interpreter", "no-such-python-here"},
        std::vector<std::string>{"--gpus", "0,1", "--gpus-per-trial", "3"}}) {
    std::unique_ptr<BackgroundProcess> agent = StartAgent(id, args);
    ASSERT_NE(agent, nullptr);
    const ExitStatus exit = AwaitAgent(*agent);
    EXPECT_EQ(exit.exit_code, 2)
        << args[1] << ": " << agent->Output(Stream::kStderr);
  }
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["total"]), 0);
}

// Metrics printed on stdout in the forms --stdout-metrics reads.
constexpr char kStdoutProgram[] = R"(import json, sys

print("starting, version=3.1.2")
print("epoch 0: loss=0.5, acc=0.1")
print(json.dumps({"loss": 0.4, "val": {"acc": 0.2}}))
print({'loss': 0.25, 'acc': 0.3, 'tag': 'x'})
print("1/1 - 0s - loss: 0.125 - accuracy: 0.5")
# A progress bar redrawn with carriage returns, then spaced equals signs.
print("\r 50%|#  | 1/2 [00:00, loss=0.0625]"
      "\r100%|###| 2/2 [00:00, loss=0.03125]", end="\n")
print("done: val_loss = 0.015625")
# Keras's bar on a pipe: each batch's drawing is erased with backspaces;
# the epoch's last one ends the line.
bar = "1/2 [==>...] - ETA: 0s - loss: 9.0000"
print(bar + "\b" * len(bar) + "\r2/2 [=====] - 0s 1ms/step - loss: 0.0078125")
# A dict printed after a bar on stderr that had no line end yet.
sys.stdout.flush()
sys.stderr.write("  5%|#  | 5/100 [00:01<00:20, 5.00it/s]")
sys.stderr.flush()
print({'eval_loss': 0.00390625}, flush=True)
)";

TEST_F(AgentEndToEndTest, StdoutMetricsInEveryFormAreRead) {
  const json trial = RunWithStdoutMetrics("prints.py", kStdoutProgram, true);
  EXPECT_EQ(trial["state"], "finished") << trial.dump();
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 9u) << trial.dump();
  EXPECT_EQ(history[0]["values"], json({{"loss", 0.5}, {"acc", 0.1}}));
  EXPECT_EQ(history[1]["values"], json({{"loss", 0.4}, {"val/acc", 0.2}}));
  EXPECT_EQ(history[2]["values"], json({{"loss", 0.25}, {"acc", 0.3}}));
  EXPECT_EQ(history[3]["values"], json({{"loss", 0.125}, {"accuracy", 0.5}}));
  EXPECT_EQ(history[4]["values"], json({{"loss", 0.0625}}));
  EXPECT_EQ(history[5]["values"], json({{"loss", 0.03125}}));
  EXPECT_EQ(history[6]["values"], json({{"val_loss", 0.015625}}));
  EXPECT_EQ(history[7]["values"], json({{"loss", 0.0078125}}));
  EXPECT_EQ(history[8]["values"], json({{"eval_loss", 0.00390625}}));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(JsonInt(history[i]["step"]), i);
  EXPECT_EQ(trial["summary"]["loss"], 0.0078125);
}

// A program that logs faster than the agent reads ends before the agent has
// read it all: the trial ends when the program did, not when the backlog was
// read (its last points were read after that).
constexpr char kBacklogProgram[] = R"(import sys

sys.stdout.write("".join(f"value={i}\n" for i in range(300_000)))
)";

TEST_F(AgentEndToEndTest, ATrialEndsWhenItsProgramDidNotWhenItsOutputWasRead) {
  const json trial = RunWithStdoutMetrics("backlog.py", kBacklogProgram, true);
  EXPECT_EQ(trial["state"], "finished") << trial["state"];
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 300'000u);
  EXPECT_LT(JsonInt(trial["ended_ms"]), JsonInt(history.back()["time_ms"]));
}

// A wrapper that prints a banner and then runs its training with
// `> /dev/stdout` (which truncates a file) while warnings go to stderr:
// every value is read, and the output keeps the banner.
constexpr char kTruncatingProgram[] = R"(import os
import sys
import time

print("== run started: a banner line long enough to be read first ==")
print("== environment ok, launching training ==", flush=True)
time.sleep(0.5)
fd = os.open("/proc/self/fd/1", os.O_WRONLY | os.O_TRUNC)
for i in range(300):
    os.write(fd, f"epoch {i} value={0.1 * (i + 1):.1f}\n".encode())
    if i % 3 == 0:
        print(f"warning: a long warning line number {i}", file=sys.stderr,
              flush=True)
    if i % 50 == 0:
        time.sleep(0.1)
)";

TEST_F(AgentEndToEndTest, StdoutReopenedByTheProgramLosesNothing) {
  const json trial =
      RunWithStdoutMetrics("truncating.py", kTruncatingProgram, true);
  EXPECT_EQ(trial["state"], "finished") << trial["state"];
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 300u) << history.dump();
  for (int i = 0; i < 300; ++i) {
    EXPECT_DOUBLE_EQ(history[i]["values"]["value"].get<double>(),
                     0.1 * (i + 1));
  }
  EXPECT_DOUBLE_EQ(trial["best_value"].get<double>(), 0.1);
}

// Coloured output, as rich, loguru or Keras print it.
constexpr char kColouredProgram[] = R"(for i in range(3):
    print(f"\x1b[1mepoch {i}\x1b[0m \x1b[32mloss\x1b[0m={0.5 - 0.1 * i:.1f}")
)";

TEST_F(AgentEndToEndTest, ColouredStdoutMetricsAreRead) {
  const json trial =
      RunWithStdoutMetrics("coloured.py", kColouredProgram, true);
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 3u) << trial.dump();
  EXPECT_DOUBLE_EQ(history[2]["values"]["loss"].get<double>(), 0.3);
}

// One point per batch of a long run: more than one reply carries.
constexpr char kLongHistoryProgram[] = R"(import sys

lines = "".join(f"loss={i}\n" for i in range(100_050))
sys.stdout.write(lines)
)";

TEST_F(AgentEndToEndTest, AHistoryLongerThanOneReplyIsShownInFull) {
  const json trial = RunWithStdoutMetrics("long.py", kLongHistoryProgram, true);
  EXPECT_EQ(trial["state"], "finished") << trial["state"];
  EXPECT_EQ(JsonInt(trial["metric_points"]), 100'050);
  const json& history = trial["history"];
  ASSERT_EQ(history.size(), 100'050u);
  for (size_t i = 0; i < history.size(); i += 9'999) {
    ASSERT_EQ(history[i]["values"]["loss"], static_cast<double>(i)) << i;
    ASSERT_EQ(JsonInt(history[i]["step"]), static_cast<int64_t>(i));
  }
  EXPECT_EQ(history.back()["values"]["loss"], 100'049.0);
}

// Logs through sweep_client and prints the same dict, as Hugging Face's
// Trainer does with the W&B integration.
constexpr char kLogsAndPrintsProgram[] = R"(import sweep_client
for step in range(4):
    values = {"loss": 5.0 - step}
    sweep_client.log(values, step=step)
    print(values, flush=True)
)";

TEST_F(AgentEndToEndTest, ValuesLoggedAndPrintedAreCountedOnce) {
  const json trial =
      RunWithStdoutMetrics("both.py", kLogsAndPrintsProgram, true);
  EXPECT_EQ(JsonInt(trial["metric_points"]), 4) << trial.dump();
  EXPECT_EQ(trial["history"].size(), 4u) << trial.dump();
}

// A chatty program: 400,000 lines (about 10 MB) as fast as Python prints
// them, then exits, long before the agent has read them all.
constexpr char kLoudProgram[] = R"(import sys
out = sys.stdout
for i in range(400000):
    out.write("step %d loss=%d\n" % (i, i))
)";

TEST_F(AgentEndToEndTest, StdoutMetricsOfAChattyProgramAreAllRead) {
  const json trial = RunWithStdoutMetrics("loud.py", kLoudProgram, false);
  EXPECT_EQ(trial["state"], "finished") << trial.dump();
  EXPECT_EQ(JsonInt(trial["metric_points"]), 400000);
  EXPECT_EQ(trial["summary"]["loss"], 399999);
  EXPECT_EQ(JsonInt(trial["malformed_metric_lines"]), 0);
}

// 45 wide points (a value per layer, 5,000 layers: about 4.7 MB together,
// more than one gRPC message may carry), a last point, then, as its very
// last line, one whose only metric name the controller refuses (5,000
// bytes): no report follows to carry its count but the final one.
constexpr char kOversizedProgram[] = R"(import json
import os

with open(os.environ["SWEEP_METRICS_FILE"], "a") as f:
    for step in range(1, 46):
        point = {f"layer{i}/grad": float(i) for i in range(5000)}
        point["_step"] = step
        f.write(json.dumps(point) + "\n")
    f.write(json.dumps({"_step": 46, "loss": 0.5}) + "\n")
    f.write(json.dumps({"x" * 5000: 1.0}) + "\n")
)";

TEST_F(AgentEndToEndTest, OversizedMetricsAreSplitOrSkippedNotFatal) {
  const std::string id =
      CreateSweep("oversized.py", kOversizedProgram,
                  GridSweep("oversized.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["state"], "finished") << trials[0].dump();
  EXPECT_EQ(JsonInt(trials[0]["metric_points"]), 46) << trials[0].dump();
  EXPECT_EQ(JsonInt(trials[0]["malformed_metric_lines"]), 1)
      << trials[0].dump();
  EXPECT_EQ(trials[0]["summary"]["loss"], 0.5) << trials[0].dump();
  EXPECT_EQ(trials[0]["summary"]["layer4999/grad"], 4999.0);
}

// An unmodified W&B-style script: wandb.init with defaults, wandb.log,
// wandb.finish.
constexpr char kWandbProgram[] = R"(import wandb

defaults = {"lr": 0.5, "epochs": 4, "tag": "default"}
run = wandb.init(project="e2e", config=defaults)
for i in range(wandb.config.epochs):
    wandb.log({"loss": wandb.config.lr * (i + 1), "val": {"acc": i / 10}})
run.summary["tag_is_default"] = wandb.config.tag == "default"
wandb.finish()
)";

// The other common W&B form: the script makes its sweep and runs an agent
// function itself.
constexpr char kWandbLauncherProgram[] = R"(import wandb

def train():
    with wandb.init(config={"lr": 0.5}) as run:
        wandb.log({"loss": run.config.lr * 2})

sweep_id = wandb.sweep({"method": "grid", "parameters": {}}, project="p")
wandb.agent(sweep_id, function=train, count=10)
)";

TEST_F(AgentEndToEndTest, WandbSweepAndAgentCallsInTheScriptRunOneTrial) {
  const std::string id =
      CreateSweep("launcher.py", kWandbLauncherProgram,
                  GridSweep("launcher.py", "  lr:\n    values: [0.25, 1]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--wandb-shim"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0]["summary"]["loss"], 0.5) << trials[0].dump();
  EXPECT_EQ(trials[1]["summary"]["loss"], 2.0) << trials[1].dump();
  // Creating a sweep of a W&B script says which agent flag it needs.
  const ProcessResult again = cli_.Run({"create", dir_.Path("sweep-1.yaml")});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("imports wandb: add --wandb-shim"));
}

// W&B's quickstart, run by hand as `python3 quickstart.py --offset 10`:
// wandb.sweep() registers its sweep with the controller, wandb.agent() runs
// `sweep agent`, which runs the script once per trial (with its arguments;
// the parameters through wandb.config), and each trial calls main() once.
constexpr char kWandbQuickstartProgram[] = R"(import argparse, sys, wandb

parser = argparse.ArgumentParser()
parser.add_argument("--offset", type=float, required=True)
offset = parser.parse_args().offset

def main():
    run = wandb.init(project="ignored")
    wandb.log({"score": run.config.x * 100 + run.config.y + offset})

config = {
    "method": "grid",
    "metric": {"goal": "minimize", "name": "score"},
    "parameters": {"x": {"values": [1, 2]}, "y": {"values": [0.5, 0.25]}},
}
sweep_id = wandb.sweep(sweep=config, project="quickstart")
wandb.agent(sweep_id, function=main, count=3)
print("CREATED", sweep_id)
)";

TEST_F(AgentEndToEndTest, WandbSweepAndAgentRunByHandDriveTheController) {
  ASSERT_TRUE(WriteFile(dir_.Path("quickstart.py"), kWandbQuickstartProgram));
  const std::string python = SourceDir() + "/clients/python";
  const ProcessResult run = RunProcess(
      {"/bin/sh", "-c",
       "cd '" + dir_.path() + "' && exec python3 quickstart.py --offset 10"},
      std::chrono::seconds(120),
      {"SWEEP_CONTROLLER=" + server_.address, "SWEEP_BINARY=" + SweepBinary(),
       "PYTHONPATH=" + python + "/shim:" + python});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("Created sweep with ID: "));
  const size_t created = run.out.find("CREATED ");
  ASSERT_NE(created, std::string::npos) << run.out;
  const std::string id =
      run.out.substr(created + 8, run.out.find('\n', created) - created - 8);
  const json sweep = cli_.Json({"status", id});
  EXPECT_EQ(sweep["normalized"]["project"], "quickstart") << sweep.dump();
  // count=3 of the four grid points, each the script run once.
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 3u);
  std::vector<double> scores;
  for (const json& trial : trials) {
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    scores.push_back(trial["summary"]["score"].get<double>());
  }
  std::sort(scores.begin(), scores.end());
  EXPECT_EQ(scores, (std::vector<double>{110.25, 110.5, 210.5}));
}

TEST_F(AgentEndToEndTest, WandbScriptsReportUnderTheShim) {
  const std::string id = CreateSweep(
      "wandb_style.py", kWandbProgram,
      GridSweep("wandb_style.py",
                "  lr:\n    values: [0.25]\n  epochs:\n    value: 3\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--wandb-shim"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "finished") << trial.dump();
  const json& history = trial["history"];
  ASSERT_GE(history.size(), 3u) << trial.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(JsonInt(history[i]["step"]), i);
    EXPECT_EQ(history[i]["values"]["loss"].get<double>(), 0.25 * (i + 1));
    EXPECT_EQ(history[i]["values"]["val.acc"].get<double>(), i / 10.0);
  }
  EXPECT_EQ(trial["summary"]["loss"], 0.75);
  EXPECT_EQ(trial["summary"]["tag_is_default"], 1.0);

  // The repository's example script, run from configs/ as written.
  const std::string example =
      CreateSweep("", "",
                  GridSweep("train_wandb.py",
                            "  lr:\n    values: [0.001, 0.01]\n"
                            "  epochs:\n    value: 3\n"
                            "  epoch_seconds:\n    value: 0.0\n"));
  ASSERT_FALSE(example.empty());
  std::unique_ptr<BackgroundProcess> example_agent =
      StartAgent(example, {"--wandb-shim"}, {}, SourceDir() + "/configs");
  ASSERT_NE(example_agent, nullptr);
  EXPECT_EQ(AwaitAgent(*example_agent).exit_code, 0)
      << example_agent->Output(Stream::kStderr);
  const std::vector<json> trials = cli_.Trials(example);
  ASSERT_EQ(trials.size(), 2u);
  for (const json& listed : trials) {
    const json full = cli_.TrialWithHistory(example, JsonInt(listed["number"]));
    EXPECT_EQ(full["state"], "finished") << full.dump();
    EXPECT_GE(JsonInt(full["metric_points"]), 3);
    EXPECT_EQ(full["summary"]["epoch"], 3.0) << full.dump();
    EXPECT_TRUE(full["summary"].contains("val_loss"));
    EXPECT_TRUE(full["summary"].contains("best_val_loss"));
    EXPECT_THAT(full.value("log_tail", ""),
                HasSubstr("\"lr\": " + Config(full)["lr"].dump()));
  }
}

// Writes its arguments as a JSON list.
constexpr char kArgvProgram[] = R"(import json
import os
import sys

with open(f"argv-{os.environ['SWEEP_TRIAL_ID']}.json", "w") as out:
    json.dump(sys.argv[1:], out)
)";

TEST_F(AgentEndToEndTest, ShellMetacharactersReachArgvVerbatim) {
  const std::vector<std::string> payloads = {
      "$(touch " + dir_.Path("PWNED_x") + "); echo 'hi' | cat > y && rm -rf z",
      "*",
      ";",
      "`touch " + dir_.Path("PWNED_bt") + "`",
      "a  b \"c\" \\d $HOME ${HOME} |&<> #",
      "${envvar:HOME}",
  };
  std::string values;
  for (const std::string& p : payloads) {
    values += "      - " + YamlQuoted(p) + "\n";
  }
  const std::string id = CreateSweep(
      "argv.py", kArgvProgram,
      GridSweep("argv.py", "  payload:\n    values:\n" + values,
                "command:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n"
                "  - ${args}\n  - \"--\"\n  - ${args_no_equals}\n"
                "  - ${args_json}\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--slots", "2"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);

  std::set<std::string> seen;
  for (const json& trial : cli_.Trials(id)) {
    const int64_t number = JsonInt(trial["number"]);
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    const std::string payload = Config(trial)["payload"];
    seen.insert(payload);
    const std::optional<std::string> written =
        ReadFile(dir_.Path("argv-" + std::to_string(number) + ".json"));
    ASSERT_TRUE(written.has_value()) << "trial " << number;
    const json argv = json::parse(*written);
    ASSERT_EQ(argv.size(), 5u) << argv.dump();
    EXPECT_EQ(argv[0], "--payload=" + payload);
    EXPECT_EQ(argv[1], "--");
    EXPECT_EQ(argv[2], "--payload");
    EXPECT_EQ(argv[3], payload);
    EXPECT_EQ(json::parse(argv[4].get<std::string>()),
              (json{{"payload", payload}}));
  }
  EXPECT_EQ(seen, std::set<std::string>(payloads.begin(), payloads.end()));
  for (const char* file : {"PWNED_x", "PWNED_bt", "y"}) {
    EXPECT_FALSE(FileExists(dir_.Path(file))) << file << ": a shell ran";
  }
  // The agent's log shows each command as a shell would read it back: one
  // pasted into a shell runs the same argv, not the payload.
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr(" '--payload=$(touch " + dir_.Path("PWNED_x") +
                        "); echo '\\''hi'\\'' | cat > y && rm -rf z' -- "))
      << agent->Output(Stream::kStderr);
}

TEST_F(AgentEndToEndTest, GpusAutoGivesEachRunningTrialItsOwnDevice) {
  // Each trial records its GPUs and when it ran; the first two wait for each
  // other, so they certainly overlap.
  constexpr char kGpuProgram[] = R"(import glob
import json
import os
import sys
import time

trial = os.environ["SWEEP_TRIAL_ID"]
start = time.time()
open(f"started-{trial}", "w").close()
deadline = start + 20
while len(glob.glob("started-*")) < 2:
    if time.time() > deadline:
        sys.exit("ran alone")
    time.sleep(0.02)
time.sleep(0.3)
with open(f"gpu-{trial}.json", "w") as out:
    json.dump({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
               "start": start, "end": time.time()}, out)
)";
  const std::string id =
      CreateSweep("gpu.py", kGpuProgram,
                  GridSweep("gpu.py", "  x:\n    values: [1, 2, 3, 4]\n"));
  ASSERT_FALSE(id.empty());
  // Not a GPU runner's own CUDA_VISIBLE_DEVICES: nvidia-smi's list.
  std::unique_ptr<BackgroundProcess> agent =
      StartAgentWithGpusAuto(id, {0, 1}, std::nullopt);
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr), HasSubstr("GPUs 0,1"));

  std::vector<GpuRun> runs;
  for (const json& trial : cli_.Trials(id)) {
    const int64_t number = JsonInt(trial["number"]);
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    const std::optional<std::string> written =
        ReadFile(dir_.Path("gpu-" + std::to_string(number) + ".json"));
    ASSERT_TRUE(written.has_value()) << "trial " << number;
    const json record = json::parse(*written);
    ASSERT_TRUE(record["gpus"].is_string()) << "no CUDA_VISIBLE_DEVICES";
    runs.push_back({record["gpus"], record["start"], record["end"]});
    EXPECT_THAT(runs.back().gpus, ::testing::AnyOf("0", "1"));
  }
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_GE(ExpectOverlappingRunsOnDifferentGpus(runs), 1);
}

// Writes the trial's CUDA_VISIBLE_DEVICES to gpus-N.
constexpr char kRecordGpusProgram[] = R"(import os

trial = os.environ["SWEEP_TRIAL_ID"]
with open(f"gpus-{trial}", "w") as out:
    out.write(os.environ.get("CUDA_VISIBLE_DEVICES", "none"))
)";

// On a node a scheduler shares (Slurm, Kubernetes), the job's GPUs are
// those in CUDA_VISIBLE_DEVICES, not every GPU nvidia-smi lists.
TEST_F(AgentEndToEndTest, GpusAutoTakesTheJobsGpusFromCudaVisibleDevices) {
  const std::string id =
      CreateSweep("gpus.py", kRecordGpusProgram,
                  GridSweep("gpus.py", "  x:\n    values: [1, 2, 3]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      StartAgentWithGpusAuto(id, {0, 1, 2, 3}, "5,7");
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr), HasSubstr("GPUs 5,7"));
  for (int trial = 1; trial <= 3; ++trial) {
    const std::optional<std::string> gpus =
        ReadFile(dir_.Path("gpus-" + std::to_string(trial)));
    ASSERT_TRUE(gpus.has_value()) << "trial " << trial;
    EXPECT_THAT(*gpus, ::testing::AnyOf("5", "7")) << "trial " << trial;
  }
}

// As W&B's agent: the sweep file's project and entity reach the program as
// WANDB_PROJECT and WANDB_ENTITY; a sweep without them sets neither.
TEST_F(AgentEndToEndTest, TheSweepsProjectAndEntityAreInTheEnvironment) {
  constexpr char kRecordProject[] = R"(import os
with open(f"project-{os.environ['SWEEP_TRIAL_ID']}", "w") as out:
    out.write(os.environ.get("WANDB_PROJECT", "-") + " " +
              os.environ.get("WANDB_ENTITY", "-"))
print("value=1")
)";
  for (const bool named : {true, false}) {
    const std::string id =
        CreateSweep("project.py", kRecordProject,
                    GridSweep("project.py", "  x:\n    values: [1]\n",
                              named ? "project: vision\nentity: lab\n" : ""));
    ASSERT_FALSE(id.empty());
    std::unique_ptr<BackgroundProcess> agent = StartAgent(
        id, {"--stdout-metrics"},
        {"WANDB_PROJECT=from-the-shell", "WANDB_ENTITY=from-the-shell"});
    ASSERT_NE(agent, nullptr);
    EXPECT_EQ(AwaitAgent(*agent).exit_code, 0)
        << agent->Output(Stream::kStderr);
    EXPECT_EQ(ReadFile(dir_.Path("project-1")),
              named ? "vision lab" : "from-the-shell from-the-shell");
    std::filesystem::remove(dir_.Path("project-1"));
  }
}

// An agent whose --workdir cannot be written would fail every trial it took
// (and finish a grid sweep of failures): it refuses to start instead.
TEST_F(AgentEndToEndTest, AnUnwritableWorkdirIsRefusedBeforeAnyTrial) {
  const std::string id =
      CreateSweep("twenty.py", kTwentyPoints,
                  GridSweep("twenty.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  // A path under a regular file cannot be created, even by root.
  ASSERT_TRUE(WriteFile(dir_.Path("a-file"), ""));
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--workdir", dir_.Path("a-file/runs")});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 2);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr("cannot use --workdir " + dir_.Path("a-file/runs")));
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["total"]), 0);
}

// Trial files this node cannot write (here: the sweep's directory is taken
// by a file; in life, a disk that filled up) are the node's failure: the
// trials are crashed and their grid points go to the next agent.
TEST_F(AgentEndToEndTest, TrialFilesANodeCannotWriteGiveTheirPointsBack) {
  const std::string id =
      CreateSweep("twenty.py", kTwentyPoints,
                  GridSweep("twenty.py", "  x:\n    values: [1, 2, 3]\n"));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(mkdir(dir_.Path("broken").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(dir_.Path("broken/" + id), ""));
  // The broken node stops at its first such trial: the next ones would fail
  // the same way, each loss bringing a grid point nearer to being given up.
  std::unique_ptr<BackgroundProcess> broken =
      StartAgent(id, {"--workdir", dir_.Path("broken")});
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ(AwaitAgent(*broken).exit_code, 2);
  EXPECT_THAT(
      broken->Output(Stream::kStderr),
      HasSubstr("cannot write the trials' files under " + dir_.Path("broken")));
  std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 1u);
  for (const json& trial : trials) {
    EXPECT_EQ(trial["state"], "crashed") << trial.dump();
    EXPECT_THAT(trial.value("end_reason", ""), HasSubstr("could not start on "))
        << trial.dump();
  }
  EXPECT_NE(SweepStatus(id)["state"], "finished");

  std::unique_ptr<BackgroundProcess> healthy = StartAgent(id, {});
  ASSERT_NE(healthy, nullptr);
  EXPECT_EQ(AwaitAgent(*healthy).exit_code, 0);
  const json status = SweepStatus(id);
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 3);
}

TEST_F(AgentEndToEndTest, GpuGroupsAreInOrderAndAGpuListedTwiceIsRefused) {
  const std::string id =
      CreateSweep("group.py", kRecordGpusProgram,
                  GridSweep("group.py", "  x:\n    values: [1, 2, 3, 4, 5]\n"));
  ASSERT_FALSE(id.empty());
  // Usage errors, each entry trimmed first: a GPU listed twice (" 0" is
  // 0), an empty entry, anything CUDA would not take for a GPU id.
  for (const auto& [list, error] :
       std::vector<std::pair<std::string, std::string>>{
           {"0,0,1", "--gpus: GPU 0 is listed twice"},
           {" 0, 0", "--gpus: GPU 0 is listed twice"},
           {"0,,1", "has an empty entry"},
           {"1-3", "\"1-3\" is no GPU id"},
           {"none", "\"none\" is no GPU id"}}) {
    const AgentRun refused = RunAgentToItsEnd(id, {"--gpus", list});
    EXPECT_EQ(refused.exit_code, 2) << list;
    EXPECT_THAT(refused.err, HasSubstr(error)) << list;
  }
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["total"]), 0);

  const AgentRun agent =
      RunAgentToItsEnd(id, {"--gpus", "3,2,1,0", "--gpus-per-trial", "2"});
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  for (int trial = 1; trial <= 5; ++trial) {
    const std::optional<std::string> gpus =
        ReadFile(dir_.Path("gpus-" + std::to_string(trial)));
    ASSERT_TRUE(gpus.has_value()) << "trial " << trial;
    // As listed: the first two, or the last two, never mixed or reversed.
    EXPECT_THAT(*gpus, ::testing::AnyOf("3,2", "1,0")) << "trial " << trial;
  }
}

// A node whose nvidia-smi fails (a broken driver) is not silently run on
// the CPU when --gpus auto asked for its GPUs; CUDA_VISIBLE_DEVICES=-1 (the
// usual way to hide every GPU) is one CPU slot; GPUs a grouping leaves over
// are named.
TEST_F(AgentEndToEndTest, GpusAutoOnABrokenDriverIsRefusedAndIdleGpusNamed) {
  const std::string id =
      CreateSweep("gpus.py", kRecordGpusProgram,
                  GridSweep("gpus.py", "  x:\n    values: [1, 2]\n"));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(mkdir(dir_.Path("broken-bin").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(dir_.Path("broken-bin/nvidia-smi"),
                        "#!/bin/sh\necho 'NVIDIA-SMI has failed because it "
                        "could not communicate with the NVIDIA driver.'\n"
                        "exit 9\n",
                        /*executable=*/true));
  const char* path = std::getenv("PATH");
  const AgentRun broken = RunAgentToItsEnd(
      id, {"--gpus", "auto"},
      {"PATH=" + dir_.Path("broken-bin") + ":" + (path != nullptr ? path : ""),
       "CUDA_VISIBLE_DEVICES"});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err,
              HasSubstr("nvidia-smi failed (exit status 9: NVIDIA-SMI has "
                        "failed because"));
  EXPECT_EQ(JsonInt(SweepStatus(id)["counts"]["total"]), 0);

  // A CPU node of a mixed cluster, with the driver's tools: one CPU slot.
  ASSERT_EQ(mkdir(dir_.Path("cpu-bin").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(dir_.Path("cpu-bin/nvidia-smi"),
                        "#!/bin/sh\necho 'No devices were found'\nexit 6\n",
                        /*executable=*/true));
  const AgentRun cpu = RunAgentToItsEnd(
      id, {"--gpus", "auto", "--count", "1"},
      {"PATH=" + dir_.Path("cpu-bin") + ":" + (path != nullptr ? path : ""),
       "CUDA_VISIBLE_DEVICES"});
  EXPECT_EQ(cpu.exit_code, 0) << cpu.err;
  EXPECT_THAT(cpu.err,
              HasSubstr("nvidia-smi found no GPU: running one CPU slot"));
  EXPECT_EQ(ReadFile(dir_.Path("gpus-1")), std::optional<std::string>("none"));

  std::unique_ptr<BackgroundProcess> hidden =
      StartAgentWithGpusAuto(id, {0, 1}, "-1");
  ASSERT_NE(hidden, nullptr);
  EXPECT_EQ(AwaitAgent(*hidden).exit_code, 0)
      << hidden->Output(Stream::kStderr);
  EXPECT_THAT(hidden->Output(Stream::kStderr),
              HasSubstr("CUDA_VISIBLE_DEVICES (-1) gives no GPU: running one "
                        "CPU slot"));
  // Its programs inherit the setting that hides every GPU.
  EXPECT_EQ(ReadFile(dir_.Path("gpus-2")), std::optional<std::string>("-1"));
}

TEST_F(AgentEndToEndTest, GpusLeftOverByTheGroupingAreNamed) {
  const std::string id =
      CreateSweep("gpus.py", kRecordGpusProgram,
                  GridSweep("gpus.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  const AgentRun agent =
      RunAgentToItsEnd(id, {"--gpus", "0,1,2", "--gpus-per-trial", "2"});
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_THAT(agent.err,
              HasSubstr("warning: 1 GPU of 3 left idle (1 at once, 2 per "
                        "trial)"));
  EXPECT_EQ(ReadFile(dir_.Path("gpus-1")), std::optional<std::string>("0,1"));
}

// A command this node cannot run (a launcher not installed here, an
// ${envvar:...} it does not set) is the node's failure: the trial is
// crashed, its grid point goes back, and the agent stops instead of failing
// the whole grid. A node that has it runs the sweep.
TEST_F(AgentEndToEndTest, ACommandThisNodeLacksGivesThePointBackAndStopsIt) {
  const std::string id = CreateSweep(
      "gpus.py", kRecordGpusProgram,
      GridSweep("gpus.py", "  x:\n    values: [1, 2, 3]\n",
                "command: [no-such-launcher-for-sweep, \"${program}\"]\n"));
  ASSERT_FALSE(id.empty());
  const AgentRun lacking = RunAgentToItsEnd(id, {});
  EXPECT_EQ(lacking.exit_code, 2);
  EXPECT_THAT(lacking.err,
              HasSubstr("this node cannot run the sweep's command: cannot run "
                        "'no-such-launcher-for-sweep'"));
  std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["state"], "crashed") << trials[0].dump();
  EXPECT_THAT(trials[0].value("end_reason", ""),
              HasSubstr("could not start on "));
  EXPECT_NE(SweepStatus(id)["state"], "finished");

  // The "launcher", installed on this node: a script that runs the program.
  ASSERT_EQ(mkdir(dir_.Path("launcher-bin").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(dir_.Path("launcher-bin/no-such-launcher-for-sweep"),
                        "#!/bin/sh\nexec python3 \"$@\"\n",
                        /*executable=*/true));
  const char* path = std::getenv("PATH");
  const AgentRun having =
      RunAgentToItsEnd(id, {},
                       {"PATH=" + dir_.Path("launcher-bin") + ":" +
                        (path != nullptr ? path : "")});
  EXPECT_EQ(having.exit_code, 0) << having.err;
  const json status = SweepStatus(id);
  EXPECT_EQ(status["state"], "finished") << status.dump();
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 3) << status.dump();
}

// A launcher in the way of torchrun's: each worker in a session of its own
// (not the trial's process group), recording its pid, and a file when
// SIGTERM reaches it. The launcher then dies, leaving them.
constexpr char kLauncherProgram[] = R"(import os
import signal
import subprocess
import sys
import time

trial = os.environ["SWEEP_TRIAL_ID"]
if sys.argv[1] == "--worker":
    index = sys.argv[2]

    def on_term(*_):
        open(f"worker-{trial}-{index}.term", "w").close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    with open(f"worker-{trial}-{index}.pid.tmp", "w") as out:
        out.write(str(os.getpid()))
    os.rename(f"worker-{trial}-{index}.pid.tmp", f"worker-{trial}-{index}.pid")
    while True:
        time.sleep(0.05)
for index in range(2):
    subprocess.Popen([sys.executable, __file__, "--worker", str(index)],
                     start_new_session=True)
while not all(os.path.exists(f"worker-{trial}-{i}.pid") for i in range(2)):
    time.sleep(0.01)
sys.exit(3)
)";

// Whether `pid` names a live process (a zombie is not).
bool Alive(pid_t pid) {
  const std::optional<std::string> stat =
      ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.has_value()) return false;
  const size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() &&
         (*stat)[close + 2] != 'Z' && (*stat)[close + 2] != 'X';
}

// Processes a trial's program started in sessions of their own are still
// its: when it ends they get SIGTERM (and the grace), not a life of their
// own holding the trial's GPUs.
TEST_F(AgentEndToEndTest, WorkersInSessionsOfTheirOwnEndWithTheirTrial) {
  const std::string id =
      CreateSweep("launch.py", kLauncherProgram,
                  GridSweep("launch.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  const AgentRun agent = RunAgentToItsEnd(id, {});
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  std::vector<pid_t> workers;
  for (int i = 0; i < 2; ++i) {
    const std::optional<std::string> pid =
        ReadFile(dir_.Path("worker-1-" + std::to_string(i) + ".pid"));
    ASSERT_TRUE(pid.has_value()) << "worker " << i << " never started";
    workers.push_back(static_cast<pid_t>(std::stol(*pid)));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(Alive(workers[i])) << "worker " << i << " outlived its trial";
    EXPECT_TRUE(
        FileExists(dir_.Path("worker-1-" + std::to_string(i) + ".term")))
        << "worker " << i << " got no SIGTERM";
  }
  for (pid_t pid : workers) {
    if (Alive(pid)) kill(pid, SIGKILL);  // Whatever the outcome.
  }
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "failed") << trial.dump();
  EXPECT_EQ(JsonInt(trial["exit_code"]), 3) << trial.dump();
}

// A helper left in the group when the program exits by itself gets SIGTERM
// and the grace (here it ignores SIGTERM, so SIGKILL follows); the trial
// ended when its program did, not after the helper's grace.
TEST_F(AgentEndToEndTest,
       AHelperLeftBehindGetsTheGraceAndTheTrialEndsWithItsProgram) {
  constexpr char kLeavesAHelper[] = R"(import os
import signal
import subprocess
import sys
import time

if sys.argv[1] == "--helper":
    def on_term(*_):
        open("helper-term", "w").close()

    signal.signal(signal.SIGTERM, on_term)
    with open("helper.pid.tmp", "w") as out:
        out.write(str(os.getpid()))
    os.rename("helper.pid.tmp", "helper.pid")
    while True:
        time.sleep(0.05)
subprocess.Popen([sys.executable, __file__, "--helper"])
while not os.path.exists("helper.pid"):
    time.sleep(0.01)
)";
  const std::string id =
      CreateSweep("helper.py", kLeavesAHelper,
                  GridSweep("helper.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  const AgentRun agent = RunAgentToItsEnd(id, {"--kill-grace", "5"});
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  const std::optional<std::string> pid = ReadFile(dir_.Path("helper.pid"));
  ASSERT_TRUE(pid.has_value());
  const pid_t helper = static_cast<pid_t>(std::stol(*pid));
  EXPECT_FALSE(Alive(helper));
  if (Alive(helper)) kill(helper, SIGKILL);
  EXPECT_TRUE(FileExists(dir_.Path("helper-term"))) << "no SIGTERM first";
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "finished") << trial.dump();
  EXPECT_LT(JsonInt(trial["ended_ms"]) - JsonInt(trial["created_ms"]), 5000)
      << "the trial's end waited for the helper's grace: " << trial.dump();
}

// A GPU an earlier trial's process still holds (an agent killed and
// restarted while its guard gives the old program its grace, or another
// agent of the sweep on the machine) is not handed to a new trial until it
// is let go.
TEST_F(AgentEndToEndTest, AGpuAnEarlierTrialStillHoldsIsWaitedFor) {
  constexpr char kChecksRelease[] = R"(import os

with open("started-after-release", "w") as out:
    out.write("yes" if os.path.exists("released") else "no")
)";
  const std::string id =
      CreateSweep("check.py", kChecksRelease,
                  GridSweep("check.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> holder = StartGpuZeroHolder(id);
  ASSERT_NE(holder, nullptr);
  std::unique_ptr<BackgroundProcess> agent =
      StartAgent(id, {"--gpus", "0,1", "--gpus-per-trial", "2"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitForLine(
      Stream::kStderr,
      "waits: GPU 0 is still used by pid " + std::to_string(holder->pid()),
      kConditionTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(WriteFile(dir_.Path("go"), ""));
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 0) << agent->Output(Stream::kStderr);
  EXPECT_EQ(ReadFile(dir_.Path("started-after-release")),
            std::optional<std::string>("yes"));
  EXPECT_THAT(agent->Output(Stream::kStderr), HasSubstr("its GPUs are free"));
}

// A trial waiting for its GPUs when its agent is told to drain is not
// started: it is handed back (crashed), not run and killed at once.
TEST_F(AgentEndToEndTest, ATrialWaitingForGpusIsNotStartedOnShutdown) {
  const std::string id =
      CreateSweep("check.py", "open('ran', 'w').close()\n",
                  GridSweep("check.py", "  x:\n    values: [1]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> holder = StartGpuZeroHolder(id);
  ASSERT_NE(holder, nullptr);
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {"--gpus", "0"});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, "waits: GPU 0 is still used",
                                 kConditionTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(agent->Signal(SIGTERM));
  // 128 + SIGTERM: stopped by the signal, not done.
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 143)
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(WriteFile(dir_.Path("go"), ""));
  EXPECT_FALSE(FileExists(dir_.Path("ran"))) << "the program ran";
  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "crashed") << trial.dump();
  EXPECT_THAT(trial.value("end_reason", ""),
              HasSubstr("while it waited for its GPUs"));
}

TEST_F(AgentEndToEndTest, FirstSigtermLetsTheRunningTrialFinish) {
  std::string id;
  std::unique_ptr<BackgroundProcess> agent =
      StartOnFirstTrial(kDrainProgram, "[1, 2, 3]", {}, &id);
  ASSERT_NE(agent, nullptr);

  ASSERT_TRUE(agent->Signal(SIGTERM));
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, "taking no new ones",
                                 kConditionTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  const ExitStatus exit = AwaitAgent(*agent);
  EXPECT_EQ(exit.exit_code, 143) << agent->Output(Stream::kStderr);

  const json trial = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(trial["state"], "finished") << trial.dump();
  EXPECT_EQ(trial["exit_code"], 0);
  EXPECT_EQ(trial["history"].size(), 2u);
  EXPECT_FALSE(FileExists(dir_.Path("term-1")))
      << "the running trial got SIGTERM";
  const json status = SweepStatus(id);
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 1) << "a new trial started";
  EXPECT_FALSE(FileExists(dir_.Path("started-2")));
}

// A job scheduler ending a job (scancel, systemd's stop, a preempted node)
// signals every process at once: the agent and its trial. The trial did not
// fail: it is crashed ("interrupted"), and its grid point runs again on
// another agent.
TEST_F(AgentEndToEndTest, ASchedulersSigtermToTheWholeJobPutsTheGridPointBack) {
  constexpr char kProgram[] = R"(import os
import signal
import sys
import time

import sweep_client

trial = os.environ["SWEEP_TRIAL_ID"]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
sweep_client.log({"value": 0}, step=0)
with open(f"pid-{trial}.tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename(f"pid-{trial}.tmp", f"pid-{trial}")
deadline = time.time() + 20
while not os.path.exists("release") and time.time() < deadline:
    time.sleep(0.02)
sweep_client.log({"value": 1}, step=1)
)";
  const std::string id = CreateSweep(
      "job.py", kProgram, GridSweep("job.py", "  x:\n    values: [1, 2, 3]\n"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = StartAgent(id, {});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(PollUntil([&] { return FileExists(dir_.Path("pid-1")); },
                        kConditionTimeout))
      << agent->Output(Stream::kStderr);
  const std::optional<std::string> pid = ReadFile(dir_.Path("pid-1"));
  ASSERT_TRUE(pid.has_value());
  ASSERT_TRUE(agent->Signal(SIGTERM));
  ASSERT_TRUE(agent->WaitForLine(Stream::kStderr, "taking no new ones",
                                 kConditionTimeout))
      << agent->Output(Stream::kStderr);
  ASSERT_EQ(kill(std::stoi(*pid), SIGTERM), 0);
  EXPECT_EQ(AwaitAgent(*agent).exit_code, 143)
      << agent->Output(Stream::kStderr);

  const json interrupted = cli_.TrialWithHistory(id, 1);
  EXPECT_EQ(interrupted["state"], "crashed") << interrupted.dump();
  EXPECT_THAT(
      interrupted.value("end_reason", ""),
      HasSubstr("interrupted: its agent was shut down (exit code 143)"));

  // Another agent runs every point, the interrupted one again.
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  std::unique_ptr<BackgroundProcess> next = StartAgent(id, {});
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(AwaitAgent(*next).exit_code, 0) << next->Output(Stream::kStderr);
  std::set<int64_t> finished;
  for (const json& trial : cli_.Trials(id)) {
    if (trial["state"] == "finished") {
      finished.insert(JsonInt(trial["config"]["x"]));
    }
  }
  EXPECT_EQ(finished, (std::set<int64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace sweep
