#include "agent/orphan_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sweep {
namespace {

constexpr int kGuardFd = 3;
// A group message's flags: its output's pipe and log come with it; its
// launch's tag follows it (a 4-byte length, then the tag's bytes).
constexpr int32_t kWithOutput = int32_t{1} << 30;
constexpr int32_t kWithTag = int32_t{1} << 29;
constexpr int32_t kFlags = kWithOutput | kWithTag;
constexpr int kMaxTag = OrphanGuard::kMaxTagBytes;

bool IsTag(const char* entry, int length, const char (*tags)[kMaxTag],
           const int* tag_lengths, int count) {
  for (int i = 0; i < count; ++i) {
    if (tag_lengths[i] > 0 && tag_lengths[i] == length &&
        __builtin_memcmp(tags[i], entry, static_cast<size_t>(length)) == 0) {
      return true;
    }
  }
  return false;
}

// Whether process `pid`'s environment holds one of `tags` (whole entries,
// "NAME=value"), with *group its process group. Async-signal-safe: streams
// /proc/PID/environ through a fixed buffer. A process in uninterruptible
// sleep is passed over (reading its environment can block as long as it
// does), as the agent does.
bool HasTag(const char* pid, const char (*tags)[kMaxTag],
            const int* tag_lengths, int count, pid_t* group) {
  char path[64] = "/proc/";
  size_t at = 6;
  for (const char* c = pid; *c != '\0' && at < 40; ++c) path[at++] = *c;
  static char buffer[16 << 10];
  __builtin_memcpy(path + at, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n <= 0) return false;
  // The state follows the last ')' (the name may hold any byte).
  ssize_t paren = n - 1;
  while (paren >= 0 && buffer[paren] != ')') --paren;
  if (paren < 0 || paren + 2 >= n) return false;
  const char state = buffer[paren + 2];
  if (state == 'D' || state == 'Z' || state == 'X') return false;
  // ") S PPID PGRP ...": the group is the second number after the state.
  buffer[n] = '\0';
  const char* field = buffer + paren + 3;
  for (int skip = 0; skip < 2 && *field != '\0'; ++field) {
    if (*field == ' ') ++skip;
  }
  *group = 0;
  for (; *field >= '0' && *field <= '9'; ++field) {
    *group = *group * 10 + (*field - '0');
  }

  __builtin_memcpy(path + at, "/environ", 9);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // Gone, or another user's.
  static char entry[kMaxTag];
  int length = 0;  // Of the entry so far; kMaxTag + 1: too long for a tag.
  bool found = false;
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (ssize_t i = 0; i < got && !found; ++i) {
      if (buffer[i] == '\0') {
        found =
            length <= kMaxTag && IsTag(entry, length, tags, tag_lengths, count);
        length = 0;
      } else if (length < kMaxTag) {
        entry[length++] = buffer[i];
      } else {
        length = kMaxTag + 1;
      }
    }
    if (found) break;
  }
  close(fd);
  return found;
}

// Sends `signal` to every process whose environment holds one of `tags`
// (launches' processes that left their group: setsid workers), but this
// one, and but those in `groups` when `skip_groups` (signalled with their
// group: a launcher given SIGTERM twice may cut its own shutdown short);
// with signal 0, only counts them. Async-signal-safe: /proc is read with
// getdents64 into a fixed buffer. Returns how many it found.
int SignalTagged(const char (*tags)[kMaxTag], const int* tag_lengths, int count,
                 const pid_t* groups, bool skip_groups, int signal) {
  bool any = false;
  for (int i = 0; i < count && !any; ++i) any = tag_lengths[i] > 0;
  if (!any) return 0;
  const int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return 0;
  const pid_t self = getpid();
  alignas(8) static char entries[32 << 10];
  int found = 0;
  for (;;) {
    const long got = syscall(SYS_getdents64, proc, entries, sizeof(entries));
    if (got <= 0) break;
    for (long at = 0; at < got;) {
      // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
      unsigned short record = 0;
      __builtin_memcpy(&record, entries + at + 16, sizeof(record));
      const char* name = entries + at + 19;
      at += record;
      if (record == 0) break;
      pid_t pid = 0;
      bool numeric = *name != '\0';
      for (const char* c = name; *c != '\0' && numeric; ++c) {
        numeric = *c >= '0' && *c <= '9' && pid < 100'000'000;
        pid = pid * 10 + (*c - '0');
      }
      if (!numeric || pid == self) continue;
      pid_t group = 0;
      if (!HasTag(name, tags, tag_lengths, count, &group)) continue;
      ++found;
      bool in_a_group = false;
      for (int i = 0; i < count && skip_groups && !in_a_group; ++i) {
        in_a_group = groups[i] == group;
      }
      if (in_a_group) continue;
      if (signal != 0) {
        kill(pid, signal);
        if (signal == SIGTERM) kill(pid, SIGCONT);
      }
    }
  }
  close(proc);
  return found;
}

// Copies what each pipe holds into its log (async-signal-safe).
void DrainOutputs(const int* pipes, const int* logs, int count) {
  static char buffer[64 << 10];
  for (int i = 0; i < count; ++i) {
    if (pipes[i] < 0) continue;
    // At most a few buffers a call: a writer that keeps writing does not
    // hold the guard here.
    for (int rounds = 0; rounds < 16; ++rounds) {
      const ssize_t n = read(pipes[i], buffer, sizeof(buffer));
      if (n <= 0) break;  // Empty (EAGAIN), or every writer gone.
      for (ssize_t done = 0; done < n;) {
        const ssize_t written = write(logs[i], buffer + done, n - done);
        if (written <= 0) break;  // A full disk: dropped.
        done += written;
      }
    }
  }
}

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
  // SIGXFSZ: a log past ulimit -f fails a write instead of ending it.
  for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ}) {
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
  static int pipes[OrphanGuard::kMaxGroups];
  static int logs[OrphanGuard::kMaxGroups];
  // Each group's launch's tag (an environment entry; length 0: none).
  static char tags[OrphanGuard::kMaxGroups][kMaxTag];
  static int tag_lengths[OrphanGuard::kMaxGroups];
  int count = 0;
  // Descriptors received and not yet given to their group, in order: a
  // message's arrive with its first byte, before it is whole.
  static int received[2 * OrphanGuard::kMaxGroups];
  int received_count = 0;
  const auto take = [&]() {
    if (received_count == 0) return -1;
    const int fd = received[0];
    for (int i = 1; i < received_count; ++i) received[i - 1] = received[i];
    --received_count;
    return fd;
  };
  unsigned char buffer[8 * 256 + kMaxTag];
  alignas(cmsghdr) static char control[CMSG_SPACE(sizeof(int) * 256)];
  size_t held = 0;
  for (;;) {
    iovec io{buffer + held, sizeof(buffer) - held};
    msghdr message_header;
    __builtin_memset(&message_header, 0, sizeof(message_header));
    message_header.msg_iov = &io;
    message_header.msg_iovlen = 1;
    message_header.msg_control = control;
    message_header.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(kGuardFd, &message_header, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // The agent is gone (or closed its end on exit).
    for (cmsghdr* c = CMSG_FIRSTHDR(&message_header); c != nullptr;
         c = CMSG_NXTHDR(&message_header, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const int fds =
          static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < fds; ++i) {
        int fd;
        __builtin_memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (received_count < 2 * OrphanGuard::kMaxGroups) {
          received[received_count++] = fd;
        } else {
          close(fd);
        }
      }
    }
    held += static_cast<size_t>(n);
    size_t used = 0;
    while (used + 4 <= held) {
      int32_t message;
      __builtin_memcpy(&message, buffer + used, 4);
      int32_t tag_length = 0;
      if (message > 0 && (message & kWithTag) != 0) {
        if (used + 8 > held) break;  // The rest is on its way.
        __builtin_memcpy(&tag_length, buffer + used + 4, 4);
        if (tag_length <= 0 || tag_length > kMaxTag) _exit(1);  // Not ours.
        if (used + 8 + static_cast<size_t>(tag_length) > held) break;
      }
      const unsigned char* tag = tag_length > 0 ? buffer + used + 8 : buffer;
      used += tag_length > 0 ? 8 + static_cast<size_t>(tag_length) : 4;
      if (message > 0) {
        const bool with_output = (message & kWithOutput) != 0;
        const int pipe = with_output ? take() : -1;
        const int log = with_output ? take() : -1;
        if (count < OrphanGuard::kMaxGroups) {
          groups[count] = message & ~kFlags;
          pipes[count] = pipe;
          logs[count] = log;
          tag_lengths[count] = tag_length;
          __builtin_memcpy(tags[count], tag, static_cast<size_t>(tag_length));
          ++count;
        } else {
          if (pipe >= 0) close(pipe);
          if (log >= 0) close(log);
        }
      } else {
        for (int i = 0; i < count; ++i) {
          if (groups[i] == -message) {
            if (pipes[i] >= 0) close(pipes[i]);
            if (logs[i] >= 0) close(logs[i]);
            --count;
            groups[i] = groups[count];
            pipes[i] = pipes[count];
            logs[i] = logs[count];
            tag_lengths[i] = tag_lengths[count];
            __builtin_memcpy(tags[i], tags[count],
                             static_cast<size_t>(tag_lengths[count]));
            break;
          }
        }
      }
    }
    for (size_t i = used; i < held; ++i) buffer[i - used] = buffer[i];
    held -= used;
  }
  // What the agent did not end, each group and the processes carrying its
  // launch's tag: SIGTERM, the grace, then SIGKILL; what they write
  // meanwhile goes on into their logs.
  for (int i = 0; i < count; ++i) {
    kill(-groups[i], SIGTERM);
    kill(-groups[i], SIGCONT);
  }
  SignalTagged(tags, tag_lengths, count, groups, /*skip_groups=*/true, SIGTERM);
  for (long waited = 0; waited < grace_ms; waited += 50) {
    DrainOutputs(pipes, logs, count);
    bool any = false;
    for (int i = 0; i < count && !any; ++i) any = kill(-groups[i], 0) == 0;
    if (!any) {
      any = SignalTagged(tags, tag_lengths, count, groups, false, 0) > 0;
    }
    if (!any) break;
    SleepMs(50);
  }
  for (int i = 0; i < count; ++i) kill(-groups[i], SIGKILL);
  SignalTagged(tags, tag_lengths, count, groups, false, SIGKILL);
  DrainOutputs(pipes, logs, count);
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
  for (const auto& [group, output] : groups_) {
    SendLocked(static_cast<int32_t>(group), &output.pipe, &output.log,
               output.tag);
  }
  return absl::StrCat("the orphan guard (pid ", dead,
                      ") died; restarted as pid ", process_.pid, " with the ",
                      groups_.size(), " running trials' process groups");
}

void OrphanGuard::SendLocked(int32_t message, const UniqueFd* output,
                             const UniqueFd* log, absl::string_view tag) {
  if (process_.fd < 0) return;
  const bool with_output =
      output != nullptr && log != nullptr && output->valid() && log->valid();
  if (with_output) message |= kWithOutput;
  const bool with_tag = !tag.empty() && tag.size() <= kMaxTagBytes;
  if (with_tag) message |= kWithTag;
  char bytes[8 + kMaxTagBytes];
  std::memcpy(bytes, &message, 4);
  size_t left = 4;
  if (with_tag) {
    const int32_t length = static_cast<int32_t>(tag.size());
    std::memcpy(bytes + 4, &length, 4);
    std::memcpy(bytes + 8, tag.data(), tag.size());
    left = 8 + tag.size();
  }
  const char* data = bytes;
  bool fds_sent = !with_output;
  while (left > 0) {
    iovec io{const_cast<char*>(data), left};
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    if (!fds_sent) {
      // With the message's first byte (SCM_RIGHTS).
      header.msg_control = control;
      header.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&header);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(2 * sizeof(int));
      const int fds[2] = {output->get(), log->get()};
      std::memcpy(CMSG_DATA(c), fds, sizeof(fds));
    }
    // MSG_NOSIGNAL: a guard that died must not take the agent with it.
    const ssize_t n = sendmsg(process_.fd, &header, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    fds_sent = true;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void OrphanGuard::Watch(pid_t group, int output, int log,
                        absl::string_view tag) {
  if (group <= 0) return;
  absl::MutexLock lock(&mu_);
  Output& held = groups_[group];
  held.tag = std::string(tag);
  if (output >= 0 && log >= 0) {
    held.pipe.Reset(fcntl(output, F_DUPFD_CLOEXEC, 3));
    held.log.Reset(fcntl(log, F_DUPFD_CLOEXEC, 3));
  }
  // A guard that died is revived with every group, this one included.
  if (!ReviveLocked().has_value()) {
    SendLocked(static_cast<int32_t>(group), &held.pipe, &held.log, held.tag);
  }
}

void OrphanGuard::Forget(pid_t group) {
  if (group <= 0) return;
  absl::MutexLock lock(&mu_);
  groups_.erase(group);
  SendLocked(-static_cast<int32_t>(group));
}

}  // namespace sweep
