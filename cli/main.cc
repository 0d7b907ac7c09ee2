// The `sweep` binary: subcommand wiring only. Each subcommand's Register
// function adds it to the app and, when it is the one parsed, sets `run`.
#include <grpc/support/log.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "cli/command.h"
#include "cli/daemon_commands.h"
#include "cli/export_command.h"
#include "cli/query_commands.h"
#include "cli/run_command.h"
#include "cli/table.h"
#include "cli/validate_command.h"
#include "search/yaml_fields.h"

namespace {

void RegisterValidateCommand(CLI::App& app, sweep::CommandRun* run) {
  auto options = std::make_shared<sweep::ValidateOptions>();
  CLI::App* command = app.add_subcommand(
      "validate",
      "Check sweep definitions offline: every error with file:line:column, "
      "warnings, the normalized definition and the grid size");
  command->add_option("files", options->files, "Sweep YAML files")->required();
  command->add_flag("--json", options->json,
                    "Machine-readable output (one object per file)");
  command
      ->add_option("--preview", options->preview,
                   "Also show the first N trials the search would "
                   "hand out and the commands they would run")
      ->check(CLI::Range(0, 100000));
  command->callback([options, run] {
    *run = [options] {
      // Key names and values of the files reach the terminal as text.
      sweep::TerminalTextStream out(std::cout);
      sweep::TerminalTextStream err(std::cerr);
      return sweep::RunValidate(
          *options, options->json ? static_cast<std::ostream&>(std::cout) : out,
          err);
    };
  });
}

// An option the parsed command does not have, named with the closest one
// it has (`--cout`: did you mean `--count`?). False when there is none to
// name (then CLI11's own message stands).
bool SuggestedOption(CLI::App& app, int argc, char** argv) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) return false;
  const CLI::App& command = *parsed.front();
  std::vector<std::string> names;
  std::vector<std::string> taking_values;  // Whose next argument is theirs.
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      names.push_back("--" + name);
      if (option->get_expected_min() > 0) taking_values.push_back(names.back());
    }
  }
  const std::vector<absl::string_view> known(names.begin(), names.end());
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      // `--name --odd-value`: the value is no option to name.
      if (arg.find('=') == std::string::npos &&
          std::find(taking_values.begin(), taking_values.end(), name) !=
              taking_values.end()) {
        ++i;
      }
      continue;
    }
    const std::string closest = sweep::FieldReader::ClosestKey(name, known);
    std::cerr << "sweep " << command.get_name() << ": unknown option '" << name
              << "'"
              << (closest.empty() ? "" : " (did you mean '" + closest + "'?)")
              << "; `sweep " << command.get_name()
              << " --help` lists its options\n";
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition against a global graph of
  // lock orders (gRPC's locks included): about 5% of the controller's
  // throughput at 16 agents. The tests keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Every failure sweep meets has its own one-line message (a port in use,
  // a controller that cannot be reached); gRPC's internal error dumps come
  // on top only when asked for with GRPC_VERBOSITY.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  CLI::App app{"Sweep: self-hosted, W&B-compatible hyperparameter sweeps"};
  app.require_subcommand(1);

  sweep::CommandRun run;
  sweep::RegisterCreateCommand(app, &run);
  RegisterValidateCommand(app, &run);
  sweep::RegisterListCommand(app, &run);
  sweep::RegisterStatusCommand(app, &run);
  sweep::RegisterTrialsCommand(app, &run);
  sweep::RegisterBestCommand(app, &run);
  sweep::RegisterStateChangeCommands(app, &run);
  sweep::RegisterExportCommand(app, &run);
  sweep::RegisterServerCommand(app, &run);
  sweep::RegisterAgentCommand(app, &run);
  sweep::RegisterRunCommand(app, &run);

  app.name("sweep");
  app.set_version_flag("--version", "sweep " SWEEP_VERSION);
  if (argc == 1) {  // Bare `sweep`: what it can do, not "a subcommand is
                    // required".
    std::cout << app.help();
    return 2;
  }
  // `sweep help [COMMAND]`, as git and W&B's CLI take it.
  if (argc > 1 && std::string(argv[1]) == "help") {
    CLI::App* command = nullptr;
    if (argc > 2) {
      for (CLI::App* known : app.get_subcommands({})) {
        if (known->get_name() == argv[2]) command = known;
      }
      if (command == nullptr) {
        std::cerr << "sweep: no command '" << argv[2] << "'\n";
        return 2;
      }
    }
    std::cout << (command != nullptr ? command->help() : app.help());
    return 0;
  }
  // Options belong to a command: `sweep --controller X ls` would otherwise
  // read "arguments were not expected: X --controller".
  if (argc > 1 && argv[1][0] == '-') {
    const std::string given = argv[1];
    if (given != "-h" && given != "--help" && given != "--version") {
      std::cerr << "sweep: " << given.substr(0, given.find('='))
                << " goes after the command (sweep COMMAND "
                << given.substr(0, given.find('=')) << " ...)\n";
      return 2;
    }
  }
  // An unknown command would otherwise read "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    const std::string given = argv[1];
    std::vector<std::string> names;
    for (const CLI::App* command : app.get_subcommands({})) {
      names.push_back(command->get_name());
    }
    if (std::find(names.begin(), names.end(), given) == names.end()) {
      const std::vector<absl::string_view> known(names.begin(), names.end());
      const std::string closest = sweep::FieldReader::ClosestKey(given, known);
      std::cerr << "sweep: unknown command '" << given << "'"
                << (closest.empty() ? "" : " (did you mean '" + closest + "'?)")
                << "; commands: " << absl::StrJoin(names, ", ") << "\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr &&
        SuggestedOption(app, argc, argv)) {
      return 2;
    }
    // Help and --version exit 0; every usage error exits 2, whichever it is
    // (CLI11 numbers them 105-109).
    return app.exit(e) == 0 ? 0 : 2;
  }
  const int status = run ? run() : 2;
  // Output to a full disk (> /dev/full, a quota) must not pass for success.
  if (!std::cout.flush()) {
    std::cerr << "sweep: cannot write the output: " << std::strerror(errno)
              << "\n";
    return status == 0 ? 1 : status;
  }
  return status;
}
