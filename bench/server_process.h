// ServerProcess: a server run as a child process for a benchmark. It is
// started from an argv (no shell), its port is read from the
// "listening on HOST:PORT" line it prints on stdout, and it is stopped with
// SIGTERM (SIGKILL after a grace period). The child is killed if the
// benchmark dies first, so a run never leaves a server behind.
// Thread-compatible.
#ifndef SWEEP_BENCH_SERVER_PROCESS_H_
#define SWEEP_BENCH_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sweep::bench {

class ServerProcess {
 public:
  // Runs argv[0] (a path) and waits up to `startup_timeout` for its
  // "listening on HOST:PORT" line. Fails with what the child printed when it
  // exits first or says nothing in time (the child is then killed).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::vector<std::string>& argv, absl::Duration startup_timeout);

  // Stops the child if Stop() was not called.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "127.0.0.1:PORT".
  std::string address() const;

  // The child's resident set (VmRSS in /proc/PID/status), in KiB.
  absl::StatusOr<int64_t> RssKib() const;
  // User plus system CPU time the child used so far, in seconds.
  absl::StatusOr<double> CpuSeconds() const;

  // Sends SIGTERM and waits up to `grace` for the child to exit, then kills
  // it. Fails when the child did not exit 0 by itself. Idempotent.
  absl::Status Stop(absl::Duration grace = absl::Seconds(10));

 private:
  ServerProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  // Reads the child's stdout until the listening line; fills port_.
  absl::Status AwaitListening(absl::Duration timeout);

  const pid_t pid_;
  int stdout_fd_;  // The read end of the child's stdout; -1 once closed.
  int port_ = 0;
  std::string output_;  // What the child printed so far.
  bool stopped_ = false;
};

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_SERVER_PROCESS_H_
