#include "cli/command.h"

#include <cstdint>
#include <cstdlib>

#include "absl/strings/numbers.h"

namespace sweep {

std::string PythonClientDir() {
  if (const char* dir = std::getenv("SWEEP_PYTHON_DIR"); dir && *dir) {
    return dir;
  }
  return SWEEP_PYTHON_CLIENT_DIR;
}

CLI::Validator NonNegativeWholeNumber() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        int64_t value = 0;
        if (absl::SimpleAtoi(input, &value) && value >= 0) return "";
        return "must be a whole number, 0 or more, got " + input;
      },
      "N>=0");
}

int ReportFailure(const absl::Status& status, std::ostream& err) {
  err << "sweep: " << status.message() << "\n";
  // A script can tell "try again later" from "this will not work".
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)
             ? kExitControllerUnavailable
             : 1;
}

void AddJsonFlag(CLI::App* command, bool* json) {
  command->add_flag("--json", *json,
                    "Print the reply as JSON for scripts (proto field "
                    "names, numbers as numbers, states as in the tables)");
}

}  // namespace sweep
