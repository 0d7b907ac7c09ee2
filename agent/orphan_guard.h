// No orphans, even when the agent itself is killed: a small guard process,
// forked when the agent starts, holds one end of a socket pair and the list
// of the process groups the agent's trials run in. When the agent dies
// without ending them (SIGKILL, the OOM killer, a crash), the kernel closes
// the agent's end; the guard then sends each group SIGTERM, waits up to the
// kill grace for them to go, SIGKILLs what is left and exits. When the agent
// exits normally it has ended its trials itself, and the guard exits with
// nothing to do.
//
// The trial programs run in process groups of their own (so that a stop
// reaches their children too), which is why the agent's death alone would
// not end them: nothing else would ever tell a training run on a GPU that
// nobody is listening any more.
//
// Limits: a group is told to the guard just after its program started and
// forgotten just after it was reaped, so an agent killed in the first
// instant leaves that program running, and a group id reused in the second
// could be signalled; a descendant that leaves its process group escapes,
// as it escapes a stop.
//
// Thread-safe.
#ifndef SWEEP_AGENT_ORPHAN_GUARD_H_
#define SWEEP_AGENT_ORPHAN_GUARD_H_

#include <sys/types.h>

#include <chrono>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

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

  // The guard ends `group` should the agent die. At most kMaxGroups at once.
  void Watch(pid_t group);
  // The agent has ended `group` itself.
  void Forget(pid_t group);

  pid_t pid() const { return pid_; }

  static constexpr int kMaxGroups = 4096;

 private:
  OrphanGuard(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  void Send(int32_t message);

  absl::Mutex mu_;
  const int fd_;  // The agent's end; writes under mu_.
  const pid_t pid_;
};

}  // namespace sweep

#endif  // SWEEP_AGENT_ORPHAN_GUARD_H_
