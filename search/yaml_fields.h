// Typed reading of YAML mapping fields with every problem reported to a
// Diagnostics, shared by the parts of the sweep definition parser. Internal
// to search/; thread-compatible.
#ifndef SWEEP_SEARCH_YAML_FIELDS_H_
#define SWEEP_SEARCH_YAML_FIELDS_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "search/diagnostics.h"
#include "search/spec.h"
#include "search/yaml_scalar.h"

namespace sweep {

// One key: value pair of a mapping.
struct YamlEntry {
  std::string key;
  YAML::Node value;
  SourceLocation key_location;
  SourceLocation value_location;  // The key's when the value has none.
};

// "a.b" for ("a", "b"); "b" for ("", "b").
std::string JoinPath(absl::string_view parent, absl::string_view key);

class FieldReader {
 public:
  explicit FieldReader(Diagnostics& diagnostics) : diag_(diagnostics) {}

  Diagnostics& diag() { return diag_; }

  // The entries of a mapping in written order. A duplicated key is a warning
  // and its last value wins (as PyYAML does). A key outside `allowed` is an
  // error naming the closest allowed key; those entries are dropped.
  std::vector<YamlEntry> Entries(const YAML::Node& map, absl::string_view path,
                                 const std::vector<absl::string_view>& allowed);

  // The entry named `key`, or nullptr.
  static const YamlEntry* Find(const std::vector<YamlEntry>& entries,
                               absl::string_view key);

  // Typed values; each reports "path: KEY must be ..., got ..." and returns
  // nullopt on a type mismatch. `path` is the owner's path; messages name the
  // key itself.
  std::optional<double> Number(const YamlEntry& e, absl::string_view path);
  std::optional<int64_t> Integer(const YamlEntry& e, absl::string_view path);
  std::optional<bool> Bool(const YamlEntry& e, absl::string_view path);
  std::optional<std::string> String(const YamlEntry& e, absl::string_view path);

  // The allowed key closest to `key` (edit distance at most 2), or "".
  static std::string ClosestKey(absl::string_view key,
                                const std::vector<absl::string_view>& allowed);

 private:
  Diagnostics& diag_;
  // What merge keys may still expand to in this document (MappingEntries).
  long merge_budget_ = kMaxMergedEntries;
};

}  // namespace sweep

#endif  // SWEEP_SEARCH_YAML_FIELDS_H_
