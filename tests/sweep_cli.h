// Driving a running controller through the real `sweep` binary, for
// end-to-end tests: CLI commands with their JSON output parsed, and agents
// started as background processes. Thread-compatible.
#ifndef SWEEP_TESTS_SWEEP_CLI_H_
#define SWEEP_TESTS_SWEEP_CLI_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/subprocess.h"

namespace sweep::testing {

// How long one CLI command may take (the machine may be busy).
inline constexpr std::chrono::seconds kCommandTimeout(30);

class SweepCli {
 public:
  // `env`: "NAME=value" entries every command and agent gets (a token, a CA
  // file).
  explicit SweepCli(std::string controller, std::vector<std::string> env = {})
      : controller_(std::move(controller)), env_(std::move(env)) {}

  const std::string& controller() const { return controller_; }

  // `sweep ARGS...` with SWEEP_CONTROLLER set to the controller.
  ProcessResult Run(std::vector<std::string> args) const;

  // `sweep ARGS... --json`, parsed. Adds a test failure, and returns a
  // discarded value, when the command fails or prints no JSON.
  nlohmann::json Json(std::vector<std::string> args) const;

  // `sweep create FILE`: the new sweep's id, or "" (with a test failure).
  std::string Create(const std::string& file) const;

  // `sweep trials ID --json`: the trials, in number order.
  std::vector<nlohmann::json> Trials(const std::string& sweep_id) const;

  // `sweep trials ID N --history --json`.
  nlohmann::json TrialWithHistory(const std::string& sweep_id,
                                  int64_t number) const;

  // `sweep agent ID --controller ADDR ARGS...` started in `working_dir`
  // (where the sweep's program is), with extra environment entries, through
  // `wrapper` when given (a command that runs the argv after it).
  std::unique_ptr<BackgroundProcess> StartAgent(
      const std::string& sweep_id, const std::string& working_dir,
      const std::vector<std::string>& args,
      const std::vector<std::string>& extra_env = {},
      const std::vector<std::string>& wrapper = {}) const;

 private:
  std::string controller_;
  std::vector<std::string> env_;
};

// An integer of `--json` output; a test failure, and -1, when `value` is
// not a JSON integer.
int64_t JsonInt(const nlohmann::json& value);

// The number of lines of `text` (a last line without '\n' counts).
int CountLines(const std::string& text);

// A trial's GPUs (its CUDA_VISIBLE_DEVICES) and when it ran, as a test's
// program records them.
struct GpuRun {
  std::string gpus;
  double start = 0;
  double end = 0;
};

// Fails the test for two runs that overlapped in time on the same GPUs;
// returns how many pairs overlapped.
int ExpectOverlappingRunsOnDifferentGpus(const std::vector<GpuRun>& runs);

// True when no process has that pid any more, or it is a zombie.
bool ProcessIsGone(int pid);

}  // namespace sweep::testing

#endif  // SWEEP_TESTS_SWEEP_CLI_H_
