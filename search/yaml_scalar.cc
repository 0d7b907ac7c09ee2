#include "search/yaml_scalar.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace sweep {
namespace {

bool IsOneOf(absl::string_view s,
             std::initializer_list<absl::string_view> set) {
  for (absl::string_view candidate : set) {
    if (s == candidate) return true;
  }
  return false;
}

// Digits of `s` in `base` with YAML 1.1's '_' separators; at least one digit.
bool ParseDigits(absl::string_view s, int base, uint64_t* out) {
  uint64_t value = 0;
  bool any = false;
  for (char c : s) {
    if (c == '_') continue;
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    if (digit >= base) return false;
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      return false;  // Out of range: the caller falls back to a float.
    }
    value = value * base + digit;
    any = true;
  }
  *out = value;
  return any;
}

// YAML 1.1's base 60 integers: [1-9][0-9_]*(:[0-5]?[0-9])+ ("1:30" is 90).
bool ParseBase60(absl::string_view s, uint64_t* out) {
  const std::vector<absl::string_view> parts = absl::StrSplit(s, ':');
  if (parts[0].empty() || parts[0][0] < '1' || parts[0][0] > '9' ||
      !ParseDigits(parts[0], 10, out)) {
    return false;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view part = parts[i];
    uint64_t digits = 0;
    if (part.empty() || part.size() > 2 ||
        part.find('_') != absl::string_view::npos ||
        !ParseDigits(part, 10, &digits) || digits >= 60 ||
        *out > std::numeric_limits<uint64_t>::max() / 60 - 1) {
      return false;
    }
    *out = *out * 60 + digits;
  }
  return true;
}

// YAML 1.1 integers as PyYAML reads them: decimal, 0b binary, 0x hex,
// leading-0 octal (0o17 is YAML 1.2's form: a string to PyYAML, and here),
// base 60 (1:30 is 90).
bool ParseInteger(absl::string_view s, Value* out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s[0] == '_') return false;
  uint64_t magnitude = 0;
  bool ok;
  if (s.find(':') != absl::string_view::npos) {
    ok = ParseBase60(s, &magnitude);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    ok = ParseDigits(s.substr(2), 16, &magnitude);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    ok = ParseDigits(s.substr(2), 2, &magnitude);
  } else if (s.size() > 1 && s[0] == '0') {
    ok = ParseDigits(s.substr(1), 8, &magnitude);
  } else {
    ok = ParseDigits(s, 10, &magnitude);
  }
  if (!ok) return false;
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (!negative && magnitude <= kMaxPositive) {
    *out = static_cast<int64_t>(magnitude);
  } else if (negative && magnitude <= kMaxPositive + 1) {
    *out = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                         : -static_cast<int64_t>(magnitude);
  } else if (!negative) {
    *out = magnitude;  // Fits uint64 only.
  } else {
    return false;
  }
  return true;
}

// Floats: PyYAML's forms (a '.' is required: 1.5, 1., .5, 1.5e-3) plus the
// YAML 1.2 exponent form without a dot (1e-5), and .inf / .nan.
bool ParseFloat(absl::string_view s, Value* out) {
  absl::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (IsOneOf(body, {".inf", ".Inf", ".INF"})) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (IsOneOf(s, {".nan", ".NaN", ".NAN"})) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  std::string cleaned;
  bool digits = false, dot = false, exponent = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '_' && !exponent) continue;
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot && !exponent) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exponent) {
      exponent = true;
      if (i + 1 < body.size() && (body[i + 1] == '+' || body[i + 1] == '-')) {
        cleaned.push_back(c);
        c = body[++i];
      }
      if (i + 1 >= body.size()) return false;  // "1e" or "1e-".
    } else {
      return false;
    }
    cleaned.push_back(c);
  }
  if (!digits || (!dot && !exponent)) return false;
  if (cleaned.front() == '.') cleaned.insert(cleaned.begin(), '0');
  double value = 0;
  auto [end, ec] =
      std::from_chars(cleaned.data(), cleaned.data() + cleaned.size(), value);
  if (end != cleaned.data() + cleaned.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is inf and underflow 0, as Python's float() gives.
    value = std::abs(value) > 1 ? std::numeric_limits<double>::infinity() : 0;
  }
  *out = negative ? -value : value;
  return true;
}

}  // namespace

SourceLocation LocationOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

Value ScalarToValue(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  // "!" marks a quoted scalar (or an explicit non-specific tag).
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
  if (tag == "?" || tag.empty()) {
    if (IsOneOf(text, {"", "~", "null", "Null", "NULL"})) return nullptr;
    if (IsOneOf(text, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On",
                       "ON"})) {
      return true;
    }
    if (IsOneOf(text, {"false", "False", "FALSE", "no", "No", "NO", "off",
                       "Off", "OFF"})) {
      return false;
    }
  }
  Value number;
  if (tag != "tag:yaml.org,2002:float" && ParseInteger(text, &number)) {
    return number;
  }
  if (ParseFloat(text, &number)) return number;
  return text;
}

namespace {

constexpr int kMaxMergeDepth = 64;

bool IsMergeKey(const YAML::Node& key) {
  // Only a plain `<<`: a quoted one is an ordinary key (its tag is "!").
  return key.IsScalar() && key.Scalar() == "<<" && key.Tag() != "!";
}

bool CollectEntries(const YAML::Node& map, int depth, long& budget,
                    std::vector<MappingEntry>* out, std::string* error,
                    YAML::Node* where) {
  if (depth > kMaxMergeDepth) {
    *error = absl::StrCat("merge keys (<<) nested more than ", kMaxMergeDepth,
                          " levels deep");
    where->reset(map);
    return false;
  }
  std::vector<MappingEntry> own;
  std::vector<MappingEntry> merged;
  for (const auto& entry : map) {
    if (--budget < 0) {
      *error = absl::StrCat("merge keys (<<) expand past ", kMaxMergedEntries,
                            " entries in all");
      where->reset(map);
      return false;
    }
    if (!IsMergeKey(entry.first)) {
      own.push_back({entry.first, entry.second});
      continue;
    }
    // YAML::Node assignment writes into the document: nodes are only ever
    // copy-constructed here, never swapped or assigned.
    std::vector<YAML::Node> sources;
    if (entry.second.IsMap()) {
      sources.push_back(entry.second);
    } else if (entry.second.IsSequence()) {
      // PyYAML merges a list's mappings last to first: the first wins.
      for (size_t i = entry.second.size(); i > 0; --i) {
        sources.push_back(entry.second[i - 1]);
      }
    } else {
      *error = absl::StrCat(
          "a merge (<<) takes a mapping or a list of mappings, got ",
          DescribeNode(entry.second));
      where->reset(entry.second);
      return false;
    }
    for (const YAML::Node& source : sources) {
      if (!source.IsMap()) {
        *error = absl::StrCat(
            "a merge (<<) takes a mapping or a list of mappings, got ",
            DescribeNode(source), " in the list");
        where->reset(source);
        return false;
      }
      if (!CollectEntries(source, depth + 1, budget, &merged, error, where)) {
        return false;
      }
    }
  }
  if (merged.empty()) {  // The common case: no merge key.
    for (MappingEntry& e : own) out->push_back(std::move(e));
    return true;
  }
  // PyYAML builds the mapping from the merged entries, then the map's own,
  // the last of a key winning: a merged key stays unless the map sets it or
  // a later merged entry does. The map's own repeated keys are left to the
  // caller (which warns).
  absl::flat_hash_set<std::string> taken;
  for (const MappingEntry& e : own) {
    if (e.key.IsScalar()) taken.insert(e.key.Scalar());
  }
  std::vector<MappingEntry> kept;
  for (auto it = merged.rbegin(); it != merged.rend(); ++it) {
    if (it->key.IsScalar() && !taken.insert(it->key.Scalar()).second) continue;
    kept.push_back(*it);
  }
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) out->push_back(*it);
  for (MappingEntry& e : own) out->push_back(std::move(e));
  return true;
}

}  // namespace

bool MappingEntries(const YAML::Node& map, long* budget,
                    std::vector<MappingEntry>* out, std::string* error,
                    YAML::Node* where) {
  return CollectEntries(map, 0, *budget, out, error, where);
}

bool NodeToValue(const YAML::Node& node, ValueBudget& budget, Value* out,
                 std::string* error, int depth) {
  if (++budget.nodes_used > budget.max_nodes) {
    *error = absl::StrCat("value too large (more than ", budget.max_nodes,
                          " elements, counting aliases)");
    return false;
  }
  if (depth > budget.max_depth) {
    *error = absl::StrCat("value nested more than ", budget.max_depth,
                          " levels deep");
    return false;
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      *out = nullptr;
      return true;
    case YAML::NodeType::Scalar:
      *out = ScalarToValue(node);
      return true;
    case YAML::NodeType::Sequence: {
      *out = Value::array();
      for (const YAML::Node& element : node) {
        Value v;
        if (!NodeToValue(element, budget, &v, error, depth + 1)) return false;
        out->push_back(std::move(v));
      }
      return true;
    }
    case YAML::NodeType::Map: {
      *out = Value::object();
      std::vector<MappingEntry> entries;
      YAML::Node where;
      if (!MappingEntries(node, &budget.merge_entries_left, &entries, error,
                          &where)) {
        return false;
      }
      for (const MappingEntry& entry : entries) {
        if (!entry.key.IsScalar()) {
          *error = "mapping keys must be plain strings";
          return false;
        }
        Value v;
        if (!NodeToValue(entry.value, budget, &v, error, depth + 1)) {
          return false;
        }
        (*out)[entry.key.Scalar()] = std::move(v);
      }
      return true;
    }
  }
  return false;
}

std::string DescribeNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return node.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
      return node.size() == 0 ? "an empty mapping" : "a mapping";
    case YAML::NodeType::Scalar:
      break;
  }
  const Value v = ScalarToValue(node);
  std::string text = node.Scalar();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  if (v.is_null()) return "nothing (null)";
  if (v.is_boolean()) return absl::StrCat("the boolean ", text);
  if (v.is_number()) return absl::StrCat("the number ", text);
  return absl::StrCat("the string '", text, "'");
}

}  // namespace sweep
