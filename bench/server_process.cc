#include "bench/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace sweep::bench {
namespace {

constexpr char kListeningMarker[] = "listening on ";

std::string ErrnoText(const std::string& what) {
  return absl::StrCat(what, ": ", std::string(std::strerror(errno)));
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

// Waits for `pid` to exit, up to `timeout`; then kills it and reaps it.
// Returns the wait status and whether it exited within the timeout.
std::pair<int, bool> WaitOrKill(pid_t pid, absl::Duration timeout) {
  int status = 0;
  absl::Notification exited;
  std::thread waiter([pid, &status, &exited] {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    exited.Notify();
  });
  const bool in_time = exited.WaitForNotificationWithTimeout(timeout);
  if (!in_time) kill(pid, SIGKILL);
  waiter.join();
  return {status, in_time};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& argv, absl::Duration startup_timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(ErrnoText("pipe2"));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(ErrnoText("fork"));
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<ServerProcess> process(new ServerProcess(pid, fds[0]));
  if (absl::Status status = process->AwaitListening(startup_timeout);
      !status.ok()) {
    (void)process->Stop(absl::ZeroDuration());
    return absl::UnavailableError(absl::StrCat(
        argv[0], ": ", status.message(), "; it printed: ", process->output_));
  }
  return process;
}

ServerProcess::~ServerProcess() { (void)Stop(); }

std::string ServerProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

absl::Status ServerProcess::AwaitListening(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t marker = output_.find(kListeningMarker);
    const size_t line_end = marker == std::string::npos
                                ? std::string::npos
                                : output_.find('\n', marker);
    if (line_end != std::string::npos) {
      const size_t begin = marker + std::strlen(kListeningMarker);
      std::string endpoint = output_.substr(begin, line_end - begin);
      endpoint = endpoint.substr(0, endpoint.find(' '));
      const size_t colon = endpoint.rfind(':');
      if (colon == std::string::npos ||
          !absl::SimpleAtoi(endpoint.substr(colon + 1), &port_) || port_ <= 0) {
        return absl::InternalError(
            absl::StrCat("cannot read a port in \"", endpoint, "\""));
      }
      return absl::OkStatus();
    }
    const int64_t remaining_ms =
        absl::ToInt64Milliseconds(deadline - absl::Now());
    if (remaining_ms <= 0) {
      return absl::DeadlineExceededError("no \"listening on\" line in time");
    }
    pollfd poll_fd{stdout_fd_, POLLIN, 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(remaining_ms));
    if (ready < 0 && errno != EINTR) {
      return absl::InternalError(ErrnoText("poll"));
    }
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
    if (n == 0) return absl::UnavailableError("it exited before listening");
    if (n < 0 && errno != EINTR) return absl::InternalError(ErrnoText("read"));
    if (n > 0) output_.append(buffer, static_cast<size_t>(n));
  }
}

absl::StatusOr<int64_t> ServerProcess::RssKib() const {
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int64_t kib = 0;
    if (fields >> kib) return kib;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid_));
}

absl::StatusOr<double> ServerProcess::CpuSeconds() const {
  std::ifstream stat_file(absl::StrCat("/proc/", pid_, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  // The command name may hold spaces; the fields after it do not. utime and
  // stime are fields 14 and 15, the 12th and 13th after the name.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("no /proc stat for pid ", pid_));
  }
  std::istringstream fields(stat.substr(name_end + 1));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i) {
    if (i >= 12) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

absl::Status ServerProcess::Stop(absl::Duration grace) {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  kill(pid_, SIGTERM);
  const auto [status, in_time] = WaitOrKill(pid_, grace);
  // The child has exited: whatever it printed is in the pipe.
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(stdout_fd_, buffer, sizeof buffer)) > 0) {
    output_.append(buffer, static_cast<size_t>(n));
  }
  close(stdout_fd_);
  stdout_fd_ = -1;
  if (!in_time) {
    return absl::DeadlineExceededError(
        absl::StrCat("pid ", pid_, " ignored SIGTERM for ",
                     absl::FormatDuration(grace), "; killed"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("pid ", pid_, " ended with ", DescribeWaitStatus(status)));
  }
  return absl::OkStatus();
}

}  // namespace sweep::bench
