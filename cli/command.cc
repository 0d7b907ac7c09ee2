#include "cli/command.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/program_lookup.h"

namespace sweep {

std::string PythonClientDir() {
  if (const char* dir = std::getenv("SWEEP_PYTHON_DIR"); dir && *dir) {
    return dir;
  }
  return SWEEP_PYTHON_CLIENT_DIR;
}

absl::Status CheckInterpreter(const std::string& interpreter) {
  if (interpreter.find('/') != std::string::npos) {
    // A path: ResolveProgram leaves it to execve.
    if (access(interpreter.c_str(), X_OK) == 0) return absl::OkStatus();
    return absl::NotFoundError(
        absl::StrCat("cannot run '", interpreter, "': ", std::strerror(errno)));
  }
  const char* path = std::getenv("PATH");
  return ResolveProgram(interpreter, path ? path : kDefaultSearchPath).status();
}

absl::Status CheckWandbShim(const std::string& python_dir) {
  const std::string package =
      absl::StrCat(python_dir, "/shim/wandb/__init__.py");
  if (access(package.c_str(), R_OK) == 0) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat("the W&B shim is not where it should be: cannot read ",
                   package, " (", std::strerror(errno),
                   "); unset SWEEP_PYTHON_DIR, or point it at the "
                   "source tree's clients/python"));
}

CLI::Validator WholeNumberAtLeast(int64_t least) {
  return CLI::Validator(
      [least](std::string& input) -> std::string {
        int64_t value = 0;
        if (absl::SimpleAtoi(input, &value) && value >= least) return "";
        return absl::StrCat("must be a whole number, ", least, " or more, got ",
                            input);
      },
      absl::StrCat("N>=", least));
}

CLI::Validator SecondsBetween(double least, double most) {
  return CLI::Validator(
      [least, most](std::string& input) -> std::string {
        double value = 0;
        if (absl::SimpleAtod(input, &value) && std::isfinite(value) &&
            value >= least && value <= most) {
          return "";
        }
        return absl::StrCat("must be a number of seconds from ", least, " to ",
                            most, ", got ", input);
      },
      absl::StrCat("SECONDS in [", least, ", ", most, "]"));
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
  // Also a W&B sweep URL: .../sweeps/ID?workspace=user, perhaps with a '/'.
  id = id.substr(0, id.find('?'));
  while (id.size() > 1 && id.back() == '/') id.pop_back();
  const std::size_t slash = id.find_last_of('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

// Sweep ids are short runs of letters and digits ("1ltu4i1v"); anything else
// (bytes that are not UTF-8, 100 KB of text) is refused here with a clear
// line instead of failing inside gRPC.
std::string CheckSweepId(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                           c == '-' || c == '_';
                  });
  if (ok) return "";
  return absl::StrCat(
      "is not a sweep id (ids are like 1ltu4i1v, as `sweep ls` ",
      "lists them): '",
      absl::CHexEscape(id.size() > 40 ? absl::StrCat(id.substr(0, 40), "...")
                                      : id),
      "'");
}

}  // namespace

CLI::Option* AddSweepIdArgument(CLI::App* command, std::string* sweep_id) {
  return command
      ->add_option("sweep_id", *sweep_id,
                   "The sweep's id (or W&B's entity/project/ID)")
      ->required()
      ->transform(LastPathPart)
      ->check(CheckSweepId);
}

void AddOptionalSweepIdArgument(CLI::App* command, std::string* sweep_id) {
  command
      ->add_option("sweep_id", *sweep_id,
                   "The sweep's id (default: the newest sweep)")
      ->transform(LastPathPart)
      ->check(CheckSweepId);
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
