// Running one trial's program: execve in its own process group, stdin from
// /dev/null, stdout and stderr to a pipe or appended to a log file, and
// stopping the whole
// group (SIGTERM, then SIGKILL after a grace period) without ever blocking
// the agent's loop.
#ifndef SWEEP_AGENT_PROCESS_H_
#define SWEEP_AGENT_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep {

// What to run. The program never goes through a shell: `argv` is the argv of
// execve, token for token.
struct ProcessLaunchSpec {
  // argv[0] names the program: a path (containing '/', relative to
  // `working_dir`) or a name looked up on the PATH of `env` (on
  // kDefaultSearchPath when `env` has none). The program sees argv[0] as
  // given, like execvp does.
  std::vector<std::string> argv;
  // The program's whole environment, "K=V" each; nothing else is inherited.
  std::vector<std::string> env;
  // Empty means the agent's own working directory.
  std::string working_dir;
  // stdout and stderr are appended to this file, created 0644 (less the
  // umask) if missing...
  std::string log_path;
  // ...unless this is a descriptor (an OutputCopier's pipe): then they are
  // it, and `log_path` is unused.
  int output_fd = -1;
  // An entry of `env` ("NAME=value") unique to this launch, or empty. The
  // processes of this user that carry it in their environment are the
  // program's too, wherever they went: a launcher's workers in sessions of
  // their own (torchrun starts each with setsid) are stopped and killed with
  // the group.
  std::string tag;
  // When the program exits by itself while others of its group or tag still
  // run (a helper finishing an upload), they get SIGTERM and this long
  // before SIGKILL; zero: SIGKILL at once.
  std::chrono::steady_clock::duration end_grace{0};
};

// A process of this user (not this one) whose environment has the entry
// `tag_name`: its pid, that entry's value and the value of `also` (empty when
// it has none). A zombie has no environment to read, so it is not found.
struct TaggedProcess {
  pid_t pid = 0;
  std::string tag;
  std::string also;
  std::string cgroup;  // ProcessCgroup(pid).
};

// What /proc/PID/cgroup says (the cgroups `pid` is in); empty when it cannot
// be read.
std::string ProcessCgroup(pid_t pid);
// When process `pid` started, in clock ticks after boot (/proc/PID/stat);
// nullopt when there is no such process or it has exited (a zombie).
std::optional<unsigned long long> ProcessStartTime(pid_t pid);
// Whether the process that was `pid`, started at `start` (as
// ProcessStartTime gave it), has ended: no process has the pid, it is a
// zombie, or another process (started at another time) has it. False when
// it cannot be told (/proc hidden): taken to run.
bool ProcessEnded(pid_t pid, unsigned long long start);
std::vector<TaggedProcess> FindTaggedProcesses(absl::string_view tag_name,
                                               absl::string_view also);

// How a process ended.
struct ProcessExit {
  enum class Kind {
    kExited,    // `code` is the exit status.
    kSignaled,  // `code` is the signal number.
    kUnknown,   // Reaped by someone else (the agent ignores SIGCHLD?).
  };
  Kind kind = Kind::kUnknown;
  int code = 0;
  bool core_dumped = false;

  bool success() const { return kind == Kind::kExited && code == 0; }
  // "exit code 3", "killed by signal 15 (Terminated)", ...
  std::string ToString() const;
};

// One running trial program and its process group (the group id is the
// program's pid). Every method returns promptly, except the destructor of a
// process that was never reaped (see there).
//
// The group is killed with SIGKILL as soon as the program itself has exited,
// so helpers it leaves behind (data loader workers, a grandchild ignoring
// SIGTERM) never outlive the trial; except during a stop (RequestStop), where
// the whole group gets the grace period: once the program has exited, Tick
// lets the rest of its group finish their own SIGTERM handling until the
// group is empty or the grace is over. The group is signalled while the program
// is still an unreaped zombie, so its pid, hence the group id, cannot have
// been reused by an unrelated process. A descendant that moves itself to
// another process group or session escapes this; nothing short of cgroups
// catches that.
//
// Requirements on the agent: it must not ignore SIGCHLD (children would be
// reaped by the kernel and their exit lost) and nothing else may wait for
// this pid.
//
// Thread-compatible: one thread (the agent's loop) drives an instance.
class TrialProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the program. Fails without leaving any process behind:
  // InvalidArgument for an empty argv or malformed env entry, NotFound or
  // PermissionDenied when the program cannot be run ("cannot run 'python':
  // No such file or directory"), and the errno's code when the log file,
  // the working directory or the fork fails, each message naming the
  // program and what failed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TrialProcess>> Start(
      const ProcessLaunchSpec& spec);

  TrialProcess(const TrialProcess&) = delete;
  TrialProcess& operator=(const TrialProcess&) = delete;

  // A program that has not been reaped yet has its group killed with SIGKILL
  // and is then reaped, which blocks until the kernel has torn it down.
  ~TrialProcess();

  // The program's pid, which is also its process group id.
  pid_t pid() const { return pid_; }

  // The exit, once TryWait or Tick has reaped the program.
  const std::optional<ProcessExit>& exit() const { return exit_; }

  // Non-blocking: nullopt while the program runs. Once it has exited, kills
  // what is left of its group, reaps it and returns its exit (every later
  // call returns the same).
  std::optional<ProcessExit> TryWait();

  // SIGTERM / SIGKILL to the whole group (and the processes carrying the
  // launch's tag). No-ops once the program has been reaped (the group was
  // killed then). Errors only on an unexpected errno.
  absl::Status Terminate();
  absl::Status Kill();

  // The stop state machine the agent's loop drives: RequestStop sends
  // SIGTERM to the group (the first call only) and arms a SIGKILL for
  // `now + grace`; Tick(now) reaps like TryWait, except that after a stop
  // it waits (returning nullopt) while other members of the group still run
  // and the grace is not over, and sends that SIGKILL once due. Call Kill()
  // directly to escalate early (a third Ctrl-C).
  absl::Status RequestStop(Clock::time_point now, Clock::duration grace);
  std::optional<ProcessExit> Tick(Clock::time_point now);

  bool stop_requested() const { return kill_deadline_.has_value(); }
  // When the program's exit was first seen (what is left of its group may
  // have had a grace after that); unset before.
  std::optional<Clock::time_point> exited_at() const { return exited_at_; }
  bool kill_sent() const { return kill_sent_; }

 private:
  TrialProcess(pid_t pid, std::string tag,
               std::chrono::steady_clock::duration end_grace)
      : pid_(pid), tag_(std::move(tag)), end_grace_(end_grace) {}

  // Each of `signals` in turn to the group and to the tagged processes.
  absl::Status SignalGroup(std::initializer_list<int> signals);
  // Whether the program has exited (it stays an unreaped zombie).
  bool HasExited();
  // Kills what is left of the group and reaps the exited program.
  std::optional<ProcessExit> Reap();

  const pid_t pid_;
  const std::string tag_;
  const std::chrono::steady_clock::duration end_grace_;
  std::optional<ProcessExit> exit_;
  std::optional<Clock::time_point> kill_deadline_;
  bool kill_sent_ = false;
  siginfo_t exited_info_{};  // How the program exited, once HasExited().
  std::optional<Clock::time_point> exited_at_;
  // After a stop: whether the group (or the tag) still had other members at
  // the last look, and when to look again.
  bool group_has_others_ = true;
  Clock::time_point next_group_scan_;
};

}  // namespace sweep

#endif  // SWEEP_AGENT_PROCESS_H_
