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
// for constants. Unbounded laws (normal, log-normal) use u clamped to
// [1e-12, 1 - 1e-12], so values stay finite. A quantized float result is the
// double nearest to k times q's shortest decimal form (3 * 0.1 gives 0.3, not
// 0.30000000000000004).
Value ValueAtQuantile(const ParameterSpec& p, double u);

// Where `value` sits on the law of `p`: the u in [0, 1] that ValueAtQuantile
// maps back to it (the middle of its cell for integers and categories). For a
// categorical, the first drawable index of the matching value is used (values
// may repeat). nullopt when the value cannot come from `p` (not a category, a
// category of probability 0, out of bounds, off the q lattice by more than
// 1e-9 relative, wrong type). Numbers compare as W&B compares them: 3.0 is a
// value of int_uniform, true is not.
std::optional<double> QuantileOf(const ParameterSpec& p, const Value& value);

// Like QuantileOf, but a number that `p` cannot produce (out of bounds, not
// an integer for int_uniform, off the q lattice) takes the quantile of the
// nearest value `p` does produce. Still nullopt for a non-number given to a
// numeric law, and for a value that is not a drawable category.
std::optional<double> NearestQuantileOf(const ParameterSpec& p,
                                        const Value& value);

// One draw of `p` from its law: ValueAtQuantile at one UniformUnit, except
// that a constant consumes no random number.
Value SampleParameter(const ParameterSpec& p, RandomEngine& rng);

// One draw of every parameter, aligned with spec.parameters, in their order.
Point SamplePoint(const SweepSpec& spec, RandomEngine& rng);

// The categories of a categorical `p` that can be drawn, as indices into
// p.values in written order: those of positive probability, and of values
// written more than once (W&B equality) only the first drawable one.
std::vector<int> DistinctCategories(const ParameterSpec& p);

// Every value `p` can take, in increasing order (for categoricals, the
// values of DistinctCategories in written order), or nullopt when that
// set is infinite (continuous forms, q_normal, q_log_normal) or holds more
// than `limit` values. Quantized forms give k * q for every k from
// RoundHalfEven(lo / q) to RoundHalfEven(hi / q), lo and hi the range of the
// unrounded law, but a k whose rounding cell meets that range in a bound
// alone (drawn with probability 0: min 0.05, q 0.1 gives no 0.0), typed as
// ValueAtQuantile types them; ValueAtQuantile keeps to the same k.
std::optional<std::vector<Value>> FiniteSupport(const ParameterSpec& p,
                                                std::size_t limit);

}  // namespace sweep

#endif  // SWEEP_SEARCH_DISTRIBUTION_H_
