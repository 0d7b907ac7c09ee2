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
      return sweep::RunValidate(*options, std::cout, std::cerr);
    };
  });
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
