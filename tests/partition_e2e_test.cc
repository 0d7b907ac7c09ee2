// A network partition through the real binary: an agent in a network
// namespace of its own, joined to the controller's by a veth pair, is cut off
// (the link taken down) for longer than its lease while it runs a trial,
// then reconnected. The outcome, as README.md's Guarantees section documents:
//   - the controller marks the trial crashed when the lease runs out and
//     hands its grid point to another agent, which finishes it;
//   - the points the cut-off agent had delivered stay; whatever it sends
//     after the lease ran out is refused (FAILED_PRECONDITION) and never
//     stored, so the crashed trial keeps exactly what it had;
//   - once reconnected, the agent learns the lease is gone, stops the
//     program and goes on with the sweep (here: exits when it is finished).
// Needs root and iproute2 (`ip netns`); skipped, and reported as skipped,
// where the machine does not allow it.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <random>
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
using ::sweep::testing::JsonInt;
using ::sweep::testing::PollUntil;
using ::sweep::testing::ProcessResult;
using ::sweep::testing::RunProcess;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::StartServerOn;
using ::sweep::testing::Stream;
using ::sweep::testing::SweepBinary;
using ::sweep::testing::SweepCli;
using ::sweep::testing::WriteFile;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kConditionTimeout(30);
constexpr std::chrono::seconds kAgentTimeout(90);
constexpr int kLeaseMs = 1500;

// Logs `loss` every 50 ms: 400 points (20 s) when SLOW is set, else 20.
constexpr char kProgram[] = R"(import os
import time

import sweep_client

x = sweep_client.config()["x"]
steps = 400 if os.environ.get("SLOW") else 20
for step in range(steps):
    sweep_client.log({"loss": 1000 * x + step}, step=step)
    time.sleep(0.05)
)";

std::string FindIp() {
  for (const char* path :
       {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// A network namespace joined to this one by a veth pair on a /30 of
// 10.201.0.0/16; removed (with the pair) on destruction.
class NetworkNamespace {
 public:
  explicit NetworkNamespace(std::string ip) : ip_(std::move(ip)) {
    std::random_device random;
    const unsigned tag = random() % 60000;
    name_ = "sweep-part-" + std::to_string(tag);
    host_veth_ = "swp" + std::to_string(tag) + "h";
    peer_veth_ = "swp" + std::to_string(tag) + "p";
    const unsigned subnet = tag % 16000;  // 4 addresses each.
    const std::string prefix = "10.201." + std::to_string(subnet / 64) + ".";
    host_address_ = prefix + std::to_string((subnet % 64) * 4 + 1);
    peer_address_ = prefix + std::to_string((subnet % 64) * 4 + 2);
  }
  ~NetworkNamespace() {
    Ip({"link", "del", host_veth_});  // Takes its peer along.
    Ip({"netns", "del", name_});
  }

  // Empty on success, else what failed.
  std::string Create() {
    const std::vector<std::vector<std::string>> steps = {
        {"netns", "add", name_},
        {"link", "add", host_veth_, "type", "veth", "peer", "name", peer_veth_},
        {"link", "set", peer_veth_, "netns", name_},
        {"addr", "add", host_address_ + "/30", "dev", host_veth_},
        {"link", "set", host_veth_, "up"},
        {"netns", "exec", name_, ip_, "addr", "add", peer_address_ + "/30",
         "dev", peer_veth_},
        {"netns", "exec", name_, ip_, "link", "set", peer_veth_, "up"},
        {"netns", "exec", name_, ip_, "link", "set", "lo", "up"},
    };
    for (const std::vector<std::string>& step : steps) {
      const ProcessResult result = Ip(step);
      if (result.exit_code != 0) {
        std::string command = "ip";
        for (const std::string& arg : step) command += " " + arg;
        return command + ": " + result.err;
      }
    }
    return "";
  }

  bool SetLink(bool up) {
    return Ip({"link", "set", host_veth_, up ? "up" : "down"}).exit_code == 0;
  }

  // argv run inside the namespace.
  std::vector<std::string> Exec(const std::vector<std::string>& argv) const {
    std::vector<std::string> out = {ip_, "netns", "exec", name_};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  const std::string& host_address() const { return host_address_; }

 private:
  ProcessResult Ip(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, std::chrono::seconds(20));
  }

  std::string ip_;
  std::string name_, host_veth_, peer_veth_, host_address_, peer_address_;
};

TEST(PartitionTest, AnAgentCutOffPastItsLeaseLosesItsTrialCleanly) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  const std::string ip = FindIp();
  if (ip.empty()) GTEST_SKIP() << "needs iproute2's ip";
  NetworkNamespace net(ip);
  if (const std::string error = net.Create(); !error.empty()) {
    GTEST_SKIP() << "cannot make a network namespace here: " << error;
  }

  ScopedTempDir dir("partition-e2e");
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(WriteFile(dir.Path("steps.py"), kProgram));
  // On every interface: the CLI and the second agent on loopback, the cut-off
  // agent through the veth pair.
  ServerProcess server =
      StartServerOn("0.0.0.0", dir.Path("data"), 0,
                    {"--lease-timeout-ms", std::to_string(kLeaseMs),
                     "--heartbeat-interval-ms", "200"},
                    std::chrono::seconds(30));
  ASSERT_NE(server.process, nullptr) << server.error;
  const SweepCli cli(server.address);
  ASSERT_TRUE(WriteFile(dir.Path("grid.yaml"), R"(
name: partition
program: steps.py
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x:
    values: [7]
)"));
  const std::string id = cli.Create(dir.Path("grid.yaml"));
  ASSERT_FALSE(id.empty());

  // The agent across the veth pair, with a slow program.
  ::sweep::testing::LaunchOptions options;
  options.working_dir = dir.path();
  options.extra_env = {"SLOW=1"};
  std::unique_ptr<BackgroundProcess> cut_off = BackgroundProcess::Start(
      net.Exec({SweepBinary(), "agent", id, "--controller",
                net.host_address() + ":" + std::to_string(server.port),
                "--name", "cut-off", "--workdir", dir.Path("runs-cut-off"),
                "--kill-grace", "1"}),
      options);
  ASSERT_NE(cut_off, nullptr);
  ASSERT_TRUE(PollUntil(
      [&] {
        const std::vector<json> trials = cli.Trials(id);
        return trials.size() == 1 && JsonInt(trials[0]["metric_points"]) >= 3;
      },
      kConditionTimeout))
      << cut_off->Output(Stream::kStderr);

  // Cut, until the controller gives the trial up.
  ASSERT_TRUE(net.SetLink(false));
  json lost;
  ASSERT_TRUE(PollUntil(
      [&] {
        lost = cli.TrialWithHistory(id, 1);
        return lost["state"] == "crashed";
      },
      kConditionTimeout))
      << lost.dump();
  EXPECT_THAT(lost.value("end_reason", ""), HasSubstr("lease"));
  // No exit was reported: neither a status nor a signal, not a clean 0.
  EXPECT_TRUE(lost["exit_code"].is_null()) << lost.dump();
  EXPECT_TRUE(lost["signal"].is_null()) << lost.dump();
  const int64_t kept = JsonInt(lost["metric_points"]);
  EXPECT_GE(kept, 3);

  // Its grid point goes to an agent on this side.
  std::unique_ptr<BackgroundProcess> other = cli.StartAgent(
      id, dir.path(), {"--name", "other", "--workdir", dir.Path("runs-other")});
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(
      PollUntil([&] { return cli.Trials(id).size() == 2; }, kConditionTimeout));

  // Reconnected: the cut-off agent stops its program and, once the sweep is
  // finished, exits like any agent.
  ASSERT_TRUE(net.SetLink(true));
  const std::optional<ExitStatus> cut_off_exit =
      cut_off->WaitForExit(kAgentTimeout);
  ASSERT_TRUE(cut_off_exit.has_value()) << cut_off->Output(Stream::kStderr);
  EXPECT_EQ(cut_off_exit->exit_code, 0) << cut_off->Output(Stream::kStderr);
  const std::optional<ExitStatus> other_exit =
      other->WaitForExit(kAgentTimeout);
  ASSERT_TRUE(other_exit.has_value()) << other->Output(Stream::kStderr);
  EXPECT_EQ(other_exit->exit_code, 0) << other->Output(Stream::kStderr);

  // The crashed trial kept exactly what it had when its lease ran out.
  const json first = cli.TrialWithHistory(id, 1);
  EXPECT_EQ(first["state"], "crashed") << first.dump();
  EXPECT_EQ(JsonInt(first["metric_points"]), kept) << first.dump();
  ASSERT_EQ(first["history"].size(), static_cast<size_t>(kept));
  for (int64_t step = 0; step < kept; ++step) {
    EXPECT_EQ(JsonInt(first["history"][step]["step"]), step);
  }
  // The point was run again, in full, on this side.
  const json second = cli.TrialWithHistory(id, 2);
  EXPECT_EQ(second["state"], "finished") << second.dump();
  EXPECT_NE(second["agent_id"], first["agent_id"]);
  EXPECT_EQ(JsonInt(second["metric_points"]), 20);
  const json status = cli.Json({"status", id});
  EXPECT_EQ(status["state"], "finished") << status.dump();
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 1);
  EXPECT_EQ(JsonInt(status["counts"]["crashed"]), 1);
  EXPECT_EQ(JsonInt(status["counts"]["running"]), 0);
  std::cout << "cut-off agent said:\n" << cut_off->Output(Stream::kStderr);
}

}  // namespace
}  // namespace sweep
