#include "cli/trial_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep {
namespace {

void FlattenInto(const Value& node, const std::string& prefix,
                 std::vector<std::pair<std::string, Value>>* leaves) {
  for (const auto& [key, child] : node.items()) {
    const std::string name =
        prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    if (child.is_object()) {
      FlattenInto(child, name, leaves);  // An empty object has no leaves.
    } else {
      leaves->emplace_back(name, child);
    }
  }
}

}  // namespace

Value ParseTrialConfig(const std::string& config_json) {
  if (config_json.empty()) return Value::object();
  Value config = Value::parse(config_json, /*cb=*/nullptr,
                              /*allow_exceptions=*/false);
  if (config.is_object()) return config;
  return Value{{"", config_json}};
}

std::vector<std::pair<std::string, Value>> FlattenConfig(const Value& config) {
  std::vector<std::pair<std::string, Value>> leaves;
  if (config.is_object()) FlattenInto(config, "", &leaves);
  return leaves;
}

std::string FormatConfigValue(const Value& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', /*ensure_ascii=*/false,
                    Value::error_handler_t::replace);
}

std::string CompactConfig(const std::string& config_json) {
  return absl::StrJoin(
      FlattenConfig(ParseTrialConfig(config_json)), " ",
      [](std::string* out, const std::pair<std::string, Value>& leaf) {
        absl::StrAppend(out, leaf.first, "=", FormatConfigValue(leaf.second));
      });
}

}  // namespace sweep
