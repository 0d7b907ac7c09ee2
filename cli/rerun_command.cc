#include "cli/rerun_command.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/program_lookup.h"
#include "cli/command.h"
#include "cli/table.h"
#include "search/command_template.h"
#include "search/spec.h"
#include "search/spec_parser.h"
#include "search/value.h"

namespace sweep {
namespace {

CommandEnvironment LocalCommandEnvironment(const std::string& interpreter) {
  CommandEnvironment env;
  const char* path = std::getenv("PATH");
  env.interpreter =
      !interpreter.empty()
          ? interpreter
          : DefaultInterpreter(path != nullptr ? path : kDefaultSearchPath);
  env.args_json_file = kRerunArgsJsonFile;
  env.getenv = [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  return env;
}

// Why the stored definition does not parse: its first error.
absl::Status DefinitionError(const ParsedDefinition& parsed) {
  const auto error =
      std::find_if(parsed.diagnostics.begin(), parsed.diagnostics.end(),
                   [](const Diagnostic& d) {
                     return d.severity == Diagnostic::Severity::kError;
                   });
  if (error == parsed.diagnostics.end()) {
    return absl::InvalidArgumentError("the sweep's definition does not parse");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "the sweep's definition does not parse: ", error->ToString()));
}

}  // namespace

absl::StatusOr<RerunCommand> MakeRerunCommand(const v1::Sweep& sweep,
                                              const v1::Trial& trial,
                                              const std::string& interpreter,
                                              bool wandb_shim) {
  const ParsedDefinition parsed =
      ParseSweepDefinition(sweep.definition_yaml(), "sweep.yaml");
  if (!parsed.ok()) return DefinitionError(parsed);
  const Value config = Value::parse(trial.config_json(), /*cb=*/nullptr,
                                    /*allow_exceptions=*/false);
  if (!config.is_object()) {
    return absl::InvalidArgumentError(
        "the trial's config is not a JSON object");
  }
  const SweepSpec& spec = *parsed.spec;
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandCommandTokens(spec.command, spec.program.value_or(""), config,
                          LocalCommandEnvironment(interpreter));
  if (!argv.ok()) return argv.status();
  RerunCommand rerun;
  rerun.command_line =
      absl::StrJoin(*argv, " ", [](std::string* out, const std::string& t) {
        out->append(ShellQuote(t));
      });
  rerun.python_dir = PythonClientDir();
  rerun.with_wandb_shim = wandb_shim;
  const std::string python_path =
      wandb_shim ? absl::StrCat(rerun.python_dir, "/shim:", rerun.python_dir)
                 : rerun.python_dir;
  rerun.environment = absl::StrCat(
      "SWEEP_PARAMS_JSON=", ShellQuote(DumpJson(config)),
      " PYTHONPATH=", ShellQuote(python_path), "${PYTHONPATH:+:$PYTHONPATH}");
  rerun.reads_args_json_file =
      std::find(spec.command.begin(), spec.command.end(),
                "${args_json_file}") != spec.command.end();
  return rerun;
}

}  // namespace sweep
