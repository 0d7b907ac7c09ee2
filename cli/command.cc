#include "cli/command.h"

namespace sweep {

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
