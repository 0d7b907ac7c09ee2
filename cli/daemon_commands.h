// The long-running subcommands: `sweep server` and `sweep agent`.
#ifndef SWEEP_CLI_DAEMON_COMMANDS_H_
#define SWEEP_CLI_DAEMON_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace sweep {

void RegisterServerCommand(CLI::App& app, CommandRun* run);
void RegisterAgentCommand(CLI::App& app, CommandRun* run);

}  // namespace sweep

#endif  // SWEEP_CLI_DAEMON_COMMANDS_H_
