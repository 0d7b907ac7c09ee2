#include "cli/definition_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace sweep {

bool ReadDefinitionText(const std::string& path, std::string* text,
                        Diagnostic* error) {
  error->file = path;
  error->severity = Diagnostic::Severity::kError;
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    error->message = absl::StrCat("cannot read: ", std::strerror(errno));
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    error->message = "is a directory, not a sweep definition file";
    return false;
  }
  if (S_ISREG(info.st_mode) &&
      static_cast<uint64_t>(info.st_size) > kMaxDefinitionBytes) {
    error->message = absl::StrFormat(
        "file is %.1f MiB; a sweep definition may be at most %d MiB",
        info.st_size / 1048576.0, static_cast<int>(kMaxDefinitionBytes >> 20));
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error->message = absl::StrCat("cannot read: ", std::strerror(errno));
    return false;
  }
  // Bounded read, also for pipes and devices whose size stat cannot tell.
  text->assign(kMaxDefinitionBytes + 1, '\0');
  in.read(text->data(), static_cast<std::streamsize>(text->size()));
  text->resize(static_cast<size_t>(in.gcount()));
  if (text->size() > kMaxDefinitionBytes) {
    error->message = absl::StrFormat(
        "file is larger than %d MiB, the limit for a sweep definition",
        static_cast<int>(kMaxDefinitionBytes >> 20));
    return false;
  }
  if (in.bad()) {
    error->message = absl::StrCat("read error: ", std::strerror(errno));
    return false;
  }
  return true;
}

ParsedDefinition LoadDefinitionFile(const std::string& path) {
  std::string text;
  Diagnostic error;
  if (!ReadDefinitionText(path, &text, &error)) {
    ParsedDefinition failed;
    failed.diagnostics.push_back(std::move(error));
    return failed;
  }
  return ParseSweepDefinition(text, path);
}

bool ProgramImportsWandb(const std::string& definition_text,
                         const std::string& definition_file) {
  const ParsedDefinition parsed =
      ParseSweepDefinition(definition_text, definition_file);
  if (!parsed.ok() || !parsed.spec->program) return false;
  const std::string& program = *parsed.spec->program;
  if (!absl::EndsWith(program, ".py")) return false;
  std::vector<std::string> candidates = {program};
  const size_t slash = definition_file.rfind('/');
  if (program.empty() || program[0] != '/') {
    if (slash != std::string::npos) {
      candidates.push_back(definition_file.substr(0, slash + 1) + program);
    }
  }
  for (const std::string& path : candidates) {
    std::ifstream file(path);
    std::string line;
    for (int n = 0; n < 2000 && std::getline(file, line); ++n) {
      const absl::string_view code = absl::StripLeadingAsciiWhitespace(line);
      if (absl::StartsWith(code, "import wandb") ||
          absl::StartsWith(code, "from wandb")) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace sweep
