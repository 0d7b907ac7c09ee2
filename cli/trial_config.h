// A trial's configuration (Trial.config_json) as the CLI shows and exports
// it: parsed keeping integers and floats apart, nested parameters flattened
// to dotted names ("optimizer.lr"), as W&B and pandas.json_normalize name
// them. Thread-safe.
#ifndef SWEEP_CLI_TRIAL_CONFIG_H_
#define SWEEP_CLI_TRIAL_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "search/value.h"

namespace sweep {

// The config as a Value: the parsed JSON object, an empty object for empty
// text, or {"": text} for text that is not a JSON object, so nothing the
// controller sent is hidden.
Value ParseTrialConfig(const std::string& config_json);

using ConfigLeaves = std::vector<std::pair<std::string, Value>>;

// Every leaf of `config` with its dotted name, in the object's order. Nested
// objects are descended into (an empty one has no leaves); lists and scalars
// are leaves.
ConfigLeaves FlattenConfig(const Value& config);

// A leaf as one short piece of text: strings bare, everything else as
// compact JSON (0.001, 3.0, true, [1,2]).
std::string FormatConfigValue(const Value& value);

// "lr=0.001 optimizer.name=adam epochs=10" for a table cell.
std::string CompactConfig(const ConfigLeaves& leaves);

}  // namespace sweep

#endif  // SWEEP_CLI_TRIAL_CONFIG_H_
