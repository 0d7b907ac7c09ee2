// Errors and warnings found in a sweep definition, each pointing at the file,
// line, column and key path at fault. Thread-compatible.
#ifndef SWEEP_SEARCH_DIAGNOSTICS_H_
#define SWEEP_SEARCH_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "search/spec.h"

namespace sweep {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  SourceLocation location;
  std::string path;  // Key path, e.g. "parameters.optimizer.lr"; may be empty.
  std::string message;

  // "sweep.yaml:7:10: parameters.momentum: max (0.1) must be greater than min
  // (0.9)"; warnings read "file:line:col: warning: path: message".
  std::string ToString() const;
};

// Collects every diagnostic of one file, so that all errors are reported at
// once rather than only the first.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void Error(SourceLocation at, absl::string_view path,
             absl::string_view message);
  void Warning(SourceLocation at, absl::string_view path,
               absl::string_view message);
  // An error for a definition submitted now, a warning for one read back
  // from the store: a rule added after a sweep was accepted must not stop
  // the controller that holds it from starting.
  void NewDefinitionError(SourceLocation at, absl::string_view path,
                          absl::string_view message);
  void set_stored(bool stored) { stored_ = stored; }

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  const std::string& file() const { return file_; }
  const std::vector<Diagnostic>& all() const { return all_; }
  std::vector<Diagnostic> Release() { return std::move(all_); }

 private:
  std::string file_;
  std::vector<Diagnostic> all_;
  int errors_ = 0;
  bool stored_ = false;
};

// All diagnostics, one per line, errors and warnings in file order.
std::string FormatDiagnostics(const std::vector<Diagnostic>& diagnostics);

}  // namespace sweep

#endif  // SWEEP_SEARCH_DIAGNOSTICS_H_
