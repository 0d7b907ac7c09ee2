// The `sweep` binary: subcommand wiring only.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/validate_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Sweep: self-hosted, W&B-compatible hyperparameter sweeps"};
  app.require_subcommand(1);

  sweep::ValidateOptions validate;
  CLI::App* validate_cmd = app.add_subcommand(
      "validate",
      "Check sweep definitions offline: every error with file:line:column, "
      "warnings, the normalized definition and the grid size");
  validate_cmd->add_option("files", validate.files, "Sweep YAML files")
      ->required();
  validate_cmd->add_flag("--json", validate.json,
                         "Machine-readable output (one object per file)");
  validate_cmd->add_option("--preview", validate.preview,
                           "Also show the first N trials the search would "
                           "hand out and the commands they would run")
      ->check(CLI::Range(0, 100000));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (validate_cmd->parsed()) {
    return sweep::RunValidate(validate, std::cout, std::cerr);
  }
  return 2;
}
