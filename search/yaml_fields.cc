#include "search/yaml_fields.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/yaml_scalar.h"

namespace sweep {
namespace {

int EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string JoinPath(absl::string_view parent, absl::string_view key) {
  if (parent.empty()) return std::string(key);
  return absl::StrCat(parent, ".", key);
}

std::string FieldReader::ClosestKey(
    absl::string_view key, const std::vector<absl::string_view>& allowed) {
  // What other tools (Optuna, Ray Tune, Katib, hyperopt) and statistics
  // call the keys of a W&B sweep file: a name by meaning beats a name that
  // is spelled alike ('mean' is 'mu', not 'min').
  static constexpr std::pair<absl::string_view, absl::string_view> kSynonyms[] =
      {{"mean", "mu"},
       {"loc", "mu"},
       {"std", "sigma"},
       {"stddev", "sigma"},
       {"std_dev", "sigma"},
       {"sd", "sigma"},
       {"scale", "sigma"},
       {"low", "min"},
       {"lower", "min"},
       {"min_value", "min"},
       {"minimum", "min"},
       {"lower_bound", "min"},
       {"high", "max"},
       {"upper", "max"},
       {"max_value", "max"},
       {"maximum", "max"},
       {"upper_bound", "max"},
       {"step", "q"},
       {"choices", "values"},
       {"options", "values"},
       {"categories", "values"},
       {"list", "values"},
       {"weights", "probabilities"},
       {"p", "probabilities"},
       {"type", "distribution"},
       {"default", "value"},
       {"direction", "goal"},
       {"mode", "goal"},
       {"objective", "metric"},
       {"algorithm", "method"},
       {"search", "method"},
       {"search_alg", "method"},
       {"sampler", "method"},
       {"max_trials", "run_cap"},
       {"num_samples", "run_cap"},
       {"n_trials", "run_cap"},
       {"max_trial_count", "run_cap"},
       {"pruner", "early_terminate"},
       {"scheduler", "early_terminate"},
       {"early_stopping", "early_terminate"},
       {"script", "program"},
       {"entrypoint", "program"},
       {"params", "parameters"},
       {"hyperparameters", "parameters"},
       {"config", "parameters"},
       {"search_space", "parameters"},
       {"param_space", "parameters"},
       // Distribution names as Ray Tune, hyperopt and Optuna spell them:
       // their loguniform takes bounds as values (W&B's log_uniform takes
       // exponents).
       {"loguniform", "log_uniform_values"},
       {"qloguniform", "q_log_uniform_values"},
       {"quniform", "q_uniform"},
       {"randint", "int_uniform"},
       {"choice", "categorical"}};
  for (const auto& [synonym, meant] : kSynonyms) {
    if (key == synonym &&
        std::find(allowed.begin(), allowed.end(), meant) != allowed.end()) {
      return std::string(meant);
    }
  }
  std::string best;
  int best_distance = 3;
  for (absl::string_view candidate : allowed) {
    const int d = EditDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  if (!best.empty()) return best;
  // Else the one key that starts the same way, for long enough to mean it
  // ('early_stop' is 'early_terminate').
  size_t best_shared = 5;
  bool tie = false;
  for (absl::string_view candidate : allowed) {
    size_t shared = 0;
    while (shared < key.size() && shared < candidate.size() &&
           absl::ascii_tolower(static_cast<unsigned char>(key[shared])) ==
               absl::ascii_tolower(
                   static_cast<unsigned char>(candidate[shared]))) {
      ++shared;
    }
    if (shared > best_shared) {
      best_shared = shared;
      best = std::string(candidate);
      tie = false;
    } else if (shared == best_shared && !best.empty()) {
      tie = true;
    }
  }
  return tie ? "" : best;
}

std::vector<YamlEntry> FieldReader::Entries(
    const YAML::Node& map, absl::string_view path,
    const std::vector<absl::string_view>& allowed) {
  // YAML::Node has reference semantics: assigning one node to another writes
  // into the document. Entries are therefore only ever copy-constructed
  // (push_back), never assigned, sorted or erased.
  std::vector<YamlEntry> all;
  std::vector<MappingEntry> pairs;
  std::string merge_error;
  YAML::Node merge_at;
  if (!MappingEntries(map, &merge_budget_, &pairs, &merge_error, &merge_at)) {
    diag_.Error(LocationOf(merge_at), path, merge_error);
    return all;
  }
  for (const MappingEntry& pair : pairs) {
    YamlEntry entry;
    entry.key_location = LocationOf(pair.key);
    if (!pair.key.IsScalar()) {
      diag_.Error(entry.key_location, path,
                  absl::StrCat("keys must be plain names, got ",
                               DescribeNode(pair.key)));
      continue;
    }
    entry.key = pair.key.Scalar();
    entry.value.reset(pair.value);
    entry.value_location = LocationOf(pair.value);
    if (entry.value_location.line == 0 || pair.value.IsNull()) {
      entry.value_location = entry.key_location;
    }
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), entry.key) == allowed.end()) {
      std::string message = absl::StrCat("unknown key '", entry.key, "'");
      const std::string closest = ClosestKey(entry.key, allowed);
      if (!closest.empty()) {
        absl::StrAppend(&message, " (did you mean '", closest, "'?)");
      } else {
        absl::StrAppend(&message, "; allowed: ", absl::StrJoin(allowed, ", "));
      }
      diag_.Error(entry.key_location, path, message);
      continue;
    }
    all.push_back(entry);
  }
  std::vector<YamlEntry> entries;
  for (size_t i = 0; i < all.size(); ++i) {
    size_t last = i;
    for (size_t k = i + 1; k < all.size(); ++k) {
      if (all[k].key == all[i].key) last = k;
    }
    if (last != i) {
      diag_.Warning(
          all[last].key_location, path,
          absl::StrCat("duplicate key '", all[i].key, "' (line ",
                       all[i].key_location.line, "); the last one wins"));
      continue;
    }
    entries.push_back(all[i]);
  }
  return entries;
}

const YamlEntry* FieldReader::Find(const std::vector<YamlEntry>& entries,
                                   absl::string_view key) {
  for (const YamlEntry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::optional<double> FieldReader::Number(const YamlEntry& e,
                                          absl::string_view path) {
  if (e.value.IsScalar()) {
    const Value v = ScalarToValue(e.value);
    if (v.is_number()) {
      const double x = v.get<double>();
      if (std::isfinite(x)) return x;
      diag_.Error(
          e.value_location, JoinPath(path, e.key),
          absl::StrCat("must be a finite number, got ", e.value.Scalar()));
      return std::nullopt;
    }
  }
  diag_.Error(e.value_location, JoinPath(path, e.key),
              absl::StrCat("must be a number, got ", DescribeNode(e.value)));
  return std::nullopt;
}

std::optional<int64_t> FieldReader::Integer(const YamlEntry& e,
                                            absl::string_view path) {
  if (e.value.IsScalar()) {
    const Value v = ScalarToValue(e.value);
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      return v.get<int64_t>();
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() <= INT64_MAX) {
      return static_cast<int64_t>(v.get<uint64_t>());
    }
    // A whole number written as a float (3.0) is an integer, as in W&B's
    // JSON Schema validation.
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e18) {
        return static_cast<int64_t>(d);
      }
    }
  }
  diag_.Error(e.value_location, JoinPath(path, e.key),
              absl::StrCat("must be an integer, got ", DescribeNode(e.value)));
  return std::nullopt;
}

std::optional<bool> FieldReader::Bool(const YamlEntry& e,
                                      absl::string_view path) {
  if (e.value.IsScalar()) {
    const Value v = ScalarToValue(e.value);
    if (v.is_boolean()) return v.get<bool>();
  }
  diag_.Error(
      e.value_location, JoinPath(path, e.key),
      absl::StrCat("must be true or false, got ", DescribeNode(e.value)));
  return std::nullopt;
}

std::optional<std::string> FieldReader::String(const YamlEntry& e,
                                               absl::string_view path) {
  // Any scalar reads as its text: `name: 2024` is the name "2024".
  if (e.value.IsScalar()) return e.value.Scalar();
  diag_.Error(e.value_location, JoinPath(path, e.key),
              absl::StrCat("must be a string, got ", DescribeNode(e.value)));
  return std::nullopt;
}

}  // namespace sweep
