// Runs a real child process for end-to-end tests: argv straight to execve
// (no shell), stdout and stderr captured, a deadline after which the child is
// killed so a test can never hang. Thread-compatible.
#ifndef SWEEP_TESTS_SUBPROCESS_H_
#define SWEEP_TESTS_SUBPROCESS_H_

#include <chrono>
#include <string>
#include <vector>

namespace sweep::testing {

struct ProcessResult {
  int exit_code = -1;    // -1 when killed by a signal.
  int term_signal = 0;   // The signal that ended it, if any.
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the given arguments and extra environment
// entries ("NAME=value"), feeding `input` on stdin.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout,
                         const std::vector<std::string>& extra_env = {},
                         const std::string& input = "");

// The `sweep` binary under test (from the SWEEP_BINARY environment variable
// that CTest sets).
std::string SweepBinary();

// The repository root (SWEEP_SOURCE_DIR).
std::string SourceDir();

}  // namespace sweep::testing

#endif  // SWEEP_TESTS_SUBPROCESS_H_
