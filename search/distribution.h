// Sampling of every distribution of the spec's table (section 2) by inverse
// transform: a parameter's value is a function of a quantile u in [0, 1), so
// random search draws u uniformly and the Bayesian search decodes points of
// the unit cube through the same function. Thread-safe.
#ifndef SWEEP_SEARCH_DISTRIBUTION_H_
#define SWEEP_SEARCH_DISTRIBUTION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "search/spec.h"

namespace sweep {

// The engine every searcher takes. A seed reproduces a sweep: uniforms are
// derived from raw 64-bit outputs (UniformUnit), never from the standard
// library's distributions, whose output differs between implementations.
using RandomEngine = std::mt19937_64;

// A uniform double in [0, 1) from 53 random bits.
double UniformUnit(RandomEngine& rng);

// Rounds half to even (numpy's np.round): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
double RoundHalfEven(double x);

// The value of `p` at quantile u in [0, 1] (clamped), per the spec's table:
// ints for int_uniform and for quantized forms whose q is an integer, floats
// for the other numeric forms, the chosen element for categoricals, the value
// for constants.
Value ValueAtQuantile(const ParameterSpec& p, double u);

// Where `value` sits on the law of `p`: the u in [0, 1] that ValueAtQuantile
// maps back to it (the middle of its cell for integers and categories). For a
// categorical, the index of the matching value is used; nullopt when the value
// cannot come from `p` (not a category, out of bounds, wrong type).
std::optional<double> QuantileOf(const ParameterSpec& p, const Value& value);

// One draw of `p` from its law.
Value SampleParameter(const ParameterSpec& p, RandomEngine& rng);

// One draw of every parameter, aligned with spec.parameters.
Point SamplePoint(const SweepSpec& spec, RandomEngine& rng);

// Every value `p` can take, in increasing order (written order for
// categoricals), or nullopt when that set is infinite (continuous forms,
// q_normal, q_log_normal) or holds more than `limit` values.
std::optional<std::vector<Value>> FiniteSupport(const ParameterSpec& p,
                                                std::size_t limit);

}  // namespace sweep

#endif  // SWEEP_SEARCH_DISTRIBUTION_H_
