#include "cli/yaml_output.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace sweep {
namespace {

// PyYAML reads "1e-05" as a string: its floats need a '.'.
std::string YamlFloat(double x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  std::string text = PythonFloatRepr(x);
  if (text.find('.') == std::string::npos) {
    const size_t e = text.find('e');
    text.insert(e == std::string::npos ? text.size() : e, ".0");
  }
  return text;
}

// DEL or a C1 control character (U+0080 to U+009F), which YAML allows only
// escaped, or a character PyYAML takes for a line break even inside quotes
// (U+0085, U+2028, U+2029).
bool HasNonPrintable(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size()) {
      const unsigned char next = s[i + 1];
      if (next >= 0x80 && next <= 0x9f) return true;
    }
    if (c == 0xe2 && i + 2 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
         static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
      return true;
    }
  }
  return false;
}

bool NeedsQuotes(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return true;
  if (HasNonPrintable(s)) return true;
  // Anything that would load as another type, or that YAML gives a meaning.
  const Value reread = Value::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!reread.is_discarded() && !reread.is_string()) return true;
  static constexpr std::string_view kWords[] = {
      "~",     "null", "Null", "NULL", "true", "True", "TRUE", "false", "False",
      "FALSE", "yes",  "Yes",  "YES",  "no",   "No",   "NO",   "on",    "On",
      "ON",    "off",  "Off",  "OFF",  ".inf", ".nan", "-.inf"};
  for (std::string_view w : kWords) {
    if (s == w) return true;
  }
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) !=
      std::string_view::npos) {
    return true;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) return true;
    // A flow collection's indicators: in [a, b] an unquoted "a, b" would be
    // two values.
    if (std::string_view(",[]{}").find(static_cast<char>(c)) !=
        std::string_view::npos) {
      return true;
    }
    if (c == '#' && i > 0 && s[i - 1] == ' ') return true;
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return true;
    if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') return true;
  }
  // Numbers in forms JSON does not know (1e5, .5, 0x1F, 010, 1_000).
  const char first = s.front();
  if ((first >= '0' && first <= '9') || first == '.' || first == '+') {
    return true;
  }
  return false;
}

std::string YamlScalar(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return "null";
    case Value::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
      return v.dump();
    case Value::value_t::number_float:
      return YamlFloat(v.get<double>());
    case Value::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (!NeedsQuotes(s)) return s;
      // JSON strings are valid YAML, except for the characters YAML does not
      // allow even quoted (DEL, C1 controls): then every non-ASCII one is
      // escaped.
      return v.dump(-1, ' ', HasNonPrintable(s));
    }
    default:
      return v.dump();
  }
}

bool IsScalar(const Value& v) { return !v.is_object() && !v.is_array(); }

std::string Inline(const Value& v) {
  if (IsScalar(v)) return YamlScalar(v);
  std::string out = v.is_array() ? "[" : "{";
  bool first = true;
  for (const auto& [key, item] : v.items()) {
    if (!first) out += ", ";
    first = false;
    if (v.is_object()) absl::StrAppend(&out, YamlScalar(Value(key)), ": ");
    out += Inline(item);
  }
  out += v.is_array() ? "]" : "}";
  return out;
}

void Write(const Value& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    if (v.empty()) {
      absl::StrAppend(&out, pad, "{}\n");
      return;
    }
    for (const auto& [key, item] : v.items()) {
      absl::StrAppend(&out, pad, YamlScalar(Value(key)), ":");
      if (item.is_object() && !item.empty()) {
        out += "\n";
        Write(item, indent + 2, out);
      } else {
        absl::StrAppend(&out, " ", Inline(item), "\n");
      }
    }
    return;
  }
  absl::StrAppend(&out, pad, Inline(v), "\n");
}

}  // namespace

std::string ToYaml(const Value& value, int indent) {
  std::string out;
  Write(value, indent, out);
  return out;
}

}  // namespace sweep
