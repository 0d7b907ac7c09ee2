// `sweep agent`: signal handling around Agent, and GPU discovery.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/agent.h"
#include "agent/orphan_guard.h"
#include "agent/output_copier.h"
#include "search/status_macros.h"

extern char** environ;

namespace sweep {

bool IsGpuId(absl::string_view id) {
  if (id.empty()) return false;
  if (std::all_of(id.begin(), id.end(), absl::ascii_isdigit)) {
    return id.size() <= 9;  // An index; CUDA reads it as an int.
  }
  if (!absl::StartsWith(id, "GPU-") && !absl::StartsWith(id, "MIG-")) {
    return false;
  }
  // A UUID (GPU-8932f937-...), or MIG-GPU-<uuid>/<gi>/<ci> of old drivers.
  return id.size() > 4 && std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '-' || c == '/';
         });
}

absl::StatusOr<std::vector<std::string>> ParseGpuList(absl::string_view list) {
  std::vector<std::string> gpus;
  for (absl::string_view id : absl::StrSplit(list, ',')) {
    id = absl::StripAsciiWhitespace(id);
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", list, "\" has an empty entry"));
    }
    if (!IsGpuId(id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", id,
          "\" is no GPU id (an index such as 0, or a GPU-/MIG- UUID as "
          "nvidia-smi -L prints it)"));
    }
    if (std::find(gpus.begin(), gpus.end(), id) != gpus.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GPU ", id, " is listed twice; two trials would share it"));
    }
    gpus.emplace_back(id);
  }
  return gpus;
}

absl::StatusOr<GpuPlan> PlanGpus(absl::string_view gpus, int gpus_per_trial,
                                 int slots, int cpu_slots,
                                 absl::string_view slots_flag) {
  GpuPlan plan;
  std::vector<std::string> listed;
  if (gpus == "auto") {
    std::string note;
    ASSIGN_OR_RETURN(listed, DetectGpus(&note));
    if (!note.empty()) plan.notes.push_back(std::move(note));
  } else if (!gpus.empty()) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseGpuList(gpus);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--gpus: ", parsed.status().message()));
    }
    listed = *std::move(parsed);
  }
  if (listed.empty()) {
    if (gpus_per_trial > 0) {
      plan.notes.push_back(
          "--gpus-per-trial has no effect without --gpus (or --gpus auto "
          "finding none)");
    }
    plan.slots = slots > 0 ? slots : cpu_slots;
    return plan;
  }
  plan.gpus_per_trial = gpus_per_trial > 0 ? gpus_per_trial : 1;
  const int groups = static_cast<int>(listed.size()) / plan.gpus_per_trial;
  if (groups == 0) {
    // With where the GPUs came from (--gpus auto's note).
    return absl::InvalidArgumentError(absl::StrCat(
        "--gpus-per-trial ", plan.gpus_per_trial, " but only ", listed.size(),
        listed.size() == 1 ? " GPU" : " GPUs",
        plan.notes.empty()
            ? ""
            : absl::StrCat(" (", absl::StrJoin(plan.notes, "; "), ")")));
  }
  if (slots > groups) {
    plan.notes.push_back(absl::StrCat(
        slots_flag, " ", slots, " but ", listed.size(), " GPUs at ",
        plan.gpus_per_trial, " per trial run ", groups, " at once"));
  }
  plan.slots = slots > 0 ? std::min(slots, groups) : groups;
  const size_t used = static_cast<size_t>(plan.slots) *
                      static_cast<size_t>(plan.gpus_per_trial);
  if (used < listed.size()) {
    const size_t idle = listed.size() - used;
    plan.notes.push_back(
        absl::StrCat("warning: ", idle, idle == 1 ? " GPU" : " GPUs", " of ",
                     listed.size(), " left idle (", plan.slots, " at once, ",
                     plan.gpus_per_trial, " per trial)"));
  }
  listed.resize(used);
  plan.gpus = std::move(listed);
  return plan;
}

absl::StatusOr<std::vector<std::string>> DetectGpus(std::string* note) {
  // The GPUs a job scheduler gave this job (Slurm, Kubernetes' device
  // plugin, a shared node's convention): only those are the agent's.
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::vector<std::string> gpus;
    std::string ignored;
    for (absl::string_view id : absl::StrSplit(visible, ',')) {
      id = absl::StripAsciiWhitespace(id);
      if (!IsGpuId(id)) {
        // CUDA stops at the first entry that is no GPU id ("-1": none).
        if (!id.empty() || gpus.empty()) {
          ignored =
              absl::StrCat("; CUDA ignores \"", id, "\" and what follows");
        }
        break;
      }
      if (std::find(gpus.begin(), gpus.end(), id) != gpus.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("CUDA_VISIBLE_DEVICES (", visible, ") lists GPU ", id,
                         " twice; two trials would share it"));
      }
      gpus.emplace_back(id);
    }
    *note = gpus.empty() ? absl::StrCat("CUDA_VISIBLE_DEVICES (", visible,
                                        ") gives no GPU: running one CPU slot")
                         : absl::StrCat("GPUs from CUDA_VISIBLE_DEVICES (",
                                        visible, ")", ignored);
    return gpus;
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    *note = "cannot run nvidia-smi (pipe failed): running one CPU slot";
    return std::vector<std::string>();
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  char arg0[] = "nvidia-smi";
  char arg1[] = "--query-gpu=index";
  char arg2[] = "--format=csv,noheader";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawnp(&pid, "nvidia-smi", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string output;
  if (spawned == 0) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
      output.append(buffer, static_cast<size_t>(n));
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  if (spawned != 0) {
    *note = "nvidia-smi not found: running one CPU slot";
    return std::vector<std::string>();
  }
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string said(absl::StripAsciiWhitespace(output));
    if (absl::StrContains(said, "No devices were found")) {
      // A node with the driver's tools and no GPU (a CPU node of a mixed
      // cluster): nvidia-smi says so and exits 6.
      *note = "nvidia-smi found no GPU: running one CPU slot";
      return std::vector<std::string>();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "--gpus auto: nvidia-smi failed (",
        WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                          : absl::StrCat("signal ", WTERMSIG(status)),
        said.empty() ? "" : absl::StrCat(": ", said.substr(0, 500)),
        "); fix the driver, or give --gpus ids, or leave --gpus out to run "
        "on the CPU"));
  }
  std::vector<std::string> gpus;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) gpus.emplace_back(line);
  }
  if (gpus.empty()) *note = "nvidia-smi lists no GPU: running one CPU slot";
  return gpus;
}

int RunAgentCommand(AgentOptions options) {
  RaiseOpenFileLimit();
  // First, while this process has no other thread: the guard that ends the
  // trials' programs should the agent be killed (destroyed after the agent).
  absl::StatusOr<std::unique_ptr<OrphanGuard>> guard =
      OrphanGuard::Start(options.kill_grace);
  if (guard.ok()) {
    options.orphan_guard = guard->get();
  } else {
    std::cerr << "sweep agent: warning: " << guard.status().message()
              << "; trials would outlive a killed agent" << std::endl;
  }
  // SIGHUP (a closed terminal or ssh session) as SIGTERM; a closed stdout
  // or stderr (`sweep agent ... | head`) must not kill the agent between a
  // trial's end and its report. Trials start with every signal at its
  // default (agent/process.h).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Past a file size limit (ulimit -f) a write fails, as on a full disk,
  // instead of ending the agent (programs start with every signal's
  // default).
  signal(SIGXFSZ, SIG_IGN);

  Agent agent(options);
  std::atomic<bool> finished{false};
  std::atomic<int> first_signal{0};
  std::thread signal_thread([&] {
    int received = 0;
    const timespec poll{0, 200'000'000};
    while (!finished.load()) {
      const int signo = sigtimedwait(&signals, nullptr, &poll);
      if (signo < 0) continue;
      if (received++ == 0) first_signal = signo;
      const std::string doing = agent.Shutdown(std::min(received, 3));
      std::cerr << AgentLogPrefix() << doing << std::endl;
    }
  });
  const AgentResult result = agent.Run();
  finished = true;
  signal_thread.join();
  std::cerr << AgentLogPrefix() << "exiting after " << result.trials_run
            << (result.trials_run == 1 ? " trial: " : " trials: ")
            << result.reason << std::endl;
  if (result.exit_code == 0 && result.interrupted && first_signal != 0) {
    // As a shell reports it (130 for Ctrl-C, 143 for SIGTERM): a scheduler
    // or script can tell an agent it stopped from one whose sweep is done.
    return 128 + first_signal;
  }
  return result.exit_code;
}

}  // namespace sweep
