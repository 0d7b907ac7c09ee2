// Parameter values: the JSON-like data a sweep definition holds and a trial
// receives (null, bool, integer, float, string, list, mapping).
//
// Integers and floats stay distinct (`3` is not `3.0` when formatted), but
// compare equal the way W&B compares configurations: 3000000.0 equals 3000000,
// true differs from 1, a list differs from a scalar, mapping key order does not
// matter and NaN equals NaN. All functions here are thread-safe.
#ifndef SWEEP_SEARCH_VALUE_H_
#define SWEEP_SEARCH_VALUE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sweep {

// Mappings keep the order they were written in, so that printed configs and
// `${args_json}` follow the user's file.
using Value = nlohmann::ordered_json;

// W&B's equality of configuration values (see the file comment).
bool ValuesEqual(const Value& a, const Value& b);

// A string that is equal for two values exactly when ValuesEqual holds, for
// hashing points into sets.
std::string CanonicalKey(const Value& v);

// A string equal for two lists of values (a point) exactly when every
// element is W&B-equal: the key that sets of visited points use.
std::string PointKey(const std::vector<Value>& point);

// Python's repr() of a float: shortest round-trip digits, scientific notation
// below 1e-4 and from 1e16 on ("0.001", "1e-05", "3.0", "1e+16", "nan",
// "inf", "-inf").
std::string PythonFloatRepr(double x);

// `v` as JSON, formatted as Value::dump(indent) formats it (invalid UTF-8
// replaced, non-ASCII kept), except that a float is written with the
// shortest digits that read back as the same double (PythonFloatRepr:
// 0.237636, where dump writes 0.23763599999999999). Non-finite floats are
// null, as dump writes them.
std::string DumpJson(const Value& v, int indent = -1);

// Python's str() of the value as W&B hands it to a command line: True, False,
// None, floats as PythonFloatRepr, strings unquoted, lists as "[1, 'a']",
// mappings as "{'lr': 0.001}" (nested strings quoted as repr does).
std::string PythonStr(const Value& v);

// Python's repr(): like PythonStr but strings are quoted ('a', "it's").
std::string PythonRepr(const Value& v);

// Compact JSON as Python's json.dumps writes it: ", " and ": " separators,
// NaN/Infinity for non-finite floats.
std::string PythonJsonDumps(const Value& v);

}  // namespace sweep

#endif  // SWEEP_SEARCH_VALUE_H_
