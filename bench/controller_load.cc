// The controller load benchmark (BENCHMARKS.md section 1): N simulated agents
// against a real `sweep server` child process with its SQLite store, a
// random-search sweep with Hyperband, and, at the same concurrency, the
// loopback gRPC floor (an empty callback-API call to a bench-only server).
// bench/run_controller_bench.sh runs it with the Optuna peer; see there.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/empty_server.h"
#include "bench/load_driver.h"
#include "bench/load_report.h"
#include "bench/server_process.h"
#include "nlohmann/json.hpp"
#include "sweep/v1/sweep.grpc.pb.h"

namespace sweep::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Random search, a metric, Hyperband from min_iter 3, and no run_cap: the
// sweep never finishes, whatever the run's length.
constexpr char kSweepYaml[] = R"(name: controller-load-bench
program: train.py
method: random
metric:
  name: loss
  goal: minimize
early_terminate:
  type: hyperband
  min_iter: 3
parameters:
  lr:
    distribution: log_uniform_values
    min: 0.00001
    max: 0.1
  batch_size:
    values: [32, 64, 128]
  dropout:
    min: 0.0
    max: 0.5
)";

struct BenchOptions {
  std::string sweep_binary;
  std::vector<int> agents = {16, 256, 1000};
  double seconds = 10;
  double warmup_seconds = 1;
  bool quick = false;
  int channels = 16;
  std::string sync = "full";
  bool floor = true;
  bool honour_stop = false;
  double think_ms = 0;
  std::string json_out;
  std::string data_root;
};

std::string SelfPath() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? std::string() : self.string();
}

// build/bench/controller_load_bench -> build/cli/sweep.
std::string DefaultSweepBinary() {
  const std::string self = SelfPath();
  if (self.empty()) return "";
  return (fs::path(self).parent_path().parent_path() / "cli" / "sweep")
      .string();
}

absl::StatusOr<std::string> MakeDataDir(const std::string& root) {
  std::string pattern =
      (fs::path(root.empty() ? fs::temp_directory_path().string() : root) /
       "sweep-bench-XXXXXX")
          .string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
  }
  return pattern;
}

std::string FileSystemOf(const std::string& path) {
  struct statfs info {};
  if (statfs(path.c_str(), &info) != 0) return "?";
  if (info.f_type == 0x01021994) return "tmpfs (fsync is free: not a disk!)";
  if (info.f_type == 0xEF53) return "ext4";
  if (info.f_type == 0x58465342) return "xfs";
  if (info.f_type == static_cast<decltype(info.f_type)>(0x9123683E)) {
    return "btrfs";
  }
  return absl::StrCat("fs type 0x", absl::Hex(info.f_type));
}

int64_t DirectoryBytes(const std::string& dir) {
  int64_t bytes = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) {
      bytes += static_cast<int64_t>(entry.file_size(error));
    }
  }
  return bytes;
}

absl::StatusOr<std::string> CreateSweep(const std::string& address) {
  auto stub = v1::SweepService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::CreateSweepRequest request;
  request.set_definition_yaml(kSweepYaml);
  request.set_file_name("controller_load_bench.yaml");
  v1::CreateSweepResponse response;
  const grpc::Status status = stub->CreateSweep(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("CreateSweep: ", status.error_message()));
  }
  return response.sweep().id();
}

std::function<void(absl::Duration)> Sampler(const ServerProcess& server,
                                            ServerSamples& samples) {
  return [&server, &samples](absl::Duration elapsed) {
    samples.rss_kib.emplace_back(absl::ToDoubleSeconds(elapsed),
                                 server.RssKib().value_or(0));
    samples.cpu_seconds.push_back(server.CpuSeconds().value_or(0));
  };
}

// One run against one server child: the load's figures and the server's.
struct RunFigures {
  LoadResult load;
  json server;
  int64_t data_bytes = 0;  // The data dir's size at the end.
};

// Starts `server_argv`, runs `drive` against it (sampling the child's RSS and
// CPU), and stops it.
absl::StatusOr<RunFigures> LoadServer(
    const std::vector<std::string>& server_argv, LoadOptions options,
    const std::string& data_dir,
    const std::function<absl::StatusOr<LoadResult>(const LoadOptions&)>&
        drive) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(server_argv, absl::Seconds(30));
  if (!server.ok()) return server.status();
  ServerSamples samples;
  samples.rss_idle_kib = (*server)->RssKib().value_or(0);
  options.address = (*server)->address();
  options.sample = Sampler(**server, samples);
  absl::StatusOr<LoadResult> load = drive(options);
  if (!load.ok()) return load.status();
  RunFigures figures;
  figures.load = *std::move(load);
  figures.server = SamplesJson(samples, figures.load.seconds);
  if (!data_dir.empty()) figures.data_bytes = DirectoryBytes(data_dir);
  if (absl::Status stopped = (*server)->Stop(); !stopped.ok()) {
    std::cerr << "warning: server: " << stopped.message() << "\n";
  }
  return figures;
}

absl::StatusOr<RunFigures> RunControllerLoad(const BenchOptions& bench,
                                             const LoadOptions& load) {
  absl::StatusOr<std::string> data_dir = MakeDataDir(bench.data_root);
  if (!data_dir.ok()) return data_dir.status();
  std::cout << "  data dir " << *data_dir << " on " << FileSystemOf(*data_dir)
            << ", --sync " << bench.sync << "\n";
  absl::StatusOr<RunFigures> figures = LoadServer(
      {bench.sweep_binary, "server", "--listen", "127.0.0.1:0", "--data-dir",
       *data_dir, "--sync", bench.sync},
      load, *data_dir,
      [](const LoadOptions& options) -> absl::StatusOr<LoadResult> {
        absl::StatusOr<std::string> sweep_id = CreateSweep(options.address);
        if (!sweep_id.ok()) return sweep_id.status();
        return RunAgentLoad(options, *sweep_id);
      });
  std::error_code ignored;
  fs::remove_all(*data_dir, ignored);
  return figures;
}

absl::StatusOr<RunFigures> RunFloor(const LoadOptions& load) {
  return LoadServer({SelfPath(), "--serve-empty", "--listen", "127.0.0.1:0"},
                    load, "", RunEmptyLoad);
}

int Main(int argc, char** argv) {
  // As `sweep` does: the load driver and the empty-call server run without
  // Abseil's lock-order checks too, so the floor is as fast as it can be.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "Controller load benchmark: N simulated agents against a real `sweep "
      "server`, and the loopback gRPC floor (BENCHMARKS.md section 1)"};
  BenchOptions bench;
  bool serve_empty = false;
  std::string listen = "127.0.0.1:0";
  app.add_option("--sweep-binary", bench.sweep_binary,
                 "The `sweep` binary (default: ../cli/sweep from this one)");
  app.add_option("--agents", bench.agents, "Agent counts to run, e.g. 16,256")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--seconds", bench.seconds, "Measured seconds per run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", bench.warmup_seconds,
                 "Seconds of load before each measured window")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_flag("--quick", bench.quick,
               "A smoke run: 3 s per run after 0.5 s of warmup");
  app.add_option("--channels", bench.channels,
                 "Connections the agents are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--sync", bench.sync, "The server's --sync (full, normal)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_flag("!--no-floor", bench.floor, "Skip the empty-call floor");
  app.add_flag("--honour-stop", bench.honour_stop,
               "End a trial at its first stop order (default: every trial "
               "makes all 10 reports, the same work as the Optuna peer's)");
  app.add_option("--think-ms", bench.think_ms,
                 "Each agent waits this long between calls (an open loop; "
                 "0: a closed loop, calls back to back)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60'000.0));
  app.add_option("--json-out", bench.json_out, "Also write the figures here");
  app.add_option("--data-root", bench.data_root,
                 "Where the servers' temporary data dirs go (default: "
                 "$TMPDIR or /tmp)");
  app.add_flag("--serve-empty", serve_empty,
               "Internal: serve the floor's EmptyService and nothing else")
      ->group("");
  app.add_option("--listen", listen, "Internal: --serve-empty's address")
      ->group("");
  CLI11_PARSE(app, argc, argv);
  if (serve_empty) return RunEmptyServer(listen);

  if (bench.quick) {
    bench.seconds = 3;
    bench.warmup_seconds = 0.5;
  }
  if (bench.sweep_binary.empty()) bench.sweep_binary = DefaultSweepBinary();
  if (access(bench.sweep_binary.c_str(), X_OK) != 0) {
    std::cerr << "controller_load_bench: no sweep binary at \""
              << bench.sweep_binary << "\"; pass --sweep-binary\n";
    return 2;
  }
  json runs = json::array();
  uint64_t errors = 0;
  for (int agents : bench.agents) {
    LoadOptions load;
    load.loops = agents;
    load.channels = bench.channels;
    load.warmup = absl::Seconds(bench.warmup_seconds);
    load.duration = absl::Seconds(bench.seconds);
    load.honour_stop = bench.honour_stop;
    load.think = absl::Milliseconds(bench.think_ms);
    std::cout << "N = " << agents << " agents over "
              << std::min(agents, bench.channels) << " connections";
    if (bench.think_ms > 0) {
      std::cout << ", " << bench.think_ms << " ms between an agent's calls";
    }
    std::cout << "\n";
    absl::StatusOr<RunFigures> ours = RunControllerLoad(bench, load);
    if (!ours.ok()) {
      std::cerr << "controller_load_bench: N=" << agents << ": "
                << ours.status().message() << "\n";
      return 1;
    }
    PrintResult("controller", ours->load, ours->server, /*agents=*/true);
    errors += ours->load.errors;
    std::cout << "    store after the run: " << std::setprecision(1)
              << static_cast<double>(ours->data_bytes) / (1 << 20) << " MiB\n";
    json run = {{"agents", agents},
                {"channels", std::min(agents, bench.channels)},
                {"sync", bench.sync},
                {"honour_stop", bench.honour_stop},
                {"think_ms", bench.think_ms},
                {"controller", ResultJson(ours->load)}};
    run["controller"]["server"] = ours->server;
    run["controller"]["data_bytes"] = ours->data_bytes;
    if (bench.floor) {
      absl::StatusOr<RunFigures> floor = RunFloor(load);
      if (!floor.ok()) {
        std::cerr << "controller_load_bench: floor at N=" << agents << ": "
                  << floor.status().message() << "\n";
        return 1;
      }
      PrintResult("floor (empty call)", floor->load, floor->server,
                  /*agents=*/false);
      errors += floor->load.errors;
      run["floor"] = ResultJson(floor->load);
      run["floor"]["server"] = floor->server;
    }
    runs.push_back(run);
  }
  PrintSummary(runs);
  if (!bench.json_out.empty()) {
    std::ofstream out(bench.json_out);
    out << json{{"seconds", bench.seconds},
                {"warmup_seconds", bench.warmup_seconds},
                {"runs", runs}}
               .dump(2)
        << "\n";
    if (!out) {
      std::cerr << "controller_load_bench: cannot write " << bench.json_out
                << "\n";
      return 1;
    }
  }
  if (errors > 0) {
    std::cerr << "controller_load_bench: " << errors << " calls failed\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) { return sweep::bench::Main(argc, argv); }
