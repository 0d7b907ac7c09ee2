#include "search/parameter_parser.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "search/spec_parser.h"
#include "search/value.h"
#include "search/yaml_scalar.h"

namespace sweep {
namespace {

// Every key a parameter may hold; which apply depends on the distribution.
const std::vector<absl::string_view>& ParameterKeys() {
  static const auto* keys = new std::vector<absl::string_view>{
      "distribution", "value", "values", "probabilities",
      "min",          "max",   "q",      "mu",
      "sigma",        "a",     "b",      "parameters"};
  return *keys;
}

// The keys each distribution takes (besides `distribution`), required first.
struct Form {
  std::vector<absl::string_view> required;
  std::vector<absl::string_view> optional;
};

Form FormOf(Distribution d) {
  switch (d) {
    case Distribution::kConstant:
      return {{"value"}, {}};
    case Distribution::kCategorical:
      return {{"values"}, {}};
    case Distribution::kCategoricalWithProbabilities:
      return {{"values", "probabilities"}, {}};
    case Distribution::kIntUniform:
    case Distribution::kUniform:
    case Distribution::kLogUniform:
    case Distribution::kLogUniformValues:
    case Distribution::kInvLogUniform:
    case Distribution::kInvLogUniformValues:
      return {{"min", "max"}, {}};
    case Distribution::kQUniform:
    case Distribution::kQLogUniform:
    case Distribution::kQLogUniformValues:
      return {{"min", "max"}, {"q"}};
    case Distribution::kNormal:
    case Distribution::kLogNormal:
      return {{}, {"mu", "sigma"}};
    case Distribution::kQNormal:
    case Distribution::kQLogNormal:
      return {{}, {"mu", "sigma", "q"}};
    case Distribution::kBeta:
      return {{}, {"a", "b"}};
    case Distribution::kQBeta:
      return {{}, {"a", "b", "q"}};
  }
  return {};
}

bool IsValidName(absl::string_view name) {
  if (name.empty()) return false;
  auto head = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  if (!head(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!head(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsIntegerScalar(const YamlEntry* e) {
  return e != nullptr && e->value.IsScalar() &&
         ScalarToValue(e->value).is_number_integer();
}

// Six significant digits: enough to read a range, short enough to copy.
std::string FormatNumber(double x) { return absl::StrFormat("%.6g", x); }

// Where the first scalar of `node` that reads as a non-finite number is
// (the element an error names, not the list holding it).
std::optional<SourceLocation> NonFiniteScalarLocation(const YAML::Node& node,
                                                      int depth) {
  if (depth > 64) return std::nullopt;
  if (node.IsScalar()) {
    const Value v = ScalarToValue(node);
    if (v.is_number_float() && !std::isfinite(v.get<double>())) {
      return LocationOf(node);
    }
    return std::nullopt;
  }
  if (node.IsSequence()) {
    for (const YAML::Node& element : node) {
      if (auto at = NonFiniteScalarLocation(element, depth + 1)) return at;
    }
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      if (auto at = NonFiniteScalarLocation(entry.second, depth + 1)) {
        return at;
      }
    }
  }
  return std::nullopt;
}

class ParameterParser {
 public:
  explicit ParameterParser(FieldReader& reader) : reader_(reader) {}

  void ParseMap(const YAML::Node& map, const std::vector<std::string>& prefix,
                const std::string& key_path, SourceLocation at, int depth) {
    if (!map.IsMap() || map.size() == 0) {
      reader_.diag().Error(
          at, key_path,
          map.IsMap() ? "must hold at least one parameter"
                      : absl::StrCat("must be a mapping of parameter names, "
                                     "got ",
                                     DescribeNode(map)));
      return;
    }
    const std::vector<YamlEntry> entries = reader_.Entries(map, key_path, {});
    // Sorted through indices: YAML::Node must not be assigned (it writes
    // through to the document).
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return entries[a].key < entries[b].key;
    });
    for (size_t index : order) {
      const YamlEntry& entry = entries[index];
      std::vector<std::string> path = prefix;
      path.push_back(entry.key);
      const std::string param_path = JoinPath(key_path, entry.key);
      if (!IsValidName(entry.key)) {
        reader_.diag().Error(
            entry.key_location, param_path,
            "parameter names must match [A-Za-z_][A-Za-z0-9_.-]*");
        continue;
      }
      ParseOne(entry, std::move(path), param_path, depth);
    }
  }

  std::vector<ParameterSpec> Release() {
    CheckUniqueNames();
    return std::move(leaves_);
  }

 private:
  void ParseOne(const YamlEntry& entry, std::vector<std::string> path,
                const std::string& param_path, int depth) {
    Diagnostics& diag = reader_.diag();
    if (!entry.value.IsMap()) {
      diag.Error(entry.value_location, param_path,
                 absl::StrCat("expected a mapping such as {value: v}, "
                              "{values: [...]} or {min: a, max: b}, got ",
                              DescribeNode(entry.value)));
      return;
    }
    const std::vector<YamlEntry> fields =
        reader_.Entries(entry.value, param_path, ParameterKeys());
    if (const YamlEntry* nested = FieldReader::Find(fields, "parameters")) {
      for (const YamlEntry& f : fields) {
        if (f.key != "parameters") {
          diag.Error(f.key_location, param_path,
                     absl::StrCat("a nested parameter holds only "
                                  "'parameters', not '",
                                  f.key, "'"));
        }
      }
      if (depth + 1 >= kMaxParameterDepth) {
        diag.Error(nested->key_location, param_path,
                   absl::StrCat("parameters nested more than ",
                                kMaxParameterDepth, " levels deep"));
        return;
      }
      ParseMap(nested->value, path, JoinPath(param_path, "parameters"),
               nested->value_location, depth + 1);
      return;
    }

    ParameterSpec spec;
    spec.path = std::move(path);
    spec.name = absl::StrJoin(spec.path, ".");
    spec.location = entry.key_location;
    const std::optional<Distribution> distribution =
        ResolveDistribution(fields, entry, param_path);
    if (!distribution) return;
    spec.distribution = *distribution;
    if (!CheckKeysApply(fields, param_path, spec.distribution)) return;
    if (ReadFields(fields, entry, param_path, spec)) {
      leaves_.push_back(std::move(spec));
    }
  }

  std::optional<Distribution> ResolveDistribution(
      const std::vector<YamlEntry>& fields, const YamlEntry& entry,
      const std::string& param_path) {
    Diagnostics& diag = reader_.diag();
    if (const YamlEntry* d = FieldReader::Find(fields, "distribution")) {
      std::optional<std::string> name = reader_.String(*d, param_path);
      if (!name) return std::nullopt;
      std::optional<Distribution> known = DistributionFromName(*name);
      if (!known) {
        const std::string closest = FieldReader::ClosestKey(
            absl::AsciiStrToLower(*name), DistributionNames());
        diag.Error(d->value_location, param_path,
                   absl::StrCat("unknown distribution '", *name, "'",
                                closest.empty() ? "" : " (did you mean '",
                                closest, closest.empty() ? "" : "'?)",
                                "; known: ", KnownDistributions()));
      }
      return known;
    }
    auto has = [&](absl::string_view key) {
      return FieldReader::Find(fields, key) != nullptr;
    };
    if (has("value")) return Distribution::kConstant;
    if (has("values") && has("probabilities")) {
      return Distribution::kCategoricalWithProbabilities;
    }
    if (has("values")) return Distribution::kCategorical;
    if (has("min") && has("max")) {
      return IsIntegerScalar(FieldReader::Find(fields, "min")) &&
                     IsIntegerScalar(FieldReader::Find(fields, "max"))
                 ? Distribution::kIntUniform
                 : Distribution::kUniform;
    }
    diag.Error(entry.key_location, param_path,
               "cannot tell the distribution: give value, values, min and "
               "max, or an explicit distribution");
    return std::nullopt;
  }

  static std::string KnownDistributions() {
    std::vector<absl::string_view> names;
    for (int i = 0; i <= static_cast<int>(Distribution::kQBeta); ++i) {
      names.push_back(DistributionName(static_cast<Distribution>(i)));
    }
    return absl::StrJoin(names, ", ");
  }

  bool CheckKeysApply(const std::vector<YamlEntry>& fields,
                      const std::string& param_path, Distribution d) {
    const Form form = FormOf(d);
    bool ok = true;
    for (const YamlEntry& f : fields) {
      if (f.key == "distribution") continue;
      const bool listed =
          std::count(form.required.begin(), form.required.end(), f.key) +
              std::count(form.optional.begin(), form.optional.end(), f.key) >
          0;
      if (!listed) {
        reader_.diag().Error(
            f.key_location, param_path,
            absl::StrCat(
                "'", f.key, "' does not apply to distribution ",
                DistributionName(d),
                d == Distribution::kCategorical && f.key == "probabilities"
                    ? " (use distribution: "
                      "categorical_w_probabilities, or leave "
                      "distribution out)"
                    : ""));
        ok = false;
      }
    }
    return ok;
  }

  bool ReadFields(const std::vector<YamlEntry>& fields, const YamlEntry& entry,
                  const std::string& param_path, ParameterSpec& spec) {
    Diagnostics& diag = reader_.diag();
    bool ok = true;
    for (absl::string_view key : FormOf(spec.distribution).required) {
      if (FieldReader::Find(fields, key) == nullptr) {
        diag.Error(entry.key_location, param_path,
                   absl::StrCat(DistributionName(spec.distribution), " needs '",
                                key, "'"));
        ok = false;
      }
    }
    if (!ok) return false;

    for (const YamlEntry& f : fields) {
      if (f.key == "value") {
        ok &= ReadValue(f, param_path, &spec.value);
      } else if (f.key == "values") {
        ok &= ReadValues(f, param_path, spec);
      } else if (f.key == "probabilities") {
        // Read after `values`, below, to compare the lengths.
      } else if (f.key == "min" || f.key == "max") {
        std::optional<double> x = reader_.Number(f, param_path);
        if (x && spec.distribution == Distribution::kIntUniform &&
            !IsIntegerScalar(&f)) {
          diag.Error(f.value_location, param_path,
                     absl::StrCat("int_uniform needs integer min and max; ",
                                  f.key, " is ", f.value.Scalar()));
          x.reset();
        }
        if (!x) ok = false;
        (f.key == "min" ? spec.min : spec.max) = x.value_or(0);
      } else if (f.key == "q") {
        std::optional<double> x = reader_.Number(f, param_path);
        if (x && *x <= 0) {
          diag.Error(f.value_location, param_path,
                     absl::StrCat("q (", f.value.Scalar(),
                                  ") must be greater than 0"));
          x.reset();
        }
        if (!x) ok = false;
        spec.q = x.value_or(1.0);
        spec.q_is_integer = IsIntegerScalar(&f);
      } else if (f.key == "mu") {
        std::optional<double> x = reader_.Number(f, param_path);
        ok &= x.has_value();
        spec.mu = x.value_or(0);
      } else if (f.key == "sigma") {
        std::optional<double> x = reader_.Number(f, param_path);
        if (x && *x < 0) {
          diag.Error(f.value_location, param_path,
                     absl::StrCat("sigma (", f.value.Scalar(),
                                  ") must not be negative"));
          x.reset();
        }
        ok &= x.has_value();
        spec.sigma = x.value_or(1);
      } else if (f.key == "a" || f.key == "b") {
        std::optional<double> x = reader_.Number(f, param_path);
        if (x && *x <= 0) {
          diag.Error(f.value_location, param_path,
                     absl::StrCat(f.key, " (", f.value.Scalar(),
                                  ") must be greater than 0"));
          x.reset();
        }
        ok &= x.has_value();
        (f.key == "a" ? spec.a : spec.b) = x.value_or(1);
      }
    }
    if (const YamlEntry* p = FieldReader::Find(fields, "probabilities")) {
      ok &= ReadProbabilities(*p, param_path, spec);
    }
    if (ok) ok = CheckBounds(fields, param_path, spec);
    return ok;
  }

  bool ReadValue(const YamlEntry& f, const std::string& param_path,
                 Value* out) {
    // Each value within its own limits, and all of them within the
    // document's: aliases let every parameter expand the same large node.
    ValueBudget budget;
    budget.max_nodes = std::min(budget.max_nodes, document_nodes_left_);
    budget.merge_entries_left = document_merges_left_;
    std::string error;
    const bool converted = NodeToValue(f.value, budget, out, &error);
    document_nodes_left_ -= budget.nodes_used;
    document_merges_left_ = budget.merge_entries_left;
    if (!converted) {
      if (document_nodes_left_ <= 0) {
        error = absl::StrCat("the definition's values expand past ",
                             kMaxDocumentValueNodes,
                             " elements in all (counting aliases)");
      }
      reader_.diag().Error(f.value_location, param_path,
                           absl::StrCat(f.key, ": ", error));
      return false;
    }
    if (std::optional<std::string> where = NonFiniteNumber(*out, f.key)) {
      // A trial's config travels as JSON (params.json, ${args_json},
      // SWEEP_PARAMS_JSON), which has no NaN or infinity.
      reader_.diag().NewDefinitionError(
          NonFiniteScalarLocation(f.value, 0).value_or(f.value_location),
          param_path,
          absl::StrCat(*where,
                       " is not a finite number, which a trial's config (JSON) "
                       "cannot hold; quote it ('inf', 'nan') to pass a string "
                       "the program converts"));
      return !reader_.diag().has_errors();
    }
    if (std::optional<std::string> where = NulByte(*out, f.key)) {
      // Program arguments and environment values are C strings.
      reader_.diag().NewDefinitionError(
          f.value_location, param_path,
          absl::StrCat(*where,
                       " holds a NUL byte (\\0), which no program argument "
                       "can carry: every trial would fail to start"));
      return !reader_.diag().has_errors();
    }
    return true;
  }

  // Where a string or key of `v` holds a NUL byte ("values[1]"), if anywhere.
  static std::optional<std::string> NulByte(const Value& v,
                                            const std::string& path) {
    if (v.is_string()) {
      if (v.get_ref<const std::string&>().find('\0') == std::string::npos) {
        return std::nullopt;
      }
      return path;
    }
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto where = NulByte(v[i], absl::StrCat(path, "[", i, "]"))) {
          return where;
        }
      }
    }
    if (v.is_object()) {
      for (const auto& [key, item] : v.items()) {
        if (key.find('\0') != std::string::npos) return path;
        if (auto where = NulByte(item, absl::StrCat(path, ".", key))) {
          return where;
        }
      }
    }
    return std::nullopt;
  }

  // Where `v` holds a NaN or an infinity ("values[1]"), if anywhere.
  static std::optional<std::string> NonFiniteNumber(const Value& v,
                                                    const std::string& path) {
    if (v.is_number_float()) {
      if (std::isfinite(v.get<double>())) return std::nullopt;
      return path;
    }
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (auto where =
                NonFiniteNumber(v[i], absl::StrCat(path, "[", i, "]"))) {
          return where;
        }
      }
    }
    if (v.is_object()) {
      for (const auto& [key, item] : v.items()) {
        if (auto where = NonFiniteNumber(item, absl::StrCat(path, ".", key))) {
          return where;
        }
      }
    }
    return std::nullopt;
  }

  bool ReadValues(const YamlEntry& f, const std::string& param_path,
                  ParameterSpec& spec) {
    Diagnostics& diag = reader_.diag();
    if (!f.value.IsSequence() || f.value.size() == 0) {
      diag.Error(f.value_location, param_path,
                 f.value.IsSequence()
                     ? "values must hold at least one value"
                     : absl::StrCat("values must be a list, got ",
                                    DescribeNode(f.value)));
      return false;
    }
    Value list;
    if (!ReadValue(f, param_path, &list)) return false;
    absl::flat_hash_map<std::string, size_t> first_index;
    for (size_t i = 0; i < list.size(); ++i) {
      auto [it, inserted] = first_index.emplace(CanonicalKey(list[i]), i);
      if (!inserted) {
        diag.Warning(
            LocationOf(f.value[i]), param_path,
            absl::StrFormat("values[%d] (%s) repeats values[%d] (%s): the grid "
                            "tries it once; random search draws it by its "
                            "written weight",
                            i, PythonRepr(list[i]), it->second,
                            PythonRepr(spec.values[it->second])));
      }
      spec.values.push_back(std::move(list[i]));
    }
    return true;
  }

  bool ReadProbabilities(const YamlEntry& f, const std::string& param_path,
                         ParameterSpec& spec) {
    Diagnostics& diag = reader_.diag();
    if (!f.value.IsSequence()) {
      diag.Error(f.value_location, param_path,
                 absl::StrCat("probabilities must be a list of numbers, got ",
                              DescribeNode(f.value)));
      return false;
    }
    double sum = 0;
    bool ok = true;
    for (size_t i = 0; i < f.value.size(); ++i) {
      const YAML::Node& element = f.value[i];
      const Value v =
          element.IsScalar() ? ScalarToValue(element) : Value(nullptr);
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1)) {
        diag.Error(LocationOf(element), param_path,
                   absl::StrCat("probabilities[", i,
                                "] must be a number in [0, 1], got ",
                                DescribeNode(element)));
        ok = false;
        continue;
      }
      spec.probabilities.push_back(v.get<double>());
      sum += v.get<double>();
    }
    if (!ok) return false;
    if (spec.probabilities.size() != spec.values.size()) {
      diag.Error(f.value_location, param_path,
                 absl::StrCat("probabilities has ", spec.probabilities.size(),
                              " entries but values has ", spec.values.size(),
                              "; they must have the same length"));
      return false;
    }
    if (std::abs(sum - 1.0) > 1e-6) {
      diag.Error(f.value_location, param_path,
                 absl::StrCat("probabilities must sum to 1, they sum to ",
                              FormatNumber(sum)));
      return false;
    }
    return true;
  }

  bool CheckBounds(const std::vector<YamlEntry>& fields,
                   const std::string& param_path, ParameterSpec& spec) {
    Diagnostics& diag = reader_.diag();
    const YamlEntry* min = FieldReader::Find(fields, "min");
    const YamlEntry* max = FieldReader::Find(fields, "max");
    if (min == nullptr || max == nullptr) return true;
    if (!(spec.max > spec.min)) {
      diag.Error(max->value_location, param_path,
                 absl::StrCat("max (", max->value.Scalar(),
                              ") must be greater than min (",
                              min->value.Scalar(), ")"));
      return false;
    }
    const Distribution d = spec.distribution;
    if ((d == Distribution::kLogUniformValues ||
         d == Distribution::kQLogUniformValues ||
         d == Distribution::kInvLogUniformValues) &&
        spec.min <= 0) {
      diag.Error(min->value_location, param_path,
                 absl::StrCat(DistributionName(d), " needs min > 0, got ",
                              min->value.Scalar()));
      return false;
    }
    if (d == Distribution::kLogUniform || d == Distribution::kQLogUniform ||
        d == Distribution::kInvLogUniform) {
      WarnExponentForm(min->value_location, param_path, spec);
    }
    return true;
  }

  void WarnExponentForm(SourceLocation at, const std::string& param_path,
                        const ParameterSpec& spec) {
    const std::string modern =
        absl::StrCat(DistributionName(spec.distribution), "_values");
    double low = std::exp(spec.min), high = std::exp(spec.max);
    if (spec.distribution == Distribution::kInvLogUniform) {
      low = std::exp(-spec.max);
      high = std::exp(-spec.min);
    }
    reader_.diag().Warning(
        at, param_path,
        absl::StrCat(DistributionName(spec.distribution),
                     " is deprecated: its min and max are natural-log "
                     "exponents, so it samples between ",
                     FormatNumber(low), " and ", FormatNumber(high), "; use ",
                     modern, " with min: ", FormatNumber(low),
                     ", max: ", FormatNumber(high)));
  }

  void CheckUniqueNames() {
    absl::flat_hash_map<std::string, const ParameterSpec*> seen;
    for (const ParameterSpec& p : leaves_) {
      auto [it, inserted] = seen.emplace(p.name, &p);
      if (!inserted) {
        reader_.diag().Error(
            p.location, "parameters",
            absl::StrCat("two parameters flatten to the name '", p.name,
                         "' (lines ", it->second->location.line, " and ",
                         p.location.line, ")"));
      }
    }
  }

  static constexpr long kMaxDocumentValueNodes = 2'000'000;

  FieldReader& reader_;
  std::vector<ParameterSpec> leaves_;
  long document_nodes_left_ = kMaxDocumentValueNodes;
  long document_merges_left_ = kMaxMergedEntries;
};

}  // namespace

std::vector<ParameterSpec> ParseParameters(const YamlEntry& parameters,
                                           FieldReader& reader) {
  ParameterParser parser(reader);
  parser.ParseMap(parameters.value, {}, "parameters", parameters.value_location,
                  0);
  return parser.Release();
}

}  // namespace sweep
