#include "agent/orphan_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sweep {
namespace {

constexpr int kGuardFd = 3;

void SleepMs(long ms) {
  timespec delay{ms / 1000, (ms % 1000) * 1'000'000L};
  while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
  }
}

// The guard process. Async-signal-safe calls only (it may be forked from a
// multithreaded agent), and no allocation: the groups live in a fixed array.
[[noreturn]] void RunGuard(int fd, long grace_ms) {
  // Signals meant for the agent (Ctrl-C to the terminal's group, a SIGTERM
  // to the agent's group) must not end the guard: it ends when the agent's
  // end of the socket closes.
  struct sigaction ignore;
  __builtin_memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    sigaction(signal, &ignore, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_NAME, "sweep-guard", 0, 0, 0);
  // A group of its own: a SIGKILL to the agent's whole process group (kill
  // -9 -PGID, a supervisor stopping a job) must leave it to do its work.
  setpgid(0, 0);
  if (fd != kGuardFd) {
    dup2(fd, kGuardFd);
    close(fd);
  }
  const int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
  }
  close_range(kGuardFd + 1, ~0U, 0);

  static pid_t groups[OrphanGuard::kMaxGroups];
  int count = 0;
  unsigned char buffer[4 * 256];
  size_t held = 0;
  for (;;) {
    const ssize_t n = read(kGuardFd, buffer + held, sizeof(buffer) - held);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // The agent is gone (or closed its end on exit).
    held += static_cast<size_t>(n);
    size_t used = 0;
    for (; used + 4 <= held; used += 4) {
      int32_t message;
      __builtin_memcpy(&message, buffer + used, 4);
      if (message > 0) {
        if (count < OrphanGuard::kMaxGroups) groups[count++] = message;
      } else {
        for (int i = 0; i < count; ++i) {
          if (groups[i] == -message) {
            groups[i] = groups[--count];
            break;
          }
        }
      }
    }
    for (size_t i = used; i < held; ++i) buffer[i - used] = buffer[i];
    held -= used;
  }
  // What the agent did not end: SIGTERM, the grace, then SIGKILL.
  for (int i = 0; i < count; ++i) {
    kill(-groups[i], SIGTERM);
    kill(-groups[i], SIGCONT);
  }
  for (long waited = 0; waited < grace_ms; waited += 50) {
    bool any = false;
    for (int i = 0; i < count && !any; ++i) any = kill(-groups[i], 0) == 0;
    if (!any) break;
    SleepMs(50);
  }
  for (int i = 0; i < count; ++i) kill(-groups[i], SIGKILL);
  _exit(0);
}

}  // namespace

absl::StatusOr<OrphanGuard::Process> OrphanGuard::Spawn(
    std::chrono::milliseconds kill_grace) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::ErrnoToStatus(errno, "orphan guard: socketpair");
  }
  // Never on 0, 1 or 2 (an agent started with stdio closed): its log lines
  // would go into the socket.
  for (int& fd : fds) {
    if (fd > 2) continue;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      const int error = errno;
      close(fds[0]);
      close(fds[1]);
      return absl::ErrnoToStatus(error, "orphan guard: fcntl");
    }
    close(fd);
    fd = moved;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    return absl::ErrnoToStatus(error, "orphan guard: fork");
  }
  if (pid == 0) {
    close(fds[0]);
    RunGuard(fds[1], static_cast<long>(kill_grace.count()));
  }
  close(fds[1]);
  return Process{fds[0], pid};
}

absl::StatusOr<std::unique_ptr<OrphanGuard>> OrphanGuard::Start(
    std::chrono::milliseconds kill_grace) {
  absl::StatusOr<Process> process = Spawn(kill_grace);
  if (!process.ok()) return process.status();
  return std::unique_ptr<OrphanGuard>(new OrphanGuard(*process, kill_grace));
}

OrphanGuard::~OrphanGuard() {
  absl::MutexLock lock(&mu_);
  if (process_.fd < 0) return;  // Already reaped.
  close(process_.fd);
  while (waitpid(process_.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

pid_t OrphanGuard::pid() {
  absl::MutexLock lock(&mu_);
  return process_.pid;
}

std::optional<std::string> OrphanGuard::Revive() {
  absl::MutexLock lock(&mu_);
  return ReviveLocked();
}

std::optional<std::string> OrphanGuard::ReviveLocked() {
  // A guard already reaped (whose restart failed) is not waited for again:
  // its pid may be another process's by now.
  if (process_.fd >= 0) {
    int status = 0;
    pid_t ended;
    do {
      ended = waitpid(process_.pid, &status, WNOHANG);
    } while (ended < 0 && errno == EINTR);
    if (ended != process_.pid) return std::nullopt;  // Still running.
    close(process_.fd);
    process_.fd = -1;
  }
  const pid_t dead = process_.pid;
  absl::StatusOr<Process> process = Spawn(kill_grace_);
  if (!process.ok()) {
    // Sends skip a closed descriptor; the next call tries again.
    return absl::StrCat("the orphan guard (pid ", dead,
                        ") died and could not be restarted (trying again): ",
                        process.status().message());
  }
  process_ = *process;
  for (const pid_t group : groups_) SendLocked(static_cast<int32_t>(group));
  return absl::StrCat("the orphan guard (pid ", dead,
                      ") died; restarted as pid ", process_.pid, " with the ",
                      groups_.size(), " running trials' process groups");
}

void OrphanGuard::SendLocked(int32_t message) {
  if (process_.fd < 0) return;
  const char* data = reinterpret_cast<const char*>(&message);
  size_t left = sizeof(message);
  while (left > 0) {
    // MSG_NOSIGNAL: a guard that died must not take the agent with it.
    const ssize_t n = send(process_.fd, data, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void OrphanGuard::Watch(pid_t group) {
  if (group <= 0) return;
  absl::MutexLock lock(&mu_);
  groups_.insert(group);
  // A guard that died is revived with every group, this one included.
  if (!ReviveLocked().has_value()) SendLocked(static_cast<int32_t>(group));
}

void OrphanGuard::Forget(pid_t group) {
  if (group <= 0) return;
  absl::MutexLock lock(&mu_);
  groups_.erase(group);
  SendLocked(-static_cast<int32_t>(group));
}

}  // namespace sweep
