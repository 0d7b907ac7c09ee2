#include "search/command_template.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "search/value.h"
#include "search/yaml_fields.h"

namespace sweep {
namespace {

constexpr absl::string_view kListMacros[] = {
    "env",
    "interpreter",
    "program",
    "args",
    "args_no_hyphens",
    "args_no_boolean_flags",
    "args_no_equals",
    "args_append_hydra",
    "args_override_hydra",
    "args_json",
    "args_json_file",
};
constexpr absl::string_view kEnvVarPrefix = "envvar:";

bool IsListMacro(absl::string_view name) {
  return std::find(std::begin(kListMacros), std::end(kListMacros), name) !=
         std::end(kListMacros);
}

bool IsEnvVarName(absl::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

// Expands every `${envvar:NAME}` in the token.
absl::StatusOr<std::string> ExpandEnvVars(absl::string_view token,
                                          const CommandEnvironment& env) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = token.find("${", pos);
    if (open == absl::string_view::npos) break;
    const size_t close = token.find('}', open);
    if (close == absl::string_view::npos) break;
    absl::string_view name = token.substr(open + 2, close - open - 2);
    absl::StrAppend(&out, token.substr(pos, open - pos));
    if (name.substr(0, kEnvVarPrefix.size()) == kEnvVarPrefix) {
      name.remove_prefix(kEnvVarPrefix.size());
      std::optional<std::string> value =
          env.getenv ? env.getenv(name) : std::nullopt;
      if (!value) {
        return absl::FailedPreconditionError(
            absl::StrCat("the command uses ${envvar:", name, "} but ", name,
                         " is not set in the agent's environment"));
      }
      out.append(*value);
    } else {
      absl::StrAppend(&out, token.substr(open, close - open + 1));
    }
    pos = close + 1;
  }
  absl::StrAppend(&out, token.substr(pos));
  return out;
}

void AppendArgs(absl::string_view macro, const Value& config,
                std::vector<std::string>& argv) {
  for (const auto& [key, value] : config.items()) {
    const std::string text = PythonStr(value);
    if (macro == "args") {
      argv.push_back(absl::StrCat("--", key, "=", text));
    } else if (macro == "args_no_hyphens") {
      argv.push_back(absl::StrCat(key, "=", text));
    } else if (macro == "args_no_boolean_flags") {
      if (value.is_boolean()) {
        if (value.get<bool>()) argv.push_back(absl::StrCat("--", key));
      } else {
        argv.push_back(absl::StrCat("--", key, "=", text));
      }
    } else if (macro == "args_no_equals") {
      argv.push_back(absl::StrCat("--", key));
      argv.push_back(text);
    } else if (macro == "args_append_hydra") {
      argv.push_back(absl::StrCat("+", key, "=", text));
    } else if (macro == "args_override_hydra") {
      argv.push_back(absl::StrCat("++", key, "=", text));
    }
  }
}

}  // namespace

bool CheckCommandToken(absl::string_view token, std::string* error) {
  size_t pos = 0;
  while (true) {
    const size_t open = token.find("${", pos);
    if (open == absl::string_view::npos) return true;
    const size_t close = token.find('}', open);
    if (close == absl::string_view::npos) {
      *error = absl::StrCat("unterminated macro '", token.substr(open),
                            "' (missing '}')");
      return false;
    }
    const absl::string_view name = token.substr(open + 2, close - open - 2);
    if (name.substr(0, kEnvVarPrefix.size()) == kEnvVarPrefix) {
      if (!IsEnvVarName(name.substr(kEnvVarPrefix.size()))) {
        *error = absl::StrCat("'${", name,
                              "}' does not name an environment variable");
        return false;
      }
    } else if (IsListMacro(name)) {
      if (token.size() != name.size() + 3) {
        *error =
            absl::StrCat("macro ${", name,
                         "} must be a whole token, not part of '", token, "'");
        return false;
      }
    } else {
      std::vector<absl::string_view> known(std::begin(kListMacros),
                                           std::end(kListMacros));
      known.push_back("envvar:NAME");
      const std::string closest = FieldReader::ClosestKey(name, known);
      if (!closest.empty()) {
        *error = absl::StrCat("unknown macro ${", name, "} (did you mean ${",
                              closest, "}?)");
        return false;
      }
      *error = absl::StrCat(
          "unknown macro ${", name,
          "}; known: ${env}, ${interpreter}, ${program}, ${args}, "
          "${args_no_hyphens}, ${args_no_boolean_flags}, ${args_no_equals}, "
          "${args_append_hydra}, ${args_override_hydra}, ${args_json}, "
          "${args_json_file}, ${envvar:NAME}");
      return false;
    }
    pos = close + 1;
  }
}

absl::StatusOr<std::vector<std::string>> ExpandCommand(
    const SweepSpec& spec, const Point& point, const CommandEnvironment& env) {
  return ExpandCommandTokens(spec.command, spec.program.value_or(""),
                             NestPoint(spec, point), env);
}

absl::StatusOr<std::vector<std::string>> ExpandCommandTokens(
    const std::vector<std::string>& command, const std::string& program,
    const Value& config, const CommandEnvironment& env) {
  std::vector<std::string> argv;
  for (const std::string& token : command) {
    if (token.size() > 3 && token.rfind("${", 0) == 0 && token.back() == '}' &&
        IsListMacro(absl::string_view(token).substr(2, token.size() - 3))) {
      const absl::string_view macro =
          absl::string_view(token).substr(2, token.size() - 3);
      if (macro == "env") {
        argv.push_back(env.env);
      } else if (macro == "interpreter") {
        argv.push_back(env.interpreter);
      } else if (macro == "program") {
        argv.push_back(program);
      } else if (macro == "args_json") {
        argv.push_back(PythonJsonDumps(config));
      } else if (macro == "args_json_file") {
        argv.push_back(env.args_json_file);
      } else {
        AppendArgs(macro, config, argv);
      }
      continue;
    }
    absl::StatusOr<std::string> expanded = ExpandEnvVars(token, env);
    if (!expanded.ok()) return expanded.status();
    argv.push_back(*std::move(expanded));
  }
  return argv;
}

std::string ShellQuote(absl::string_view token) {
  const bool safe = !token.empty() &&
                    token.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                        "WXYZ0123456789_-+=.,:/@%") == absl::string_view::npos;
  if (safe) return std::string(token);
  bool has_control = false;
  for (std::size_t i = 0; i < token.size() && !has_control; ++i) {
    has_control = ControlSequenceLength(token, i) > 0;
  }
  if (has_control) {
    // Bash's $'...': a newline or an escape sequence stays text that the
    // terminal shows, not one it acts on (nor one TerminalText replaces),
    // and the command still means it.
    std::string quoted = "$'";
    for (std::size_t i = 0; i < token.size();) {
      const std::size_t control = ControlSequenceLength(token, i);
      if (control > 0) {
        for (std::size_t k = 0; k < control; ++k, ++i) {
          quoted +=
              absl::StrFormat("\\x%02x", static_cast<unsigned char>(token[i]));
        }
        continue;
      }
      if (token[i] == '\'' || token[i] == '\\') quoted += '\\';
      quoted += token[i++];
    }
    return quoted + "'";
  }
  std::string quoted = "'";
  for (char c : token) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace sweep
