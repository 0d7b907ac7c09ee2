#include "cli/trial_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep {
namespace {

void FlattenInto(const Value& node, const std::string& prefix,
                 ConfigLeaves* leaves) {
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

ConfigLeaves FlattenConfig(const Value& config) {
  ConfigLeaves leaves;
  if (config.is_object()) FlattenInto(config, "", &leaves);
  return leaves;
}

std::string FormatConfigValue(const Value& value) {
  if (value.is_string()) return value.get<std::string>();
  return DumpJson(value);
}

std::string CompactConfig(const ConfigLeaves& leaves) {
  return absl::StrJoin(
      leaves, " ",
      [](std::string* out, const std::pair<std::string, Value>& leaf) {
        absl::StrAppend(out, leaf.first, "=", FormatConfigValue(leaf.second));
      });
}

}  // namespace sweep
