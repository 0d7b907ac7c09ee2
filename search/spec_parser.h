// Parsing and validation of a W&B-compatible sweep definition (YAML) into a
// SweepSpec. Every problem of the file is reported at once, each with its
// file:line:column and key path. Thread-safe; never throws.
#ifndef SWEEP_SEARCH_SPEC_PARSER_H_
#define SWEEP_SEARCH_SPEC_PARSER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "search/diagnostics.h"
#include "search/spec.h"

namespace sweep {

// Larger inputs are refused before parsing: real sweep files are a few KiB.
inline constexpr std::size_t kMaxDefinitionBytes = 1 << 20;  // 1 MiB.
// Nested `parameters:` deeper than this are refused (bounded recursion).
inline constexpr int kMaxParameterDepth = 16;

struct ParsedDefinition {
  // Set exactly when there are no errors (warnings may remain).
  std::optional<SweepSpec> spec;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return spec.has_value(); }
  // Every error and warning, one per line.
  std::string Format() const { return FormatDiagnostics(diagnostics); }
};

// Parses `text`; `file_name` only labels the diagnostics. The text may be
// anything: binary garbage, invalid UTF-8, tabs, huge or deeply nested input
// all give errors, never a crash or a hang.
// `stored`: the text of a sweep accepted earlier, read back from the store;
// checks added since it was accepted only warn.
ParsedDefinition ParseSweepDefinition(absl::string_view text,
                                      absl::string_view file_name,
                                      bool stored = false);

}  // namespace sweep

#endif  // SWEEP_SEARCH_SPEC_PARSER_H_
