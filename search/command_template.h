// The command template of a sweep (spec section 6): tokens with macros. A
// token that is exactly `${args}` (and the other list macros) becomes a list
// of tokens; `${envvar:NAME}` may appear inside any token. Thread-safe.
#ifndef SWEEP_SEARCH_COMMAND_TEMPLATE_H_
#define SWEEP_SEARCH_COMMAND_TEMPLATE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "search/spec.h"

namespace sweep {

// True when every `${...}` in `token` is a known macro used where it may be
// (list macros only as a whole token); otherwise false with *error set.
bool CheckCommandToken(absl::string_view token, std::string* error);

// What the command's macros expand to besides the trial's parameters.
struct CommandEnvironment {
  std::string env = "/usr/bin/env";
  std::string interpreter = "python";
  // The path `${args_json_file}` expands to (the agent writes the file).
  std::string args_json_file;
  // Looks up `${envvar:NAME}`; nullopt when NAME is unset.
  std::function<std::optional<std::string>(absl::string_view)> getenv;
};

// The argv of the trial: the spec's command with every macro expanded.
// FailedPrecondition names an `${envvar:NAME}` that is unset (the trial fails
// with that message; W&B would substitute the literal name).
absl::StatusOr<std::vector<std::string>> ExpandCommand(
    const SweepSpec& spec, const Point& point, const CommandEnvironment& env);

// The same from the parts an agent receives: the command tokens, the program
// and the trial's nested configuration (a JSON object).
absl::StatusOr<std::vector<std::string>> ExpandCommandTokens(
    const std::vector<std::string>& command, const std::string& program,
    const Value& config, const CommandEnvironment& env);

// `token` as a POSIX shell reads it back: bare when it holds only safe
// characters, else in single quotes, or as bash's $'...' with \xNN escapes
// when it holds control characters (see ControlSequenceLength).
std::string ShellQuote(absl::string_view token);

}  // namespace sweep

#endif  // SWEEP_SEARCH_COMMAND_TEMPLATE_H_
