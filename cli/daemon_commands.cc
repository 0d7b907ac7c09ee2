#include "cli/daemon_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/agent.h"
#include "agent/controller_channel.h"
#include "agent/program_lookup.h"
#include "cli/controller_client.h"
#include "controller/server.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

// Creates `dir` if needed and checks that a file can be made in it.
absl::Status CheckWritableDirectory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::FailedPreconditionError(error.message());
  std::string probe = (std::filesystem::path(dir) / ".write-check-XXXXXX");
  const int fd = mkstemp(probe.data());
  if (fd < 0) return absl::FailedPreconditionError(std::strerror(errno));
  // Some data too: a full disk still creates empty files.
  const std::string block(64 << 10, '\0');
  int error_number = 0;
  for (size_t written = 0; written < block.size();) {
    const ssize_t n = write(fd, block.data() + written, block.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_number = n < 0 ? errno : ENOSPC;
      break;
    }
    written += static_cast<size_t>(n);
  }
  // Network file systems may tell of a full disk or quota only here.
  if (error_number == 0 && fsync(fd) != 0) error_number = errno;
  if (close(fd) != 0 && error_number == 0) error_number = errno;
  unlink(probe.c_str());
  if (error_number != 0) {
    return absl::FailedPreconditionError(std::strerror(error_number));
  }
  return absl::OkStatus();
}

// CLI11 check of --listen: host:port with a port of 0 to 65535 (gRPC would
// take 99999 as 34463).
std::string ListenAddress(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  const std::string port =
      colon == std::string::npos ? "" : address.substr(colon + 1);
  int value = 0;
  if (colon == 0 || port.empty() || port.size() > 5 ||
      !absl::SimpleAtoi(port, &value) || value < 0 || value > 65535 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return "must be host:port with a port from 0 to 65535, such as "
           "127.0.0.1:7420 or 0.0.0.0:7420";
  }
  return "";
}

// The token the server requires: the contents of `token_file` (trailing
// whitespace dropped) when given, else $SWEEP_TOKEN, else none.
absl::StatusOr<std::string> ServerToken(const std::string& token_file) {
  if (token_file.empty()) {
    // Set but empty is a mistake ($(cat missing-file)), not "no token".
    if (std::getenv(kTokenEnvironmentVariable) == nullptr) return "";
    const std::string token = TokenFromEnvironment();
    RETURN_IF_ERROR(CheckToken(token, kTokenEnvironmentVariable));
    return token;
  }
  absl::StatusOr<std::string> contents = ReadCredentialFile(token_file);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token-file ", token_file, ": ", contents.status().message()));
  }
  struct stat info;
  if (stat(token_file.c_str(), &info) == 0 && (info.st_mode & 0077) != 0) {
    std::cerr << "sweep server: warning: --token-file " << token_file
              << " can be read by other users (chmod 600 it)\n";
  }
  std::string token = *std::move(contents);
  while (!token.empty() && absl::ascii_isspace(token.back())) token.pop_back();
  RETURN_IF_ERROR(CheckToken(token, absl::StrCat("--token-file ", token_file)));
  return token;
}

}  // namespace

void RegisterServerCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<ServerOptions>();
  auto sync = std::make_shared<std::string>("full");
  CLI::App* command = app.add_subcommand(
      "server",
      "Run the controller: the gRPC API, with state in SQLite under the data "
      "dir");
  command
      ->add_option("--listen", options->listen,
                   "host:port to listen on (port 0 picks a free one)")
      ->capture_default_str()
      ->check(ListenAddress);
  command->add_option("--data-dir", options->data_dir,
                      "Where the state lives (default: $SWEEP_DATA_DIR, else "
                      "$XDG_DATA_HOME/sweep, else ~/.local/share/sweep)");
  command
      ->add_option("--lease-timeout-ms", options->manager.lease_timeout_ms,
                   "A running trial whose agent is silent this long is "
                   "marked crashed")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{200}, int64_t{86'400'000}));
  command
      ->add_option("--heartbeat-interval-ms",
                   options->manager.heartbeat_interval_ms,
                   "How often agents are asked to heartbeat")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{50}, int64_t{3'600'000}));
  command
      ->add_option("--sync", *sync,
                   "full: fsync each group commit (survives power loss); "
                   "normal: survives a controller crash only")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  auto token_file = std::make_shared<std::string>();
  command->add_option("--token-file", *token_file,
                      "Require on every call the token this file holds "
                      "(default: $SWEEP_TOKEN when set; clients send "
                      "$SWEEP_TOKEN)");
  CLI::Option* tls_cert =
      command->add_option("--tls-cert", options->tls_cert_file,
                          "PEM certificate chain: serve TLS only (clients use "
                          "https://HOST:PORT)");
  CLI::Option* tls_key = command->add_option("--tls-key", options->tls_key_file,
                                             "PEM private key of --tls-cert");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  command->callback([options, sync, token_file, run] {
    *run = [options, sync, token_file] {
      if (options->data_dir.empty()) options->data_dir = DefaultDataDir();
      options->store.synchronous_full = *sync == "full";
      absl::StatusOr<std::string> token = ServerToken(*token_file);
      if (!token.ok()) {
        std::cerr << "sweep server: " << token.status().message() << "\n";
        return 2;
      }
      options->token = *std::move(token);
      return RunServerCommand(*options);
    };
  });
}

void RegisterAgentCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<AgentOptions>();
  options->controller.clear();  // Empty: $SWEEP_CONTROLLER, else the default.
  auto gpus = std::make_shared<std::string>();
  auto grace_seconds = std::make_shared<double>(10.0);
  CLI::App* command = app.add_subcommand(
      "agent", "Pull trials of a sweep and run them until the sweep is done");
  AddSweepIdArgument(command, &options->sweep_id);
  command->add_option("--controller", options->controller,
                      "Controller address host:port (default: "
                      "$SWEEP_CONTROLLER, else localhost:7420)");
  command
      ->add_option("--count", options->count,
                   "Run at most this many trials, then exit")
      ->check(WholeNumberAtLeast(0));
  command->add_option("--gpus", *gpus,
                      "auto (ask nvidia-smi) or a list like 0,1,3; each "
                      "trial gets its own CUDA_VISIBLE_DEVICES");
  command
      ->add_option("--gpus-per-trial", options->gpus_per_trial,
                   "GPUs each trial gets")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command
      ->add_option("--slots", options->slots,
                   "Trials run at once (default: 1, or one per GPU group)")
      ->check(CLI::Range(1, 1024));
  command
      ->add_option("--workdir", options->workdir,
                   "Where trial directories (params, metrics, logs) go")
      ->capture_default_str();
  command
      ->add_option("--max-consecutive-failures",
                   options->max_consecutive_failures,
                   "Exit (status 2) after this many failed trials in a row; "
                   "0 never")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(0));
  command
      ->add_option("--kill-grace", *grace_seconds,
                   "Seconds between SIGTERM and SIGKILL when stopping a "
                   "trial")
      ->capture_default_str()
      ->check(SecondsBetween(0, 3600));
  command->add_option("--interpreter", options->interpreter,
                      "What ${interpreter} runs (default: python, or python3 "
                      "where there is no python)");
  command->add_flag("--wandb-shim", options->wandb_shim,
                    "Put a W&B-compatible `wandb` module first on PYTHONPATH "
                    "so unmodified W&B scripts report here");
  command->add_flag("--stdout-metrics", options->stdout_metrics,
                    "Also read metrics from the program's output: "
                    "`name=value` or `name: value` tokens, JSON objects or "
                    "Python dicts");
  command->add_option("--name", options->name,
                      "A stable identity: a restarted agent with the same "
                      "name learns which of its trials were lost; its id "
                      "(shown by `sweep trials`) starts with the name");
  command->callback([options, gpus, grace_seconds, run, command] {
    *run = [options, gpus, grace_seconds, command] {
      AgentOptions resolved = *options;
      resolved.controller = ResolveControllerAddress(resolved.controller);
      resolved.token = TokenFromEnvironment();
      absl::StatusOr<GpuPlan> plan = PlanGpus(
          *gpus,
          command->count("--gpus-per-trial") > 0 ? resolved.gpus_per_trial : 0,
          command->count("--slots") > 0 ? resolved.slots : 0,
          /*cpu_slots=*/1, "--slots");
      if (!plan.ok()) {
        std::cerr << "sweep agent: " << plan.status().message() << "\n";
        return 2;
      }
      for (const std::string& note : plan->notes) {
        std::cerr << "sweep agent: " << note << "\n";
      }
      resolved.gpus = plan->gpus;
      resolved.gpus_per_trial = plan->gpus_per_trial;
      resolved.slots = plan->slots;
      resolved.kill_grace = std::chrono::milliseconds(
          static_cast<int64_t>(*grace_seconds * 1000));
      resolved.check_program =
          resolved.interpreter.empty() ||
          RunsScriptFromWorkingDirectory(resolved.interpreter);
      if (!resolved.interpreter.empty()) {
        if (absl::Status usable = CheckInterpreter(resolved.interpreter);
            !usable.ok()) {
          std::cerr << "sweep agent: --interpreter: " << usable.message()
                    << "\n";
          return 2;
        }
      }
      if (resolved.interpreter.empty()) {
        const char* path = std::getenv("PATH");
        resolved.interpreter =
            DefaultInterpreter(path ? path : kDefaultSearchPath);
      }
      // No default name: agents sharing a host and directory must not take
      // each other for a restarted agent. With --name, a restart is noticed.
      resolved.python_client_dir = PythonClientDir();
      if (resolved.wandb_shim) {
        if (absl::Status shim = CheckWandbShim(resolved.python_client_dir);
            !shim.ok()) {
          std::cerr << "sweep agent: --wandb-shim: " << shim.message() << "\n";
          return 2;
        }
      }
      // Before taking a trial: a node that cannot write its trials' files
      // would fail every trial it took (and finish a grid of failures).
      if (absl::Status usable = CheckWritableDirectory(resolved.workdir);
          !usable.ok()) {
        std::cerr << "sweep agent: cannot use --workdir " << resolved.workdir
                  << " for the trials' files: " << usable.message() << "\n";
        return 2;
      }
      return RunAgentCommand(resolved);
    };
  });
}

}  // namespace sweep
