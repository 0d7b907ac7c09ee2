// Finding the program a trial runs, the way execvp would but without a shell
// and without touching the caller's environment. All functions are
// thread-safe (they only read the file system).
#ifndef SWEEP_AGENT_PROGRAM_LOOKUP_H_
#define SWEEP_AGENT_PROGRAM_LOOKUP_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep {

// The search path used when an environment has no PATH (what execvp uses).
inline constexpr char kDefaultSearchPath[] = "/usr/local/bin:/usr/bin:/bin";

// The value of `name` in an environment of "K=V" entries (the first entry
// wins, as getenv does), or nullopt when it is absent.
std::optional<std::string> FindEnvValue(const std::vector<std::string>& env,
                                        absl::string_view name);

// The path execve needs for `program`. A name containing '/' is returned
// unchanged (execve resolves it against the working directory). Otherwise
// each absolute directory of `search_path` (colon-separated) is tried in
// order; empty and relative entries are skipped on purpose, because they
// would make what runs depend on the trial's working directory.
// Errors name the program: NotFound "cannot run 'python': No such file or
// directory (searched PATH=...)", or PermissionDenied when only
// non-executable files of that name were found.
absl::StatusOr<std::string> ResolveProgram(absl::string_view program,
                                           absl::string_view search_path);

// What `${interpreter}` expands to: "python" when it is found on
// `search_path`, else "python3" (many systems ship only python3).
std::string DefaultInterpreter(absl::string_view search_path);

// True when `interpreter` (a name or path) runs a script given as its first
// argument from the working directory, as python, bash or node do; false
// for anything else, which may be a wrapper that finds it elsewhere.
bool RunsScriptFromWorkingDirectory(absl::string_view interpreter);

}  // namespace sweep

#endif  // SWEEP_AGENT_PROGRAM_LOOKUP_H_
