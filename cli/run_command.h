// `sweep run FILE.yaml`: the local all-in-one mode. An embedded controller on
// the SQLite default, N local agents in this process, a live progress line,
// and the best trial with its command at the end.
#ifndef SWEEP_CLI_RUN_COMMAND_H_
#define SWEEP_CLI_RUN_COMMAND_H_

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace sweep {

void RegisterRunCommand(CLI::App& app, CommandRun* run);

}  // namespace sweep

#endif  // SWEEP_CLI_RUN_COMMAND_H_
