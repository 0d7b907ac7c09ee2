#include "search/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sweep {
namespace {

// 2^63 and 2^64 as doubles: every double in [-2^63, 2^64) that is integral
// converts exactly to int64_t or uint64_t, and no integer Value lies outside.
constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

bool IsExactlyIntegral(double d) {
  return std::isfinite(d) && d == std::trunc(d) && d >= -kTwoTo63 &&
         d < kTwoTo64;
}

// Python compares int and float by exact value (2**53 + 1 != 2.0**53), so no
// conversion may round.
bool IntEqualsDouble(int64_t i, double d) {
  if (!IsExactlyIntegral(d) || d >= kTwoTo63) return false;
  return static_cast<int64_t>(d) == i;
}

bool UnsignedEqualsDouble(uint64_t u, double d) {
  if (!IsExactlyIntegral(d) || d < 0) return false;
  return static_cast<uint64_t>(d) == u;
}

bool IntEqualsUnsigned(int64_t i, uint64_t u) {
  return i >= 0 && static_cast<uint64_t>(i) == u;
}

bool NumbersEqual(const Value& a, const Value& b) {
  using T = Value::value_t;
  const T ta = a.type();
  const T tb = b.type();
  if (ta == T::number_float && tb == T::number_float) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  if (ta == T::number_float) return NumbersEqual(b, a);
  // From here on `a` is an integer.
  if (ta == T::number_integer) {
    const int64_t i = a.get<int64_t>();
    if (tb == T::number_integer) return i == b.get<int64_t>();
    if (tb == T::number_unsigned) {
      return IntEqualsUnsigned(i, b.get<uint64_t>());
    }
    return IntEqualsDouble(i, b.get<double>());
  }
  const uint64_t u = a.get<uint64_t>();
  if (tb == T::number_integer) return IntEqualsUnsigned(b.get<int64_t>(), u);
  if (tb == T::number_unsigned) return u == b.get<uint64_t>();
  return UnsignedEqualsDouble(u, b.get<double>());
}

// Integral floats take the key of the equal integer; every other float is
// keyed by its shortest round-trip digits, which are unique per double.
std::string NumberKey(const Value& v) {
  switch (v.type()) {
    case Value::value_t::number_integer:
      return absl::StrCat("n", v.get<int64_t>());
    case Value::value_t::number_unsigned:
      return absl::StrCat("n", v.get<uint64_t>());
    default: {
      const double d = v.get<double>();
      if (IsExactlyIntegral(d)) {
        if (d < 0) return absl::StrCat("n", static_cast<int64_t>(d));
        return absl::StrCat("n", static_cast<uint64_t>(d));
      }
      return absl::StrCat("f", PythonFloatRepr(d));
    }
  }
}

// Length-prefixed, so that keys of containers cannot collide whatever bytes
// the strings hold.
std::string StringKey(const std::string& s) {
  return absl::StrCat("s", s.size(), ":", s);
}

// Decodes the UTF-8 sequence starting at `*pos` and advances past it. An
// invalid byte yields nullopt and is skipped alone.
std::optional<char32_t> NextCodePoint(std::string_view s, size_t* pos) {
  const auto lead = static_cast<unsigned char>(s[*pos]);
  int length = 0;
  char32_t code = 0;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    ++*pos;
    return std::nullopt;
  }
  if (*pos + length > s.size()) {
    ++*pos;
    return std::nullopt;
  }
  for (int k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[*pos + k]);
    if ((next & 0xC0) != 0x80) {
      ++*pos;
      return std::nullopt;
    }
    code = (code << 6) | (next & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinForLength[length] || code > 0x10FFFF ||
      (code >= 0xD800 && code <= 0xDFFF)) {
    ++*pos;
    return std::nullopt;
  }
  *pos += length;
  return code;
}

// Python's str.isprintable() is false for control, format and separator
// characters (other than ASCII space). This covers Latin-1 exactly and the
// separators and format characters that show up in practice; other code
// points are printed as they are.
bool IsPythonPrintable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) ||
      (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x2064) ||
      c == 0x3000 || c == 0xFEFF) {
    return false;
  }
  return true;
}

std::string PythonStringRepr(std::string_view s) {
  // Not absl::StrContains: Debian's Abseil has its own string_view type.
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t start = pos;
    const std::optional<char32_t> code = NextCodePoint(s, &pos);
    if (!code.has_value()) {
      // Not UTF-8 (Python strings cannot hold it); keep the byte.
      out.push_back(s[start]);
      continue;
    }
    const char32_t c = *code;
    if (c == '\\' || c == static_cast<char32_t>(quote)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (IsPythonPrintable(c)) {
      out.append(s.substr(start, pos - start));
    } else if (c <= 0xFF) {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned>(c));
    } else {
      out += absl::StrFormat("\\U%08x", static_cast<unsigned>(c));
    }
  }
  out.push_back(quote);
  return out;
}

// json.dumps with ensure_ascii=True: everything outside ' '..'~' escaped,
// astral characters as UTF-16 surrogate pairs.
std::string JsonStringLiteral(std::string_view s) {
  std::string out = "\"";
  size_t pos = 0;
  while (pos < s.size()) {
    // Undecodable bytes become U+FFFD, as Python's "replace" decoding would.
    const char32_t c = NextCodePoint(s, &pos).value_or(0xFFFD);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c >= 0x20 && c < 0x7F) {
          out.push_back(static_cast<char>(c));
        } else if (c <= 0xFFFF) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned>(c));
        } else {
          const char32_t offset = c - 0x10000;
          out += absl::StrFormat(
              "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (offset >> 10)),
              static_cast<unsigned>(0xDC00 + (offset & 0x3FF)));
        }
    }
  }
  out.push_back('"');
  return out;
}

// Formats scalars the way the given Python function would; containers always
// show their elements with repr(), as Python's list and dict str() do.
enum class PythonStyle { kStr, kRepr };

std::string FormatPython(const Value& v, PythonStyle style) {
  switch (v.type()) {
    case Value::value_t::null:
      return "None";
    case Value::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case Value::value_t::number_integer:
      return absl::StrCat(v.get<int64_t>());
    case Value::value_t::number_unsigned:
      return absl::StrCat(v.get<uint64_t>());
    case Value::value_t::number_float:
      return PythonFloatRepr(v.get<double>());
    case Value::value_t::string:
      return style == PythonStyle::kStr
                 ? v.get<std::string>()
                 : PythonStringRepr(v.get_ref<const std::string&>());
    case Value::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += FormatPython(v[i], PythonStyle::kRepr);
      }
      return out + "]";
    }
    case Value::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        absl::StrAppend(&out, PythonStringRepr(key), ": ",
                        FormatPython(item, PythonStyle::kRepr));
      }
      return out + "}";
    }
    default:  // binary and discarded never come from a sweep definition.
      return "None";
  }
}

}  // namespace

bool ValuesEqual(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return NumbersEqual(a, b);
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::value_t::array:
      return a.size() == b.size() &&
             std::equal(a.begin(), a.end(), b.begin(), ValuesEqual);
    case Value::value_t::object: {
      if (a.size() != b.size()) return false;
      for (const auto& [key, item] : a.items()) {
        const auto found = b.find(key);
        if (found == b.end() || !ValuesEqual(item, *found)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

std::string CanonicalKey(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return "z";
    case Value::value_t::boolean:
      return v.get<bool>() ? "bT" : "bF";
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
    case Value::value_t::number_float:
      return NumberKey(v);
    case Value::value_t::string:
      return StringKey(v.get_ref<const std::string&>());
    case Value::value_t::array: {
      std::string out = "[";
      for (const Value& item : v) {
        absl::StrAppend(&out, CanonicalKey(item), ",");
      }
      return out + "]";
    }
    case Value::value_t::object: {
      std::vector<std::string> entries;
      entries.reserve(v.size());
      for (const auto& [key, item] : v.items()) {
        entries.push_back(absl::StrCat(StringKey(key), CanonicalKey(item)));
      }
      // Keys are distinct, so are the entries: sorting them makes the result
      // independent of the written order.
      std::sort(entries.begin(), entries.end());
      std::string out = "{";
      for (const std::string& entry : entries) {
        absl::StrAppend(&out, entry, ",");
      }
      return out + "}";
    }
    default:
      return "?";
  }
}

std::string PointKey(const std::vector<Value>& point) {
  std::string key;
  for (const Value& v : point) {
    const std::string coordinate = CanonicalKey(v);
    absl::StrAppend(&key, coordinate.size(), ":", coordinate);
  }
  return key;
}

namespace {

void DumpJsonTo(const Value& v, int indent, int depth, std::string& out) {
  const auto newline = [&](int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(level * indent), ' ');
  };
  switch (v.type()) {
    case Value::value_t::object: {
      if (v.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        out += Value(it.key()).dump(-1, ' ', /*ensure_ascii=*/false,
                                    Value::error_handler_t::replace);
        out += indent >= 0 ? ": " : ":";
        DumpJsonTo(it.value(), indent, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::value_t::array: {
      if (v.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        newline(depth + 1);
        DumpJsonTo(v[i], indent, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::value_t::number_float: {
      const double d = v.get<double>();
      out += std::isfinite(d) ? PythonFloatRepr(d) : "null";
      return;
    }
    default:
      out += v.dump(-1, ' ', /*ensure_ascii=*/false,
                    Value::error_handler_t::replace);
  }
}

}  // namespace

std::string DumpJson(const Value& v, int indent) {
  std::string out;
  DumpJsonTo(v, indent, 0, out);
  return out;
}

std::string PythonFloatRepr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";

  // Shortest round-trip digits in the form "[-]d[.ddd]e[+-]XX".
  char buffer[64];
  const std::to_chars_result result = std::to_chars(
      buffer, buffer + sizeof(buffer), x, std::chars_format::scientific);
  std::string_view scientific(buffer, result.ptr - buffer);

  std::string out;
  if (scientific.front() == '-') {
    out.push_back('-');
    scientific.remove_prefix(1);
  }
  const size_t e_pos = scientific.find('e');
  std::string digits(scientific.substr(0, e_pos));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string_view exponent_text = scientific.substr(e_pos + 1);
  const bool exponent_negative = exponent_text.front() == '-';
  exponent_text.remove_prefix(1);  // The sign; from_chars rejects '+'.
  int exponent = 0;
  std::from_chars(exponent_text.data(),
                  exponent_text.data() + exponent_text.size(), exponent);
  if (exponent_negative) exponent = -exponent;

  // Python's float_repr_style 'short' switches to scientific notation
  // outside [1e-4, 1e16).
  const int digit_count = static_cast<int>(digits.size());
  if (exponent < -4 || exponent >= 16) {
    out.push_back(digits[0]);
    if (digit_count > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppend(&out, "e", exponent < 0 ? "-" : "+",
                    absl::StrFormat("%02d", std::abs(exponent)));
  } else if (exponent < 0) {
    absl::StrAppend(&out, "0.", std::string(-exponent - 1, '0'), digits);
  } else if (digit_count > exponent + 1) {
    absl::StrAppend(&out, digits.substr(0, exponent + 1), ".",
                    digits.substr(exponent + 1));
  } else {
    absl::StrAppend(&out, digits, std::string(exponent + 1 - digit_count, '0'),
                    ".0");
  }
  return out;
}

std::string PythonStr(const Value& v) {
  return FormatPython(v, PythonStyle::kStr);
}

std::string PythonRepr(const Value& v) {
  return FormatPython(v, PythonStyle::kRepr);
}

std::string PythonJsonDumps(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return "null";
    case Value::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_integer:
      return absl::StrCat(v.get<int64_t>());
    case Value::value_t::number_unsigned:
      return absl::StrCat(v.get<uint64_t>());
    case Value::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return PythonFloatRepr(d);
    }
    case Value::value_t::string:
      return JsonStringLiteral(v.get_ref<const std::string&>());
    case Value::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += PythonJsonDumps(v[i]);
      }
      return out + "]";
    }
    case Value::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        absl::StrAppend(&out, JsonStringLiteral(key), ": ",
                        PythonJsonDumps(item));
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

}  // namespace sweep
