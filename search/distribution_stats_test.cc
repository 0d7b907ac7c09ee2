// Goodness of fit of SampleParameter against each law of the spec's table,
// written independently of distribution.cc: the exact CDFs come from closed
// forms and Boost.Math. Seeds are fixed, so a run is reproducible; at level
// 0.001 a correct law fails about one seed in a thousand, and the
// WrongLaw tests show that each checker does reject a mistaken law.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/lognormal.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "search/distribution.h"
#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

constexpr int kSamples = 4000;
constexpr double kAlpha = 0.001;

using Cdf = std::function<double(double)>;

struct FitResult {
  double statistic = 0;
  double critical = 0;
  bool Passes() const { return statistic <= critical; }
};

std::ostream& operator<<(std::ostream& os, const FitResult& r) {
  return os << "statistic " << r.statistic << ", critical value " << r.critical;
}

std::vector<Value> Draw(const ParameterSpec& p, uint64_t seed) {
  RandomEngine rng(seed);
  std::vector<Value> samples;
  samples.reserve(kSamples);
  for (int i = 0; i < kSamples; ++i) samples.push_back(SampleParameter(p, rng));
  return samples;
}

std::vector<double> DrawNumbers(const ParameterSpec& p, uint64_t seed) {
  std::vector<double> numbers;
  for (const Value& v : Draw(p, seed)) {
    EXPECT_TRUE(v.is_number_float()) << v.dump();
    numbers.push_back(v.get<double>());
  }
  return numbers;
}

// Kolmogorov-Smirnov: the largest gap between the empirical CDF and `cdf`,
// against the asymptotic critical value sqrt(-ln(alpha / 2) / 2) / sqrt(n)
// (1.95 / sqrt(n) at alpha = 0.001).
FitResult KolmogorovSmirnov(std::vector<double> samples, const Cdf& cdf) {
  std::sort(samples.begin(), samples.end());
  const double n = static_cast<double>(samples.size());
  FitResult result;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double f = cdf(samples[i]);
    result.statistic = std::max({result.statistic, f - i / n, (i + 1) / n - f});
  }
  result.critical = std::sqrt(-0.5 * std::log(kAlpha / 2)) / std::sqrt(n);
  return result;
}

double ChiSquareCritical(double degrees_of_freedom) {
  return quantile(
      boost::math::chi_squared_distribution<double>(degrees_of_freedom),
      1 - kAlpha);
}

struct Cell {
  double observed = 0;
  double expected = 0;
};

// Cells expecting fewer than 5 samples pooled into one, itself merged into
// the smallest other cell when it still expects fewer than 5.
std::vector<Cell> PoolSmallCells(const std::vector<Cell>& cells) {
  std::vector<Cell> pooled_cells;
  Cell pooled;
  for (const Cell& cell : cells) {
    if (cell.expected >= 5) {
      pooled_cells.push_back(cell);
    } else {
      pooled.observed += cell.observed;
      pooled.expected += cell.expected;
    }
  }
  if (pooled.expected >= 5 || pooled_cells.empty()) {
    pooled_cells.push_back(pooled);
  } else {
    Cell& smallest = *std::min_element(
        pooled_cells.begin(), pooled_cells.end(),
        [](const Cell& a, const Cell& b) { return a.expected < b.expected; });
    smallest.observed += pooled.observed;
    smallest.expected += pooled.expected;
  }
  return pooled_cells;
}

// Pearson's chi-square of the samples' bins (`bin_of`) against `expected`
// probabilities per bin; the bins not listed form one more cell, expecting
// the remaining mass. A sample in a cell where the law puts no mass rejects
// it outright (pooling would hide it).
FitResult ChiSquare(const std::vector<Value>& samples,
                    const std::function<int64_t(const Value&)>& bin_of,
                    const std::map<int64_t, double>& expected) {
  const double n = static_cast<double>(samples.size());
  std::map<int64_t, Cell> listed;
  Cell unlisted{0, n};
  for (const auto& [bin, probability] : expected) {
    listed[bin].expected = probability * n;
    unlisted.expected -= probability * n;
  }
  unlisted.expected = std::max(0.0, unlisted.expected);
  for (const Value& v : samples) {
    const auto found = listed.find(bin_of(v));
    ++(found == listed.end() ? unlisted : found->second).observed;
  }
  std::vector<Cell> cells = {unlisted};
  for (const auto& [bin, cell] : listed) cells.push_back(cell);
  FitResult result;
  for (const Cell& cell : cells) {
    if (cell.observed > 0 && cell.expected < 1e-9) {
      result.statistic = INFINITY;
      result.critical = ChiSquareCritical(1);
      return result;
    }
  }
  cells = PoolSmallCells(cells);
  for (const Cell& cell : cells) {
    const double gap = cell.observed - cell.expected;
    result.statistic += gap * gap / cell.expected;
  }
  result.critical =
      ChiSquareCritical(std::max(1.0, static_cast<double>(cells.size()) - 1));
  return result;
}

ParameterSpec Param(Distribution d) {
  ParameterSpec p;
  p.name = "x";
  p.path = {"x"};
  p.distribution = d;
  return p;
}

ParameterSpec Ranged(Distribution d, double min, double max) {
  ParameterSpec p = Param(d);
  p.min = min;
  p.max = max;
  return p;
}

double Clamp01(double u) { return std::min(1.0, std::max(0.0, u)); }

double NormalCdf(double mu, double sigma, double x) {
  return cdf(boost::math::normal_distribution<double>(mu, sigma), x);
}

// The bin of a quantized value: its multiple k of q.
std::function<int64_t(const Value&)> MultipleOf(double q) {
  return [q](const Value& v) {
    return static_cast<int64_t>(std::llround(v.get<double>() / q));
  };
}

// P(X rounds to k * q) for k in [first, last], X with CDF `cdf` on [lo, hi].
std::map<int64_t, double> LatticeProbabilities(const Cdf& cdf, double q,
                                               double lo, double hi,
                                               int64_t first, int64_t last) {
  std::map<int64_t, double> probabilities;
  for (int64_t k = first; k <= last; ++k) {
    const double from = std::max(lo, (k - 0.5) * q);
    const double to = std::min(hi, (k + 0.5) * q);
    probabilities[k] = std::max(0.0, cdf(to) - cdf(from));
  }
  return probabilities;
}

// Every sample is k * q, an int exactly when q is.
void ExpectOnLattice(const std::vector<Value>& samples, double q,
                     bool q_is_integer) {
  for (const Value& v : samples) {
    ASSERT_EQ(v.is_number_integer(), q_is_integer) << v.dump();
    const double k = v.get<double>() / q;
    ASSERT_NEAR(k, std::round(k), 1e-9) << v.dump();
  }
}

// --- Continuous laws: Kolmogorov-Smirnov. ---

TEST(ContinuousFitTest, Uniform) {
  const ParameterSpec p = Ranged(Distribution::kUniform, -2, 3);
  const FitResult fit = KolmogorovSmirnov(
      DrawNumbers(p, 1), [](double x) { return Clamp01((x + 2) / 5); });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, LogUniformExponents) {
  const ParameterSpec p = Ranged(Distribution::kLogUniform, -3, 1);
  const FitResult fit = KolmogorovSmirnov(DrawNumbers(p, 2), [](double x) {
    return Clamp01((std::log(x) + 3) / 4);
  });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, LogUniformValues) {
  const ParameterSpec p = Ranged(Distribution::kLogUniformValues, 1e-4, 1);
  const FitResult fit = KolmogorovSmirnov(DrawNumbers(p, 3), [](double x) {
    return Clamp01(std::log(x / 1e-4) / std::log(1 / 1e-4));
  });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, InvLogUniformExponents) {
  // X = exp(-Y), Y ~ U(0, 3): P(X <= x) = P(Y >= -ln x) = (3 + ln x) / 3.
  const ParameterSpec p = Ranged(Distribution::kInvLogUniform, 0, 3);
  const FitResult fit = KolmogorovSmirnov(DrawNumbers(p, 4), [](double x) {
    return Clamp01((3 + std::log(x)) / 3);
  });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, InvLogUniformValues) {
  const ParameterSpec p = Ranged(Distribution::kInvLogUniformValues, 0.01, 10);
  const FitResult fit = KolmogorovSmirnov(DrawNumbers(p, 5), [](double x) {
    return Clamp01(std::log(x / 0.01) / std::log(10 / 0.01));
  });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, Normal) {
  ParameterSpec p = Param(Distribution::kNormal);
  p.mu = 1;
  p.sigma = 2;
  const FitResult fit = KolmogorovSmirnov(
      DrawNumbers(p, 6), [](double x) { return NormalCdf(1, 2, x); });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, LogNormal) {
  ParameterSpec p = Param(Distribution::kLogNormal);
  p.mu = 0.5;
  p.sigma = 0.75;
  const boost::math::lognormal_distribution<double> law(0.5, 0.75);
  const FitResult fit = KolmogorovSmirnov(
      DrawNumbers(p, 7), [&law](double x) { return cdf(law, x); });
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(ContinuousFitTest, Beta) {
  for (const auto& [a, b] : {std::pair{2.0, 5.0}, std::pair{0.5, 0.5}}) {
    ParameterSpec p = Param(Distribution::kBeta);
    p.a = a;
    p.b = b;
    const boost::math::beta_distribution<double> law(a, b);
    const FitResult fit = KolmogorovSmirnov(
        DrawNumbers(p, 8), [&law](double x) { return cdf(law, x); });
    EXPECT_TRUE(fit.Passes()) << "Beta(" << a << ", " << b << "): " << fit;
  }
}

// --- Discrete laws: chi-square. ---

TEST(DiscreteFitTest, Constant) {
  ParameterSpec p = Param(Distribution::kConstant);
  p.value = {{"lr", 0.1}};
  for (const Value& v : Draw(p, 10)) ASSERT_EQ(v, p.value);
}

// The bin of a categorical sample: the index of its value.
std::function<int64_t(const Value&)> CategoryIndex(const ParameterSpec& p) {
  return [&p](const Value& v) -> int64_t {
    const auto found = std::find(p.values.begin(), p.values.end(), v);
    return found == p.values.end() ? -1 : found - p.values.begin();
  };
}

TEST(DiscreteFitTest, Categorical) {
  ParameterSpec p = Param(Distribution::kCategorical);
  p.values = {"a", 1, 2.5, Value::array({1, 2}), nullptr};
  std::map<int64_t, double> expected;
  for (int i = 0; i < 5; ++i) expected[i] = 0.2;
  const FitResult fit = ChiSquare(Draw(p, 11), CategoryIndex(p), expected);
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, CategoricalWithProbabilities) {
  ParameterSpec p = Param(Distribution::kCategoricalWithProbabilities);
  p.values = {"a", "b", "c", "d"};
  p.probabilities = {0.1, 0.0, 0.6, 0.3};
  const std::vector<Value> samples = Draw(p, 12);
  EXPECT_EQ(std::count(samples.begin(), samples.end(), Value("b")), 0);
  const FitResult fit =
      ChiSquare(samples, CategoryIndex(p), {{0, 0.1}, {2, 0.6}, {3, 0.3}});
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, IntUniform) {
  const ParameterSpec p = Ranged(Distribution::kIntUniform, -3, 6);
  const std::vector<Value> samples = Draw(p, 13);
  std::map<int64_t, double> expected;
  for (int k = -3; k <= 6; ++k) expected[k] = 0.1;
  for (const Value& v : samples) ASSERT_TRUE(v.is_number_integer());
  const FitResult fit = ChiSquare(samples, MultipleOf(1), expected);
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QUniform) {
  // X ~ U(0.1, 2.9): the end cells (0 and 3.0) are partial.
  ParameterSpec p = Ranged(Distribution::kQUniform, 0.1, 2.9);
  p.q = 0.5;
  const std::vector<Value> samples = Draw(p, 14);
  ExpectOnLattice(samples, 0.5, false);
  const auto cdf = [](double x) { return Clamp01((x - 0.1) / 2.8); };
  const FitResult fit = ChiSquare(
      samples, MultipleOf(0.5), LatticeProbabilities(cdf, 0.5, 0.1, 2.9, 0, 6));
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QLogUniformExponents) {
  ParameterSpec p = Ranged(Distribution::kQLogUniform, 0, std::log(50.0));
  p.q = 5;
  p.q_is_integer = true;
  const std::vector<Value> samples = Draw(p, 15);
  ExpectOnLattice(samples, 5, true);
  const auto cdf = [](double x) {
    return Clamp01(std::log(x) / std::log(50.0));
  };
  const FitResult fit = ChiSquare(samples, MultipleOf(5),
                                  LatticeProbabilities(cdf, 5, 1, 50, 0, 10));
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QLogUniformValues) {
  ParameterSpec p = Ranged(Distribution::kQLogUniformValues, 1, 100);
  p.q = 4.0;
  const std::vector<Value> samples = Draw(p, 16);
  ExpectOnLattice(samples, 4, false);
  const auto cdf = [](double x) {
    return Clamp01(std::log(x) / std::log(100.0));
  };
  const FitResult fit = ChiSquare(samples, MultipleOf(4),
                                  LatticeProbabilities(cdf, 4, 1, 100, 0, 25));
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QNormal) {
  ParameterSpec p = Param(Distribution::kQNormal);
  p.mu = 0.3;
  p.sigma = 3;
  p.q = 1;
  p.q_is_integer = true;
  const std::vector<Value> samples = Draw(p, 17);
  ExpectOnLattice(samples, 1, true);
  const auto cdf = [](double x) { return NormalCdf(0.3, 3, x); };
  const FitResult fit =
      ChiSquare(samples, MultipleOf(1),
                LatticeProbabilities(cdf, 1, -INFINITY, INFINITY, -15, 15));
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QLogNormal) {
  ParameterSpec p = Param(Distribution::kQLogNormal);
  p.mu = 1;
  p.sigma = 0.5;
  p.q = 0.5;
  const std::vector<Value> samples = Draw(p, 18);
  ExpectOnLattice(samples, 0.5, false);
  const boost::math::lognormal_distribution<double> law(1, 0.5);
  const auto law_cdf = [&law](double x) { return x <= 0 ? 0.0 : cdf(law, x); };
  const FitResult fit =
      ChiSquare(samples, MultipleOf(0.5),
                LatticeProbabilities(law_cdf, 0.5, 0, INFINITY, 0, 40));
  EXPECT_TRUE(fit.Passes()) << fit;
}

TEST(DiscreteFitTest, QBeta) {
  ParameterSpec p = Param(Distribution::kQBeta);
  p.a = 2;
  p.b = 3;
  p.q = 0.1;
  const std::vector<Value> samples = Draw(p, 19);
  ExpectOnLattice(samples, 0.1, false);
  const boost::math::beta_distribution<double> law(2, 3);
  const auto law_cdf = [&law](double x) { return cdf(law, Clamp01(x)); };
  const FitResult fit =
      ChiSquare(samples, MultipleOf(0.1),
                LatticeProbabilities(law_cdf, 0.1, 0, 1, 0, 10));
  EXPECT_TRUE(fit.Passes()) << fit;
}

// --- The checkers reject a wrong law. ---

TEST(WrongLawTest, KolmogorovSmirnovRejectsUniformAsLogUniform) {
  const ParameterSpec p = Ranged(Distribution::kUniform, 1e-3, 1);
  const FitResult fit = KolmogorovSmirnov(DrawNumbers(p, 20), [](double x) {
    return Clamp01(std::log(x / 1e-3) / std::log(1 / 1e-3));
  });
  EXPECT_FALSE(fit.Passes()) << fit;
}

TEST(WrongLawTest, KolmogorovSmirnovRejectsAFifthOfASigmaShift) {
  ParameterSpec p = Param(Distribution::kNormal);
  const FitResult fit = KolmogorovSmirnov(
      DrawNumbers(p, 21), [](double x) { return NormalCdf(0.2, 1, x); });
  EXPECT_FALSE(fit.Passes()) << fit;
}

TEST(WrongLawTest, ChiSquareRejectsExclusiveMax) {
  // numpy's randint(0, 4) excludes 4; int_uniform does not.
  const ParameterSpec p = Ranged(Distribution::kIntUniform, 0, 4);
  const FitResult fit = ChiSquare(Draw(p, 22), MultipleOf(1),
                                  {{0, 0.25}, {1, 0.25}, {2, 0.25}, {3, 0.25}});
  EXPECT_FALSE(fit.Passes()) << fit;
}

TEST(WrongLawTest, ChiSquareRejectsFloorForRound) {
  // q_uniform rounds X / q; flooring would give each cell the mass of
  // [k q, (k + 1) q) instead.
  ParameterSpec p = Ranged(Distribution::kQUniform, 0, 3);
  p.q = 1;
  const FitResult fit =
      ChiSquare(Draw(p, 23), MultipleOf(1),
                {{0, 1 / 3.0}, {1, 1 / 3.0}, {2, 1 / 3.0}, {3, 0.0}});
  EXPECT_FALSE(fit.Passes()) << fit;
}

}  // namespace
}  // namespace sweep
