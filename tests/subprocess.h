// Runs real child processes for end-to-end tests: argv straight to execve
// (no shell), stdout and stderr captured, deadlines everywhere so a test can
// never hang.
//
// RunProcess runs a command to completion. BackgroundProcess starts a
// long-running child (the server, an agent), lets the test wait for lines of
// its output, signal it and wait for its exit, and kills it on destruction.
#ifndef SWEEP_TESTS_SUBPROCESS_H_
#define SWEEP_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace sweep::testing {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal.
  int term_signal = 0;  // The signal that ended it, if any.
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the given arguments and extra environment
// entries ("NAME=value", replacing an inherited entry of the same name),
// feeding `input` on stdin.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout,
                         const std::vector<std::string>& extra_env = {},
                         const std::string& input = "");

// The `sweep` binary under test (from the SWEEP_BINARY environment variable
// that CTest sets).
std::string SweepBinary();

// The repository root (SWEEP_SOURCE_DIR).
std::string SourceDir();

// This process's environment with `overrides` ("NAME=value") replacing the
// entries of the same name or added after them; an override without '='
// ("NAME") removes the variable.
std::vector<std::string> EnvironmentWith(
    const std::vector<std::string>& overrides);

enum class Stream { kStdout, kStderr };

// How a background process ended.
struct ExitStatus {
  int exit_code = -1;   // -1 when killed by a signal.
  int term_signal = 0;  // The signal that ended it, if any.
};

struct LaunchOptions {
  // "NAME=value" entries replacing or adding to the inherited environment.
  std::vector<std::string> extra_env;
  // Where the child starts; empty: this process's working directory.
  std::string working_dir;
};

// A child process running alongside the test, in its own process group,
// stdin from /dev/null. A reader thread collects stdout and stderr as they
// come (so the child never blocks on a full pipe), a waiter thread notices
// its exit. Every wait takes a timeout. The destructor SIGKILLs the child's
// process group if it still runs and reaps it. Thread-safe.
class BackgroundProcess {
 public:
  // Starts argv[0] (a path). A child that cannot exec exits with 127.
  static std::unique_ptr<BackgroundProcess> Start(
      const std::vector<std::string>& argv, const LaunchOptions& options = {});
  ~BackgroundProcess();

  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `signal` to the child itself (not its group). False once the child
  // has exited: its pid may not be signalled any more.
  bool Signal(int signal);

  // Waits until a complete line of `stream` (the last line counts once the
  // stream is closed) contains `text`, or matches `pattern` (regex_search),
  // and returns the first such line; nullopt when `timeout` passes or the
  // stream ends without one. Lines printed before the call count too.
  std::optional<std::string> WaitForLine(Stream stream, const std::string& text,
                                         std::chrono::milliseconds timeout);
  std::optional<std::string> WaitForLine(Stream stream,
                                         const std::regex& pattern,
                                         std::chrono::milliseconds timeout);
  // Waits until at least `count` lines of `stream` match `pattern`.
  bool WaitForLines(Stream stream, const std::regex& pattern, int count,
                    std::chrono::milliseconds timeout);

  // Everything the child printed on `stream` so far.
  std::string Output(Stream stream) const;

  // Waits for the child to exit and (bounded by the same timeout) for its
  // output to end; nullopt when it still runs at the deadline.
  std::optional<ExitStatus> WaitForExit(std::chrono::milliseconds timeout);

  bool exited() const;

 private:
  BackgroundProcess() = default;
  void ReadOutput(int out_fd, int err_fd);
  void AwaitExit();
  // Lines of `stream` matching `matches`, in order, while mu_ is held.
  std::vector<std::string> MatchingLinesLocked(
      Stream stream,
      const std::function<bool(const std::string&)>& matches) const;
  std::optional<std::string> WaitForMatch(
      Stream stream, const std::function<bool(const std::string&)>& matches,
      std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int wake_fd_ = -1;  // An eventfd that tells the reader to finish.
  std::thread reader_;
  std::thread waiter_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string out_;         // Guarded by mu_.
  std::string err_;         // Guarded by mu_.
  bool out_open_ = true;    // Guarded by mu_.
  bool err_open_ = true;    // Guarded by mu_.
  bool exited_ = false;     // Guarded by mu_.
  ExitStatus exit_status_;  // Guarded by mu_.
};

// A unique, empty directory under ::testing::TempDir(), removed with
// everything in it on destruction (kept when SWEEP_KEEP_TEST_DIRS is set,
// for debugging). Thread-compatible.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix = "sweep-e2e");
  ~ScopedTempDir();

  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  // Empty when the directory could not be created.
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Path(const std::string& name) const;

 private:
  std::string path_;
};

// Writes `contents` to `path` (mode 0755 when `executable`); false on error.
bool WriteFile(const std::string& path, const std::string& contents,
               bool executable = false);
// The file's contents, or nullopt when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
// closed), or 0. For tests that need the same address across a restart.
int PickFreePort();

// Calls `condition` every `interval` until it returns true or `timeout`
// passes; returns its last answer. For conditions only observable by asking
// (a CLI query), not as a delay.
bool PollUntil(
    const std::function<bool()>& condition, std::chrono::milliseconds timeout,
    std::chrono::milliseconds interval = std::chrono::milliseconds(100));

// A `sweep server` started by StartServer.
struct ServerProcess {
  std::unique_ptr<BackgroundProcess> process;  // Null when it did not start.
  int port = 0;
  std::string address;  // "127.0.0.1:PORT"
  std::string error;    // Why it did not start.
};

// Runs `sweep server --listen 127.0.0.1:PORT --data-dir DATA_DIR EXTRA...`
// (PORT 0: the server picks a free one) and waits up to `timeout` for its
// "listening on" line, from which it reads the port.
ServerProcess StartServer(
    const std::string& data_dir, int port = 0,
    const std::vector<std::string>& extra_args = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The same, listening on `host` (an IPv4 address; "0.0.0.0" for every
// interface, whose `address` is then the loopback one).
ServerProcess StartServerOn(const std::string& host,
                            const std::string& data_dir, int port,
                            const std::vector<std::string>& extra_args,
                            std::chrono::milliseconds timeout);

}  // namespace sweep::testing

#endif  // SWEEP_TESTS_SUBPROCESS_H_
