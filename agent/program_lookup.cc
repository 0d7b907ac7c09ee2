#include "agent/program_lookup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sweep {
namespace {

enum class Candidate { kMissing, kNotExecutable, kExecutable };

Candidate CheckCandidate(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Candidate::kMissing;
  }
  return access(path.c_str(), X_OK) == 0 ? Candidate::kExecutable
                                         : Candidate::kNotExecutable;
}

}  // namespace

std::optional<std::string> FindEnvValue(const std::vector<std::string>& env,
                                        absl::string_view name) {
  for (const std::string& entry : env) {
    absl::string_view view(entry);
    if (view.size() > name.size() && view[name.size()] == '=' &&
        view.substr(0, name.size()) == name) {
      return std::string(view.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> ResolveProgram(absl::string_view program,
                                           absl::string_view search_path) {
  if (program.empty()) {
    return absl::InvalidArgumentError("cannot run '': the program is empty");
  }
  if (absl::StrContains(program, '/')) {
    return std::string(program);
  }
  bool found_not_executable = false;
  for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
    if (dir.empty() || dir.front() != '/') continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    switch (CheckCandidate(candidate)) {
      case Candidate::kExecutable:
        return candidate;
      case Candidate::kNotExecutable:
        found_not_executable = true;
        break;
      case Candidate::kMissing:
        break;
    }
  }
  if (found_not_executable) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot run '", program,
                     "': Permission denied (searched PATH=", search_path, ")"));
  }
  return absl::NotFoundError(absl::StrCat(
      "cannot run '", program,
      "': No such file or directory (searched PATH=", search_path, ")"));
}

std::string DefaultInterpreter(absl::string_view search_path) {
  return ResolveProgram("python", search_path).ok() ? "python" : "python3";
}

bool RunsScriptFromWorkingDirectory(absl::string_view interpreter) {
  const size_t slash = interpreter.rfind('/');
  absl::string_view name = slash == absl::string_view::npos
                               ? interpreter
                               : interpreter.substr(slash + 1);
  // A version suffix: python3.11, pypy3, perl5.36.
  while (!name.empty() &&
         (absl::ascii_isdigit(name.back()) || name.back() == '.')) {
    name.remove_suffix(1);
  }
  static constexpr absl::string_view kInterpreters[] = {
      "python", "pypy", "bash", "sh",      "dash",  "zsh",
      "perl",   "ruby", "node", "Rscript", "julia", "lua"};
  for (const absl::string_view known : kInterpreters) {
    if (name == known) return true;
  }
  return false;
}

}  // namespace sweep
