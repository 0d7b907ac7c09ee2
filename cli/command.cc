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

// For the commands that only read: the id may be left out for the newest.
namespace {

std::string LastPathPart(std::string id) {
  const std::size_t slash = id.find_last_of('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

}  // namespace

CLI::Option* AddSweepIdArgument(CLI::App* command, std::string* sweep_id) {
  return command
      ->add_option("sweep_id", *sweep_id,
                   "The sweep's id (or W&B's entity/project/ID)")
      ->required()
      ->transform(LastPathPart);
}

void AddOptionalSweepIdArgument(CLI::App* command, std::string* sweep_id) {
  command
      ->add_option("sweep_id", *sweep_id,
                   "The sweep's id (default: the newest sweep)")
      ->transform(LastPathPart);
}

// `given`, or when empty the newest sweep's id (said on `err`).
absl::StatusOr<std::string> SweepIdOrNewest(const std::string& given,
                                            ControllerClient& client,
                                            std::ostream& err) {
  if (!given.empty()) return given;
  absl::StatusOr<v1::ListSweepsResponse> sweeps = client.ListSweeps();
  if (!sweeps.ok()) return sweeps.status();
  if (sweeps->sweeps().empty()) {
    return absl::NotFoundError(
        "the controller has no sweep yet; create one with `sweep create "
        "FILE.yaml`");
  }
  const std::string& id = sweeps->sweeps(0).id();
  if (sweeps->sweeps_size() > 1) {
    err << "sweep: the newest sweep, " << id << " (`sweep ls` lists all "
        << sweeps->sweeps_size() << ")\n";
  }
  return id;
}

}  // namespace sweep
