// `sweep validate FILE.yaml... [--json] [--preview N]`: the offline check of
// sweep definitions.
#ifndef SWEEP_CLI_VALIDATE_COMMAND_H_
#define SWEEP_CLI_VALIDATE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace sweep {

struct ValidateOptions {
  std::vector<std::string> files;
  bool json = false;
  int preview = 0;  // How many first trials to show (a dry run).
};

// Prints every error and warning, the normalized definition, the number of
// grid points (or "unbounded") and, when asked, the first trials the search
// would hand out with the commands they would run. Returns the exit status:
// 0 when every file is valid, 1 otherwise.
int RunValidate(const ValidateOptions& options, std::ostream& out,
                std::ostream& err);

}  // namespace sweep

#endif  // SWEEP_CLI_VALIDATE_COMMAND_H_
