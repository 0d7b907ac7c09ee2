// How a subcommand plugs into the `sweep` binary: its Register function adds
// it to the CLI11 app and, once it is parsed, sets the CommandRun that main()
// calls. Thread-compatible.
#ifndef SWEEP_CLI_COMMAND_H_
#define SWEEP_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/controller_client.h"
#include "cli/table.h"

namespace sweep {

// The chosen subcommand with its parsed options bound; returns the process
// exit status.
using CommandRun = std::function<int()>;

// Options every command that talks to the controller has.
struct ControllerCommandOptions {
  std::string controller;  // --controller; empty means SWEEP_CONTROLLER or
                           // the default.
};

// Options of the query commands, which print tables or, with --json, the
// controller's reply.
struct QueryCommandOptions : ControllerCommandOptions {
  bool json = false;
};

// Whether a command prints text for people (tables, messages), which goes
// through TerminalText, rather than data.
inline bool PrintsText(const ControllerCommandOptions&) { return false; }
inline bool PrintsText(const QueryCommandOptions& options) {
  return !options.json;
}

// A command body: parsed options and a client in, exit status out.
template <typename Options>
using ControllerCommand = int (*)(const Options&, ControllerClient&,
                                  std::ostream& out, std::ostream& err);

// Where sweep_client.py and the W&B shim live: $SWEEP_PYTHON_DIR, else the
// source tree's clients/python.
std::string PythonClientDir();

// That --interpreter `interpreter` (a name looked up on $PATH, or a path)
// can be run: else every trial of a command using ${interpreter} exits 127.
absl::Status CheckInterpreter(const std::string& interpreter);

// That the W&B shim is in `python_dir` (a $SWEEP_PYTHON_DIR that points
// elsewhere would make every W&B script fail to import wandb).
absl::Status CheckWandbShim(const std::string& python_dir);

// Checks an option is a whole number, `least` or more ("--count: must be a
// whole number, 0 or more, got -1"; CLI11's own checks print their range's
// bound, hundreds of digits of the largest double).
CLI::Validator WholeNumberAtLeast(int64_t least);
// A finite number of seconds from `least` to `most` (CLI11's Range lets NaN
// through).
CLI::Validator SecondsBetween(double least, double most);

// The exit status of a command that could not reach its controller, or
// whose controller could not serve it now (UNAVAILABLE, a deadline): worth
// retrying, unlike 1 (refused: bad input, not found) and 2 (usage).
inline constexpr int kExitControllerUnavailable = 3;

// Prints "sweep: MESSAGE" on `err`; returns the exit status: 3 when the
// controller is unreachable or unavailable, else 1.
int ReportFailure(const absl::Status& status, std::ostream& err);

// Adds --json, which prints the controller's reply instead of a table.
void AddJsonFlag(CLI::App* command, bool* json);

// Adds --controller to `command`, and makes *run call `body` with
// the options and a client for the resolved address when `command` is the
// one parsed.
template <typename Options>
void BindControllerCommand(CLI::App* command, std::shared_ptr<Options> options,
                           ControllerCommand<Options> body, CommandRun* run) {
  command->add_option("--controller", options->controller,
                      "Controller address host:port (default: $" +
                          std::string(kControllerEnvironmentVariable) +
                          ", else " + kDefaultControllerAddress + ")");
  command->callback([options, body, run] {
    *run = [options, body] {
      ControllerClient client(ResolveControllerAddress(options->controller));
      // What is printed for people goes through TerminalText; data (--json,
      // an export) as it is.
      TerminalTextStream out(std::cout);
      TerminalTextStream err(std::cerr);
      const bool text = PrintsText(*options);
      return body(*options, client,
                  text ? static_cast<std::ostream&>(out) : std::cout, err);
    };
  });
}

// The sweep id as a positional argument: required, or optional for the
// commands that only read (the newest sweep when it is left out). Either
// takes W&B's sweep path too (`entity/project/ID`, what `wandb sweep`
// prints): the id is its last part.
CLI::Option* AddSweepIdArgument(CLI::App* command, std::string* sweep_id);
void AddOptionalSweepIdArgument(CLI::App* command, std::string* sweep_id);

// `given`, or when empty the newest sweep's id (said on `err` when there are
// others).
absl::StatusOr<std::string> SweepIdOrNewest(const std::string& given,
                                            ControllerClient& client,
                                            std::ostream& err);

}  // namespace sweep

#endif  // SWEEP_CLI_COMMAND_H_
