#include "cli/definition_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

}  // namespace sweep
