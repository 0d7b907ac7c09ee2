#include "agent/metrics_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/followed_file.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

using Json = nlohmann::json;

// Nested objects deeper than this are not flattened (no metric is that deep,
// and it bounds the recursion).
constexpr int kMaxFlattenDepth = 32;

// JSON has no NaN or Infinity, but Python's json.dumps writes them. They are
// replaced by strings that start with a NUL (which no real metric name or
// value starts with) before parsing, and turned back into doubles after.
constexpr char kNanText[] = "\"\\u0000NaN\"";
constexpr char kInfinityText[] = "\"\\u0000Infinity\"";
constexpr char kMinusInfinityText[] = "\"\\u0000-Infinity\"";

bool IsBareTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '+' || c == '-' || c == '_';
}

// `line` with NaN, Infinity and -Infinity outside strings replaced as above.
// Outside strings, valid JSON has only numbers and literals between its
// punctuation, so comparing whole bare tokens is exact.
std::string ReplaceNonFiniteTokens(absl::string_view line) {
  std::string out;
  out.reserve(line.size());
  bool in_string = false;
  for (size_t i = 0; i < line.size();) {
    const char c = line[i];
    if (in_string) {
      size_t length = (c == '\\' && i + 1 < line.size()) ? 2 : 1;
      out.append(line.data() + i, length);
      if (c == '"') in_string = false;
      i += length;
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
      ++i;
    } else if (IsBareTokenChar(c)) {
      size_t end = i;
      while (end < line.size() && IsBareTokenChar(line[end])) ++end;
      absl::string_view token = line.substr(i, end - i);
      if (token == "NaN") {
        out.append(kNanText);
      } else if (token == "Infinity") {
        out.append(kInfinityText);
      } else if (token == "-Infinity") {
        out.append(kMinusInfinityText);
      } else {
        out.append(token.data(), token.size());
      }
      i = end;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::optional<double> NonFiniteFromString(const std::string& s) {
  if (s.empty() || s[0] != '\0') return std::nullopt;
  if (s == std::string("\0NaN", 4)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (s == std::string("\0Infinity", 9)) {
    return std::numeric_limits<double>::infinity();
  }
  if (s == std::string("\0-Infinity", 10)) {
    return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

std::optional<double> MetricNumber(const Json& value) {
  switch (value.type()) {
    case Json::value_t::number_integer:
      return static_cast<double>(value.get<int64_t>());
    case Json::value_t::number_unsigned:
      return static_cast<double>(value.get<uint64_t>());
    case Json::value_t::number_float:
      return value.get<double>();
    case Json::value_t::boolean:  // 1 or 0, as the clients write them.
      return value.get<bool>() ? 1.0 : 0.0;
    case Json::value_t::string:
      return NonFiniteFromString(value.get_ref<const std::string&>());
    default:
      return std::nullopt;  // Nulls, lists: not metrics.
  }
}

// Adds the numbers of `value` under `name` (nested objects as "a/b"); a
// name longer than the controller takes, or holding control characters
// (a NUL, an escape sequence: they would reach tables and CSV headers), is
// skipped and counted in *bad_names.
void AddFlattened(const std::string& name, const Json& value, int depth,
                  MetricValues* values, int* bad_names) {
  if (value.is_object()) {
    if (depth >= kMaxFlattenDepth) return;
    for (const auto& [key, nested] : value.items()) {
      if (key.empty()) continue;
      AddFlattened(absl::StrCat(name, "/", key), nested, depth + 1, values,
                   bad_names);
    }
  } else if (std::optional<double> number = MetricNumber(value)) {
    // A longer one, or one with control characters, is skipped (and its
    // line counted as malformed).
    if (name.size() > kMaxMetricNameBytes || HasControlCharacter(name)) {
      ++*bad_names;
      return;
    }
    values->emplace_back(name, *number);
  }
}

// Sorts by name; of equal names ({"a/b": 1, "a": {"b": 2}}) the last stays.
void SortKeepingLast(MetricValues* values) {
  std::stable_sort(
      values->begin(), values->end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  MetricValues unique;
  unique.reserve(values->size());
  for (auto& entry : *values) {
    if (!unique.empty() && unique.back().first == entry.first) {
      unique.back().second = entry.second;
    } else {
      unique.push_back(std::move(entry));
    }
  }
  *values = std::move(unique);
}

std::optional<int64_t> StepFromJson(const Json& value) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  switch (value.type()) {
    case Json::value_t::number_unsigned: {
      uint64_t step = value.get<uint64_t>();
      if (step > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return std::nullopt;
      }
      return static_cast<int64_t>(step);
    }
    case Json::value_t::number_integer: {
      int64_t step = value.get<int64_t>();
      return step >= 0 ? std::optional<int64_t>(step) : std::nullopt;
    }
    case Json::value_t::number_float: {
      double step = value.get<double>();  // Some loggers write 3.0.
      if (!(step >= 0 && step < kTwoTo63) || step != std::trunc(step)) {
        return std::nullopt;
      }
      return static_cast<int64_t>(step);
    }
    default:
      return std::nullopt;
  }
}

struct ParsedLine {
  std::optional<int64_t> step;
  MetricValues values;
  // Values skipped for their name: too long, or with control characters.
  int bad_names = 0;
  // A value written as a string that reads as a number ({"loss": "0.4"}: a
  // formatted value logged by mistake), as `name "text"`; the first only.
  std::string numeric_string;
};

// Parses one non-empty line; on failure returns nullopt with *error set.
std::optional<ParsedLine> ParseJsonMetricLine(absl::string_view line,
                                              std::string* error) {
  Json doc = Json::parse(ReplaceNonFiniteTokens(line), /*cb=*/nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    *error = "not valid JSON (or not UTF-8)";
    return std::nullopt;
  }
  if (!doc.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  ParsedLine parsed;
  for (const auto& [key, value] : doc.items()) {
    if (key == "_step") {
      parsed.step = StepFromJson(value);
      if (!parsed.step.has_value()) {
        *error = "_step is not a non-negative integer";
        return std::nullopt;
      }
    } else if (!key.empty() && key[0] != '_') {
      double number;
      if (value.is_string() && parsed.numeric_string.empty() &&
          key.size() <= 64 && std::none_of(key.begin(), key.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
          })) {
        const absl::string_view text =
            absl::StripAsciiWhitespace(value.get_ref<const std::string&>());
        if (text.size() <= 32 && absl::SimpleAtod(text, &number)) {
          parsed.numeric_string = absl::StrCat(key, " \"", text, "\"");
        }
      }
      AddFlattened(key, value, 1, &parsed.values, &parsed.bad_names);
    }
  }
  SortKeepingLast(&parsed.values);
  return parsed;
}

bool IsMetricName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxMetricNameBytes) return false;
  const auto is_start = [](char c) {
    return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
  };
  if (!is_start(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) {
    return is_start(c) || absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
           c == '.' || c == '/' || c == '-';
  });
}

std::optional<double> ParseWholeNumber(absl::string_view text) {
  // from_chars refuses a leading '+', which some loggers print.
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') {
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// A number as a Python dict's repr shows it: a literal ("0.5", "nan"), or a
// numpy scalar or tensor holding one ("np.float64(0.5)", "tensor(0.5,
// device='cuda:0')": the call's first argument).
std::optional<double> DictNumber(absl::string_view value) {
  if (std::optional<double> number = ParseWholeNumber(value)) return number;
  const size_t open = value.find('(');
  if (open == 0 || open == absl::string_view::npos || value.back() != ')') {
    return std::nullopt;
  }
  const absl::string_view callee = value.substr(0, open);
  const bool is_name = std::all_of(callee.begin(), callee.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           c == '.';
  });
  if (!is_name) return std::nullopt;
  absl::string_view inside = value.substr(open + 1, value.size() - open - 2);
  inside = inside.substr(0, inside.find(','));
  return ParseWholeNumber(absl::StripAsciiWhitespace(inside));
}

// The numbers of a one-level Python dict as repr() prints it, the form
// Hugging Face's Trainer logs: {'loss': 0.69, 'epoch': 1.0}. Keys are quoted
// strings (no escapes); values are numbers as DictNumber reads them, anything
// else (strings, True, None, lists, nested dicts) is skipped, as are keys that
// are not metric names.
// nullopt when `text` is not of that form.
std::optional<MetricValues> ParsePythonDict(absl::string_view text) {
  size_t i = 1;  // Past '{'.
  const auto skip_spaces = [&] {
    while (i < text.size() &&
           absl::ascii_isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
  };
  // A quoted string from text[i]; leaves i past its closing quote.
  const auto quoted = [&]() -> std::optional<absl::string_view> {
    const char quote = text[i];
    const size_t end = text.find(quote, i + 1);
    if (end == absl::string_view::npos) return std::nullopt;
    absl::string_view inner = text.substr(i + 1, end - i - 1);
    if (absl::StrContains(inner, '\\')) return std::nullopt;
    i = end + 1;
    return inner;
  };
  MetricValues values;
  skip_spaces();
  if (i + 1 == text.size()) return values;  // {}
  while (i < text.size()) {
    skip_spaces();
    if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) {
      return std::nullopt;
    }
    std::optional<absl::string_view> key = quoted();
    if (!key.has_value()) return std::nullopt;
    skip_spaces();
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    ++i;
    skip_spaces();
    if (i >= text.size()) return std::nullopt;
    // The value, up to the ',' or '}' that ends it outside any quotes or
    // brackets: a number, a string, a list, a nested dict, or a call such as
    // np.float64(0.5) or tensor(0.5, device='cuda:0').
    const size_t start = i;
    int depth = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\'' || c == '"') {
        if (!quoted().has_value()) return std::nullopt;
        continue;
      }
      if (c == '(' || c == '[' || c == '{') {
        ++depth;
      } else if (c == ')' || c == ']' || c == '}') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
      ++i;
    }
    if (depth != 0) return std::nullopt;
    const absl::string_view value =
        absl::StripAsciiWhitespace(text.substr(start, i - start));
    if (IsMetricName(*key)) {
      if (std::optional<double> number = DictNumber(value)) {
        values.emplace_back(std::string(*key), *number);
      }
    }
    skip_spaces();
    if (i >= text.size()) return std::nullopt;
    if (text[i] == '}') {
      if (i + 1 != text.size()) return std::nullopt;
      SortKeepingLast(&values);
      return values;
    }
    if (text[i] != ',') return std::nullopt;
    ++i;
  }
  return std::nullopt;
}

}  // namespace

MetricsFileReader::MetricsFileReader(std::string path,
                                     MetricsReaderOptions options)
    : file_(std::move(path), "metrics file"), options_(options) {}

absl::StatusOr<std::vector<MetricPoint>> MetricsFileReader::ReadNew(
    int64_t now_ms) {
  std::vector<MetricPoint> points;
  size_t bytes_read = 0;
  absl::Status status = ReadChunk(now_ms, &points, &bytes_read);
  if (!status.ok()) return status;
  return points;
}

absl::StatusOr<std::vector<MetricPoint>> MetricsFileReader::Drain(
    int64_t now_ms) {
  std::vector<MetricPoint> points;
  size_t bytes_read = 0;
  do {
    absl::Status status = ReadChunk(now_ms, &points, &bytes_read);
    if (!status.ok()) return status;
  } while (bytes_read > 0);
  if (!discarding_long_line_ && !partial_line_.empty()) {
    std::string last_line = std::move(partial_line_);
    HandleLine(last_line, now_ms, &points);
  }
  partial_line_.clear();
  discarding_long_line_ = false;
  return points;
}

absl::Status MetricsFileReader::ReadChunk(int64_t now_ms,
                                          std::vector<MetricPoint>* out,
                                          size_t* bytes_read) {
  *bytes_read = 0;
  absl::StatusOr<FollowedFile::Chunk> chunk =
      file_.Read(options_.max_bytes_per_read);
  if (!chunk.ok()) return chunk.status();
  if (chunk->restarted) RestartFromBeginning();
  *bytes_read = chunk->bytes.size();
  ConsumeBytes(chunk->bytes, now_ms, out);
  return absl::OkStatus();
}

void MetricsFileReader::RestartFromBeginning() {
  partial_line_.clear();
  discarding_long_line_ = false;
  line_number_ = 0;
  ++restarts_;
  replaying_ = !line_hashes_.empty();
  replayed_ = 0;
}

void MetricsFileReader::ConsumeBytes(absl::string_view bytes, int64_t now_ms,
                                     std::vector<MetricPoint>* out) {
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    absl::string_view piece = bytes.substr(0, newline);
    if (!discarding_long_line_) {
      if (partial_line_.size() + piece.size() > options_.max_line_bytes) {
        ++line_number_;
        CountMalformed(
            absl::StrCat("longer than ", options_.max_line_bytes, " bytes"));
        partial_line_.clear();
        discarding_long_line_ = true;
      } else {
        partial_line_.append(piece.data(), piece.size());
      }
    }
    if (newline == absl::string_view::npos) return;
    if (!discarding_long_line_) HandleLine(partial_line_, now_ms, out);
    partial_line_.clear();
    discarding_long_line_ = false;
    bytes.remove_prefix(newline + 1);
  }
}

void MetricsFileReader::HandleLine(absl::string_view line, int64_t now_ms,
                                   std::vector<MetricPoint>* out) {
  ++line_number_;
  line = absl::StripAsciiWhitespace(line);
  if (line.empty()) return;
  const size_t hash =
      std::hash<std::string_view>()(std::string_view(line.data(), line.size()));
  if (replaying_) {
    if (replayed_ < line_hashes_.size() && line_hashes_[replayed_] == hash) {
      ++replayed_;  // Taken before the file was rewritten.
      return;
    }
    // The history differs from here: what follows is new.
    replaying_ = false;
    line_hashes_.resize(replayed_);
  }
  if (line_hashes_.size() < kMaxRememberedLines) line_hashes_.push_back(hash);
  std::string error;
  std::optional<ParsedLine> parsed = ParseJsonMetricLine(line, &error);
  if (!parsed.has_value()) {
    CountMalformed(error);
    return;
  }
  if (!parsed->numeric_string.empty()) {
    // The rest of the line is kept; W&B would keep the string as a string.
    CountMalformed(
        absl::StrCat(parsed->numeric_string, " is a string, not a number"));
  }
  if (parsed->bad_names > 0) {
    // The rest of the line is kept; the line counts as malformed so that
    // the trial's record says something was dropped.
    CountMalformed(absl::StrCat(parsed->bad_names, " metric names longer than ",
                                kMaxMetricNameBytes,
                                " bytes or with control characters (the rest "
                                "of the line was kept)"));
  }
  if (parsed->values.empty()) return;
  const int64_t step = parsed->step.value_or(next_step_);
  // Saturates: after a _step of INT64_MAX, the next line takes it again.
  next_step_ = step < std::numeric_limits<int64_t>::max() ? step + 1 : step;
  out->push_back(MetricPoint{step, now_ms, std::move(parsed->values)});
}

void MetricsFileReader::CountMalformed(absl::string_view reason) {
  ++malformed_lines_;
  last_malformed_reason_ = absl::StrCat("line ", line_number_, ": ", reason);
}

std::string WithoutTerminalEscapes(absl::string_view line) {
  std::string clean;
  clean.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '\x1b') {
      clean.push_back(line[i++]);
      continue;
    }
    ++i;
    if (i < line.size() && line[i] == '[') {
      // CSI: parameters and intermediates, then one final byte.
      ++i;
      while (i < line.size() && (line[i] < 0x40 || line[i] > 0x7e)) ++i;
      ++i;
    } else if (i < line.size() && line[i] == ']') {
      // OSC (a hyperlink, a title): to BEL or ESC backslash.
      while (
          i < line.size() && line[i] != '\a' &&
          !(line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '\\')) {
        ++i;
      }
      i += i < line.size() && line[i] == '\a' ? 1 : 2;
    } else {
      ++i;  // A two-byte sequence (ESC 7, ESC =).
    }
  }
  return clean;
}

namespace {

// `line` as a terminal leaves it after each backspace erased the character
// before it (a UTF-8 sequence whole): Keras's progress bar, when it draws on
// a pipe as on a terminal, erases each batch's bar so before the next, and
// only the epoch's last bar, which a newline ends, is left to be read.
std::string WithBackspacesApplied(absl::string_view line) {
  std::string kept;
  kept.reserve(line.size());
  for (const char c : line) {
    if (c != '\b') {
      kept.push_back(c);
      continue;
    }
    while (!kept.empty() && (kept.back() & 0xC0) == 0x80) kept.pop_back();
    if (!kept.empty()) kept.pop_back();
  }
  return kept;
}

// `line` without the "LEVEL:logger:" that Python logging's default format
// (logging.basicConfig()) puts before a message with no space:
// "INFO:root:val_loss=0.21". Only a level name at the start of the line, so
// "train:loss=0.5 val:loss=0.7" stays unread rather than two "loss".
absl::string_view WithoutLoggingPrefix(absl::string_view line) {
  static constexpr absl::string_view kLevels[] = {
      "DEBUG:", "INFO:", "WARNING:", "ERROR:", "CRITICAL:"};
  for (absl::string_view level : kLevels) {
    if (!absl::StartsWith(line, level)) continue;
    const absl::string_view rest = line.substr(level.size());
    const size_t colon = rest.find(':');
    if (colon == absl::string_view::npos ||
        rest.substr(0, colon).find_first_of(" \t") != absl::string_view::npos) {
      return line;
    }
    return rest.substr(colon + 1);
  }
  return line;
}

// The numbers of `text` read as a JSON object or a Python dict; nullopt when
// it is neither.
std::optional<MetricValues> ParseObject(absl::string_view text) {
  std::string error;
  std::optional<ParsedLine> parsed = ParseJsonMetricLine(text, &error);
  return parsed.has_value() ? std::optional<MetricValues>(parsed->values)
                            : ParsePythonDict(text);
}

}  // namespace

std::optional<MetricValues> ParseStdoutMetricLine(absl::string_view line) {
  std::string erased;
  if (line.find('\b') != absl::string_view::npos) {
    erased = WithBackspacesApplied(line);
    line = erased;
  }
  std::string clean;
  if (line.find('\x1b') != absl::string_view::npos) {
    clean = WithoutTerminalEscapes(line);
    line = clean;
  }
  line = WithoutLoggingPrefix(line);
  const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (trimmed.size() >= 2 && trimmed.back() == '}') {
    // The object may follow what another stream left without a line end
    // (a progress bar on stderr: "5/100 [00:01<00:20]{'eval_loss': 0.5}"):
    // the first of its few opening braces that starts an object to the end.
    // The tokens before it count too ("loss=0.5 {'acc': 0.9}"), the
    // object's values after them (a name given twice keeps its last).
    constexpr int kMaxStarts = 8;
    size_t start = trimmed.find('{');
    for (int tries = 0; start != absl::string_view::npos && tries < kMaxStarts;
         ++tries, start = trimmed.find('{', start + 1)) {
      std::optional<MetricValues> values = ParseObject(trimmed.substr(start));
      if (!values.has_value()) continue;
      if (start > 0) {
        if (std::optional<MetricValues> before =
                ParseStdoutMetricLine(trimmed.substr(0, start))) {
          before->insert(before->end(), values->begin(), values->end());
          values = std::move(before);
          SortKeepingLast(&*values);
        }
      }
      if (values->empty()) return std::nullopt;
      return values;
    }
  }
  MetricValues values;
  // A token goes on past a ']' only when a line was printed over a progress
  // bar whose postfix had no line end ("...loss=1.0]epoch 2 val=0.3"): each
  // side is a token of its own (no name or number holds a ']').
  std::vector<absl::string_view> tokens;
  for (absl::string_view token : absl::StrSplit(
           line, absl::ByAnyChar(" \t\r\n\f\v"), absl::SkipEmpty())) {
    for (size_t close = token.find(']');
         close != absl::string_view::npos && close + 1 < token.size();
         close = token.find(']')) {
      tokens.push_back(token.substr(0, close + 1));
      token.remove_prefix(close + 1);
    }
    tokens.push_back(token);
  }
  // "loss=0.1, acc=0.9": a list separator may trail a value, and tqdm's
  // postfix closes its list: "[00:01, 9.5it/s, loss=0.5, acc=0.9]".
  const auto add = [&values](absl::string_view name, absl::string_view value) {
    if (!value.empty() && absl::string_view(",;])").find(value.back()) !=
                              absl::string_view::npos) {
      value.remove_suffix(1);
    }
    if (!IsMetricName(name)) return false;
    std::optional<double> number = ParseWholeNumber(value);
    if (number.has_value()) values.emplace_back(std::string(name), *number);
    return number.has_value();
  };
  const size_t n = tokens.size();
  for (size_t i = 0; i < n; ++i) {
    const absl::string_view token = tokens[i];
    const size_t equals = token.find('=');
    if (equals != absl::string_view::npos && token.size() > 1 &&
        equals == token.size() - 1 && i + 1 < n) {
      // "loss= 0.1".
      if (add(token.substr(0, equals), tokens[i + 1])) ++i;
    } else if (equals == 0 && i > 0) {
      // "loss = 0.1" and "loss =0.1".
      if (token.size() == 1 && i + 1 < n) {
        if (add(tokens[i - 1], tokens[i + 1])) ++i;
      } else {
        add(tokens[i - 1], token.substr(1));
      }
    } else if (equals != absl::string_view::npos) {
      add(token.substr(0, equals), token.substr(equals + 1));
    } else if (token.size() > 1 && token.back() == ':' &&
               i + 1 < tokens.size()) {
      // Keras: "- loss: 0.2984 - accuracy: 0.9143".
      if (add(token.substr(0, token.size() - 1), tokens[i + 1])) ++i;
    }
  }
  if (values.empty()) return std::nullopt;
  SortKeepingLast(&values);
  return values;
}

}  // namespace sweep
