// The controller through the real binary: `sweep server` on 127.0.0.1, driven
// by the CLI (create, ls, status, the state changes and their errors), a real
// agent running a real Python program, and a SIGKILL of the server in the
// middle of a sweep after which nothing acknowledged is lost and the agent
// carries on.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
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
using ::sweep::testing::CountLines;
using ::sweep::testing::ExitStatus;
using ::sweep::testing::JsonInt;
using ::sweep::testing::PickFreePort;
using ::sweep::testing::PollUntil;
using ::sweep::testing::ProcessResult;
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
using ::testing::StartsWith;

constexpr std::chrono::seconds kAgentTimeout(60);
constexpr std::chrono::seconds kConditionTimeout(30);

// Logs `steps` points through sweep_client: loss = 1000 * x + step, one
// every `delay` seconds.
constexpr char kCountingProgram[] = R"(import time

import sweep_client

config = sweep_client.config()
for step in range(int(config["steps"])):
    sweep_client.log({"loss": config["x"] * 1000 + step, "half": step / 2},
                     step=step)
    time.sleep(float(config["delay"]))
)";

// A grid over x = 1..points; every trial logs `steps` points.
std::string CountingSweep(int points, int steps, double delay) {
  std::string values;
  for (int x = 1; x <= points; ++x) {
    values += (x > 1 ? ", " : "") + std::to_string(x);
  }
  return "name: e2e-controller\n"
         "program: count.py\n"
         "method: grid\n"
         "metric:\n"
         "  name: loss\n"
         "  goal: minimize\n"
         "parameters:\n"
         "  x:\n"
         "    values: [" +
         values +
         "]\n"
         "  steps:\n"
         "    value: " +
         std::to_string(steps) +
         "\n"
         "  delay:\n"
         "    value: " +
         std::to_string(delay) + "\n";
}

class ControllerEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(WriteFile(dir_.Path("count.py"), kCountingProgram));
  }

  // Starts the server on `port` (0: any) and points cli_ at it.
  void StartController(int port = 0,
                       const std::vector<std::string>& extra_args = {}) {
    server_ = StartServer(dir_.Path("data"), port, extra_args);
    ASSERT_NE(server_.process, nullptr) << server_.error;
    cli_ = SweepCli(server_.address);
  }

  std::string CreateSweep(const std::string& yaml,
                          const std::string& name = "sweep.yaml") {
    const std::string file = dir_.Path(name);
    EXPECT_TRUE(WriteFile(file, yaml));
    return cli_.Create(file);
  }

  std::string SweepState(const std::string& id) {
    const json sweep = cli_.Json({"status", id});
    return sweep.is_object() ? sweep["state"] : "";
  }

  // Runs an agent in the test's directory until it exits by itself.
  ExitStatus RunAgent(const std::string& id,
                      const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--workdir", dir_.Path("runs")};
    all.insert(all.end(), args.begin(), args.end());
    std::unique_ptr<BackgroundProcess> agent =
        cli_.StartAgent(id, dir_.path(), all);
    EXPECT_NE(agent, nullptr);
    if (agent == nullptr) return {};
    const std::optional<ExitStatus> exit = agent->WaitForExit(kAgentTimeout);
    EXPECT_TRUE(exit.has_value()) << "the agent did not exit; stderr:\n"
                                  << agent->Output(Stream::kStderr);
    if (!exit) return {};
    EXPECT_EQ(exit->exit_code, 0) << agent->Output(Stream::kStderr);
    return *exit;
  }

  // Runs an agent of `id` through `cli` (with its environment: a token, a
  // CA) until it exits; its exit status (-1 if it did not exit) and stderr.
  std::pair<int, std::string> AgentVia(const SweepCli& cli,
                                       const std::string& id,
                                       std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--workdir", dir_.Path("runs")});
    std::unique_ptr<BackgroundProcess> agent =
        cli.StartAgent(id, dir_.path(), args);
    if (agent == nullptr) return {-1, "cannot start the agent"};
    const std::optional<ExitStatus> exit = agent->WaitForExit(kAgentTimeout);
    return {exit.has_value() ? exit->exit_code : -1,
            agent->Output(Stream::kStderr)};
  }

  // A self-signed certificate for 127.0.0.1: cert.pem and key.pem.
  void MakeCertificate() {
    const ProcessResult made = RunProcess(
        {"/usr/bin/env", "openssl", "req", "-x509", "-newkey", "rsa:2048",
         "-nodes", "-days", "2", "-subj", "/CN=sweep-test", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", dir_.Path("key.pem"), "-out",
         dir_.Path("cert.pem")},
        std::chrono::seconds(60));
    ASSERT_EQ(made.exit_code, 0) << "openssl: " << made.err;
  }

  ScopedTempDir dir_{"controller-e2e"};  // Destroyed last.
  ServerProcess server_;
  SweepCli cli_{""};
};

TEST_F(ControllerEndToEndTest, CreateListAndStatus) {
  StartController();
  const std::string file = dir_.Path("grid.yaml");
  ASSERT_TRUE(WriteFile(file, CountingSweep(3, 2, 0)));
  const ProcessResult created = cli_.Run({"create", file});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, StartsWith("Created sweep "));
  EXPECT_THAT(created.out, HasSubstr("(grid, 3 points)"));
  EXPECT_THAT(created.out, HasSubstr("sweep agent "));

  const std::string first = CreateSweep(CountingSweep(4, 2, 0));
  const std::string second = CreateSweep(CountingSweep(5, 2, 0));
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_NE(first, second);
  EXPECT_THAT(first, ::testing::MatchesRegex("[a-z0-9]{8}"));

  const json list = cli_.Json({"ls"});
  ASSERT_TRUE(list.contains("sweeps")) << list.dump();
  std::vector<std::string> ids;
  for (const json& sweep : list["sweeps"]) ids.push_back(sweep["id"]);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], second) << "newest first";
  EXPECT_EQ(ids[1], first);

  const json status = cli_.Json({"status", first});
  EXPECT_EQ(status["id"], first);
  EXPECT_EQ(status["state"], "pending");
  EXPECT_EQ(status["method"], "grid");
  EXPECT_EQ(JsonInt(status["grid_points"]), 4);
  EXPECT_EQ(status["metric_name"], "loss");
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 0);

  // W&B's sweep path (what `wandb sweep` prints, and migrated scripts pass)
  // names the same sweep.
  EXPECT_EQ(cli_.Json({"status", "team/project/" + first})["id"], first);
  EXPECT_EQ(cli_.Json({"status", "https://wandb.ai/team/project/sweeps/" +
                                     first + "?workspace=me"})["id"],
            first);

  const ProcessResult table = cli_.Run({"status", first});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(first));
  EXPECT_THAT(table.out, HasSubstr("pending"));

  // Without an id, the reading commands show the newest sweep and say so.
  const ProcessResult newest = cli_.Run({"status"});
  EXPECT_EQ(newest.exit_code, 0) << newest.err;
  EXPECT_THAT(newest.out, HasSubstr("Sweep " + second));
  EXPECT_THAT(newest.err, HasSubstr("the newest sweep, " + second));

  // An invalid definition: every diagnostic with its position, exit 1.
  const std::string broken = SourceDir() + "/configs/invalid/broken.yaml";
  const ProcessResult refused = cli_.Run({"create", broken});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr(broken + ":15:9: metric.goal"));
  EXPECT_THAT(refused.err, HasSubstr("is not a valid sweep definition"));
  EXPECT_EQ(JsonInt(cli_.Json({"status", first})["counts"]["total"]), 0);
  EXPECT_EQ(cli_.Json({"ls"})["sweeps"].size(), 3u);

  // Output that cannot be written (a full disk) is a failure, not a success,
  // and a local one (1), not the controller's (3, "retry").
  const ProcessResult full =
      RunProcess({"/bin/sh", "-c", "\"$0\" ls --controller \"$1\" > /dev/full",
                  SweepBinary(), server_.address},
                 std::chrono::seconds(30));
  EXPECT_EQ(full.exit_code, 1) << full.err;
  EXPECT_THAT(full.err, HasSubstr("cannot write the output"));
  const ProcessResult export_full =
      cli_.Run({"export", first, "--format", "csv", "-o", "/dev/full"});
  EXPECT_EQ(export_full.exit_code, 1) << export_full.err;
  EXPECT_THAT(export_full.err, HasSubstr("cannot write /dev/full"));
}

// A second controller on the same port or the same data dir would split
// the agents between two states, or hand out the same trials twice: it is
// refused with one line, and the first one carries on.
// Escape sequences in a sweep file's names and values (or a program's
// output) reach the terminal as text: they cannot retitle, clear or
// recolour it, nor hide what was printed. --json keeps them, escaped.
TEST_F(ControllerEndToEndTest, EscapeSequencesNeverReachTheTerminalRaw) {
  StartController();
  const std::string id = CreateSweep(
      "name: \"evil\\e]0;PWNED\\a\\e[2J\\rname\"\n"
      "description: \"\\e[31mred\"\n"
      "program: count.py\nmethod: grid\nmetric: {name: loss}\n"
      "parameters:\n  x: {value: 1}\n  steps: {value: 1}\n"
      "  delay: {value: 0}\n"
      "  tag: {value: \"\\e]0;PWNED\\a\\e[2J\\rfake\"}\n");
  ASSERT_FALSE(id.empty());
  RunAgent(id, {});
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"status", id},
        std::vector<std::string>{"trials", id},
        std::vector<std::string>{"trials", id, "1"},
        std::vector<std::string>{"best", id}, std::vector<std::string>{"ls"}}) {
    const ProcessResult r = cli_.Run(command);
    EXPECT_EQ(r.exit_code, 0) << command[0] << ": " << r.err;
    for (const std::string* text : {&r.out, &r.err}) {
      EXPECT_EQ(text->find_first_of("\x1b\x07\r"), std::string::npos)
          << command[0] << ":\n"
          << *text;
    }
  }
  // The rerun command still passes the value exactly (bash's $'...').
  const ProcessResult best = cli_.Run({"best", id});
  EXPECT_THAT(best.out, HasSubstr("$'--tag=\\x1b]0;PWNED\\x07\\x1b[2J"
                                  "\\x0dfake'"))
      << best.out;
  EXPECT_THAT(cli_.Json({"status", id})["name"].get<std::string>(),
              HasSubstr("\x1b]0;PWNED"));
}

// A sweep with no trial has no best: said so, and to a script reading
// --json, JSON (null).
TEST_F(ControllerEndToEndTest, NoBestYetIsSaidAndIsNullInJson) {
  StartController();
  const std::string id = CreateSweep(CountingSweep(4, 2, 0));
  ASSERT_FALSE(id.empty());
  const ProcessResult text = cli_.Run({"best", id});
  EXPECT_EQ(text.exit_code, 1) << text.err;
  EXPECT_THAT(text.err, HasSubstr("sweep " + id + " has no trial yet"));
  const ProcessResult json_out = cli_.Run({"best", id, "--json"});
  EXPECT_EQ(json_out.exit_code, 1) << json_out.err;
  EXPECT_EQ(json_out.out, "null\n");
  EXPECT_THAT(json_out.err, HasSubstr("has no trial yet"));
  // A sweep that is not there is no "null": nothing on stdout.
  const ProcessResult unknown = cli_.Run({"best", "zzzz9999", "--json"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_EQ(unknown.out, "");
}

TEST_F(ControllerEndToEndTest, ASecondControllerOnThePortOrDataDirIsRefused) {
  StartController();
  const std::string id = CreateSweep(CountingSweep(4, 2, 0));
  ASSERT_FALSE(id.empty());
  const ProcessResult same_port =
      RunProcess({SweepBinary(), "server", "--listen", server_.address,
                  "--data-dir", dir_.Path("other")},
                 std::chrono::seconds(30));
  EXPECT_EQ(same_port.exit_code, 1);
  EXPECT_EQ(CountLines(same_port.err), 1) << same_port.err;
  EXPECT_THAT(same_port.err, HasSubstr("cannot listen on " + server_.address +
                                       ": Address already in use"));
  // Refused before its data dir was made.
  EXPECT_FALSE(std::filesystem::exists(dir_.Path("other")));
  const ProcessResult same_dir =
      RunProcess({SweepBinary(), "server", "--listen", "127.0.0.1:0",
                  "--data-dir", dir_.Path("data")},
                 std::chrono::seconds(30));
  EXPECT_EQ(same_dir.exit_code, 1);
  EXPECT_EQ(CountLines(same_dir.err), 1) << same_dir.err;
  EXPECT_THAT(same_dir.err,
              HasSubstr("is in use by another sweep controller (pid " +
                        std::to_string(server_.process->pid()) + ")"));
  EXPECT_EQ(SweepState(id), "pending");
}

// A port past 65535 is a usage error (gRPC would listen on 99999 - 65536);
// SIGHUP (a closed terminal or ssh session) shuts the controller down as
// SIGTERM does, keeping what it stored.
TEST_F(ControllerEndToEndTest, BadPortsAreRefusedAndSighupShutsDownCleanly) {
  for (const std::string listen :
       {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1", "127.0.0.1:-1"}) {
    const ProcessResult refused =
        RunProcess({SweepBinary(), "server", "--listen", listen, "--data-dir",
                    dir_.Path("refused")},
                   std::chrono::seconds(30));
    EXPECT_EQ(refused.exit_code, 2) << listen;
    EXPECT_THAT(refused.err, HasSubstr("port from 0 to 65535")) << listen;
  }
  StartController();
  const std::string id = CreateSweep(CountingSweep(4, 2, 0));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(server_.process->Signal(SIGHUP));
  const std::optional<ExitStatus> exit =
      server_.process->WaitForExit(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << server_.process->Output(Stream::kStderr);
  EXPECT_THAT(server_.process->Output(Stream::kStdout),
              HasSubstr("SIGHUP, shutting down"));
  StartController();
  EXPECT_EQ(SweepState(id), "pending");
  // What it recovered, for the operator.
  EXPECT_TRUE(server_.process->WaitForLine(
      Stream::kStdout, "1 sweep stored (1 not done, 0 trials running)",
      std::chrono::seconds(30)))
      << server_.process->Output(Stream::kStdout);
}

TEST_F(ControllerEndToEndTest, StateChangesAndTheirRefusals) {
  StartController();
  const std::string id = CreateSweep(CountingSweep(4, 2, 0));
  ASSERT_FALSE(id.empty());

  ProcessResult r = cli_.Run({"pause", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sweep " + id + " is now paused"));
  EXPECT_EQ(SweepState(id), "paused");
  r = cli_.Run({"pause", id});
  EXPECT_EQ(r.exit_code, 0) << "repeating the current state is OK: " << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sweep " + id + " was already paused"));
  EXPECT_EQ(SweepState(id), "paused");

  r = cli_.Run({"resume", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(SweepState(id), ::testing::AnyOf("pending", "running"));

  r = cli_.Run({"stop", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sweep " + id + " is now finished"));
  EXPECT_EQ(SweepState(id), "finished");
  r = cli_.Run({"resume", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(id));
  EXPECT_THAT(r.err, HasSubstr("cannot be resumed"));
  EXPECT_EQ(SweepState(id), "finished");
  r = cli_.Run({"stop", id});
  EXPECT_EQ(r.exit_code, 0) << "stopping again is OK: " << r.err;
  // Nothing runs: a cancel would only overwrite why the sweep finished.
  r = cli_.Run({"cancel", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("nothing to cancel"));
  EXPECT_EQ(SweepState(id), "finished");

  const std::string other = CreateSweep(CountingSweep(4, 2, 0));
  ASSERT_FALSE(other.empty());
  r = cli_.Run({"cancel", other});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sweep " + other + " is now canceled"));
  EXPECT_EQ(SweepState(other), "canceled");
  r = cli_.Run({"cancel", other});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Sweep " + other + " was already canceled"));
  // No trial ran: an agent would exit at once, so none is suggested.
  r = cli_.Run({"trials", other});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("No trials: the sweep is canceled"));
  EXPECT_THAT(r.out, Not(HasSubstr("sweep agent")));
  r = cli_.Run({"stop", other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is canceled"));
  EXPECT_EQ(SweepState(other), "canceled");

  r = cli_.Run({"resume", other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(other));
  EXPECT_THAT(r.err, HasSubstr("canceled"));
  EXPECT_THAT(r.err, HasSubstr("cannot be resumed"));
  r = cli_.Run({"pause", other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(other));
  EXPECT_EQ(SweepState(other), "canceled");

  // An agent for a canceled sweep has nothing to do and says so.
  const ExitStatus agent = RunAgent(other, {});
  EXPECT_EQ(agent.exit_code, 0);
  EXPECT_EQ(JsonInt(cli_.Json({"status", other})["counts"]["total"]), 0);
}

TEST_F(ControllerEndToEndTest, UnknownIdsAreNamedOnOneLine) {
  StartController();
  const std::string id = CreateSweep(CountingSweep(2, 2, 0));
  ASSERT_FALSE(id.empty());
  const std::vector<std::vector<std::string>> commands = {
      {"status", "nosuch99"},      {"trials", "nosuch99"},
      {"trials", "nosuch99", "1"}, {"best", "nosuch99"},
      {"pause", "nosuch99"},       {"resume", "nosuch99"},
      {"stop", "nosuch99"},        {"cancel", "nosuch99"},
      {"export", "nosuch99"},      {"status", "nosuch99", "--json"},
  };
  for (const std::vector<std::string>& command : commands) {
    const ProcessResult r = cli_.Run(command);
    EXPECT_EQ(r.exit_code, 1) << command[0];
    EXPECT_EQ(r.out, "") << command[0];
    EXPECT_EQ(CountLines(r.err), 1) << command[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("'nosuch99'")) << command[0];
    EXPECT_THAT(r.err, HasSubstr("no sweep")) << command[0];
  }
  const ProcessResult trial = cli_.Run({"trials", id, "7"});
  EXPECT_EQ(trial.exit_code, 1);
  EXPECT_EQ(CountLines(trial.err), 1) << trial.err;
  EXPECT_THAT(trial.err, HasSubstr("no trial 7"));
  EXPECT_THAT(trial.err, HasSubstr(id));
  // What cannot be an id (bytes that are not UTF-8, which gRPC cannot carry;
  // 100 KB of text) is a usage error naming it, not a gRPC failure.
  for (const std::string& bad :
       {std::string("\xff\xfe"), std::string(100'000, 'a')}) {
    const ProcessResult r = cli_.Run({"status", bad});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("is not a sweep id"));
    EXPECT_LT(r.err.size(), 300u);
  }
}

TEST_F(ControllerEndToEndTest, UnreachableControllerGivesOneClearLine) {
  // Nothing listens there: the port was free a moment ago.
  const int port = PickFreePort();
  ASSERT_NE(port, 0);
  const SweepCli cli("127.0.0.1:" + std::to_string(port));
  const std::string file = dir_.Path("grid.yaml");
  ASSERT_TRUE(WriteFile(file, CountingSweep(2, 2, 0)));
  const std::vector<std::vector<std::string>> commands = {
      {"ls"},
      {"status", "abcd1234"},
      {"create", file},
      {"cancel", "abcd1234"},
      {"export", "abcd1234", "--format", "json"}};
  for (const std::vector<std::string>& command : commands) {
    const auto start = std::chrono::steady_clock::now();
    const ProcessResult r = cli.Run(command);
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(20))
        << command[0] << " should fail fast";
    EXPECT_EQ(r.exit_code, 3) << command[0] << ": unreachable, worth a retry";
    EXPECT_EQ(CountLines(r.err), 1) << command[0] << ": " << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("cannot reach the controller at " + cli.controller()))
        << command[0];
  }
}

TEST_F(ControllerEndToEndTest, AnAgentProducesTrialsWithMetrics) {
  StartController();
  const std::string id = CreateSweep(CountingSweep(4, 5, 0));
  ASSERT_FALSE(id.empty());
  RunAgent(id, {"--slots", "2"});

  const json status = cli_.Json({"status", id});
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(JsonInt(status["counts"]["total"]), 4);
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 4);
  EXPECT_GT(JsonInt(status["best_trial"]), 0);
  EXPECT_DOUBLE_EQ(status.value("best_value", -1.0), 1000.0);

  std::set<int64_t> xs;
  for (const json& trial : cli_.Trials(id)) {
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    EXPECT_EQ(JsonInt(trial["metric_points"]), 5) << trial.dump();
    const json config = trial["config"];
    const int64_t x = config["x"];
    xs.insert(x);
    EXPECT_DOUBLE_EQ(trial["summary"]["loss"].get<double>(), x * 1000.0 + 4);
    EXPECT_DOUBLE_EQ(trial["summary"]["half"].get<double>(), 2.0);
  }
  EXPECT_EQ(xs, (std::set<int64_t>{1, 2, 3, 4}));

  const json best = cli_.Json({"best", id});
  EXPECT_EQ(best["config"]["x"], 1);

  const ProcessResult csv = cli_.Run({"export", id, "--format", "csv"});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(CountLines(csv.out), 5) << csv.out;
  EXPECT_THAT(csv.out, StartsWith("number,state,"));
  EXPECT_THAT(csv.out, HasSubstr("summary.loss"));
}

// Logs loss = x and whether the controller's token reached the program.
constexpr char kTokenProbeProgram[] = R"(import os

import sweep_client

sweep_client.log({"loss": sweep_client.config()["x"],
                  "has_token": int("SWEEP_TOKEN" in os.environ)})
)";

constexpr char kTokenProbeSweep[] = R"(program: probe.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x: {values: [1, 2]}
)";

TEST_F(ControllerEndToEndTest, ATokenGuardsEveryCallAndStaysWithTheAgent) {
  ASSERT_TRUE(WriteFile(dir_.Path("token"), "tok-4f9a.Z_~\n"));
  ASSERT_TRUE(WriteFile(dir_.Path("probe.py"), kTokenProbeProgram));
  ASSERT_TRUE(WriteFile(dir_.Path("sweep.yaml"), kTokenProbeSweep));
  StartController(0, {"--token-file", dir_.Path("token")});
  EXPECT_TRUE(server_.process->WaitForLine(
      Stream::kStdout, "calls need the token", kConditionTimeout));

  const ProcessResult anonymous = cli_.Run({"ls"});
  EXPECT_EQ(anonymous.exit_code, 1) << anonymous.err;
  EXPECT_EQ(anonymous.err,
            "sweep: this controller requires a token: set SWEEP_TOKEN to the "
            "token it was started with\n");
  const SweepCli wrong(server_.address, {"SWEEP_TOKEN=tok-4f9a.Z_"});
  const ProcessResult guessed = wrong.Run({"create", dir_.Path("sweep.yaml")});
  EXPECT_EQ(guessed.exit_code, 1) << guessed.err;
  EXPECT_THAT(guessed.err, HasSubstr("wrong token"));

  const SweepCli cli(server_.address, {"SWEEP_TOKEN=tok-4f9a.Z_~"});
  const std::string id = cli.Create(dir_.Path("sweep.yaml"));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(JsonInt(cli.Json({"ls"})["sweeps"][0]["counts"]["total"]), 0);

  // An agent without the token cannot take trials; with it, it runs them,
  // and its programs do not see the token.
  const auto [refused, refused_err] = AgentVia(cli_, id);
  EXPECT_EQ(refused, 1) << refused_err;
  EXPECT_THAT(refused_err, HasSubstr("requires a token"));
  const auto [ran, ran_err] = AgentVia(cli, id);
  EXPECT_EQ(ran, 0) << ran_err;
  const std::vector<json> trials = cli.Trials(id);
  ASSERT_EQ(trials.size(), 2u);
  for (const json& trial : trials) {
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    EXPECT_EQ(trial["summary"]["has_token"], 0) << trial.dump();
  }

  // Nor in their argv: ${envvar:SWEEP_TOKEN} is unset for a command (as
  // an unset variable is, the node's failure: the trial is crashed and the
  // agent stops).
  ASSERT_TRUE(WriteFile(dir_.Path("leak.yaml"),
                        std::string(kTokenProbeSweep) +
                            "command: [\"${env}\", python3, \"${program}\", "
                            "\"${envvar:SWEEP_TOKEN}\"]\n"));
  const std::string leak = cli.Create(dir_.Path("leak.yaml"));
  ASSERT_FALSE(leak.empty());
  const auto [leaker, leaker_err] =
      AgentVia(cli, leak, {"--max-consecutive-failures", "1"});
  EXPECT_NE(leaker, -1);
  for (const json& trial : cli.Trials(leak)) {
    EXPECT_EQ(trial["state"], "crashed") << trial.dump();
    EXPECT_THAT(trial.value("end_reason", ""), HasSubstr("SWEEP_TOKEN"));
  }
  EXPECT_THAT(leaker_err, Not(HasSubstr("tok-4f9a")));
}

TEST_F(ControllerEndToEndTest, ATlsControllerIsReachedOverHttpsOnly) {
  ASSERT_NO_FATAL_FAILURE(MakeCertificate());
  // Files that cannot serve TLS: named, before anything starts.
  const auto refused_with = [&](const std::vector<std::string>& tls) {
    std::vector<std::string> argv = {SweepBinary(), "server",
                                     "--listen",    "127.0.0.1:0",
                                     "--data-dir",  dir_.Path("tls-refused")};
    argv.insert(argv.end(), tls.begin(), tls.end());
    return RunProcess(argv, std::chrono::seconds(30));
  };
  ProcessResult refused = refused_with({"--tls-cert", dir_.Path("cert.pem")});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("--tls-cert requires --tls-key"));
  refused = refused_with(
      {"--tls-cert", dir_.Path("key.pem"), "--tls-key", dir_.Path("key.pem")});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("holds no PEM certificate"));
  const ProcessResult other =
      RunProcess({"/usr/bin/env", "openssl", "genpkey", "-algorithm", "RSA",
                  "-out", dir_.Path("other-key.pem")},
                 std::chrono::seconds(60));
  ASSERT_EQ(other.exit_code, 0) << "openssl: " << other.err;
  refused = refused_with({"--tls-cert", dir_.Path("cert.pem"), "--tls-key",
                          dir_.Path("other-key.pem")});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("--tls-key " + dir_.Path("other-key.pem") +
                                     " is not the private key of the "
                                     "certificate in --tls-cert"));
  ASSERT_TRUE(WriteFile(dir_.Path("probe.py"), kTokenProbeProgram));
  ASSERT_TRUE(WriteFile(dir_.Path("sweep.yaml"), kTokenProbeSweep));
  StartController(0, {"--tls-cert", dir_.Path("cert.pem"), "--tls-key",
                      dir_.Path("key.pem")});
  const std::string https = "https://" + server_.address;

  // Plaintext to it: told apart from a controller going away (it closes
  // the connection either way) and named, exit 1.
  const ProcessResult plaintext = cli_.Run({"ls"});
  EXPECT_EQ(plaintext.exit_code, 1) << plaintext.err;
  EXPECT_THAT(plaintext.err, HasSubstr("it speaks TLS (started with "
                                       "--tls-cert): use " +
                                       https));
  // A certificate nothing vouches for is a setup to fix, not an outage:
  // exit 1, and an agent does not wait for it.
  const ProcessResult untrusted = SweepCli(https).Run({"ls"});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.err;
  EXPECT_THAT(untrusted.err, HasSubstr("its TLS certificate failed "
                                       "verification"));

  const SweepCli cli(https, {"SWEEP_TLS_CA=" + dir_.Path("cert.pem")});
  const std::string id = cli.Create(dir_.Path("sweep.yaml"));
  ASSERT_FALSE(id.empty());
  const auto [distrustful, distrustful_err] = AgentVia(SweepCli(https), id);
  EXPECT_EQ(distrustful, 1) << distrustful_err;
  EXPECT_THAT(distrustful_err,
              HasSubstr("its TLS certificate failed verification"));
  const auto [plain, plain_err] = AgentVia(cli_, id);
  EXPECT_EQ(plain, 1) << plain_err;
  EXPECT_THAT(plain_err, HasSubstr("it speaks TLS"));
  const auto [ran, ran_err] = AgentVia(cli, id);
  EXPECT_EQ(ran, 0) << ran_err;
  EXPECT_EQ(JsonInt(cli.Json({"status", id})["counts"]["finished"]), 2);

  const SweepCli missing_ca(https, {"SWEEP_TLS_CA=" + dir_.Path("nope.pem")});
  const ProcessResult no_ca = missing_ca.Run({"ls"});
  EXPECT_EQ(no_ca.exit_code, 1) << no_ca.err;
  EXPECT_THAT(no_ca.err, HasSubstr("cannot read the CA certificates in"));
}

// A controller restarted without the TLS it had (or with it, having had
// none) cannot be reached the way its agents were started: a running agent
// says so and exits instead of retrying for ever.
TEST_F(ControllerEndToEndTest,
       AnAgentExitsWhenItsControllerComesBackWithoutTls) {
  ASSERT_NO_FATAL_FAILURE(MakeCertificate());
  ASSERT_TRUE(WriteFile(dir_.Path("long.py"), R"(import os
import time

import sweep_client

open(os.path.join(os.environ["SWEEP_TEST_DIR"], "started"), "w").close()
for step in range(600):
    sweep_client.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(0.1)
)"));
  StartController(0, {"--tls-cert", dir_.Path("cert.pem"), "--tls-key",
                      dir_.Path("key.pem")});
  const int port = server_.port;
  const SweepCli cli("https://" + server_.address,
                     {"SWEEP_TLS_CA=" + dir_.Path("cert.pem")});
  ASSERT_TRUE(WriteFile(dir_.Path("sweep.yaml"), R"(program: long.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x: {values: [1]}
)"));
  const std::string id = cli.Create(dir_.Path("sweep.yaml"));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent =
      cli.StartAgent(id, dir_.path(), {"--workdir", dir_.Path("runs")},
                     {"SWEEP_TEST_DIR=" + dir_.path()});
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(
      PollUntil([&] { return std::ifstream(dir_.Path("started")).good(); },
                kAgentTimeout))
      << agent->Output(Stream::kStderr);

  ASSERT_TRUE(server_.process->Signal(SIGTERM));
  ASSERT_TRUE(server_.process->WaitForExit(std::chrono::seconds(30)));
  StartController(port);  // Without TLS, by mistake.

  const std::optional<ExitStatus> exit = agent->WaitForExit(kAgentTimeout);
  ASSERT_TRUE(exit.has_value()) << agent->Output(Stream::kStderr);
  EXPECT_EQ(exit->exit_code, 1) << agent->Output(Stream::kStderr);
  EXPECT_THAT(agent->Output(Stream::kStderr),
              HasSubstr("it does not speak TLS"));
}

// What the CLI saw of one trial.
struct TrialSnapshot {
  std::string state;
  json config;
  json history;  // The points, in order.
};

std::map<int64_t, TrialSnapshot> Snapshot(const SweepCli& cli,
                                          const std::string& id) {
  std::map<int64_t, TrialSnapshot> trials;
  for (const json& trial : cli.Trials(id)) {
    const int64_t number = JsonInt(trial["number"]);
    const json full = cli.TrialWithHistory(id, number);
    if (!full.is_object()) continue;
    trials[number] = {full["state"], full["config"],
                      full.value("history", json::array())};
  }
  return trials;
}

bool IsTerminal(const std::string& state) {
  return state != "running" && !state.empty();
}

// Every trial and point in `before` is in `after`, unchanged; a trial that
// had ended is still ended the same way.
void ExpectNothingLost(const std::map<int64_t, TrialSnapshot>& before,
                       const std::map<int64_t, TrialSnapshot>& after) {
  for (const auto& [number, seen] : before) {
    const auto found = after.find(number);
    ASSERT_NE(found, after.end()) << "trial " << number << " was lost";
    const TrialSnapshot& now = found->second;
    EXPECT_EQ(now.config, seen.config) << "trial " << number;
    if (IsTerminal(seen.state)) {
      EXPECT_EQ(now.state, seen.state) << "trial " << number;
    }
    ASSERT_GE(now.history.size(), seen.history.size())
        << "trial " << number << " lost metric points";
    for (size_t i = 0; i < seen.history.size(); ++i) {
      EXPECT_EQ(JsonInt(now.history[i]["step"]),
                JsonInt(seen.history[i]["step"]))
          << "trial " << number << " point " << i;
      EXPECT_EQ(now.history[i]["values"], seen.history[i]["values"])
          << "trial " << number << " point " << i;
    }
  }
}

TEST_F(ControllerEndToEndTest, KilledServerRestartsWithoutLosingAnything) {
  // The same address across the restart, so the agent finds it again.
  const int port = PickFreePort();
  ASSERT_NE(port, 0);
  StartController(port);
  constexpr int kTrials = 8;
  constexpr int kSteps = 20;
  const std::string id = CreateSweep(CountingSweep(kTrials, kSteps, 0.05));
  ASSERT_FALSE(id.empty());
  std::unique_ptr<BackgroundProcess> agent = cli_.StartAgent(
      id, dir_.path(), {"--slots", "2", "--workdir", dir_.Path("runs")});
  ASSERT_NE(agent, nullptr);

  // In the middle: a trial has ended and another one is logging.
  ASSERT_TRUE(PollUntil(
      [&] {
        bool ended = false, logging = false;
        for (const json& trial : cli_.Trials(id)) {
          const std::string state = trial["state"];
          ended = ended || state == "finished";
          logging = logging || (state == "running" &&
                                JsonInt(trial["metric_points"]) >= 3);
        }
        return ended && logging;
      },
      kConditionTimeout))
      << agent->Output(Stream::kStderr);
  const std::map<int64_t, TrialSnapshot> before = Snapshot(cli_, id);
  const ProcessResult export_before =
      cli_.Run({"export", id, "--format", "json"});
  ASSERT_EQ(export_before.exit_code, 0) << export_before.err;

  ASSERT_TRUE(server_.process->Signal(SIGKILL));
  const std::optional<ExitStatus> killed =
      server_.process->WaitForExit(std::chrono::seconds(10));
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->term_signal, SIGKILL);

  StartController(port);
  ExpectNothingLost(before, Snapshot(cli_, id));
  const ProcessResult export_after =
      cli_.Run({"export", id, "--format", "json"});
  ASSERT_EQ(export_after.exit_code, 0) << export_after.err;
  std::map<int64_t, json> exported_after;
  for (const json& row : json::parse(export_after.out)) {
    exported_after[row["number"].get<int64_t>()] = row;
  }
  for (const json& row : json::parse(export_before.out)) {
    const int64_t number = row["number"];
    ASSERT_TRUE(exported_after.count(number)) << "trial " << number;
    const json& now = exported_after[number];
    for (const auto& [column, value] : row.items()) {
      if (column.rfind("config.", 0) == 0) {
        EXPECT_EQ(now[column], value) << "trial " << number << " " << column;
      }
    }
    if (row["state"] != "running") {
      EXPECT_EQ(now["state"], row["state"]) << "trial " << number;
      EXPECT_EQ(now["summary.loss"], row["summary.loss"]) << "trial " << number;
    }
  }

  // The agent carries on and the grid completes.
  const std::optional<ExitStatus> exit = agent->WaitForExit(kAgentTimeout);
  ASSERT_TRUE(exit.has_value()) << agent->Output(Stream::kStderr);
  EXPECT_EQ(exit->exit_code, 0) << agent->Output(Stream::kStderr);
  const std::map<int64_t, TrialSnapshot> final_trials = Snapshot(cli_, id);
  ExpectNothingLost(before, final_trials);
  EXPECT_EQ(SweepState(id), "finished");
  ASSERT_EQ(final_trials.size(), static_cast<size_t>(kTrials));
  for (const auto& [number, trial] : final_trials) {
    EXPECT_EQ(trial.state, "finished") << "trial " << number;
    ASSERT_EQ(trial.history.size(), static_cast<size_t>(kSteps))
        << "trial " << number << ": every point exactly once";
    const int64_t x = trial.config["x"];
    for (int step = 0; step < kSteps; ++step) {
      EXPECT_EQ(JsonInt(trial.history[step]["step"]), step);
      EXPECT_DOUBLE_EQ(trial.history[step]["values"]["loss"].get<double>(),
                       x * 1000.0 + step);
    }
  }
}

}  // namespace
}  // namespace sweep
