// The commands that create, inspect and control sweeps on a controller:
// create, ls, status, trials, best, pause, resume, stop, cancel. Each has
// its options, a Run function (testable against any controller) and a
// Register function for main(). Errors go to `err` as one line each; the
// Run functions return the exit status (0 or 1).
#ifndef SWEEP_CLI_QUERY_COMMANDS_H_
#define SWEEP_CLI_QUERY_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/controller_client.h"

namespace sweep {

// `sweep create FILE.yaml`
struct CreateOptions : QueryCommandOptions {
  std::string file;
};
int RunCreate(const CreateOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err);
void RegisterCreateCommand(CLI::App& app, CommandRun* run);

// `sweep ls`
struct ListOptions : QueryCommandOptions {};
int RunList(const ListOptions& options, ControllerClient& client,
            std::ostream& out, std::ostream& err);
void RegisterListCommand(CLI::App& app, CommandRun* run);

// `sweep status ID`
struct StatusOptions : QueryCommandOptions {
  std::string sweep_id;
  int64_t recent_trials = 5;
};
int RunStatus(const StatusOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err);
void RegisterStatusCommand(CLI::App& app, CommandRun* run);

// `sweep trials ID` (a table) and `sweep trials ID N` (one trial).
struct TrialsOptions : QueryCommandOptions {
  std::string sweep_id;
  int64_t number = 0;  // 0: the table.
  bool all = false;
  // How many trials: this many for a table, every trial for --json unless
  // --limit was given.
  int64_t limit = 100;
  bool limit_given = false;
  std::vector<std::string> metrics;  // Summary columns; empty: a few.
  bool history = false;              // One trial: include its history.
  int log_lines = 20;                // One trial: lines of log shown.
};
int RunTrials(const TrialsOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err);
void RegisterTrialsCommand(CLI::App& app, CommandRun* run);

// `sweep best ID`
struct BestOptions : QueryCommandOptions {
  std::string sweep_id;
  std::string interpreter;  // What ${interpreter} is in the rerun command.
  bool wandb_shim = false;  // The rerun command puts the W&B shim first.
};
int RunBest(const BestOptions& options, ControllerClient& client,
            std::ostream& out, std::ostream& err);
void RegisterBestCommand(CLI::App& app, CommandRun* run);

// `sweep pause|resume|stop|cancel ID`
struct StateChangeOptions : QueryCommandOptions {
  std::string sweep_id;
  v1::SweepAction action = v1::SWEEP_ACTION_UNSPECIFIED;
};
int RunStateChange(const StateChangeOptions& options, ControllerClient& client,
                   std::ostream& out, std::ostream& err);
// Registers all four.
void RegisterStateChangeCommands(CLI::App& app, CommandRun* run);

}  // namespace sweep

#endif  // SWEEP_CLI_QUERY_COMMANDS_H_
