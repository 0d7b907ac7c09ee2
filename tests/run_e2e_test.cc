// `sweep run`, the README's first command, through the real binary: an
// embedded controller with its SQLite file and local agents running real
// Python programs, in one process.
#include <signal.h>

#include <chrono>
#include <filesystem>
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
using ::sweep::testing::ProcessResult;
using ::sweep::testing::ReadFile;
using ::sweep::testing::RunProcess;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::StartServer;
using ::sweep::testing::Stream;
using ::sweep::testing::SweepBinary;
using ::sweep::testing::SweepCli;
using ::sweep::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::seconds kRunTimeout(120);

// The sweep id `sweep run` announces ("Sweep ID (method) from ...").
std::string AnnouncedId(const std::string& out) {
  const std::string prefix = "Sweep ";
  const size_t at = out.find(prefix);
  if (at == std::string::npos) return "";
  const size_t end = out.find(' ', at + prefix.size());
  return out.substr(at + prefix.size(), end - at - prefix.size());
}

class RunEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  // Writes `program` to the test's directory and a grid sweep of it with
  // `parameters` (the YAML body of the parameters block); returns the
  // sweep file.
  std::string WriteSweep(const std::string& program,
                         const std::string& parameters) {
    EXPECT_TRUE(WriteFile(dir_.Path("train.py"), program));
    const std::string file = dir_.Path("sweep.yaml");
    EXPECT_TRUE(WriteFile(file, "program: " + dir_.Path("train.py") +
                                    "\nmethod: grid\n"
                                    "metric: {name: loss, goal: minimize}\n"
                                    "parameters:\n" +
                                    parameters));
    return file;
  }

  // `sweep run` on WriteSweep(program, parameters).
  ProcessResult Run(const std::string& program, const std::string& parameters,
                    const std::vector<std::string>& args) {
    const std::string file = WriteSweep(program, parameters);
    std::vector<std::string> argv = {SweepBinary(),
                                     "run",
                                     file,
                                     "--data-dir",
                                     dir_.Path("data"),
                                     "--workdir",
                                     dir_.Path("runs")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, kRunTimeout);
  }

  ScopedTempDir dir_{"run-e2e"};
};

TEST_F(RunEndToEndTest, SaysWhenTrialsNeverLoggedTheSweepsMetric) {
  // A logger's prefix: the sweep's metric is "loss", the program logs
  // "epoch/loss".
  const ProcessResult r = Run(R"(import sweep_client

x = sweep_client.config()["x"]
sweep_client.log({"epoch/loss": x * 0.5, "acc": 0.25})
)",
                              "  x: {values: [1, 2]}\n", {"--agents", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("never logged loss; logged acc, epoch/loss"));
  EXPECT_THAT(r.out, HasSubstr("No trial gave a value of loss"));
  EXPECT_THAT(r.out, Not(HasSubstr("Best:")));
}

// The first trial that ended without the sweep's metric is named while the
// sweep still runs: the second trial waits for the warning to be printed.
TEST_F(RunEndToEndTest, AMissingMetricIsSaidAtTheFirstTrialThatLacksIt) {
  const std::string go = dir_.Path("go");
  const std::string file = WriteSweep(std::string(R"(import os, time
import sweep_client

if sweep_client.config()["x"] == 2:
    deadline = time.monotonic() + 60
    while not os.path.exists(")") + go + R"(") and time.monotonic() < deadline:
        time.sleep(0.05)
sweep_client.log({"val": {"loss": 0.5}})
)",
                                      "  x: {values: [1, 2]}\n");
  std::unique_ptr<BackgroundProcess> run = BackgroundProcess::Start(
      {SweepBinary(), "run", file, "--agents", "1", "--data-dir",
       dir_.Path("data"), "--workdir", dir_.Path("runs")});
  ASSERT_NE(run, nullptr);
  const std::optional<std::string> warning = run->WaitForLine(
      Stream::kStdout, "sweep run: warning: trial 1 ended and never logged",
      kRunTimeout);
  ASSERT_TRUE(warning.has_value()) << run->Output(Stream::kStdout);
  EXPECT_THAT(*warning, HasSubstr("logged val/loss (loss is the sweep's"));
  ASSERT_TRUE(WriteFile(go, ""));
  const std::optional<ExitStatus> exit = run->WaitForExit(kRunTimeout);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << run->Output(Stream::kStderr);
  // Once: not again for the second trial.
  const std::string out = run->Output(Stream::kStdout);
  int warnings = 0;
  for (size_t at = out.find("sweep run: warning"); at != std::string::npos;
       at = out.find("sweep run: warning", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1) << out;
}

TEST_F(RunEndToEndTest, AProgramNotInTheCurrentDirectoryIsRefusedUpFront) {
  // Agents run a relative program from their working directory (as W&B's
  // do); this one is beside the sweep file, under a directory this test does
  // not run in.
  ASSERT_TRUE(std::filesystem::create_directories(dir_.Path("project/sub")));
  ASSERT_TRUE(WriteFile(dir_.Path("project/sub/train.py"), "print('hi')\n"));
  const std::string file = dir_.Path("project/sub/sweep.yaml");
  ASSERT_TRUE(WriteFile(file,
                        "program: sub/train.py\nmethod: grid\n"
                        "parameters:\n  x: {values: [1, 2]}\n"));
  const ProcessResult r =
      RunProcess({SweepBinary(), "run", file, "--data-dir", dir_.Path("data")},
                 kRunTimeout);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("the sweep's program sub/train.py is not in "));
  EXPECT_THAT(r.err, HasSubstr("; it is in " + dir_.Path("project") +
                               ": run from there"));
  EXPECT_THAT(r.out, Not(HasSubstr("Sweep "))) << "a sweep was created";
  // So with a command of its own that gives the program to the
  // interpreter.
  ASSERT_TRUE(WriteFile(file,
                        "program: sub/train.py\nmethod: grid\n"
                        "command: [\"${env}\", \"${interpreter}\", "
                        "\"${program}\", \"${args_no_boolean_flags}\"]\n"
                        "parameters:\n  x: {values: [1, 2]}\n"));
  const ProcessResult custom =
      RunProcess({SweepBinary(), "run", file, "--data-dir", dir_.Path("data")},
                 kRunTimeout);
  ASSERT_FALSE(custom.timed_out);
  EXPECT_EQ(custom.exit_code, 1) << custom.out << custom.err;
  EXPECT_THAT(custom.err,
              HasSubstr("the sweep's program sub/train.py is not in "));
  EXPECT_THAT(custom.out, Not(HasSubstr("Sweep "))) << "a sweep was created";
}

TEST_F(RunEndToEndTest, AProgramRunAsAModuleIsNotTakenForAMissingFile) {
  // `python3 -m this` prints the Zen of Python and exits 0.
  const std::string file = dir_.Path("module.yaml");
  ASSERT_TRUE(WriteFile(file,
                        "program: this\nmethod: grid\n"
                        "command: [\"${env}\", python3, -m, \"${program}\"]\n"
                        "parameters:\n  x: {values: [1]}\n"));
  const ProcessResult r =
      RunProcess({SweepBinary(), "run", file, "--data-dir", dir_.Path("data"),
                  "--workdir", dir_.Path("runs")},
                 kRunTimeout);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 finished")) << r.out;
}

TEST_F(RunEndToEndTest, RunsAGridToTheEndAndNamesTheBest) {
  const ProcessResult r = Run(R"(import sweep_client

x = sweep_client.config()["x"]
for step in range(3):
    sweep_client.log({"loss": (x - 2) ** 2 + 1.0 / (step + 1)}, step=step)
)",
                              "  x: {values: [1, 2, 3, 4]}\n",
                              {"--agents", "2", "--interpreter", "python3"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string id = AnnouncedId(r.out);
  ASSERT_EQ(id.size(), 8u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("every grid point was covered")) << r.out;
  // Without a terminal, a progress line only when something changed.
  std::set<std::string> progress;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '[') continue;
    EXPECT_TRUE(progress.insert(line.substr(line.find(']'))).second)
        << "said twice: " << line << "\n"
        << r.out;
  }
  // The best trial is x = 2, with its final loss 1/3.
  EXPECT_THAT(r.out, HasSubstr("x=2")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("0.333333")) << r.out;
  // A command that reruns it: the config for sweep_client, the agents'
  // interpreter.
  EXPECT_THAT(r.out, HasSubstr("SWEEP_PARAMS_JSON='{\"x\":2}'")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("/usr/bin/env python3 " + dir_.Path("train.py") +
                               " --x=2\n"))
      << r.out;
}

// A W&B script run without --wandb-shim: said before any trial runs, and
// in why its trials failed.
TEST_F(RunEndToEndTest, AWandbScriptWithoutTheShimIsToldAboutIt) {
  // Fails as `import wandb` does where W&B is not installed, installed or
  // not; the import below is what the check reads.
  const ProcessResult r = Run(
      "raise ModuleNotFoundError(\"No module named 'wandb'\")\nimport wandb\n",
      "  x: {values: [1]}\n",
      {"--agents", "1", "--max-consecutive-failures", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_THAT(r.err, HasSubstr("warning: the program imports wandb: without "
                               "--wandb-shim"))
      << r.err;
  // The remedy in the table's WHY (before the last line, which a narrow
  // column cuts from its start), and once in the agent's last word.
  EXPECT_THAT(r.out,
              HasSubstr("exit code 1 (it imports wandb: add --wandb-shim): "))
      << r.out;
  const std::string hint = "imports wandb: add --wandb-shim to run it";
  const size_t first = r.err.find(hint);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(hint, first + 1), std::string::npos) << r.err;
}

// Options that would fail every trial are refused before any runs.
TEST_F(RunEndToEndTest, AnInterpreterOrShimThatIsNotThereIsRefused) {
  const ProcessResult interpreter =
      Run("print('loss=1')\n", "  x: {values: [1]}\n",
          {"--interpreter", dir_.Path("no-such-python")});
  ASSERT_FALSE(interpreter.timed_out);
  EXPECT_EQ(interpreter.exit_code, 2) << interpreter.err;
  EXPECT_THAT(interpreter.err, HasSubstr("--interpreter: cannot run"));
  EXPECT_THAT(interpreter.err, HasSubstr("no-such-python"));

  EXPECT_TRUE(
      WriteFile(dir_.Path("sweep.yaml"), "program: " + dir_.Path("train.py") +
                                             "\nmethod: grid\nparameters:\n"
                                             "  x: {values: [1]}\n"));
  const ProcessResult shim = RunProcess(
      {"/usr/bin/env", "SWEEP_PYTHON_DIR=" + dir_.Path("nowhere"),
       SweepBinary(), "run", dir_.Path("sweep.yaml"), "--data-dir",
       dir_.Path("data"), "--workdir", dir_.Path("runs"), "--wandb-shim"},
      kRunTimeout);
  ASSERT_FALSE(shim.timed_out);
  EXPECT_EQ(shim.exit_code, 2) << shim.err;
  EXPECT_THAT(shim.err,
              HasSubstr("--wandb-shim: the W&B shim is not where it "
                        "should be: cannot read " +
                        dir_.Path("nowhere") + "/shim/wandb/__init__.py"));
}

// The command printed to rerun the best trial of a W&B script run through
// the shim works as printed.
TEST_F(RunEndToEndTest, TheRerunCommandOfAWandbScriptRuns) {
  const ProcessResult r =
      Run(R"(import wandb

run = wandb.init(project="p")
print("rerun sees x =", wandb.config.x)
wandb.log({"loss": (wandb.config.x - 2) ** 2})
)",
          "  x: {values: [1, 2, 3]}\n", {"--agents", "1", "--wandb-shim"});
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string intro = "Rerun it, from the directory its agent ran in:\n";
  const size_t at = r.out.find(intro);
  ASSERT_NE(at, std::string::npos) << r.out;
  const size_t end = r.out.find('\n', r.out.find("\\\n", at) + 2);
  const std::string command =
      r.out.substr(at + intro.size(), end - at - intro.size());
  EXPECT_THAT(r.out, Not(HasSubstr("needs"))) << r.out;
  const ProcessResult rerun =
      RunProcess({"/bin/sh", "-c", command}, kRunTimeout);
  EXPECT_EQ(rerun.exit_code, 0) << command << "\n" << rerun.err;
  EXPECT_THAT(rerun.out, HasSubstr("rerun sees x = 2")) << command;
}

// The sweep's metric logged as a string: the trial's WHY names the line.
TEST_F(RunEndToEndTest, AMetricLoggedAsAStringIsNamed) {
  const ProcessResult r = Run(R"(import json
import os

with open(os.environ["SWEEP_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"loss": "%.3f" % 0.25}) + "\n")
)",
                              "  x: {values: [1]}\n", {"--agents", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_THAT(r.out, HasSubstr("no loss: ignored line 1: loss \"0.250\" is a"))
      << r.out;
}

TEST_F(RunEndToEndTest, ATrialThatFailedIsNotTheBest) {
  // x = 2 logs the lower loss, then fails.
  const ProcessResult r = Run(R"(import sys
import sweep_client

x = sweep_client.config()["x"]
sweep_client.log({"loss": 0.5 if x == 1 else 0.1})
sys.exit(0 if x == 1 else 3)
)",
                              "  x: {values: [1, 2]}\n", {"--agents", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("loss = 0.5\n  config:  {\"x\":1}")) << r.out;
  // In the table of the best trials too, the failed one comes last.
  const size_t table = r.out.find("Best trials:");
  ASSERT_NE(table, std::string::npos) << r.out;
  EXPECT_LT(r.out.find(" finished ", table), r.out.find(" failed ", table))
      << r.out;
}

TEST_F(RunEndToEndTest, ASweepWhereEveryTrialFailedExitsNonZero) {
  const ProcessResult r = Run("raise SystemExit('bad input')\n",
                              "  x: {values: [1, 2]}\n", {"--agents", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("no trial finished (2 failed"));
  EXPECT_THAT(r.out, HasSubstr("its last line: bad input"));
}

TEST_F(RunEndToEndTest, FailingProgramsStopItAtTheLimitAndLeaveTheSweepPaused) {
  const ProcessResult r =
      Run("import sys\nsys.exit('no data here')\n",
          "  x: {values: [1, 2, 3, 4, 5, 6, 7, 8]}\n",
          {"--agents", "1", "--max-consecutive-failures", "2"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("2 trials failed in a row (limit 2"));
  EXPECT_THAT(r.err, HasSubstr("no data here"));
  const std::string id = AnnouncedId(r.out);
  ASSERT_EQ(id.size(), 8u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("sweep resume " + id));
  // The agent command to go on runs trials as this run did.
  EXPECT_THAT(r.out, HasSubstr("and sweep agent " + id + " --workdir " +
                               dir_.Path("runs") + " --interpreter "));
  EXPECT_THAT(r.out, HasSubstr(" --max-consecutive-failures 2\n"));
  // The final table says why each trial failed.
  EXPECT_THAT(r.out, HasSubstr("exit code 1; its last line: no data here"));

  // The next controller on that data dir finds it paused, not running with
  // nobody at work, and its two failed trials.
  const ServerProcess server = StartServer(dir_.Path("data"), 0, {});
  ASSERT_NE(server.process, nullptr) << server.error;
  const SweepCli cli(server.address);
  const json status = cli.Json({"status", id});
  EXPECT_EQ(status["state"], "paused") << status.dump();
  // Why: not "paused by a user".
  EXPECT_THAT(status["state_reason"].get<std::string>(),
              HasSubstr("sweep run stopped: 2 trials failed in a row"))
      << status.dump();
  EXPECT_EQ(JsonInt(status["counts"]["failed"]), 2) << status.dump();
  EXPECT_EQ(JsonInt(status["counts"]["running"]), 0) << status.dump();
}

// Written to a pipe or a file (CI, tee, nohup), the run's lines arrive as
// they are printed, not when the buffer fills or the run ends.
TEST_F(RunEndToEndTest, ItsOutputReachesAPipeAsItIsPrinted) {
  const std::string file = WriteSweep(R"(import os
import time

import sweep_client

sweep_client.log({"loss": 1.0})
while not os.path.exists(os.environ["RELEASE_FILE"]):
    time.sleep(0.05)
)",
                                      "  x: {values: [1]}\n");
  std::unique_ptr<BackgroundProcess> run = BackgroundProcess::Start(
      {SweepBinary(), "run", file, "--data-dir", dir_.Path("data"), "--workdir",
       dir_.Path("runs"), "--agents", "1"},
      {{"RELEASE_FILE=" + dir_.Path("release")}});
  ASSERT_NE(run, nullptr);
  // While the trial runs (it waits for the release file).
  EXPECT_TRUE(run->WaitForLine(Stream::kStdout, "Inspect it meanwhile with",
                               std::chrono::seconds(60)))
      << run->Output(Stream::kStdout);
  EXPECT_TRUE(run->WaitForLine(Stream::kStdout, "1 trials, 1 running",
                               std::chrono::seconds(60)))
      << run->Output(Stream::kStdout);
  ASSERT_TRUE(WriteFile(dir_.Path("release"), ""));
  const std::optional<ExitStatus> exit = run->WaitForExit(kRunTimeout);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << run->Output(Stream::kStderr);
}

// `sweep run --gpus`: one agent per GPU group, each trial on its agent's
// GPUs (in CUDA_VISIBLE_DEVICES), never two running trials on one.
TEST_F(RunEndToEndTest, GpusGiveEachAgentItsOwn) {
  // Each trial records its GPUs and when it ran; the first two wait for each
  // other, so they certainly overlap.
  constexpr char kGpuProgram[] = R"(import glob
import json
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
trial = os.environ["SWEEP_TRIAL_ID"]
start = time.time()
open(os.path.join(here, f"started-{trial}"), "w").close()
deadline = start + 20
while len(glob.glob(os.path.join(here, "started-*"))) < 2:
    if time.time() > deadline:
        sys.exit("ran alone")
    time.sleep(0.02)
time.sleep(0.2)
with open(os.path.join(here, f"gpu-{trial}.json"), "w") as out:
    json.dump({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
               "start": start, "end": time.time()}, out)
print("loss=1")
)";
  const ProcessResult r =
      Run(kGpuProgram, "  x: {values: [1, 2, 3, 4]}\n",
          {"--gpus", "3, 5", "--interpreter", "python3", "--stdout-metrics"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(", 2 agents;")) << r.out;
  std::vector<GpuRun> runs;
  for (int trial = 1; trial <= 4; ++trial) {
    const std::optional<std::string> written =
        ReadFile(dir_.Path("gpu-" + std::to_string(trial) + ".json"));
    ASSERT_TRUE(written.has_value()) << "trial " << trial << r.out << r.err;
    const json record = json::parse(*written);
    ASSERT_TRUE(record["gpus"].is_string()) << "no CUDA_VISIBLE_DEVICES";
    runs.push_back({record["gpus"], record["start"], record["end"]});
    EXPECT_THAT(runs.back().gpus, ::testing::AnyOf("3", "5"));
  }
  EXPECT_GE(ExpectOverlappingRunsOnDifferentGpus(runs), 1);
}

// Two GPUs a trial, three GPUs: one agent, and the one left over named.
TEST_F(RunEndToEndTest, GpusPerTrialGroupThemAndNameWhatIsLeftIdle) {
  const ProcessResult r =
      Run(R"(import os
print("loss=" + str(len(os.environ["CUDA_VISIBLE_DEVICES"])))
)",
          "  x: {values: [1, 2]}\n",
          {"--gpus", "3,5,7", "--gpus-per-trial", "2", "--interpreter",
           "python3", "--stdout-metrics", "--count", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_THAT(r.out, HasSubstr(", 1 agent;")) << r.out;
  EXPECT_THAT(r.err, HasSubstr("1 GPU of 3 left idle")) << r.err;
  // "3,5": three characters.
  EXPECT_THAT(r.out, HasSubstr("loss = 3")) << r.out;
  // The agent command to go on runs trials on the same GPUs.
  EXPECT_THAT(r.out, HasSubstr(" --gpus 3,5 --gpus-per-trial 2\n")) << r.out;
}

TEST_F(RunEndToEndTest, GpusThatCannotBeSharedAreRefused) {
  const std::vector<std::vector<std::string>> cases = {
      {"--gpus", "3", "--gpus-per-trial", "2"},
      {"--gpus", "0,x"},
      {"--gpus", "0,0"}};
  for (const std::vector<std::string>& args : cases) {
    const ProcessResult r =
        Run("print('loss=1')\n", "  x: {values: [1]}\n", args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
    EXPECT_THAT(r.err,
                HasSubstr(args.back() == "2" ? "--gpus-per-trial" : "--gpus: "))
        << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr("Sweep "))) << "a sweep was created";
  }
}

// Ctrl-C twice (drain, then terminate the running trial): the sweep is left
// paused, and the exit status says it was interrupted (130), not done.
TEST_F(RunEndToEndTest, InterruptedItExitsAsAShellReportsASignal) {
  const std::string file = WriteSweep(R"(import os
import time
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "started"),
     "w").close()
time.sleep(600)
)",
                                      "  x: {values: [1, 2, 3]}\n");
  std::unique_ptr<BackgroundProcess> run = BackgroundProcess::Start(
      {SweepBinary(), "run", file, "--agents", "1", "--kill-grace", "1",
       "--interpreter", "python3", "--data-dir", dir_.Path("data"), "--workdir",
       dir_.Path("runs")});
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(::sweep::testing::PollUntil(
      [&] { return ReadFile(dir_.Path("started")).has_value(); },
      std::chrono::seconds(60)))
      << run->Output(Stream::kStderr);
  ASSERT_TRUE(run->Signal(SIGINT));
  ASSERT_TRUE(run->WaitForLine(Stream::kStdout, "finishing running trials",
                               std::chrono::seconds(30)));
  ASSERT_TRUE(run->Signal(SIGINT));
  const std::optional<ExitStatus> exit = run->WaitForExit(kRunTimeout);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 128 + SIGINT) << run->Output(Stream::kStdout);
  EXPECT_THAT(run->Output(Stream::kStdout), HasSubstr("Sweep paused"));
}

// A program that prints its metric instead of logging it: the trial table
// says which flag reads it; with the flag, it is read.
TEST_F(RunEndToEndTest, AMetricPrintedNotLoggedNamesStdoutMetrics) {
  const std::string program =
      "import json\nprint(json.dumps({'loss': 0.25}))\n";
  const ProcessResult r =
      Run(program, "  x: {values: [1]}\n", {"--interpreter", "python3"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_THAT(r.out, HasSubstr("no loss: its output prints it: add "
                               "--stdout-metrics"))
      << r.out;
  const ProcessResult read =
      Run(program, "  x: {values: [1]}\n",
          {"--interpreter", "python3", "--stdout-metrics"});
  EXPECT_EQ(read.exit_code, 0) << read.out << read.err;
  EXPECT_THAT(read.out, Not(HasSubstr("add --stdout-metrics"))) << read.out;
  EXPECT_THAT(read.out, HasSubstr("loss = 0.25")) << read.out;
}

TEST_F(RunEndToEndTest, AKillGraceThatIsNoNumberOfSecondsIsRefused) {
  for (const std::string& grace : {"-5", "nan", "inf", "3601"}) {
    for (const std::string& command : {"run", "agent"}) {
      const ProcessResult r = RunProcess(
          {SweepBinary(), command, command == "run" ? "x.yaml" : "1ltu4i1v",
           "--kill-grace", grace},
          std::chrono::seconds(30));
      EXPECT_EQ(r.exit_code, 2) << command << " " << grace << ": " << r.err;
      EXPECT_THAT(r.err, HasSubstr("--kill-grace")) << command;
    }
  }
}

}  // namespace
}  // namespace sweep
