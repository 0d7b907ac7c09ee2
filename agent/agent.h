// The agent: registers with the controller for one sweep, pulls trials and
// runs them, up to `slots` at once, each in its own process group with its
// own GPUs; streams their metrics back in sequence-numbered batches; carries
// out stop and kill orders; exits by itself when the sweep is done, --count
// trials were taken, or too many trials failed in a row.
//
// Threads: one worker per slot (acquire, launch, watch one trial), one
// sender that delivers reports and finishes in order with retries, one
// heartbeat. While the controller is away, metrics wait in the program's
// metrics file (the agent stops reading it when its in-memory buffer is
// full), so nothing is lost and memory stays bounded. Thread-safe.
#ifndef SWEEP_AGENT_AGENT_H_
#define SWEEP_AGENT_AGENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep {

class OrphanGuard;

struct AgentOptions {
  std::string sweep_id;
  std::string controller = "localhost:7420";
  // Sent with every call when the controller requires a token ($SWEEP_TOKEN
  // for `sweep agent`). Never passed on to trials.
  std::string token;
  int64_t count = 0;  // Trials to take; 0 = until the sweep is done.
  int slots = 1;
  // GPU ids this agent owns ("0", "1", ...); empty: CPU slots.
  std::vector<std::string> gpus;
  int gpus_per_trial = 1;
  std::string workdir = "sweep-runs";
  int max_consecutive_failures = 5;
  std::chrono::milliseconds kill_grace{10'000};
  std::string interpreter;  // Empty: python, or python3 where none.
  // Check before the first trial that a `${interpreter} ${program}` script
  // is in the working directory (off when --interpreter names something
  // other than a plain interpreter, a wrapper that may run it elsewhere).
  bool check_program = true;
  bool wandb_shim = false;
  bool stdout_metrics = false;  // Also parse `name=value` lines of stdout.
  // A stable identity across agent restarts (default: none, every agent is
  // new). An agent registering again under its name learns which of its
  // previous trials were lost.
  std::string name;
  // Where sweep_client.py and the wandb shim live.
  std::string python_client_dir;
  // How often a running trial is looked at (exit, metrics, orders).
  std::chrono::milliseconds poll_interval{20};
  // Metrics are sent when this many points wait, or the oldest waited this
  // long.
  int batch_points = 200;
  std::chrono::milliseconds batch_delay{200};
  // Points held in memory while the controller is away before the agent
  // stops reading metrics files (they wait on disk).
  int64_t max_buffered_points = 100'000;
  bool quiet = false;  // No progress lines on stderr.
  // Told about every trial's process group, so that it can end them should
  // this process die (agent/orphan_guard.h). Not owned; may be null.
  OrphanGuard* orphan_guard = nullptr;
};

// The outcome of Agent::Run.
// What begins each line an agent logs while it runs: the local time, for
// logs kept for days ("2026-11-25 01:05:03 sweep agent: ").
std::string AgentLogPrefix();

struct AgentResult {
  int exit_code = 0;  // 0: sweep done, count reached, or drained on a signal.
  std::string reason;
  // Ended by a signal's shutdown before the sweep or the count ended it.
  bool interrupted = false;
  int64_t trials_run = 0;
};

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();

  // Runs until the agent is done; blocks.
  AgentResult Run();

  // 1: take no new trials, let running ones finish, deliver what is queued.
  // 2: terminate running programs (SIGTERM, SIGKILL after the grace); with
  // none running, as 3. 3: kill them now, and give what is queued (their
  // last reports and finishes) one attempt each, for at most 3 s. Callable
  // from any thread (a signal-handling thread, a test). Returns what it
  // does, for the agent's log ("terminating 2 running trials ...").
  std::string Shutdown(int level);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// `sweep agent`: runs an agent with SIGINT/SIGTERM escalating through the
// Shutdown levels. Returns the process exit status.
int RunAgentCommand(AgentOptions options);

// The ids in CUDA_VISIBLE_DEVICES when it is set (the GPUs a scheduler gave
// this job; as CUDA reads it, up to the first entry that is no GPU id, so
// "-1" means none), else from `nvidia-smi` (on PATH); empty (CPU slots) with
// *note saying why. An error when nvidia-smi is there but fails (a broken
// driver: running on the CPU instead would be a surprise), or when an id is
// listed twice.
absl::StatusOr<std::vector<std::string>> DetectGpus(std::string* note);

// Whether `id` names a GPU as CUDA_VISIBLE_DEVICES does: an index (0, 1, ...)
// or a UUID (GPU-..., MIG-...).
bool IsGpuId(absl::string_view id);

// The ids of a --gpus list ("0,1", " 2, 3"), trimmed: InvalidArgument naming
// an entry that is no GPU id (IsGpuId), an empty one, or one listed twice.
absl::StatusOr<std::vector<std::string>> ParseGpuList(absl::string_view list);

// How a node's trials share its GPUs.
struct GpuPlan {
  std::vector<std::string> gpus;  // Those in use, in groups; empty: none.
  int gpus_per_trial = 1;
  int slots = 1;  // Trials at once: one per group of gpus_per_trial.
  std::vector<std::string> notes;  // For the user: where the GPUs came from,
                                   // what is left idle.
};

// What --gpus (`gpus`: "auto" for DetectGpus, a list for ParseGpuList, ""
// for none), --gpus-per-trial (`gpus_per_trial`, given or 0) and the flag
// that sets how many trials run at once (`slots`, given or 0; named
// `slots_flag` in messages) make: with GPUs, one slot per group unless fewer
// are asked for; without, `slots` (default `cpu_slots`). Errors name the
// flag at fault.
absl::StatusOr<GpuPlan> PlanGpus(absl::string_view gpus, int gpus_per_trial,
                                 int slots, int cpu_slots,
                                 absl::string_view slots_flag);

}  // namespace sweep

#endif  // SWEEP_AGENT_AGENT_H_
