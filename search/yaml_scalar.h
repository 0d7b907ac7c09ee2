// Conversion of yaml-cpp nodes to Values with the scalar typing W&B users
// get from PyYAML (YAML 1.1): yes/no/on/off are booleans, 010 is octal (0o17
// a string), 1:30 is 90 (base 60; base 60 floats are not read), ~ is null.
// Deliberately different: `1e-5` is a float here (PyYAML reads it as the string
// "1e-5", which W&B then rejects). Internal to search/.
#ifndef SWEEP_SEARCH_YAML_SCALAR_H_
#define SWEEP_SEARCH_YAML_SCALAR_H_

#include <yaml-cpp/yaml.h>

#include <string>

#include "search/spec.h"
#include "search/value.h"

namespace sweep {

// The 1-based location of a node.
SourceLocation LocationOf(const YAML::Node& node);

// The typed value of a scalar node (quoted scalars are always strings).
Value ScalarToValue(const YAML::Node& node);

// Limits that keep a hostile document from exhausting memory or the stack
// (aliases can make a small file expand exponentially).
struct ValueBudget {
  int max_depth = 64;
  long max_nodes = 200000;
  long nodes_used = 0;
};

// The whole node as a Value. Returns false and sets *error (naming the node's
// problem) when it is too deep or too large, or holds a non-scalar mapping key.
bool NodeToValue(const YAML::Node& node, ValueBudget& budget, Value* out,
                 std::string* error, int depth = 0);

// A short description of the node's kind and content for messages:
// "a mapping", "a list", "the string 'abc'", "the number 3".
std::string DescribeNode(const YAML::Node& node);

}  // namespace sweep

#endif  // SWEEP_SEARCH_YAML_SCALAR_H_
