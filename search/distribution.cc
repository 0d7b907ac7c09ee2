#include "search/distribution.h"

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/policies/policy.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "absl/container/flat_hash_set.h"
#include "search/value.h"

namespace sweep {
namespace {

namespace policies = boost::math::policies;

// Boost reports bad parameters (a beta with a <= 0, say) by returning NaN or
// infinity instead of throwing, so no exception leaves this module. The spec
// parser rejects such parameters before they get here.
using NoThrowPolicy = policies::policy<
    policies::domain_error<policies::ignore_error>,
    policies::pole_error<policies::ignore_error>,
    policies::overflow_error<policies::ignore_error>,
    policies::evaluation_error<policies::ignore_error>,
    policies::rounding_error<policies::ignore_error>,
    policies::indeterminate_result_error<policies::ignore_error>,
    policies::promote_double<false>>;
using NormalLaw = boost::math::normal_distribution<double, NoThrowPolicy>;
using BetaLaw = boost::math::beta_distribution<double, NoThrowPolicy>;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Unbounded laws take their quantile at u clamped to [kUnitMargin,
// 1 - kUnitMargin], so that u = 0 (which UniformUnit can return) or a cube
// corner still gives a finite value: about 7 standard deviations out.
constexpr double kUnitMargin = 1e-12;

// The continuous law X behind a numeric form; quantized forms round X to a
// multiple of q.
enum class Law {
  kUniform,
  kLogUniformExponents,
  kLogUniformValues,
  kInvLogUniformExponents,
  kNormal,
  kLogNormal,
  kBeta,
};

struct NumericForm {
  Law law;
  bool quantized;
};

// The numeric form of `d`; nullopt for constants, categoricals and
// int_uniform, which are handled on their own.
std::optional<NumericForm> NumericFormOf(Distribution d) {
  switch (d) {
    case Distribution::kUniform:
      return NumericForm{Law::kUniform, false};
    case Distribution::kQUniform:
      return NumericForm{Law::kUniform, true};
    case Distribution::kLogUniform:
      return NumericForm{Law::kLogUniformExponents, false};
    case Distribution::kQLogUniform:
      return NumericForm{Law::kLogUniformExponents, true};
    case Distribution::kLogUniformValues:
    case Distribution::kInvLogUniformValues:  // The same law (spec table).
      return NumericForm{Law::kLogUniformValues, false};
    case Distribution::kQLogUniformValues:
      return NumericForm{Law::kLogUniformValues, true};
    case Distribution::kInvLogUniform:
      return NumericForm{Law::kInvLogUniformExponents, false};
    case Distribution::kNormal:
      return NumericForm{Law::kNormal, false};
    case Distribution::kQNormal:
      return NumericForm{Law::kNormal, true};
    case Distribution::kLogNormal:
      return NumericForm{Law::kLogNormal, false};
    case Distribution::kQLogNormal:
      return NumericForm{Law::kLogNormal, true};
    case Distribution::kBeta:
      return NumericForm{Law::kBeta, false};
    case Distribution::kQBeta:
      return NumericForm{Law::kBeta, true};
    case Distribution::kConstant:
    case Distribution::kCategorical:
    case Distribution::kCategoricalWithProbabilities:
    case Distribution::kIntUniform:
      break;
  }
  return std::nullopt;
}

// std::clamp without its precondition lo <= hi, which an unvalidated spec
// could break.
double ClampTo(double x, double lo, double hi) {
  return std::fmin(std::fmax(x, lo), hi);
}

double ClampUnit(double u) {
  return std::isnan(u) ? 0.0 : ClampTo(u, 0.0, 1.0);
}

double StandardNormalQuantile(double u) {
  return quantile(NormalLaw(0.0, 1.0),
                  ClampTo(u, kUnitMargin, 1.0 - kUnitMargin));
}

double StandardNormalCdf(double z) {
  if (std::isinf(z)) return z < 0 ? 0.0 : 1.0;
  return cdf(NormalLaw(0.0, 1.0), z);
}

// Mean plus sigma standard deviations, except that sigma = 0 (allowed)
// puts every u on the mean.
double NormalCdf(double mu, double sigma, double x) {
  if (sigma == 0) return x < mu ? 0.0 : (x > mu ? 1.0 : 0.5);
  return StandardNormalCdf((x - mu) / sigma);
}

// X at quantile u in [0, 1]. Bounded laws return exactly their bounds at
// u = 0 and u = 1 (clamping absorbs exp/log rounding).
double XAtQuantile(const ParameterSpec& p, Law law, double u) {
  switch (law) {
    case Law::kUniform:
      return ClampTo(p.min + u * (p.max - p.min), p.min, p.max);
    case Law::kLogUniformExponents:
      return std::exp(ClampTo(p.min + u * (p.max - p.min), p.min, p.max));
    case Law::kLogUniformValues: {
      // exp(log(min)) need not be min: the ends are returned as written.
      if (u <= 0) return p.min;
      if (u >= 1) return p.max;
      const double log_min = std::log(p.min);
      const double log_max = std::log(p.max);
      return ClampTo(std::exp(log_min + u * (log_max - log_min)), p.min, p.max);
    }
    case Law::kInvLogUniformExponents:
      return std::exp(
          -ClampTo(p.min + (1.0 - u) * (p.max - p.min), p.min, p.max));
    case Law::kNormal:
      return p.mu + p.sigma * StandardNormalQuantile(u);
    case Law::kLogNormal:
      return std::exp(p.mu + p.sigma * StandardNormalQuantile(u));
    case Law::kBeta:
      return quantile(BetaLaw(p.a, p.b), u);
  }
  return 0;
}

// P(X <= x), for x within RangeOfX.
double CdfOfX(const ParameterSpec& p, Law law, double x) {
  double u = 0;
  switch (law) {
    case Law::kUniform:
      u = (x - p.min) / (p.max - p.min);
      break;
    case Law::kLogUniformExponents:
      u = (std::log(x) - p.min) / (p.max - p.min);
      break;
    case Law::kLogUniformValues:
      u = (std::log(x) - std::log(p.min)) / (std::log(p.max) - std::log(p.min));
      break;
    case Law::kInvLogUniformExponents:
      u = (p.max + std::log(x)) / (p.max - p.min);
      break;
    case Law::kNormal:
      u = NormalCdf(p.mu, p.sigma, x);
      break;
    case Law::kLogNormal:
      u = x <= 0 ? 0.0 : NormalCdf(p.mu, p.sigma, std::log(x));
      break;
    case Law::kBeta:
      u = cdf(BetaLaw(p.a, p.b), ClampTo(x, 0.0, 1.0));
      break;
  }
  return ClampUnit(u);
}

struct Interval {
  double lo;
  double hi;
};

// The closed range of X, with infinite ends for the unbounded laws.
Interval RangeOfX(const ParameterSpec& p, Law law) {
  if (law == Law::kNormal) return {-kInfinity, kInfinity};
  if (law == Law::kLogNormal) return {0.0, kInfinity};
  return {XAtQuantile(p, law, 0.0), XAtQuantile(p, law, 1.0)};
}

// q == mantissa * 10^exponent, with q's shortest round-trip digits.
struct DecimalForm {
  int64_t mantissa = 0;
  int exponent = 0;
};

std::optional<DecimalForm> ShortestDecimal(double q) {
  char text[64];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), q,
                                          std::chars_format::scientific);
  if (error != std::errc() || text[0] == '-') return std::nullopt;
  DecimalForm form;  // At most 17 digits: fits in int64.
  int fraction_digits = 0;
  bool in_fraction = false;
  const char* c = text;
  for (; c != end && *c != 'e'; ++c) {
    if (*c == '.') {
      in_fraction = true;
      continue;
    }
    form.mantissa = form.mantissa * 10 + (*c - '0');
    if (in_fraction) ++fraction_digits;
  }
  if (c == end) return std::nullopt;
  ++c;                             // 'e'
  if (c != end && *c == '+') ++c;  // from_chars takes no '+'.
  int exponent = 0;
  if (std::from_chars(c, end, exponent).ec != std::errc()) return std::nullopt;
  form.exponent = exponent - fraction_digits;
  return form;
}

// k * q without the noise of q's binary expansion: q is read as the shortest
// decimal that prints it (0.1, not 0.1000000000000000055...), and the result
// is the double nearest to k times that decimal, so 3 * 0.1 gives 0.3 where
// a plain product gives 0.30000000000000004. Exact integer arithmetic and one
// correctly rounded scaling by a power of ten make that hold; when the
// product does not fit that path (|k * mantissa| > 2^53 or a power of ten
// beyond 1e22) it falls back to the plain product.
double LatticeValue(double k, double q) {
  static constexpr double kPowersOfTen[] = {
      1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  constexpr int64_t kExactIntegers = int64_t{1} << 53;
  const std::optional<DecimalForm> decimal = ShortestDecimal(q);
  if (decimal && decimal->mantissa > 0 && std::abs(decimal->exponent) <= 22 &&
      std::fabs(k) <= static_cast<double>(kExactIntegers / decimal->mantissa)) {
    const double product =
        static_cast<double>(static_cast<int64_t>(k) * decimal->mantissa);
    return decimal->exponent >= 0 ? product * kPowersOfTen[decimal->exponent]
                                  : product / kPowersOfTen[-decimal->exponent];
  }
  return k * q + 0.0;  // + 0.0 turns -0.0 into 0.0.
}

// The lattice point k * q, an integer when q was written as one.
Value LatticePoint(const ParameterSpec& p, double k) {
  constexpr double kInt64Range = 9.2e18;
  if (p.q_is_integer && std::fabs(k * p.q) < kInt64Range) {
    return static_cast<int64_t>(k) * static_cast<int64_t>(p.q);
  }
  return LatticeValue(k, p.q);
}

// The multiples k of q that X's range reaches: k * q for k in [lo, hi].
// Not a k whose rounding cell meets the range in a bound alone (min 0.05,
// q 0.1: 0 only for X = 0.05 exactly, a value below min drawn with
// probability 0), unless the range is that one point.
Interval LatticeIndices(const ParameterSpec& p, Law law) {
  const Interval range = RangeOfX(p, law);
  Interval k{RoundHalfEven(range.lo / p.q), RoundHalfEven(range.hi / p.q)};
  if (k.lo < k.hi && (k.lo + 0.5) * p.q <= range.lo) ++k.lo;
  if (k.lo < k.hi && (k.hi - 0.5) * p.q >= range.hi) --k.hi;
  return k;
}

// x rounded to the lattice, within the points the law reaches.
Value Quantize(const ParameterSpec& p, Law law, double x) {
  const Interval k = LatticeIndices(p, law);
  return LatticePoint(p, ClampTo(RoundHalfEven(x / p.q), k.lo, k.hi));
}

// The middle, in quantile, of the X values that round to k * q.
double LatticeCellMiddle(const ParameterSpec& p, Law law, double k) {
  const Interval range = RangeOfX(p, law);
  const double lo = std::fmax((k - 0.5) * p.q, range.lo);
  const double hi = std::fmin((k + 0.5) * p.q, range.hi);
  return 0.5 * (CdfOfX(p, law, lo) + CdfOfX(p, law, hi));
}

// The number held by `v`; nullopt for non-numbers (booleans included: W&B
// tells true from 1) and NaN.
std::optional<double> AsNumber(const Value& v) {
  if (!v.is_number()) return std::nullopt;
  const double x = v.get<double>();
  if (std::isnan(x)) return std::nullopt;
  return x;
}

// Where the number x sits on the law of a numeric form. With `snap`, an x
// off the lattice or out of range takes the quantile of the nearest value
// the form produces; without, such an x gives nullopt.
std::optional<double> NumericQuantile(const ParameterSpec& p, NumericForm form,
                                      double x, bool snap) {
  if (!form.quantized) {
    const Interval range = RangeOfX(p, form.law);
    const bool outside =
        x < range.lo || x > range.hi || (form.law == Law::kLogNormal && x <= 0);
    if (!snap && outside) return std::nullopt;
    return CdfOfX(p, form.law, ClampTo(x, range.lo, range.hi));
  }
  const Interval indices = LatticeIndices(p, form.law);
  double k = RoundHalfEven(x / p.q);
  if (!snap) {
    // Tolerates a lattice value printed by another tool (0.30000000000000004).
    const double tolerance = 1e-9 * std::fmax(std::fabs(x), p.q);
    if (std::fabs(x - LatticeValue(k, p.q)) > tolerance) return std::nullopt;
    if (k < indices.lo || k > indices.hi) return std::nullopt;
  }
  k = ClampTo(k, indices.lo, indices.hi);
  return LatticeCellMiddle(p, form.law, k);
}

int64_t SaturatingInt64(double x) {
  constexpr double kLimit = 9.2e18;
  return static_cast<int64_t>(ClampTo(x, -kLimit, kLimit));
}

std::optional<double> IntUniformQuantile(const ParameterSpec& p, double x,
                                         bool snap) {
  const double lo = static_cast<double>(SaturatingInt64(p.min));
  const double hi = static_cast<double>(SaturatingInt64(p.max));
  if (!snap && (x != std::floor(x) || x < lo || x > hi)) return std::nullopt;
  const double k = ClampTo(RoundHalfEven(x), lo, hi);
  return (k - lo + 0.5) / (hi - lo + 1.0);
}

// Categories of probability 0 cannot be drawn, so they have no quantile.
bool CanBeDrawn(const ParameterSpec& p, std::size_t i) {
  if (p.distribution != Distribution::kCategoricalWithProbabilities) {
    return true;
  }
  return i < p.probabilities.size() && p.probabilities[i] > 0;
}

// The first category that can be drawn and equals v (W&B equality), or -1.
// Values may repeat (a repeated value is drawn by its written weight).
int CategoryIndex(const ParameterSpec& p, const Value& v) {
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    if (CanBeDrawn(p, i) && ValuesEqual(p.values[i], v)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

double ProbabilityTotal(const ParameterSpec& p) {
  double total = 0;
  for (const double probability : p.probabilities) total += probability;
  return total;
}

std::optional<double> WeightedCategoryQuantile(const ParameterSpec& p, int i) {
  if (i < 0) return std::nullopt;
  double below = 0;
  for (int j = 0; j < i; ++j) below += p.probabilities[j];
  return (below + 0.5 * p.probabilities[i]) / ProbabilityTotal(p);
}

std::optional<double> QuantileOfValue(const ParameterSpec& p, const Value& v,
                                      bool snap) {
  switch (p.distribution) {
    case Distribution::kConstant:
      if (ValuesEqual(p.value, v)) return 0.5;
      return std::nullopt;
    case Distribution::kCategorical: {
      const int i = CategoryIndex(p, v);
      if (i < 0) return std::nullopt;
      return (i + 0.5) / static_cast<double>(p.values.size());
    }
    case Distribution::kCategoricalWithProbabilities:
      return WeightedCategoryQuantile(p, CategoryIndex(p, v));
    default:
      break;
  }
  const std::optional<double> x = AsNumber(v);
  if (!x) return std::nullopt;
  if (p.distribution == Distribution::kIntUniform) {
    return IntUniformQuantile(p, *x, snap);
  }
  return NumericQuantile(p, *NumericFormOf(p.distribution), *x, snap);
}

Value CategoryAtQuantile(const ParameterSpec& p, double u) {
  if (p.values.empty()) return Value();
  const std::size_t n = p.values.size();
  const auto i = static_cast<std::size_t>(u * static_cast<double>(n));
  return p.values[std::min(i, n - 1)];
}

// The first i with cumsum(p)[i] > u * total; u * total rather than u so that
// probabilities summing to 1 within the parser's tolerance still cover
// [0, 1). At u = 1 it is the last category of positive probability.
Value WeightedCategoryAtQuantile(const ParameterSpec& p, double u) {
  const std::size_t n = std::min(p.values.size(), p.probabilities.size());
  const double threshold = u * ProbabilityTotal(p);
  double cumulative = 0;
  std::optional<std::size_t> last_possible;
  for (std::size_t i = 0; i < n; ++i) {
    cumulative += p.probabilities[i];
    if (cumulative > threshold) return p.values[i];
    if (p.probabilities[i] > 0) last_possible = i;
  }
  return last_possible ? p.values[*last_possible] : Value();
}

Value IntUniformAtQuantile(const ParameterSpec& p, double u) {
  const int64_t lo = SaturatingInt64(p.min);
  const int64_t hi = SaturatingInt64(p.max);
  const double cells = static_cast<double>(hi) - static_cast<double>(lo) + 1;
  const double k = ClampTo(std::floor(u * cells), 0.0, cells - 1);
  return lo + static_cast<int64_t>(k);
}

std::optional<std::vector<Value>> LatticeSupport(const ParameterSpec& p,
                                                 Law law, std::size_t limit) {
  const Interval indices = LatticeIndices(p, law);
  const double count = indices.hi - indices.lo + 1;
  if (!(count <= static_cast<double>(limit))) return std::nullopt;
  const auto size = static_cast<std::size_t>(count);
  std::vector<Value> support;
  support.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    support.push_back(LatticePoint(p, indices.lo + static_cast<double>(i)));
  }
  return support;
}

}  // namespace

double UniformUnit(RandomEngine& rng) { return (rng() >> 11) * 0x1.0p-53; }

double RoundHalfEven(double x) {
  if (!std::isfinite(x)) return x;
  const double below = std::floor(x);
  const double fraction = x - below;  // Exact for every finite double.
  if (fraction < 0.5) return below;
  if (fraction > 0.5) return below + 1;
  return std::fmod(below, 2.0) == 0 ? below : below + 1;
}

Value ValueAtQuantile(const ParameterSpec& p, double u) {
  u = ClampUnit(u);
  switch (p.distribution) {
    case Distribution::kConstant:
      return p.value;
    case Distribution::kCategorical:
      return CategoryAtQuantile(p, u);
    case Distribution::kCategoricalWithProbabilities:
      return WeightedCategoryAtQuantile(p, u);
    case Distribution::kIntUniform:
      return IntUniformAtQuantile(p, u);
    default:
      break;
  }
  const NumericForm form = *NumericFormOf(p.distribution);
  const double x = XAtQuantile(p, form.law, u);
  if (form.quantized) return Quantize(p, form.law, x);
  return x;
}

std::optional<double> QuantileOf(const ParameterSpec& p, const Value& value) {
  return QuantileOfValue(p, value, /*snap=*/false);
}

std::optional<double> NearestQuantileOf(const ParameterSpec& p,
                                        const Value& value) {
  return QuantileOfValue(p, value, /*snap=*/true);
}

Value SampleParameter(const ParameterSpec& p, RandomEngine& rng) {
  if (p.distribution == Distribution::kConstant) return p.value;
  return ValueAtQuantile(p, UniformUnit(rng));
}

Point SamplePoint(const SweepSpec& spec, RandomEngine& rng) {
  Point point;
  point.reserve(spec.parameters.size());
  for (const ParameterSpec& p : spec.parameters) {
    point.push_back(SampleParameter(p, rng));
  }
  return point;
}

std::vector<int> DistinctCategories(const ParameterSpec& p) {
  // By key, not pairwise: a list of 100,000 values must not take minutes.
  std::vector<int> distinct;
  absl::flat_hash_set<std::string> seen;
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    if (!CanBeDrawn(p, i)) continue;
    if (seen.insert(CanonicalKey(p.values[i])).second) {
      distinct.push_back(static_cast<int>(i));
    }
  }
  return distinct;
}

std::optional<std::vector<Value>> FiniteSupport(const ParameterSpec& p,
                                                std::size_t limit) {
  std::vector<Value> support;
  switch (p.distribution) {
    case Distribution::kConstant:
      support.push_back(p.value);
      break;
    case Distribution::kCategorical:
    case Distribution::kCategoricalWithProbabilities:
      for (const int i : DistinctCategories(p)) support.push_back(p.values[i]);
      break;
    case Distribution::kIntUniform: {
      const int64_t lo = SaturatingInt64(p.min);
      const int64_t hi = SaturatingInt64(p.max);
      const double count =
          static_cast<double>(hi) - static_cast<double>(lo) + 1;
      if (count > static_cast<double>(limit)) return std::nullopt;
      for (int64_t v = lo; v <= hi; ++v) support.push_back(v);
      break;
    }
    default: {
      const NumericForm form = *NumericFormOf(p.distribution);
      if (!form.quantized) return std::nullopt;
      return LatticeSupport(p, form.law, limit);
    }
  }
  if (support.size() > limit) return std::nullopt;
  return support;
}

}  // namespace sweep
