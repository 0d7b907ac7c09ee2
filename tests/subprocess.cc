#include "tests/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gtest/gtest.h"

extern char** environ;

namespace sweep::testing {
namespace {

using Clock = std::chrono::steady_clock;

void ReadAvailable(int fd, std::string& into, bool& open) {
  char buffer[65536];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0) {
    into.append(buffer, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    open = false;
  }
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::string NameOf(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

ExitStatus DecodeWaitStatus(int status) {
  ExitStatus exit;
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.term_signal = WTERMSIG(status);
  return exit;
}

// The complete lines of `text`; the unterminated rest too when `closed`.
std::vector<std::string> SplitLines(const std::string& text, bool closed) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (closed && start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

int RemoveEntry(const char* path, const struct stat*, int, FTW*) {
  std::remove(path);
  return 0;
}

}  // namespace

std::vector<std::string> EnvironmentWith(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool overridden = false;
    for (const std::string& o : overrides) {
      overridden = overridden || NameOf(o) == NameOf(entry);
    }
    if (!overridden) env.push_back(entry);
  }
  for (const std::string& o : overrides) {
    if (o.find('=') != std::string::npos) env.push_back(o);
  }
  return env;
}

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout,
                         const std::vector<std::string>& extra_env,
                         const std::string& input) {
  ProcessResult result;
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  std::vector<std::string> env_strings = EnvironmentWith(extra_env);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> envp = NullTerminated(env_strings);
  std::vector<char*> args = NullTerminated(argv_copy);

  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    setpgid(0, 0);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!input.empty()) {
    // Small inputs only: larger ones would need interleaving with reads.
    [[maybe_unused]] ssize_t n = write(in_pipe[1], input.data(), input.size());
  }
  close(in_pipe[1]);

  const auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    fds[0].fd = out_open ? out_pipe[0] : -1;
    fds[1].fd = err_open ? err_pipe[0] : -1;
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      ReadAvailable(out_pipe[0], result.out, out_open);
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      ReadAvailable(err_pipe[0], result.err, err_open);
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

std::string SweepBinary() {
  const char* path = std::getenv("SWEEP_BINARY");
  return path != nullptr ? path : SWEEP_BINARY_PATH;
}

std::string SourceDir() {
  const char* path = std::getenv("SWEEP_SOURCE_DIR");
  return path != nullptr ? path : SWEEP_SOURCE_DIR_PATH;
}

// ---------------------------------------------------------------------------
// BackgroundProcess

std::unique_ptr<BackgroundProcess> BackgroundProcess::Start(
    const std::vector<std::string>& argv, const LaunchOptions& options) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return nullptr;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return nullptr;
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<std::string> env_strings = EnvironmentWith(options.extra_env);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> envp = NullTerminated(env_strings);
  std::vector<char*> args = NullTerminated(argv_copy);
  const char* working_dir =
      options.working_dir.empty() ? nullptr : options.working_dir.c_str();

  const pid_t pid = fork();
  if (pid == 0) {
    // Async-signal-safe calls only: the test may run other threads.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (working_dir != nullptr && chdir(working_dir) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(null_fd);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return nullptr;
  }
  // Also here, so that a kill of the group right after Start reaches it.
  setpgid(pid, pid);
  std::unique_ptr<BackgroundProcess> process(new BackgroundProcess());
  process->pid_ = pid;
  process->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  BackgroundProcess* self = process.get();
  process->reader_ = std::thread([self, out = out_pipe[0], err = err_pipe[0]] {
    self->ReadOutput(out, err);
  });
  process->waiter_ = std::thread([self] { self->AwaitExit(); });
  return process;
}

BackgroundProcess::~BackgroundProcess() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exited_) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
    }
  }
  waiter_.join();
  {
    // Whatever is still in the pipes is worth keeping; descendants that
    // hold them open do not keep the test waiting long.
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(2),
                      [this] { return !out_open_ && !err_open_; });
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  reader_.join();
  close(wake_fd_);
}

void BackgroundProcess::ReadOutput(int out_fd, int err_fd) {
  bool out_open = true, err_open = true, woken = false;
  while ((out_open || err_open) && !woken) {
    pollfd fds[3] = {{out_open ? out_fd : -1, POLLIN, 0},
                     {err_open ? err_fd : -1, POLLIN, 0},
                     {wake_fd_, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    std::string out_chunk, err_chunk;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ReadAvailable(out_fd, out_chunk, out_open);
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ReadAvailable(err_fd, err_chunk, err_open);
    }
    woken = (fds[2].revents & POLLIN) != 0;
    std::lock_guard<std::mutex> lock(mu_);
    out_ += out_chunk;
    err_ += err_chunk;
    out_open_ = out_open && !woken;
    err_open_ = err_open && !woken;
    changed_.notify_all();
  }
  close(out_fd);
  close(err_fd);
  std::lock_guard<std::mutex> lock(mu_);
  out_open_ = false;
  err_open_ = false;
  changed_.notify_all();
}

void BackgroundProcess::AwaitExit() {
  // WNOWAIT leaves the child a zombie until it is reaped under mu_, so
  // Signal() never signals a pid that may have been reused.
  siginfo_t info;
  while (waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(mu_);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = DecodeWaitStatus(status);
  exited_ = true;
  changed_.notify_all();
}

bool BackgroundProcess::Signal(int signal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (exited_) return false;
  return kill(pid_, signal) == 0;
}

bool BackgroundProcess::exited() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exited_;
}

std::string BackgroundProcess::Output(Stream stream) const {
  std::lock_guard<std::mutex> lock(mu_);
  return stream == Stream::kStdout ? out_ : err_;
}

std::vector<std::string> BackgroundProcess::MatchingLinesLocked(
    Stream stream,
    const std::function<bool(const std::string&)>& matches) const {
  const bool out = stream == Stream::kStdout;
  std::vector<std::string> found;
  for (std::string& line :
       SplitLines(out ? out_ : err_, !(out ? out_open_ : err_open_))) {
    if (matches(line)) found.push_back(std::move(line));
  }
  return found;
}

std::optional<std::string> BackgroundProcess::WaitForMatch(
    Stream stream, const std::function<bool(const std::string&)>& matches,
    std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<std::string> line;
  changed_.wait_for(lock, timeout, [&] {
    std::vector<std::string> found = MatchingLinesLocked(stream, matches);
    if (!found.empty()) line = found.front();
    return line.has_value() ||
           !(stream == Stream::kStdout ? out_open_ : err_open_);
  });
  return line;
}

std::optional<std::string> BackgroundProcess::WaitForLine(
    Stream stream, const std::string& text, std::chrono::milliseconds timeout) {
  return WaitForMatch(
      stream,
      [&text](const std::string& line) {
        return line.find(text) != std::string::npos;
      },
      timeout);
}

std::optional<std::string> BackgroundProcess::WaitForLine(
    Stream stream, const std::regex& pattern,
    std::chrono::milliseconds timeout) {
  return WaitForMatch(
      stream,
      [&pattern](const std::string& line) {
        return std::regex_search(line, pattern);
      },
      timeout);
}

bool BackgroundProcess::WaitForLines(Stream stream, const std::regex& pattern,
                                     int count,
                                     std::chrono::milliseconds timeout) {
  const auto matches = [&pattern](const std::string& line) {
    return std::regex_search(line, pattern);
  };
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] {
    return static_cast<int>(MatchingLinesLocked(stream, matches).size()) >=
           count;
  });
}

std::optional<ExitStatus> BackgroundProcess::WaitForExit(
    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  if (!changed_.wait_until(lock, deadline, [this] { return exited_; })) {
    return std::nullopt;
  }
  changed_.wait_until(lock, deadline,
                      [this] { return !out_open_ && !err_open_; });
  return exit_status_;
}

// ---------------------------------------------------------------------------
// Files, ports, polling.

ScopedTempDir::ScopedTempDir(const std::string& prefix) {
  std::string dir = ::testing::TempDir();
  if (!dir.empty() && dir.back() != '/') dir += '/';
  std::string pattern = dir + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  if (path_.empty()) return;
  if (std::getenv("SWEEP_KEEP_TEST_DIRS") != nullptr) {
    std::cerr << "keeping " << path_ << "\n";
    return;
  }
  nftw(path_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

std::string ScopedTempDir::Path(const std::string& name) const {
  return path_ + "/" + name;
}

bool WriteFile(const std::string& path, const std::string& contents,
               bool executable) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out.good()) return false;
  }
  return chmod(path.c_str(), executable ? 0755 : 0644) == 0;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

bool PollUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() + interval > deadline) return condition();
    std::this_thread::sleep_for(interval);
  }
}

ServerProcess StartServer(const std::string& data_dir, int port,
                          const std::vector<std::string>& extra_args,
                          std::chrono::milliseconds timeout) {
  return StartServerOn("127.0.0.1", data_dir, port, extra_args, timeout);
}

ServerProcess StartServerOn(const std::string& host,
                            const std::string& data_dir, int port,
                            const std::vector<std::string>& extra_args,
                            std::chrono::milliseconds timeout) {
  ServerProcess server;
  std::vector<std::string> argv = {
      SweepBinary(), "server", "--listen", host + ":" + std::to_string(port),
      "--data-dir",  data_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::unique_ptr<BackgroundProcess> process = BackgroundProcess::Start(argv);
  if (process == nullptr) {
    server.error = "cannot start " + SweepBinary();
    return server;
  }
  const std::regex listening(R"(^sweep server listening on [0-9.]+:([0-9]+) )");
  const std::optional<std::string> line =
      process->WaitForLine(Stream::kStdout, listening, timeout);
  std::smatch match;
  if (!line || !std::regex_search(*line, match, listening)) {
    server.error = "the server did not say it was listening; stderr: " +
                   process->Output(Stream::kStderr);
    return server;
  }
  server.port = std::stoi(match[1].str());
  server.address = (host == "0.0.0.0" ? std::string("127.0.0.1") : host) + ":" +
                   match[1].str();
  server.process = std::move(process);
  return server;
}

}  // namespace sweep::testing
