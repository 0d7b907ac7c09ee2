#include "cli/display_format.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace sweep {
namespace {

// The enum value's name without its prefix, lowercased:
// TRIAL_STATE_RUNNING -> "running".
std::string EnumValueName(const std::string& full_name,
                          absl::string_view prefix) {
  if (!absl::StartsWith(full_name, prefix)) return "unknown";
  return absl::AsciiStrToLower(full_name.substr(prefix.size()));
}

}  // namespace

std::string SweepStateName(v1::SweepState state) {
  return EnumValueName(v1::SweepState_Name(state), "SWEEP_STATE_");
}

std::string TrialStateName(v1::TrialState state) {
  return EnumValueName(v1::TrialState_Name(state), "TRIAL_STATE_");
}

std::string FormatMetricValue(double value) {
  return absl::StrFormat("%.6g", value);
}

std::string FormatOptionalValue(std::optional<double> value) {
  return value ? FormatMetricValue(*value) : kMissingCell;
}

std::string FormatLocalTime(int64_t unix_ms, absl::TimeZone zone) {
  if (unix_ms == 0) return kMissingCell;
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          zone);
}

std::string FormatIsoTime(int64_t unix_ms) {
  if (unix_ms == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string FormatCompactDuration(absl::Duration duration) {
  const int64_t seconds =
      absl::ToInt64Seconds(std::max(duration, absl::ZeroDuration()));
  if (seconds < 60) return absl::StrFormat("%ds", seconds);
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  }
  if (seconds < 86400) {
    return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  }
  return absl::StrFormat("%dd%02dh", seconds / 86400, seconds % 86400 / 3600);
}

std::optional<absl::Duration> TrialDuration(const v1::Trial& trial,
                                            absl::Time now) {
  if (trial.created_ms() == 0) return std::nullopt;
  const absl::Time end =
      trial.ended_ms() != 0 ? absl::FromUnixMillis(trial.ended_ms()) : now;
  return end - absl::FromUnixMillis(trial.created_ms());
}

std::string FormatFieldList(
    const std::vector<std::pair<std::string, std::string>>& fields,
    int indent) {
  std::size_t label_width = 0;
  for (const auto& [label, value] : fields) {
    if (!value.empty()) label_width = std::max(label_width, label.size() + 1);
  }
  std::string out;
  for (const auto& [label, value] : fields) {
    if (value.empty()) continue;
    absl::StrAppend(
        &out, std::string(indent, ' '),
        absl::StrFormat("%-*s  ", static_cast<int>(label_width), label + ":"),
        value, "\n");
  }
  return out;
}

std::string IndentLines(absl::string_view text, int indent) {
  const std::string pad(indent, ' ');
  std::string out;
  if (absl::EndsWith(text, "\n")) text.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(&out, pad, line, "\n");
  }
  return out;
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid in-memory message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace sweep
