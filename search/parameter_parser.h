// Parsing of the `parameters:` section of a sweep definition (spec section 2).
// Internal to search/.
#ifndef SWEEP_SEARCH_PARAMETER_PARSER_H_
#define SWEEP_SEARCH_PARAMETER_PARSER_H_

#include <vector>

#include "search/spec.h"
#include "search/yaml_fields.h"

namespace sweep {

// Parses the value of the top-level `parameters` entry into leaves in
// flattened order (keys sorted at every level, depth first). Every problem is
// reported to `reader`; leaves with errors are left out.
std::vector<ParameterSpec> ParseParameters(const YamlEntry& parameters,
                                           FieldReader& reader);

}  // namespace sweep

#endif  // SWEEP_SEARCH_PARAMETER_PARSER_H_
