// Writes Values as YAML that both this project and PyYAML (W&B) read back
// unchanged: floats always carry a '.', strings that would be read as another
// type are quoted. Thread-safe.
#ifndef SWEEP_CLI_YAML_OUTPUT_H_
#define SWEEP_CLI_YAML_OUTPUT_H_

#include <string>

#include "search/value.h"

namespace sweep {

// The value as a YAML document (block mappings, flow lists of scalars),
// indented by `indent` spaces, ending with a newline.
std::string ToYaml(const Value& value, int indent = 0);

}  // namespace sweep

#endif  // SWEEP_CLI_YAML_OUTPUT_H_
