#include "agent/process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/program_lookup.h"
#include "agent/unique_fd.h"

namespace sweep {
namespace {

// ErrnoToStatus appends ": <strerror>" to the message.
absl::Status CannotRun(absl::string_view program, int error,
                       absl::string_view what) {
  return absl::ErrnoToStatus(error,
                             absl::StrCat("cannot run '", program, "'",
                                          what.empty() ? "" : ": ", what));
}

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
  if (spec.log_path.empty() || HasNul(spec.log_path) ||
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

// Everything the child needs, prepared before fork: after fork in a
// multithreaded agent, the child may only make async-signal-safe calls.
struct ChildPlan {
  std::string path;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* working_dir = nullptr;
  int stdin_fd = -1;
  int log_fd = -1;
  int error_pipe = -1;
};

std::vector<char*> NullTerminated(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    pointers.push_back(const_cast<char*>(s.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// Where in the child a launch failed; sent with errno over the error pipe.
enum class ChildStage : int { kProcessGroup, kRedirect, kWorkingDir, kExec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

[[noreturn]] void FailChild(int error_pipe, ChildStage stage) {
  ChildFailure failure{stage, errno};
  // A single write below PIPE_BUF is atomic; nothing to do if it fails.
  ssize_t ignored = write(error_pipe, &failure, sizeof(failure));
  (void)ignored;
  _exit(127);
}

void ResetSignals() {
  struct sigaction default_action;
  memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) {
    sigaction(signal, &default_action, nullptr);  // Fails for KILL, STOP.
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void RunChild(const ChildPlan& plan) {
  ResetSignals();
  if (setpgid(0, 0) != 0) FailChild(plan.error_pipe, ChildStage::kProcessGroup);
  if (dup2(plan.stdin_fd, STDIN_FILENO) < 0 ||
      dup2(plan.log_fd, STDOUT_FILENO) < 0 ||
      dup2(plan.log_fd, STDERR_FILENO) < 0) {
    FailChild(plan.error_pipe, ChildStage::kRedirect);
  }
#ifdef CLOSE_RANGE_CLOEXEC
  // Descriptors the agent leaked without O_CLOEXEC stay out of the trial.
  close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
  if (plan.working_dir != nullptr && chdir(plan.working_dir) != 0) {
    FailChild(plan.error_pipe, ChildStage::kWorkingDir);
  }
  execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  FailChild(plan.error_pipe, ChildStage::kExec);
}

// Forks a child that runs `plan`; returns its pid.
absl::StatusOr<pid_t> Fork(const ChildPlan& plan, absl::string_view program) {
  // Block every signal across fork so that no agent handler runs in the child
  // before it has reset the dispositions.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  const int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return CannotRun(program, fork_error, "fork");
  return pid;
}

absl::Status ChildFailureStatus(const ChildFailure& failure,
                                const ProcessLaunchSpec& spec,
                                const std::string& path) {
  const std::string& program = spec.argv[0];
  switch (failure.stage) {
    case ChildStage::kProcessGroup:
      return CannotRun(program, failure.error, "setpgid");
    case ChildStage::kRedirect:
      return CannotRun(program, failure.error, "redirecting stdio");
    case ChildStage::kWorkingDir:
      return CannotRun(
          program, failure.error,
          absl::StrCat("working directory '", spec.working_dir, "'"));
    case ChildStage::kExec:
      break;
  }
  absl::Status status = CannotRun(program, failure.error, "");
  if (failure.error == ENOENT && access(path.c_str(), F_OK) == 0) {
    // The file exists, so what is missing is its "#!" interpreter.
    return absl::Status(status.code(), absl::StrCat(status.message(),
                                                    " (the interpreter on "
                                                    "its #! line?)"));
  }
  return status;
}

// Blocks until the child has exec'd (EOF on the close-on-exec pipe) or
// reported why it could not; in the latter case reaps it.
absl::Status AwaitExec(int read_end, pid_t pid, const ProcessLaunchSpec& spec,
                       const std::string& path) {
  ChildFailure failure;
  ssize_t n;
  do {
    n = read(read_end, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return absl::OkStatus();
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(failure))) {
    return absl::InternalError(absl::StrCat(
        "cannot run '", spec.argv[0], "': lost the child's launch report"));
  }
  return ChildFailureStatus(failure, spec, path);
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

}  // namespace

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
  absl::StatusOr<UniqueFd> log =
      OpenFd(spec.log_path, O_WRONLY | O_CREAT | O_APPEND, program, "log file");
  if (!log.ok()) return log.status();
  absl::StatusOr<UniqueFd> null_input =
      OpenFd("/dev/null", O_RDONLY, program, "stdin");
  if (!null_input.ok()) return null_input.status();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return CannotRun(program, errno, "pipe");
  UniqueFd read_end(pipe_fds[0]);
  absl::StatusOr<UniqueFd> write_end = AboveStdio(UniqueFd(pipe_fds[1]));
  if (!write_end.ok()) return write_end.status();

  ChildPlan plan;
  plan.path = *path;
  plan.argv = NullTerminated(spec.argv);
  plan.envp = NullTerminated(spec.env);
  plan.working_dir =
      spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  plan.stdin_fd = null_input->get();
  plan.log_fd = log->get();
  plan.error_pipe = write_end->get();

  absl::StatusOr<pid_t> pid = Fork(plan, program);
  if (!pid.ok()) return pid.status();
  write_end->Reset();
  absl::Status launched = AwaitExec(read_end.get(), *pid, spec, *path);
  if (!launched.ok()) return launched;
  return std::unique_ptr<TrialProcess>(new TrialProcess(*pid));
}

TrialProcess::~TrialProcess() {
  if (exit_.has_value()) return;
  kill(-pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::optional<ProcessExit> TrialProcess::TryWait() {
  if (exit_.has_value()) return exit_;
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  // WNOWAIT leaves the program a zombie, which keeps its pid (the group id)
  // from being reused while the rest of the group is killed.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return std::nullopt;
    exit_ = ProcessExit{};  // ECHILD: someone else reaped it.
    return exit_;
  }
  if (info.si_pid == 0) return std::nullopt;
  kill(-pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  exit_ = ExitFromSiginfo(info);
  return exit_;
}

absl::Status TrialProcess::SignalGroup(int signal) {
  if (exit_.has_value()) return absl::OkStatus();
  if (kill(-pid_, signal) != 0 && errno != ESRCH) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("cannot signal process group ", pid_));
  }
  return absl::OkStatus();
}

absl::Status TrialProcess::Terminate() {
  absl::Status status = SignalGroup(SIGTERM);
  // A stopped member would not act on SIGTERM until continued.
  if (status.ok()) status = SignalGroup(SIGCONT);
  return status;
}

absl::Status TrialProcess::Kill() {
  kill_sent_ = true;
  return SignalGroup(SIGKILL);
}

absl::Status TrialProcess::RequestStop(Clock::time_point now,
                                       Clock::duration grace) {
  if (exit_.has_value() || kill_deadline_.has_value()) return absl::OkStatus();
  kill_deadline_ = now + grace;
  return Terminate();
}

std::optional<ProcessExit> TrialProcess::Tick(Clock::time_point now) {
  if (std::optional<ProcessExit> exit = TryWait()) return exit;
  if (kill_deadline_.has_value() && !kill_sent_ && now >= *kill_deadline_) {
    // Kill() fails only when no member may be signalled (EPERM after a
    // setuid exec); there is nothing better to do then, and the status is
    // observable by calling Kill() directly.
    Kill().IgnoreError();
  }
  return std::nullopt;
}

}  // namespace sweep
