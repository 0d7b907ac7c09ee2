// The typed, validated sweep definition (../shared/SPEC-sweep-config.md,
// sections 1, 2, 3, 5 and 6). Produced by ParseSweepDefinition
// (spec_parser.h); immutable and thread-compatible once built.
#ifndef SWEEP_SEARCH_SPEC_H_
#define SWEEP_SEARCH_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "search/value.h"

namespace sweep {

// Where something was written: 1-based line and column; 0 when unknown.
struct SourceLocation {
  int line = 0;
  int column = 0;
};

enum class Method { kGrid, kRandom, kBayes };

enum class Distribution {
  kConstant,
  kCategorical,
  kCategoricalWithProbabilities,
  kIntUniform,
  kUniform,
  kQUniform,
  kLogUniform,  // Deprecated: min and max are natural-log exponents.
  kLogUniformValues,
  kQLogUniform,  // Deprecated exponent form.
  kQLogUniformValues,
  kInvLogUniform,  // Deprecated exponent form.
  kInvLogUniformValues,
  kNormal,
  kQNormal,
  kLogNormal,
  kQLogNormal,
  kBeta,
  kQBeta,
};

// The W&B spelling ("int_uniform", "q_log_uniform_values", ...).
absl::string_view DistributionName(Distribution d);
// The inverse of DistributionName; nullopt for an unknown name.
std::optional<Distribution> DistributionFromName(absl::string_view name);
// Every name DistributionFromName knows.
std::vector<absl::string_view> DistributionNames();

// True for the forms rounded to a multiple of q.
bool IsQuantized(Distribution d);

// One leaf parameter of the search space. Nested parameters are flattened:
// `path` holds every level ({"optimizer", "lr"}), `name` joins it with '.'.
struct ParameterSpec {
  std::string name;
  std::vector<std::string> path;
  Distribution distribution = Distribution::kConstant;
  SourceLocation location;

  Value value;                // kConstant.
  std::vector<Value> values;  // Categoricals, as written: random search draws
                              // a repeated value by its written weight, as
                              // W&B does; the grid tries it once.
  std::vector<double> probabilities;  // kCategoricalWithProbabilities,
                                      // aligned with `values`.

  // Bounds of the uniform and log forms, as written (exponents for the
  // deprecated exponent forms). For kIntUniform both are integers.
  double min = 0;
  double max = 0;

  double q = 1.0;             // Quantized forms.
  bool q_is_integer = false;  // q written as an integer: results are ints.

  double mu = 0.0;     // Normal and log-normal forms.
  double sigma = 1.0;  //
  double a = 1.0;      // Beta forms.
  double b = 1.0;      //
};

enum class Goal { kMinimize, kMaximize };

// What a failed, crashed or killed trial contributes to the Bayesian model.
enum class Impute { kWorst, kBest, kLatest };

struct MetricSpec {
  std::string name;
  Goal goal = Goal::kMinimize;
  std::optional<double> target;  // The sweep finishes once a trial reaches it.
  Impute impute = Impute::kWorst;
  // What a running trial contributes; nullopt means it is only pending (W&B's
  // `impute_while_running: false`, the default).
  std::optional<Impute> impute_while_running;
};

// W&B's `early_terminate: {type: hyperband, ...}`.
struct HyperbandSpec {
  std::optional<int64_t> min_iter;
  std::optional<int64_t> max_iter;  // Takes precedence; needs `s`.
  std::optional<int64_t> s;
  double eta = 3.0;
  bool strict = true;
};

// Asynchronous successive halving (extension): a trial reaching a rung goes
// on only while it is in the top 1/reduction_factor of that rung.
struct AshaSpec {
  int64_t min_resource = 1;
  int64_t max_resource = 0;  // 0: no maximum; rungs grow without bound.
  double reduction_factor = 3.0;
};

// Median stopping (extension): after `warmup_steps` values and once
// `min_trials` other trials reached the same step, a running trial stops when
// its best value so far is worse than the median of the values the others
// logged at that step.
struct MedianStopSpec {
  int64_t warmup_steps = 5;
  int64_t min_trials = 3;
};

struct EarlyTerminateSpec {
  enum class Type { kHyperband, kAsha, kMedian };
  Type type = Type::kHyperband;
  SourceLocation location;
  HyperbandSpec hyperband;
  AshaSpec asha;
  MedianStopSpec median;
};

// The project's own settings, under the top-level key `sweep:` so that a W&B
// file stays valid unchanged.
struct ExtensionSpec {
  std::optional<uint64_t> seed;  // Reproduces the sequence of suggestions.
  // Grid only: how many more times a point whose program failed is handed
  // out again (lost points are always handed out again).
  int64_t retry_failed = 0;
  SourceLocation retry_failed_location;  // Of its key, for diagnostics.
};

// The name of the top-level key holding ExtensionSpec.
inline constexpr absl::string_view kExtensionKey = "sweep";

// The command template: tokens with macros, checked at parse time.
inline constexpr const char* kDefaultCommand[] = {"${env}", "${interpreter}",
                                                  "${program}", "${args}"};

struct SweepSpec {
  Method method = Method::kRandom;
  // Leaves in flattened order: keys sorted at every level, depth first.
  std::vector<ParameterSpec> parameters;
  std::optional<MetricSpec> metric;
  std::optional<EarlyTerminateSpec> early_terminate;
  std::optional<int64_t> run_cap;
  std::vector<std::string> command;  // Defaults to kDefaultCommand.
  bool command_is_default = true;
  std::optional<std::string> program;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> project;
  std::optional<std::string> entity;
  ExtensionSpec extension;

  // Index of the parameter with this flattened name, or -1.
  int FindParameter(absl::string_view name) const;
};

// A configuration: one value per parameter of the spec, aligned with
// SweepSpec::parameters (constants included).
using Point = std::vector<Value>;

// The trial's configuration re-nested as W&B hands it to a program:
// {"optimizer": {"lr": 0.1}, "epochs": 10}.
Value NestPoint(const SweepSpec& spec, const Point& point);

// The longest metric name the agents and the controller take.
inline constexpr size_t kMaxMetricNameBytes = 256;

// The length in bytes of the control character that starts at text[i]: C0
// (tab, newline, escape) or DEL, 1; a UTF-8 encoded C1 (U+0080 to U+009F,
// CSI among them), 2; a Unicode line separator or bidirectional override,
// which reorders what follows it on the line, 3. 0 when none does.
std::size_t ControlSequenceLength(absl::string_view text, std::size_t i);

// Whether `name` holds one. Such a metric name would act on terminals and
// corrupt tables and CSV headers: agents skip it, the controller refuses it.
bool HasControlCharacter(absl::string_view name);

// The normalized definition: every default filled in, every parameter with its
// explicit distribution, nested parameters re-nested. Loads back unchanged.
Value NormalizedDefinition(const SweepSpec& spec);

}  // namespace sweep

#endif  // SWEEP_SEARCH_SPEC_H_
