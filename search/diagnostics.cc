#include "search/diagnostics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sweep {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (location.line > 0) {
    absl::StrAppend(&out, ":", location.line, ":", location.column);
  }
  absl::StrAppend(&out, ": ");
  if (severity == Severity::kWarning) absl::StrAppend(&out, "warning: ");
  if (!path.empty()) absl::StrAppend(&out, path, ": ");
  absl::StrAppend(&out, message);
  return out;
}

void Diagnostics::Error(SourceLocation at, absl::string_view path,
                        absl::string_view message) {
  all_.push_back({Diagnostic::Severity::kError, file_, at, std::string(path),
                  std::string(message)});
  ++errors_;
}

void Diagnostics::Warning(SourceLocation at, absl::string_view path,
                          absl::string_view message) {
  all_.push_back({Diagnostic::Severity::kWarning, file_, at, std::string(path),
                  std::string(message)});
}

void Diagnostics::NewDefinitionError(SourceLocation at, absl::string_view path,
                                     absl::string_view message) {
  if (stored_) {
    Warning(at, path, message);
  } else {
    Error(at, path, message);
  }
}

std::string FormatDiagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::vector<const Diagnostic*> sorted;
  sorted.reserve(diagnostics.size());
  for (const Diagnostic& d : diagnostics) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Diagnostic* a, const Diagnostic* b) {
                     if (a->location.line != b->location.line) {
                       return a->location.line < b->location.line;
                     }
                     return a->location.column < b->location.column;
                   });
  std::string out;
  for (const Diagnostic* d : sorted) absl::StrAppend(&out, d->ToString(), "\n");
  return out;
}

}  // namespace sweep
