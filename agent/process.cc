#include "agent/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/program_lookup.h"
#include "agent/unique_fd.h"

namespace sweep {
namespace {

// ErrnoToStatus appends ": <strerror>" to the message.
absl::Status CannotRun(absl::string_view program, int error,
                       absl::string_view what) {
  absl::Status status =
      absl::ErrnoToStatus(error, absl::StrCat("cannot run '", program, "'",
                                              what.empty() ? "" : ": ", what));
  if (error != E2BIG) return status;
  return absl::Status(
      status.code(),
      absl::StrCat(status.message(),
                   " (the command line and environment together are over "
                   "the kernel's limit: pass long parameter values through "
                   "${args_json_file} or the trial's params file, "
                   "SWEEP_PARAMS_FILE)"));
}

// The kernel refuses a single argument or environment entry this long
// (MAX_ARG_STRLEN, 32 pages of 4 KiB, with its NUL) with E2BIG.
constexpr size_t kMaxArgumentBytes = 32 * 4096 - 1;

bool HasNul(const std::string& s) { return absl::StrContains(s, '\0'); }

absl::Status ValidateSpec(const ProcessLaunchSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return absl::InvalidArgumentError(
        "cannot run a trial: the command is empty");
  }
  for (size_t i = 0; i < spec.argv.size(); ++i) {
    if (HasNul(spec.argv[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot run '", spec.argv[0], "': argument ", i,
                       " contains a NUL byte"));
    }
    if (spec.argv[i].size() > kMaxArgumentBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot run '", spec.argv[0], "': argument ", i, " is ",
          spec.argv[i].size(),
          " bytes, over the kernel's 128 KiB limit for one argument: pass "
          "long parameter values through ${args_json_file} or the trial's "
          "params file (SWEEP_PARAMS_FILE)"));
    }
  }
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const std::string& entry = spec.env[i];
    size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 || HasNul(entry)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot run '", spec.argv[0], "': environment entry ", i,
                       " ('", entry.substr(0, equals), "') is not NAME=VALUE"));
    }
  }
  if ((spec.output_fd < 0 && spec.log_path.empty()) || HasNul(spec.log_path) ||
      HasNul(spec.working_dir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot run '", spec.argv[0],
                     "': invalid log path or working directory"));
  }
  return absl::OkStatus();
}

// Descriptors the child dup2s onto 0, 1 and 2 must not already be one of
// them (dup2(fd, fd) would keep O_CLOEXEC, and a later dup2 could clobber
// them), which happens when the agent itself runs with stdio closed.
absl::StatusOr<UniqueFd> AboveStdio(UniqueFd fd) {
  if (fd.get() > STDERR_FILENO) return fd;
  int moved = fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (moved < 0) return absl::ErrnoToStatus(errno, "fcntl(F_DUPFD_CLOEXEC)");
  return UniqueFd(moved);
}

absl::StatusOr<UniqueFd> OpenFd(const std::string& path, int flags,
                                absl::string_view program,
                                absl::string_view role) {
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY, 0644));
  if (fd.get() < 0) {
    return CannotRun(program, errno, absl::StrCat(role, " '", path, "'"));
  }
  return AboveStdio(std::move(fd));
}

std::vector<char*> NullTerminated(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    pointers.push_back(const_cast<char*>(s.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// posix_spawn's attributes and file actions, destroyed with the object.
class SpawnPlan {
 public:
  SpawnPlan() {
    posix_spawnattr_init(&attributes_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnPlan() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attributes_);
  }
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;

  posix_spawnattr_t* attributes() { return &attributes_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attributes_;
  posix_spawn_file_actions_t actions_;
};

// The child: every signal at its default and none blocked, a process group
// of its own, stdin from `stdin_fd`, stdout and stderr to `log_fd`, no other
// descriptor of the agent's, started in `working_dir` (when set). Errors are
// errno values from the setup.
int PrepareSpawn(SpawnPlan& plan, int stdin_fd, int log_fd,
                 const char* working_dir) {
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int error = posix_spawnattr_setflags(
      plan.attributes(),
      POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (error == 0) error = posix_spawnattr_setpgroup(plan.attributes(), 0);
  if (error == 0)
    error = posix_spawnattr_setsigdefault(plan.attributes(), &all);
  if (error == 0) error = posix_spawnattr_setsigmask(plan.attributes(), &none);
  posix_spawn_file_actions_t* actions = plan.actions();
  if (error == 0)
    error = posix_spawn_file_actions_adddup2(actions, stdin_fd, 0);
  if (error == 0) error = posix_spawn_file_actions_adddup2(actions, log_fd, 1);
  if (error == 0) error = posix_spawn_file_actions_adddup2(actions, log_fd, 2);
  // Descriptors the agent leaked without O_CLOEXEC stay out of the trial.
  if (error == 0) {
    error =
        posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1);
  }
  if (error == 0 && working_dir != nullptr) {
    error = posix_spawn_file_actions_addchdir_np(actions, working_dir);
  }
  return error;
}

ProcessExit ExitFromSiginfo(const siginfo_t& info) {
  ProcessExit exit;
  exit.code = info.si_status;
  switch (info.si_code) {
    case CLD_EXITED:
      exit.kind = ProcessExit::Kind::kExited;
      break;
    case CLD_DUMPED:
      exit.core_dumped = true;
      exit.kind = ProcessExit::Kind::kSignaled;
      break;
    default:
      exit.kind = ProcessExit::Kind::kSignaled;
      break;
  }
  return exit;
}

// How often Tick looks for what is left of a stopped program's group.
constexpr std::chrono::milliseconds kGroupScanInterval(50);

// What /proc/PID/stat says of a process that matters here.
struct ProcStat {
  char state = 0;
  long pgrp = 0;
  unsigned long long start = 0;  // Clock ticks after boot.
  bool mine = false;             // Run by this process's user.
};

std::optional<ProcStat> ReadProcStat(long pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buffer[1024];
  const ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  struct stat owner;
  ProcStat out;
  out.mine = fstat(fd, &owner) == 0 && owner.st_uid == geteuid();
  close(fd);
  if (n <= 0) return std::nullopt;
  buffer[n] = '\0';
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice threads
  // itrealvalue starttime ...": comm may hold spaces and ')'.
  const char* after = strrchr(buffer, ')');
  long ppid = 0;
  if (after == nullptr ||
      sscanf(after + 1,
             " %c %ld %ld %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
             "%*d %*d %*d %*d %llu",
             &out.state, &ppid, &out.pgrp, &out.start) != 4) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<unsigned long long> ProcessStartTime(pid_t pid) {
  const std::optional<ProcStat> stat = ReadProcStat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return stat->start;
}

bool ProcessEnded(pid_t pid, unsigned long long start) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  const std::optional<ProcStat> stat = ReadProcStat(pid);
  if (!stat) return false;
  return stat->state == 'Z' || stat->state == 'X' || stat->start != start;
}

namespace {

// The whole of /proc/PID/`name` into `out`; false when it cannot be read.
bool ReadProcFile(long pid, const char* name, std::string& out) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/%s", pid, name);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char chunk[4096];
  ssize_t got;
  while ((got = read(fd, chunk, sizeof chunk)) > 0) {
    out.append(chunk, static_cast<size_t>(got));
  }
  close(fd);
  return got == 0;
}

// The environment process `pid` started with ("K=V" entries, each ended by
// a NUL) into `out`; false when it cannot be read.
bool ReadEnviron(long pid, std::string& out) {
  return ReadProcFile(pid, "environ", out);
}

// Calls `visit` with the pid of each process but this one, until it
// returns true.
template <typename Visit>
void ForEachOtherProcess(Visit visit) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  const pid_t self = getpid();
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid == self) continue;
    if (visit(pid)) break;
  }
  closedir(proc);
}

// The live processes, other than `leader`, in the process group `leader` or
// (when `tag` is not empty) run by this user with `tag` among their
// environment's entries; zombies do not count. /proc's stat gives each
// process's state and group, its environ the environment it started with.
// `first_only`: stop at the first one found.
std::vector<pid_t> Stragglers(pid_t leader, const std::string& tag,
                              bool first_only) {
  std::vector<pid_t> found;
  std::optional<ProcStat> leader_stat = ReadProcStat(leader);
  std::string environ_text;
  ForEachOtherProcess([&](long pid) {
    if (pid == leader) return false;
    const std::optional<ProcStat> stat = ReadProcStat(pid);
    if (!stat || stat->state == 'Z' || stat->state == 'X') return false;
    bool straggler = stat->pgrp == leader;
    // The environment only of processes of this user that started after the
    // program (its descendants do) and are not in uninterruptible sleep: a
    // process stuck holding its memory map's lock (a hung NFS mount) would
    // hold up reading it.
    if (!straggler && !tag.empty() && stat->mine && stat->state != 'D' &&
        (!leader_stat || stat->start >= leader_stat->start) &&
        ReadEnviron(pid, environ_text)) {
      for (absl::string_view e : absl::StrSplit(environ_text, '\0')) {
        if (e == tag) {
          straggler = true;
          break;
        }
      }
    }
    if (!straggler) return false;
    found.push_back(static_cast<pid_t>(pid));
    return first_only;
  });
  return found;
}

// Sends `signals`, in order, to the processes carrying `tag` outside the
// group `leader` (the group is signalled as a whole): one scan for them all.
void SignalTagged(pid_t leader, const std::string& tag,
                  std::initializer_list<int> signals) {
  if (tag.empty()) return;
  for (pid_t pid : Stragglers(leader, tag, /*first_only=*/false)) {
    if (getpgid(pid) == leader) continue;
    for (int signal : signals) kill(pid, signal);
  }
}

}  // namespace

std::string ProcessCgroup(pid_t pid) {
  std::string out;
  if (!ReadProcFile(pid, "cgroup", out)) out.clear();
  return out;
}

std::vector<TaggedProcess> FindTaggedProcesses(absl::string_view tag_name,
                                               absl::string_view also) {
  std::vector<TaggedProcess> found;
  const std::string tag_prefix = absl::StrCat(tag_name, "=");
  const std::string also_prefix = absl::StrCat(also, "=");
  std::string environ_text;
  ForEachOtherProcess([&](long pid) {
    const std::optional<ProcStat> stat = ReadProcStat(pid);
    // Not a process stuck in uninterruptible sleep (see Stragglers).
    if (!stat || !stat->mine || stat->state == 'D' || stat->state == 'Z' ||
        stat->state == 'X' || !ReadEnviron(pid, environ_text)) {
      return false;
    }
    TaggedProcess process;
    process.pid = static_cast<pid_t>(pid);
    bool tagged = false;
    for (absl::string_view e : absl::StrSplit(environ_text, '\0')) {
      if (absl::StartsWith(e, tag_prefix)) {
        tagged = true;
        process.tag = std::string(e.substr(tag_prefix.size()));
      } else if (!also.empty() && absl::StartsWith(e, also_prefix)) {
        process.also = std::string(e.substr(also_prefix.size()));
      }
    }
    if (tagged) {
      process.cgroup = ProcessCgroup(process.pid);
      found.push_back(std::move(process));
    }
    return false;
  });
  return found;
}

std::string ProcessExit::ToString() const {
  switch (kind) {
    case Kind::kExited:
      return absl::StrCat("exit code ", code);
    case Kind::kSignaled: {
      const char* name = sigabbrev_np(code);
      return absl::StrCat(
          "killed by signal ", code,
          name == nullptr ? "" : absl::StrCat(" (SIG", name, ")"),
          core_dumped ? ", core dumped" : "");
    }
    case Kind::kUnknown:
      break;
  }
  return "exit status unknown";
}

absl::StatusOr<std::unique_ptr<TrialProcess>> TrialProcess::Start(
    const ProcessLaunchSpec& spec) {
  if (absl::Status valid = ValidateSpec(spec); !valid.ok()) return valid;
  const std::string& program = spec.argv[0];
  absl::StatusOr<std::string> path = ResolveProgram(
      program, FindEnvValue(spec.env, "PATH").value_or(kDefaultSearchPath));
  if (!path.ok()) return path.status();
  absl::StatusOr<UniqueFd> output =
      spec.output_fd >= 0
          ? UniqueFd(fcntl(spec.output_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1))
          : OpenFd(spec.log_path, O_WRONLY | O_CREAT | O_APPEND, program,
                   "log file");
  if (!output.ok()) return output.status();
  if (!output->valid()) return CannotRun(program, errno, "output descriptor");
  absl::StatusOr<UniqueFd> null_input =
      OpenFd("/dev/null", O_RDONLY, program, "stdin");
  if (!null_input.ok()) return null_input.status();
  // posix_spawn (glibc: clone with CLONE_VM | CLONE_VFORK) does not copy
  // the agent's page tables as fork would, and reports a failed exec's errno.
  SpawnPlan plan;
  const char* working_dir =
      spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  if (int error =
          PrepareSpawn(plan, null_input->get(), output->get(), working_dir);
      error != 0) {
    return CannotRun(program, error, "posix_spawn setup");
  }
  if (working_dir != nullptr && access(working_dir, X_OK) != 0) {
    return CannotRun(
        program, errno,
        absl::StrCat("working directory '", spec.working_dir, "'"));
  }
  std::vector<char*> argv = NullTerminated(spec.argv);
  std::vector<char*> envp = NullTerminated(spec.env);
  pid_t child = -1;
  if (int error = posix_spawn(&child, path->c_str(), plan.actions(),
                              plan.attributes(), argv.data(), envp.data());
      error != 0) {
    absl::Status status = CannotRun(program, error, "");
    if (error == ENOENT && access(path->c_str(), F_OK) == 0) {
      // The file exists, so what is missing is its "#!" interpreter.
      return absl::Status(status.code(), absl::StrCat(status.message(),
                                                      " (the interpreter on "
                                                      "its #! line?)"));
    }
    return status;
  }
  return std::unique_ptr<TrialProcess>(
      new TrialProcess(child, spec.tag, spec.end_grace));
}

TrialProcess::~TrialProcess() {
  if (exit_.has_value()) return;
  kill(-pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool TrialProcess::HasExited() {
  if (exit_.has_value()) return true;
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  // WNOWAIT leaves the program a zombie, which keeps its pid (the group id)
  // from being reused while the rest of the group is killed.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return false;
    exit_ = ProcessExit{};  // ECHILD: someone else reaped it.
    return true;
  }
  if (info.si_pid == 0) return false;
  if (exited_info_.si_pid == 0) exited_at_ = Clock::now();
  exited_info_ = info;
  return true;
}

std::optional<ProcessExit> TrialProcess::Reap() {
  if (exit_.has_value()) return exit_;
  kill(-pid_, SIGKILL);
  SignalTagged(pid_, tag_, {SIGKILL});
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  exit_ = ExitFromSiginfo(exited_info_);
  return exit_;
}

std::optional<ProcessExit> TrialProcess::TryWait() {
  if (!HasExited()) return std::nullopt;
  return Reap();
}

absl::Status TrialProcess::SignalGroup(std::initializer_list<int> signals) {
  if (exit_.has_value()) return absl::OkStatus();
  SignalTagged(pid_, tag_, signals);
  for (int signal : signals) {
    if (kill(-pid_, signal) != 0 && errno != ESRCH) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("cannot signal process group ", pid_));
    }
  }
  return absl::OkStatus();
}

absl::Status TrialProcess::Terminate() {
  // A stopped member would not act on SIGTERM until continued.
  return SignalGroup({SIGTERM, SIGCONT});
}

absl::Status TrialProcess::Kill() {
  kill_sent_ = true;
  return SignalGroup({SIGKILL});
}

absl::Status TrialProcess::RequestStop(Clock::time_point now,
                                       Clock::duration grace) {
  if (exit_.has_value() || kill_deadline_.has_value()) return absl::OkStatus();
  kill_deadline_ = now + grace;
  return Terminate();
}

std::optional<ProcessExit> TrialProcess::Tick(Clock::time_point now) {
  if (HasExited()) {
    if (!exit_.has_value() && !kill_deadline_.has_value() &&
        end_grace_ > Clock::duration::zero() &&
        !Stragglers(pid_, tag_, /*first_only=*/true).empty()) {
      // It ended by itself, leaving others of its own (a helper uploading
      // a checkpoint, a launcher's workers): they get SIGTERM and the grace,
      // as on a stop, not SIGKILL at once.
      RequestStop(now, end_grace_).IgnoreError();
      group_has_others_ = true;
      next_group_scan_ = now + kGroupScanInterval;
    }
    // After a stop, the rest of the group gets what is left of the grace.
    const bool grace_left =
        kill_deadline_.has_value() && !kill_sent_ && now < *kill_deadline_;
    if (grace_left && now >= next_group_scan_) {
      // A scan reads all of /proc: at most every kGroupScanInterval.
      group_has_others_ = !Stragglers(pid_, tag_, /*first_only=*/true).empty();
      next_group_scan_ = now + kGroupScanInterval;
    }
    if (exit_.has_value() || !grace_left || !group_has_others_) {
      return Reap();
    }
  }
  if (kill_deadline_.has_value() && !kill_sent_ && now >= *kill_deadline_) {
    // Kill() fails only when no member may be signalled (EPERM after a
    // setuid exec); there is nothing better to do then, and the status is
    // observable by calling Kill() directly.
    Kill().IgnoreError();
  }
  return std::nullopt;
}

}  // namespace sweep
