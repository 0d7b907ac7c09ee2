#include "cli/command.h"

#include <cstdlib>

namespace sweep {

std::string PythonClientDir() {
  if (const char* dir = std::getenv("SWEEP_PYTHON_DIR"); dir && *dir) {
    return dir;
  }
  return SWEEP_PYTHON_CLIENT_DIR;
}

int ReportFailure(const absl::Status& status, std::ostream& err) {
  err << "sweep: " << status.message() << "\n";
  return 1;
}

void AddJsonFlag(CLI::App* command, bool* json) {
  command->add_flag("--json", *json,
                    "Print the controller's reply as JSON (proto field "
                    "names), for scripts");
}

}  // namespace sweep
