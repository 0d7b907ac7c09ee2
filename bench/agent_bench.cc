// The agent benchmark (BENCHMARKS.md section 5): the real `sweep agent`
// binary against a stub controller in this process (the real AgentService
// over gRPC on loopback, answering at once, so that only the agent is
// measured), running bench/agent_probe as its trials.
//
//   spawn        from the moment the stub grants a trial (just before its
//                AcquireTrial reply) to the probe's first instruction;
//   stop/report  from the stub sending a STOP order on a ReportMetrics reply
//                to the probe's process group being gone (reaped);
//   stop/beat    from the stop decision (taken between two heartbeats) to the
//                group being gone, the order riding on the next heartbeat;
//   idle         the agent's CPU (a share of one core) and RSS over a window
//                while its one trial runs quietly, and while it waits for
//                work (the stub answering "retry in 1 s").
//
// Peers in the same run: the floor, posix_spawn of the same probe from this
// process; Python's subprocess.Popen, which W&B's agent launches runs with
// (bench/agent_peer.py), on the same probe; and the RSS of a bare Python
// interpreter with the standard modules any Python agent imports.
//
//   agent_bench --sweep-binary build/cli/sweep --probe build/bench/agent_probe
//               [--peer bench/agent_peer.py] [--spawns 200] [--stops 20]
//               [--idle-seconds 10] [--json-out FILE]
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "sweep/v1/sweep.grpc.pb.h"

extern char** environ;

namespace sweep::bench {
namespace {

using ::nlohmann::json;
namespace v1 = ::sweep::v1;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How trials of the current phase behave.
enum class Phase {
  kSpawn,
  kStopByReport,
  kStopByHeartbeat,
  kIdleRunning,
  kIdleWaiting
};

struct TrialTimes {
  int64_t granted_us = 0;
  int64_t started_us = 0;  // From the probe.
  int64_t pid = 0;
  int64_t decided_us = 0;  // The stop decision.
  int64_t order_sent_us = 0;
  int64_t gone_us = 0;  // The process group reaped.
  int64_t finished_us = 0;
};

// The AgentService, answering at once from memory.
class StubController final : public v1::AgentService::Service {
 public:
  StubController(std::string probe, int64_t heartbeat_ms)
      : probe_(std::move(probe)), heartbeat_ms_(heartbeat_ms) {}

  // Starts a phase handing out `trials` trials (0: none, "retry later").
  void StartPhase(Phase phase, int trials) {
    absl::MutexLock lock(&mu_);
    phase_ = phase;
    to_grant_ = trials;
    granted_ = 0;
    finished_ = 0;
    times_.clear();
  }

  // Waits until every trial of the phase has finished; false on timeout.
  bool AwaitPhase(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return finished_ >= to_grant_;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

  // Waits until the phase's first trial has reported its start.
  bool AwaitFirstStart(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto started = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !times_.empty() && times_.begin()->second.started_us != 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
  }

  std::map<int64_t, TrialTimes> Times() {
    absl::MutexLock lock(&mu_);
    return times_;
  }

  // Decides to stop every running trial; the next heartbeat says so.
  void StopAll() {
    absl::MutexLock lock(&mu_);
    for (auto& [number, t] : times_) {
      if (t.decided_us == 0) t.decided_us = NowMicros();
    }
  }

  // Ends the agent's sweep: its next call learns it is finished.
  void Finish() {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

  grpc::Status RegisterAgent(grpc::ServerContext*,
                             const v1::RegisterAgentRequest*,
                             v1::RegisterAgentResponse* response) override {
    response->set_agent_id("bench-agent");
    response->set_heartbeat_interval_ms(heartbeat_ms_);
    response->set_lease_timeout_ms(600'000);
    return grpc::Status::OK;
  }

  grpc::Status AcquireTrial(grpc::ServerContext*,
                            const v1::AcquireTrialRequest*,
                            v1::AcquireTrialResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (done_) {
      response->set_exit_reason("the benchmark is over");
      return grpc::Status::OK;
    }
    if (granted_ >= to_grant_) {
      response->set_retry_after_ms(1000);
      response->set_message("benchmark: no trial now");
      return grpc::Status::OK;
    }
    const int64_t number = ++next_number_;
    ++granted_;
    v1::TrialAssignment* trial = response->mutable_trial();
    trial->set_sweep_id("benchswp");
    trial->set_number(number);
    trial->set_lease_id(absl::StrCat("lease-", number));
    const char* mode = phase_ == Phase::kSpawn         ? "spawn"
                       : phase_ == Phase::kIdleRunning ? "sleep"
                                                       : "run";
    trial->set_config_json(absl::StrCat(R"({"mode": ")", mode, R"("})"));
    trial->add_command("${program}");
    trial->add_command("${args}");
    trial->set_program(probe_);
    trial->set_metric_name("loss");
    trial->set_lease_timeout_ms(600'000);
    times_[number].granted_us = NowMicros();
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*,
                         const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override {
    absl::MutexLock lock(&mu_);
    response->set_lease_timeout_ms(600'000);
    response->set_sweep_done(done_);
    for (const v1::TrialLease& lease : request->leases()) {
      auto it = times_.find(lease.number());
      if (it == times_.end() || it->second.decided_us == 0) continue;
      v1::TrialOrder* order = response->add_orders();
      order->set_sweep_id(lease.sweep_id());
      order->set_number(lease.number());
      order->set_action(v1::ORDER_ACTION_STOP);
      order->set_reason("benchmark: stop by heartbeat");
      if (it->second.order_sent_us == 0) {
        it->second.order_sent_us = NowMicros();
        WatchLocked(lease.number(), it->second.pid);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ReportMetrics(grpc::ServerContext*,
                             const v1::ReportMetricsRequest* request,
                             v1::ReportMetricsResponse* response) override {
    absl::MutexLock lock(&mu_);
    response->set_stored_through_sequence(request->sequence());
    auto it = times_.find(request->number());
    if (it == times_.end()) return grpc::Status::OK;
    TrialTimes& t = it->second;
    for (const v1::MetricPoint& point : request->points()) {
      auto start = point.values().find("start_us");
      auto pid = point.values().find("pid");
      if (start != point.values().end() && pid != point.values().end()) {
        t.started_us = static_cast<int64_t>(start->second);
        t.pid = static_cast<int64_t>(pid->second);
      }
    }
    if (t.pid == 0 || t.decided_us != 0) return grpc::Status::OK;
    if (phase_ == Phase::kStopByReport) {
      t.decided_us = NowMicros();
      v1::TrialOrder* order = response->mutable_order();
      order->set_sweep_id(request->sweep_id());
      order->set_number(request->number());
      order->set_action(v1::ORDER_ACTION_STOP);
      order->set_reason("benchmark: stop by report");
      t.order_sent_us = NowMicros();
      WatchLocked(request->number(), t.pid);
    } else if (phase_ == Phase::kStopByHeartbeat) {
      // Decided now, between heartbeats; the next one carries the order.
      t.decided_us = NowMicros();
    }
    return grpc::Status::OK;
  }

  grpc::Status FinishTrial(grpc::ServerContext*,
                           const v1::FinishTrialRequest* request,
                           v1::FinishTrialResponse* response) override {
    absl::MutexLock lock(&mu_);
    auto it = times_.find(request->number());
    if (it != times_.end() && it->second.finished_us == 0) {
      it->second.finished_us = NowMicros();
      ++finished_;
    }
    response->set_state(request->outcome() == v1::FINISH_OUTCOME_EXITED
                            ? v1::TRIAL_STATE_FINISHED
                            : v1::TRIAL_STATE_STOPPED);
    return grpc::Status::OK;
  }

  ~StubController() override {
    for (std::thread& watcher : watchers_) watcher.join();
  }

 private:
  // Polls the probe's process group until it is gone (reaped by the agent),
  // every 50 us, and records when.
  void WatchLocked(int64_t number, int64_t pid)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pid <= 0) return;
    watchers_.emplace_back([this, number, pid] {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (kill(-static_cast<pid_t>(pid), 0) == 0 &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      const int64_t gone = NowMicros();
      absl::MutexLock lock(&mu_);
      times_[number].gone_us = gone;
    });
  }

  const std::string probe_;
  const int64_t heartbeat_ms_;
  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kSpawn;
  int to_grant_ ABSL_GUARDED_BY(mu_) = 0;
  int granted_ ABSL_GUARDED_BY(mu_) = 0;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_number_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int64_t, TrialTimes> times_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> watchers_ ABSL_GUARDED_BY(mu_);
};

// A child started with posix_spawn, its output to `log` (or inherited).
pid_t Spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& extra_env,
            const std::string& log = "") {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int error =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

// utime + stime of `pid`, in clock ticks.
int64_t CpuTicks(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t end = stat.rfind(')');
  if (end == std::string::npos) return 0;
  std::istringstream rest(stat.substr(end + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  // Fields 3.. after the name: state is 3; utime 14, stime 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

// VmRSS or VmHWM of `pid`, in KiB.
int64_t StatusKib(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

struct Stats {
  double p50 = 0, p90 = 0, max = 0;
  size_t n = 0;
};

Stats Summarize(std::vector<double> values) {
  Stats s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[std::min(values.size() - 1,
                           static_cast<size_t>(q * values.size()))];
  };
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.max = values.back();
  return s;
}

json ToJson(const Stats& s) {
  return {{"n", s.n}, {"p50", s.p50}, {"p90", s.p90}, {"max", s.max}};
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// posix_spawn of the probe from here, `count` times: the floor.
std::vector<double> SpawnFloor(const std::string& probe, const std::string& dir,
                               int count) {
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const std::string metrics = absl::StrCat(dir, "/floor-", i, ".jsonl");
    const int64_t before = NowMicros();
    const pid_t pid =
        Spawn({probe, "--mode=spawn"}, {"SWEEP_METRICS_FILE=" + metrics});
    if (pid < 0) continue;
    int status = 0;
    waitpid(pid, &status, 0);
    const json line = json::parse(ReadAll(metrics), nullptr, false);
    if (line.is_object() && line.contains("start_us")) {
      ms.push_back((line["start_us"].get<int64_t>() - before) / 1000.0);
    }
  }
  return ms;
}

int Main(int argc, char** argv) {
  CLI::App app{"The agent benchmark (BENCHMARKS.md section 5)"};
  std::string sweep_binary, probe, peer, json_out;
  std::string python = "/usr/bin/python3";
  int spawns = 200, stops = 20, beats = 10;
  double idle_seconds = 10;
  int64_t heartbeat_ms = 500;
  app.add_option("--sweep-binary", sweep_binary, "The sweep binary")
      ->required();
  app.add_option("--probe", probe, "bench/agent_probe")->required();
  app.add_option("--peer", peer, "bench/agent_peer.py (Python peers)");
  app.add_option("--python", python, "The interpreter for --peer");
  app.add_option("--spawns", spawns, "Trials for the spawn latency");
  app.add_option("--stops", stops, "Trials stopped on a report reply");
  app.add_option("--beats", beats, "Trials stopped by a heartbeat");
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "The heartbeat interval the stub asks for");
  app.add_option("--idle-seconds", idle_seconds, "Each idle window");
  app.add_option("--json-out", json_out, "Also write the figures here");
  CLI11_PARSE(app, argc, argv);

  char dir_template[] = "/tmp/sweep-agent-bench-XXXXXX";
  const char* made = mkdtemp(dir_template);
  if (made == nullptr) {
    std::perror("agent_bench: mkdtemp");
    return 1;
  }
  const std::string dir = made;

  StubController stub(probe, heartbeat_ms);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&stub);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "agent_bench: cannot start the stub controller\n";
    return 1;
  }

  std::cout << "== agent benchmark: " << spawns << " spawns, " << stops
            << " stops by report, " << beats << " by heartbeat ("
            << heartbeat_ms << " ms), idle windows of " << idle_seconds
            << " s\n";
  const std::string log = dir + "/agent.log";
  const pid_t agent =
      Spawn({sweep_binary, "agent", "benchswp", "--controller",
             absl::StrCat("127.0.0.1:", port), "--workdir", dir + "/runs",
             "--kill-grace", "5", "--max-consecutive-failures", "0"},
            {}, log);
  if (agent < 0) {
    std::cerr << "agent_bench: cannot start " << sweep_binary << "\n";
    return 1;
  }
  json out;
  bool ok = true;
  auto run_phase = [&](Phase phase, int trials, const char* name) {
    stub.StartPhase(phase, trials);
    if (!stub.AwaitPhase(absl::Seconds(60 + trials))) {
      std::cerr << "agent_bench: the " << name
                << " phase did not finish; the agent's log:\n"
                << ReadAll(log);
      ok = false;
    }
    return stub.Times();
  };

  // Spawn latency.
  std::vector<double> spawn_ms;
  for (const auto& [number, t] : run_phase(Phase::kSpawn, spawns, "spawn")) {
    if (t.started_us != 0) {
      spawn_ms.push_back((t.started_us - t.granted_us) / 1000.0);
    }
  }
  // Stops.
  std::vector<double> report_ms, report_finish_ms;
  for (const auto& [number, t] :
       run_phase(Phase::kStopByReport, stops, "stop by report")) {
    if (t.gone_us != 0)
      report_ms.push_back((t.gone_us - t.order_sent_us) / 1000.0);
    if (t.finished_us != 0) {
      report_finish_ms.push_back((t.finished_us - t.order_sent_us) / 1000.0);
    }
  }
  std::vector<double> beat_ms, beat_after_order_ms;
  for (const auto& [number, t] :
       run_phase(Phase::kStopByHeartbeat, beats, "stop by heartbeat")) {
    if (t.gone_us != 0) {
      beat_ms.push_back((t.gone_us - t.decided_us) / 1000.0);
      beat_after_order_ms.push_back((t.gone_us - t.order_sent_us) / 1000.0);
    }
  }
  // Idle: one trial sleeping, then no trial at all.
  auto idle_window = [&](const char* name) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Settle.
    const int64_t ticks_before = CpuTicks(agent);
    const auto before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(idle_seconds));
    const int64_t ticks = CpuTicks(agent) - ticks_before;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - before)
            .count();
    const double cpu = 100.0 * static_cast<double>(ticks) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)) / seconds;
    out["idle"][name] = {{"cpu_percent", cpu},
                         {"rss_kib", StatusKib(agent, "VmRSS")}};
  };
  stub.StartPhase(Phase::kIdleRunning, 1);
  if (!stub.AwaitFirstStart(absl::Seconds(30))) ok = false;
  idle_window("running");
  stub.StopAll();
  if (!stub.AwaitPhase(absl::Seconds(30))) ok = false;
  stub.StartPhase(Phase::kIdleWaiting, 0);
  idle_window("waiting");
  const int64_t peak_kib = StatusKib(agent, "VmHWM");
  // The sweep ends: the agent hears it at its next call and exits.
  stub.Finish();
  int status = 0;
  const auto exit_deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (waitpid(agent, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > exit_deadline) {
      std::cerr << "agent_bench: the agent did not exit; killing it\n";
      kill(agent, SIGKILL);
      waitpid(agent, &status, 0);
      ok = false;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));

  // Peers.
  const std::vector<double> floor_ms = SpawnFloor(probe, dir, spawns);
  json python_peer;
  if (!peer.empty() && access(python.c_str(), X_OK) == 0) {
    const std::string peer_out = dir + "/peer.json";
    const pid_t pid =
        Spawn({python, peer, "--probe", probe, "--count",
               std::to_string(spawns), "--dir", dir, "--json-out", peer_out},
              {});
    int peer_status = 0;
    if (pid > 0) waitpid(pid, &peer_status, 0);
    python_peer = json::parse(ReadAll(peer_out), nullptr, false);
  }

  const Stats spawn = Summarize(spawn_ms), floor = Summarize(floor_ms);
  const Stats by_report = Summarize(report_ms),
              by_report_finish = Summarize(report_finish_ms);
  const Stats by_beat = Summarize(beat_ms),
              by_beat_order = Summarize(beat_after_order_ms);
  out["spawn_ms"] = ToJson(spawn);
  out["floor_spawn_ms"] = ToJson(floor);
  out["stop_by_report_ms"] = ToJson(by_report);
  out["stop_by_report_finish_ms"] = ToJson(by_report_finish);
  out["stop_by_heartbeat_ms"] = ToJson(by_beat);
  out["stop_by_heartbeat_after_order_ms"] = ToJson(by_beat_order);
  out["heartbeat_ms"] = heartbeat_ms;
  out["peak_rss_kib"] = peak_kib;
  out["python"] = python_peer;

  std::cout << absl::StrFormat(
      "spawn (grant -> probe running)   p50 %7.2f ms  p90 %7.2f  max %7.2f  "
      "(n=%d)\n",
      spawn.p50, spawn.p90, spawn.max, static_cast<int>(spawn.n));
  std::cout << absl::StrFormat(
      "  floor: posix_spawn here        p50 %7.2f ms  p90 %7.2f  max %7.2f\n",
      floor.p50, floor.p90, floor.max);
  if (python_peer.is_object() && python_peer.contains("popen_ms")) {
    const json& p = python_peer["popen_ms"];
    std::cout << absl::StrFormat(
        "  peer: Python subprocess.Popen  p50 %7.2f ms  p90 %7.2f  max %7.2f"
        "  (ours / Popen at p50: %.2f)\n",
        p["p50"].get<double>(), p["p90"].get<double>(), p["max"].get<double>(),
        spawn.p50 / p["p50"].get<double>());
  }
  std::cout << absl::StrFormat(
      "stop on a report reply -> group gone  p50 %7.2f ms  p90 %7.2f  max "
      "%7.2f  (FinishTrial at p50 %.2f ms)\n",
      by_report.p50, by_report.p90, by_report.max, by_report_finish.p50);
  std::cout << absl::StrFormat(
      "stop decided between heartbeats -> gone  p50 %7.1f ms  max %7.1f  "
      "(heartbeat every %d ms; after the order p50 %.2f ms)\n",
      by_beat.p50, by_beat.max, static_cast<int>(heartbeat_ms),
      by_beat_order.p50);
  std::cout << absl::StrFormat(
      "idle, one quiet trial running: %.2f%% of a core, RSS %.1f MiB\n",
      out["idle"]["running"]["cpu_percent"].get<double>(),
      out["idle"]["running"]["rss_kib"].get<int64_t>() / 1024.0);
  std::cout << absl::StrFormat(
      "idle, waiting for work:        %.2f%% of a core, RSS %.1f MiB (peak "
      "%.1f MiB)\n",
      out["idle"]["waiting"]["cpu_percent"].get<double>(),
      out["idle"]["waiting"]["rss_kib"].get<int64_t>() / 1024.0,
      peak_kib / 1024.0);
  if (python_peer.is_object() && python_peer.contains("rss_kib")) {
    std::cout << absl::StrFormat(
        "  peer: a bare Python agent's floor (interpreter + stdlib "
        "modules): RSS %.1f MiB\n",
        python_peer["rss_kib"].get<int64_t>() / 1024.0);
  }
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) { return sweep::bench::Main(argc, argv); }
