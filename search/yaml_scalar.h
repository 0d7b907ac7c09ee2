// Conversion of yaml-cpp nodes to Values with the scalar typing W&B users
// get from PyYAML (YAML 1.1): yes/no/on/off are booleans, 010 is octal (0o17
// a string), 1:30 is 90 (base 60; base 60 floats are not read), ~ is null.
// Deliberately different: `1e-5` and `-.5` are floats here (PyYAML reads
// them as strings, which W&B then rejects as bounds). Internal to search/.
#ifndef SWEEP_SEARCH_YAML_SCALAR_H_
#define SWEEP_SEARCH_YAML_SCALAR_H_

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

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
  long merge_entries_left = 200000;  // For MappingEntries.
};

// One key and value of a mapping.
struct MappingEntry {
  YAML::Node key;
  YAML::Node value;
};

// The entries of mapping `map` with YAML 1.1's merge keys resolved as PyYAML
// (and so W&B) resolves them: a plain `<<: *defaults` (or `<<: [*a, *b]`)
// adds each key of those mappings (of the first that has it, their own
// merges resolved) that `map` does not set itself; merged entries come
// first, then `map`'s own, in order (a key written twice appears twice).
// Returns false, with *error and *where (the node at fault), when a merge's
// value is not a mapping or a list of mappings, merges nest more than 64
// deep, or the entries visited exhaust *budget (shared by every call on a
// document: aliases of merged mappings can make a small file expand).
bool MappingEntries(const YAML::Node& map, long* budget,
                    std::vector<MappingEntry>* out, std::string* error,
                    YAML::Node* where);

// The entries MappingEntries may visit in one document.
inline constexpr long kMaxMergedEntries = 200000;

// The whole node as a Value (merge keys resolved). Returns false and sets
// *error (naming the node's problem) when it is too deep or too large, holds
// a non-scalar mapping key or a bad merge.
bool NodeToValue(const YAML::Node& node, ValueBudget& budget, Value* out,
                 std::string* error, int depth = 0);

// A short description of the node's kind and content for messages:
// "a mapping", "a list", "the string 'abc'", "the number 3".
std::string DescribeNode(const YAML::Node& node);

}  // namespace sweep

#endif  // SWEEP_SEARCH_YAML_SCALAR_H_
