#include "agent/trial_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/unique_fd.h"

extern char** environ;

namespace sweep {

absl::Status WriteFile(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  const auto cannot_write = [&temporary] {
    return absl::InternalError(
        absl::StrCat("cannot write ", temporary, ": ", std::strerror(errno)));
  };
  // A new file, never one a link already there points to.
  if (unlink(temporary.c_str()) != 0 && errno != ENOENT) return cannot_write();
  UniqueFd out(open(temporary.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0644));
  if (!out.valid()) return cannot_write();
  for (size_t written = 0; written < content.size();) {
    const ssize_t n =
        write(out.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return cannot_write();
    written += static_cast<size_t>(n);
  }
  // Renamed into place: a program never reads a half-written file.
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

namespace {

// `value` in JSON's flow syntax, but with every float written so that YAML
// 1.1 (PyYAML, which W&B's tooling reads this file with) reads a float: a
// '.' before any exponent and a signed exponent ("1.0e-05", not "1e-05",
// which PyYAML reads as a string).
void AppendYaml11Flow(const Value& value, std::string* out) {
  if (value.is_object()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      absl::StrAppend(out, first ? "" : ", ", Value(key).dump(), ": ");
      AppendYaml11Flow(item, out);
      first = false;
    }
    out->push_back('}');
  } else if (value.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out->append(", ");
      AppendYaml11Flow(value[i], out);
    }
    out->push_back(']');
  } else if (value.is_number_float()) {
    std::string number = value.dump();
    size_t exponent = number.find_first_of("eE");
    if (exponent != std::string::npos &&
        number.find('.') == std::string::npos) {
      number.insert(exponent, ".0");
      exponent += 2;
    }
    if (exponent != std::string::npos && exponent + 1 < number.size() &&
        std::isdigit(static_cast<unsigned char>(number[exponent + 1]))) {
      number.insert(exponent + 1, "+");
    }
    out->append(number);
  } else {
    out->append(value.dump());
  }
}

}  // namespace

absl::Status MakeDirectories(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(absl::StrCat(
            "cannot create directory ", partial, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

std::string WandbParamsYaml(const Value& config) {
  std::string out = "wandb_version: 1\n";
  for (const auto& [key, value] : config.items()) {
    absl::StrAppend(&out, Value(key).dump(), ": {\"value\": ");
    AppendYaml11Flow(value, &out);
    out.append("}\n");
  }
  return out;
}

absl::StatusOr<TrialFiles> PrepareTrialFiles(const std::string& workdir,
                                             const std::string& sweep_id,
                                             int64_t number,
                                             const Value& config) {
  TrialFiles files;
  files.dir = absl::StrCat(workdir, "/", sweep_id, "/trial-", number);
  if (absl::Status s = MakeDirectories(files.dir); !s.ok()) return s;
  // The directories the agent makes are its own: one someone replaced with
  // a symbolic link would send the trial's files elsewhere.
  for (const std::string& dir :
       {absl::StrCat(workdir, "/", sweep_id), files.dir}) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing ", dir, ": not a directory (a symbolic link?)"));
    }
    // The trial's own directory is the agent's: one made by another user
    // beforehand could hold anything.
    if (dir == files.dir && st.st_uid != geteuid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing ", dir, ": owned by another user"));
    }
  }
  files.params_json = files.dir + "/params.json";
  files.params_yaml = files.dir + "/params.yaml";
  files.metrics = files.dir + "/metrics.jsonl";
  files.log = files.dir + "/output.log";
  // A directory of this trial number left from before (a data dir restored
  // from a backup, a controller started afresh) holds another run's files:
  // its metrics would be read as this run's, its log would come first.
  for (const std::string* stale : {&files.metrics, &files.log}) {
    if (unlink(stale->c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("cannot remove stale ", *stale,
                                              ": ", std::strerror(errno)));
    }
  }
  if (absl::Status s = WriteFile(files.params_json, config.dump() + "\n");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(files.params_yaml, WandbParamsYaml(config));
      !s.ok()) {
    return s;
  }
  return files;
}

std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> merged;
  for (const std::string& entry : base) {
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [key, value] : overrides) replaced |= key == name;
    if (!replaced) merged.push_back(entry);
  }
  for (const auto& [key, value] : overrides) {
    merged.push_back(absl::StrCat(key, "=", value));
  }
  return merged;
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  return env;
}

}  // namespace sweep
