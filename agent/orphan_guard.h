// No orphans, even when the agent itself is killed: a small guard process,
// forked when the agent starts, holds one end of a socket pair and the list
// of the process groups the agent's trials run in. When the agent dies
// without ending them (SIGKILL, the OOM killer, a crash), the kernel closes
// the agent's end; the guard then sends each group SIGTERM, and each process
// whose environment holds the tag of a trial's launch (the agent's
// SWEEP_RUN_TAG: workers that left the group, as torchrun's do), waits up
// to the kill grace for them to go, SIGKILLs what is left and exits. When the
// agent exits normally it has ended its trials itself, and the guard exits with
// nothing to do.
//
// The trial programs run in process groups of their own (so that a stop
// reaches their children too), which is why the agent's death alone would
// not end them: nothing else would ever tell a training run on a GPU that
// nobody is listening any more.
//
// A trial's output goes through a pipe the agent copies into its log (see
// OutputCopier); the guard holds the pipe's other end and the log too, so
// that a program stopping after the agent died can still write (a closed
// pipe would kill it, or make a Python print raise), and what it writes
// still reaches its log.
//
// Limits: a group is told to the guard just after its program started and
// forgotten just after it was reaped, so an agent killed in the first
// instant leaves that program running, and a group id reused in the second
// could be signalled; a descendant that leaves its process group and drops
// the tag from its environment escapes, as it escapes a stop. A tagged
// process in uninterruptible sleep ('D') is passed over, as by the agent:
// reading its environment could block the guard.
//
// Thread-safe.
#ifndef SWEEP_AGENT_ORPHAN_GUARD_H_
#define SWEEP_AGENT_ORPHAN_GUARD_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/unique_fd.h"

namespace sweep {

class OrphanGuard {
 public:
  // Forks the guard. Call before other threads start where possible (the
  // guard only makes async-signal-safe calls, so a later fork works too).
  static absl::StatusOr<std::unique_ptr<OrphanGuard>> Start(
      std::chrono::milliseconds kill_grace);

  // Tells the guard to exit, then reaps it.
  ~OrphanGuard();

  OrphanGuard(const OrphanGuard&) = delete;
  OrphanGuard& operator=(const OrphanGuard&) = delete;

  // The guard ends `group` should the agent die, and the processes whose
  // environment holds `tag` (a whole entry, "NAME=value"; empty or longer
  // than kMaxTagBytes: none), copying what the group writes to `output` (a
  // pipe's read end, non-blocking) into `log` until then (-1 for none; both
  // are duplicated). At most kMaxGroups at once.
  void Watch(pid_t group, int output = -1, int log = -1,
             absl::string_view tag = {});
  // The agent has ended `group` itself.
  void Forget(pid_t group);

  // A guard that died (killed by someone) is of no use: when it has, forks
  // a new one, tells it every group being watched and returns what happened
  // (for the agent's log); nullopt while it runs. Watch() does the same.
  std::optional<std::string> Revive();

  pid_t pid();

  static constexpr int kMaxGroups = 4096;
  static constexpr int kMaxTagBytes = 256;

 private:
  struct Process {
    int fd;  // The agent's end of the socket pair.
    pid_t pid;
  };
  OrphanGuard(Process process, std::chrono::milliseconds kill_grace)
      : kill_grace_(kill_grace), process_(process) {}
  static absl::StatusOr<Process> Spawn(std::chrono::milliseconds kill_grace);
  std::optional<std::string> ReviveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a group (with its output descriptors when they are valid).
  void SendLocked(int32_t message, const UniqueFd* output = nullptr,
                  const UniqueFd* log = nullptr, absl::string_view tag = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Output {
    UniqueFd pipe;  // Read end.
    UniqueFd log;
    std::string tag;
  };

  const std::chrono::milliseconds kill_grace_;
  absl::Mutex mu_;
  Process process_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pid_t, Output> groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sweep

#endif  // SWEEP_AGENT_ORPHAN_GUARD_H_
