// The command line that reruns a finished trial by hand, for `sweep best`.
// Thread-safe.
#ifndef SWEEP_CLI_RERUN_COMMAND_H_
#define SWEEP_CLI_RERUN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "search/command_template.h"  // ShellQuote.
#include "sweep/v1/sweep.pb.h"

namespace sweep {

// What `${args_json_file}` shows in a rerun command: the agent wrote the
// file into the trial's directory, which a rerun by hand does not have.
inline constexpr char kRerunArgsJsonFile[] = "params.json";

struct RerunCommand {
  std::string command_line;  // Quoted for a POSIX shell (bash's $'...' for
                             // control characters).
  // The command reads the config from kRerunArgsJsonFile, which must be
  // written first.
  bool reads_args_json_file = false;
  // Assignments to put before it: the trial's parameters in
  // SWEEP_PARAMS_JSON (which sweep_client and the W&B shim read when there
  // is no SWEEP_PARAMS_FILE) and sweep_client's directory on PYTHONPATH.
  std::string environment;
  std::string python_dir;        // PythonClientDir(), for the W&B shim's note.
  bool with_wandb_shim = false;  // The shim is first on that PYTHONPATH.
};

// The sweep's command template expanded with the trial's config, as the
// agent would run it (`${interpreter}` is `interpreter`, as the agent's
// --interpreter, or when empty as on this machine's PATH). Errors: the
// definition or config does not parse, or an `${envvar:NAME}` is unset here.
// With `wandb_shim` (the agents ran with --wandb-shim), the W&B shim goes
// first on PYTHONPATH, as the agent puts it.
absl::StatusOr<RerunCommand> MakeRerunCommand(
    const v1::Sweep& sweep, const v1::Trial& trial,
    const std::string& interpreter = "", bool wandb_shim = false);

}  // namespace sweep

#endif  // SWEEP_CLI_RERUN_COMMAND_H_
