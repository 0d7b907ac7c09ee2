#include "cli/display_format.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "search/value.h"

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
  // Whole numbers (steps, epochs, token counts) in full, up to where a
  // double still holds every integer exactly; the rest to six digits.
  if (std::isfinite(value) && value == std::trunc(value) &&
      std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value + 0.0);  // + 0.0: no "-0".
  }
  return absl::StrFormat("%.6g", value);
}

std::string FormatOptionalValue(std::optional<double> value) {
  return value ? FormatMetricValue(*value) : kMissingCell;
}

std::string FormatLocalTime(int64_t unix_ms, absl::TimeZone zone) {
  if (unix_ms == 0) return kMissingCell;
  // With the zone: a team across time zones compares tables.
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", absl::FromUnixMillis(unix_ms),
                          zone);
}

std::string FormatIsoTime(int64_t unix_ms) {
  if (unix_ms == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string FormatCompactDuration(absl::Duration duration) {
  duration = std::max(duration, absl::ZeroDuration());
  // Tenths below 10 s: many trials of a quick sweep take under a second.
  if (duration < absl::Seconds(10)) {
    return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(absl::Trunc(
                                        duration, absl::Milliseconds(100))));
  }
  const int64_t seconds = absl::ToInt64Seconds(duration);
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

namespace {

// SweepState -> "SWEEP_STATE_", the prefix its value names carry.
std::string EnumValuePrefix(const google::protobuf::EnumDescriptor& type) {
  std::string prefix;
  for (char c : type.name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix.push_back('_');
    prefix.push_back(absl::ascii_toupper(c));
  }
  return prefix + "_";
}

nlohmann::ordered_json DoubleToJson(double value) {
  if (std::isfinite(value)) return value;
  // JSON has no NaN or infinity; these are the strings protobuf's JSON uses.
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "Infinity" : "-Infinity";
}

nlohmann::ordered_json MessageToJson(const google::protobuf::Message& message);

// One value of `field` (an element, when the field is repeated).
nlohmann::ordered_json FieldValueToJson(
    const google::protobuf::Message& message,
    const google::protobuf::FieldDescriptor& field, int index) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FD::CPPTYPE_INT32:
      return repeated ? r.GetRepeatedInt32(message, &field, index)
                      : r.GetInt32(message, &field);
    case FD::CPPTYPE_INT64:
      return repeated ? r.GetRepeatedInt64(message, &field, index)
                      : r.GetInt64(message, &field);
    case FD::CPPTYPE_UINT32:
      return repeated ? r.GetRepeatedUInt32(message, &field, index)
                      : r.GetUInt32(message, &field);
    case FD::CPPTYPE_UINT64:
      return repeated ? r.GetRepeatedUInt64(message, &field, index)
                      : r.GetUInt64(message, &field);
    case FD::CPPTYPE_DOUBLE:
      return DoubleToJson(repeated ? r.GetRepeatedDouble(message, &field, index)
                                   : r.GetDouble(message, &field));
    case FD::CPPTYPE_FLOAT:
      return DoubleToJson(repeated ? r.GetRepeatedFloat(message, &field, index)
                                   : r.GetFloat(message, &field));
    case FD::CPPTYPE_BOOL:
      return repeated ? r.GetRepeatedBool(message, &field, index)
                      : r.GetBool(message, &field);
    case FD::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor& value =
          repeated ? *r.GetRepeatedEnum(message, &field, index)
                   : *r.GetEnum(message, &field);
      const std::string prefix = EnumValuePrefix(*field.enum_type());
      return absl::AsciiStrToLower(absl::StartsWith(value.name(), prefix)
                                       ? value.name().substr(prefix.size())
                                       : value.name());
    }
    case FD::CPPTYPE_STRING: {
      const std::string text = repeated
                                   ? r.GetRepeatedString(message, &field, index)
                                   : r.GetString(message, &field);
      if (!absl::EndsWith(field.name(), "_json")) return text;
      if (text.empty()) return nullptr;
      nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(
          text, nullptr, /*allow_exceptions=*/false);
      return parsed.is_discarded() ? nlohmann::ordered_json(text) : parsed;
    }
    case FD::CPPTYPE_MESSAGE:
      return MessageToJson(repeated
                               ? r.GetRepeatedMessage(message, &field, index)
                               : r.GetMessage(message, &field));
  }
  return nullptr;
}

nlohmann::ordered_json MessageToJson(const google::protobuf::Message& message) {
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  const google::protobuf::Reflection& r = *message.GetReflection();
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    std::string key = field.name();
    if (field.cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
        absl::EndsWith(key, "_json")) {
      key.resize(key.size() - 5);
    }
    if (field.is_map()) {
      // Keys are strings in every map this API has, and unique: appended
      // as they are (ordered_json's own insert scans every key, and a trial
      // may log tens of thousands of metric names).
      nlohmann::ordered_json map = nlohmann::ordered_json::object();
      auto& entries = map.get_ref<nlohmann::ordered_json::object_t&>();
      using Entries = nlohmann::ordered_json::object_t::Container;
      const google::protobuf::FieldDescriptor& value_field =
          *field.message_type()->map_value();
      entries.reserve(r.FieldSize(message, &field));
      for (int j = 0; j < r.FieldSize(message, &field); ++j) {
        const google::protobuf::Message& entry =
            r.GetRepeatedMessage(message, &field, j);
        entries.Entries::emplace_back(
            entry.GetReflection()->GetString(entry,
                                             field.message_type()->map_key()),
            FieldValueToJson(entry, value_field, -1));
      }
      out[key] = std::move(map);
    } else if (field.is_repeated()) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (int j = 0; j < r.FieldSize(message, &field); ++j) {
        list.push_back(FieldValueToJson(message, field, j));
      }
      out[key] = std::move(list);
    } else if (field.has_presence() && !r.HasField(message, &field)) {
      out[key] = nullptr;
    } else {
      out[key] = FieldValueToJson(message, field, -1);
    }
  }
  return out;
}

}  // namespace

std::string ProtoToJson(const google::protobuf::Message& message) {
  // Text from programs (log tails) may hold invalid UTF-8: replaced, not
  // thrown on.
  return DumpJson(MessageToJson(message), 2);
}

std::string ProtoToCompactJson(const google::protobuf::Message& message) {
  return DumpJson(MessageToJson(message), -1);
}

}  // namespace sweep
