#include "search/distribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

// Phi(1) and Phi(-1), the standard normal CDF one sigma out.
constexpr double kPhiOfOne = 0.8413447460685429;
constexpr double kPhiOfMinusOne = 0.15865525393145707;

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

ParameterSpec Quantized(Distribution d, double min, double max, double q,
                        bool q_is_integer) {
  ParameterSpec p = Ranged(d, min, max);
  p.q = q;
  p.q_is_integer = q_is_integer;
  return p;
}

ParameterSpec Normal(Distribution d, double mu, double sigma) {
  ParameterSpec p = Param(d);
  p.mu = mu;
  p.sigma = sigma;
  return p;
}

ParameterSpec Beta(Distribution d, double a, double b) {
  ParameterSpec p = Param(d);
  p.a = a;
  p.b = b;
  return p;
}

double FloatAt(const ParameterSpec& p, double u) {
  const Value v = ValueAtQuantile(p, u);
  EXPECT_TRUE(v.is_number_float()) << v.dump();
  return v.get<double>();
}

int64_t IntAt(const ParameterSpec& p, double u) {
  const Value v = ValueAtQuantile(p, u);
  EXPECT_TRUE(v.is_number_integer()) << v.dump();
  return v.get<int64_t>();
}

// Every value of the finite support maps to a quantile that maps back to it,
// with the same type.
void ExpectSupportRoundTrips(const ParameterSpec& p) {
  const auto support = FiniteSupport(p, 10000);
  ASSERT_TRUE(support.has_value());
  for (const Value& v : *support) {
    const std::optional<double> u = QuantileOf(p, v);
    ASSERT_TRUE(u.has_value()) << v.dump();
    EXPECT_GE(*u, 0.0);
    EXPECT_LE(*u, 1.0);
    const Value back = ValueAtQuantile(p, *u);
    EXPECT_EQ(back.dump(), v.dump()) << "u=" << *u;
  }
}

// Continuous laws: QuantileOf inverts ValueAtQuantile.
void ExpectQuantileRoundTrips(const ParameterSpec& p) {
  for (double u = 0.001; u < 1; u += 0.0499) {
    const std::optional<double> back = QuantileOf(p, ValueAtQuantile(p, u));
    ASSERT_TRUE(back.has_value()) << u;
    EXPECT_NEAR(*back, u, 1e-9);
  }
}

TEST(UniformUnitTest, Uses53HighBitsOfOneOutput) {
  RandomEngine a(42);
  RandomEngine b(42);
  const uint64_t raw = b();
  EXPECT_EQ(UniformUnit(a),
            static_cast<double>(raw >> 11) / 9007199254740992.0);
  for (int i = 0; i < 1000; ++i) {
    const double u = UniformUnit(a);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(RoundHalfEvenTest, RoundsTiesToEven) {
  EXPECT_EQ(RoundHalfEven(0.5), 0.0);
  EXPECT_EQ(RoundHalfEven(1.5), 2.0);
  EXPECT_EQ(RoundHalfEven(2.5), 2.0);
  EXPECT_EQ(RoundHalfEven(3.5), 4.0);
  EXPECT_EQ(RoundHalfEven(-0.5), 0.0);
  EXPECT_EQ(RoundHalfEven(-1.5), -2.0);
  EXPECT_EQ(RoundHalfEven(-2.5), -2.0);
  EXPECT_EQ(RoundHalfEven(2.4), 2.0);
  EXPECT_EQ(RoundHalfEven(2.6), 3.0);
  EXPECT_EQ(RoundHalfEven(-2.6), -3.0);
  EXPECT_EQ(RoundHalfEven(0.49999999999999994), 0.0);
  EXPECT_EQ(RoundHalfEven(4503599627370497.0), 4503599627370497.0);
  EXPECT_TRUE(std::isinf(RoundHalfEven(INFINITY)));
}

TEST(ConstantTest, AlwaysTheValue) {
  ParameterSpec p = Param(Distribution::kConstant);
  p.value = "adam";
  EXPECT_EQ(ValueAtQuantile(p, 0.0), Value("adam"));
  EXPECT_EQ(ValueAtQuantile(p, 0.99), Value("adam"));
  EXPECT_EQ(QuantileOf(p, Value("adam")), 0.5);
  EXPECT_EQ(QuantileOf(p, Value("sgd")), std::nullopt);
  EXPECT_EQ(FiniteSupport(p, 1), std::vector<Value>{Value("adam")});
  EXPECT_EQ(FiniteSupport(p, 0), std::nullopt);
}

TEST(ConstantTest, DrawsNoRandomNumber) {
  ParameterSpec p = Param(Distribution::kConstant);
  p.value = 3;
  RandomEngine rng(1);
  RandomEngine untouched(1);
  EXPECT_EQ(SampleParameter(p, rng), Value(3));
  EXPECT_EQ(rng, untouched);
}

TEST(CategoricalTest, PicksFloorOfUTimesN) {
  ParameterSpec p = Param(Distribution::kCategorical);
  p.values = {"a", 2, 3.5};
  EXPECT_EQ(ValueAtQuantile(p, 0.0), Value("a"));
  EXPECT_EQ(ValueAtQuantile(p, 0.333), Value("a"));
  EXPECT_EQ(ValueAtQuantile(p, 0.334), Value(2));
  EXPECT_TRUE(ValueAtQuantile(p, 0.5).is_number_integer());
  EXPECT_EQ(ValueAtQuantile(p, 0.9999), Value(3.5));
  EXPECT_EQ(ValueAtQuantile(p, 1.0), Value(3.5));
  EXPECT_EQ(ValueAtQuantile(p, 7.0), Value(3.5));  // u is clamped.
  EXPECT_EQ(FiniteSupport(p, 3), p.values);
  EXPECT_EQ(FiniteSupport(p, 2), std::nullopt);
}

TEST(CategoricalTest, QuantileOfUsesWandbEquality) {
  ParameterSpec p = Param(Distribution::kCategorical);
  p.values = {"a", 2, 1};
  EXPECT_EQ(QuantileOf(p, Value("a")), 0.5 / 3);
  EXPECT_EQ(QuantileOf(p, Value(2.0)), 1.5 / 3);        // 2.0 equals 2.
  EXPECT_EQ(QuantileOf(p, Value(true)), std::nullopt);  // true is not 1.
  EXPECT_EQ(QuantileOf(p, Value("b")), std::nullopt);
  ExpectSupportRoundTrips(p);
}

TEST(CategoricalTest, RepeatedValueKeepsItsWeightButIsOneValue) {
  ParameterSpec p = Param(Distribution::kCategorical);
  p.values = {1, "a", 1.0};  // 1.0 equals 1.
  EXPECT_EQ(ValueAtQuantile(p, 0.9).dump(), "1.0");
  EXPECT_EQ(DistinctCategories(p), (std::vector<int>{0, 1}));
  EXPECT_EQ(FiniteSupport(p, 2), (std::vector<Value>{1, "a"}));
  EXPECT_EQ(QuantileOf(p, Value(1.0)), 0.5 / 3);
  ExpectSupportRoundTrips(p);
}

TEST(WeightedCategoricalTest, FirstCumulativeSumAboveU) {
  ParameterSpec p = Param(Distribution::kCategoricalWithProbabilities);
  p.values = {"a", "b", "c"};
  p.probabilities = {0.25, 0.0, 0.75};
  EXPECT_EQ(ValueAtQuantile(p, 0.0), Value("a"));
  EXPECT_EQ(ValueAtQuantile(p, 0.2499), Value("a"));
  // cumsum = [0.25, 0.25, 1.0]: at u = 0.25 neither of the first two is
  // strictly greater.
  EXPECT_EQ(ValueAtQuantile(p, 0.25), Value("c"));
  EXPECT_EQ(ValueAtQuantile(p, 1.0), Value("c"));
}

TEST(WeightedCategoricalTest, ZeroProbabilityCategoryIsNeverAValue) {
  ParameterSpec p = Param(Distribution::kCategoricalWithProbabilities);
  p.values = {"a", "b", "c"};
  p.probabilities = {0.25, 0.0, 0.75};
  EXPECT_EQ(FiniteSupport(p, 10), (std::vector<Value>{"a", "c"}));
  EXPECT_EQ(QuantileOf(p, Value("a")), 0.125);
  EXPECT_EQ(QuantileOf(p, Value("c")), 0.625);
  EXPECT_EQ(QuantileOf(p, Value("b")), std::nullopt);
  ExpectSupportRoundTrips(p);
}

TEST(WeightedCategoricalTest, RepeatedValueIsFoundWhereItCanBeDrawn) {
  ParameterSpec p = Param(Distribution::kCategoricalWithProbabilities);
  p.values = {"a", "b", "a"};
  p.probabilities = {0.0, 0.5, 0.5};
  EXPECT_EQ(DistinctCategories(p), (std::vector<int>{1, 2}));
  EXPECT_EQ(FiniteSupport(p, 10), (std::vector<Value>{"b", "a"}));
  EXPECT_EQ(QuantileOf(p, Value("a")), 0.75);
  ExpectSupportRoundTrips(p);
}

TEST(DistributionTest, DistinctCategoriesOfALongListWithRepeats) {
  // 100,000 values, each written twice (as 7 and 7.0): found by key, in
  // written order (pairwise comparison took minutes at this size).
  ParameterSpec p;
  p.distribution = Distribution::kCategorical;
  for (int i = 0; i < 100'000; ++i) p.values.push_back(Value(i));
  for (int i = 0; i < 100'000; ++i) p.values.push_back(Value(double(i)));
  const std::vector<int> distinct = DistinctCategories(p);
  ASSERT_EQ(distinct.size(), 100'000u);
  EXPECT_EQ(distinct.front(), 0);
  EXPECT_EQ(distinct.back(), 99'999);
}

TEST(WeightedCategoricalTest, ProbabilitiesSummingJustBelowOneCoverU) {
  ParameterSpec p = Param(Distribution::kCategoricalWithProbabilities);
  p.values = {"a", "b"};
  p.probabilities = {0.5, 0.4999995};
  EXPECT_EQ(ValueAtQuantile(p, 0.9999999), Value("b"));
}

TEST(IntUniformTest, IntegersWithMaxInclusive) {
  const ParameterSpec p = Ranged(Distribution::kIntUniform, 1, 3);
  EXPECT_EQ(IntAt(p, 0.0), 1);
  EXPECT_EQ(IntAt(p, 0.333), 1);
  EXPECT_EQ(IntAt(p, 0.334), 2);
  EXPECT_EQ(IntAt(p, 0.9999), 3);
  EXPECT_EQ(IntAt(p, 1.0), 3);
  EXPECT_EQ(IntAt(Ranged(Distribution::kIntUniform, -2, 2), 0.1), -2);
  EXPECT_EQ(FiniteSupport(p, 3), (std::vector<Value>{1, 2, 3}));
  EXPECT_EQ(FiniteSupport(p, 2), std::nullopt);
}

TEST(IntUniformTest, QuantileOfIsTheMiddleOfTheCell) {
  const ParameterSpec p = Ranged(Distribution::kIntUniform, 1, 3);
  EXPECT_EQ(QuantileOf(p, Value(2)), 0.5);
  EXPECT_EQ(QuantileOf(p, Value(2.0)), 0.5);
  EXPECT_EQ(QuantileOf(p, Value(2.5)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(4)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(true)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value("2")), std::nullopt);
  EXPECT_EQ(NearestQuantileOf(p, Value(9)), 2.5 / 3);
  EXPECT_EQ(NearestQuantileOf(p, Value(1.6)), 0.5);
  ExpectSupportRoundTrips(p);
}

TEST(UniformTest, LinearInU) {
  const ParameterSpec p = Ranged(Distribution::kUniform, 1, 3);
  EXPECT_EQ(FloatAt(p, 0.0), 1.0);
  EXPECT_EQ(FloatAt(p, 0.25), 1.5);
  EXPECT_EQ(FloatAt(p, 1.0), 3.0);
  EXPECT_EQ(QuantileOf(p, Value(2.5)), 0.75);
  EXPECT_EQ(QuantileOf(p, Value(2)), 0.5);  // An int is a number too.
  EXPECT_EQ(QuantileOf(p, Value(3.5)), std::nullopt);
  EXPECT_EQ(NearestQuantileOf(p, Value(3.5)), 1.0);
  EXPECT_EQ(FiniteSupport(p, 1000), std::nullopt);
  ExpectQuantileRoundTrips(p);
}

TEST(UniformTest, BoundsAreExactDespiteRounding) {
  const ParameterSpec p = Ranged(Distribution::kUniform, 0.1, 0.7);
  EXPECT_EQ(FloatAt(p, 1.0), 0.7);
}

TEST(QUniformTest, DefaultFloatQRoundsHalfToEvenAndStaysFloat) {
  // X = 2.5 at u = 0.5; the default q is the float 1.0.
  const ParameterSpec p =
      Quantized(Distribution::kQUniform, 0, 5, 1.0, /*q_is_integer=*/false);
  EXPECT_EQ(FloatAt(p, 0.5), 2.0);
  EXPECT_EQ(FloatAt(p, 0.7), 4.0);   // X = 3.5.
  EXPECT_EQ(FloatAt(p, 0.58), 3.0);  // X = 2.9.
}

TEST(QUniformTest, IntegerQGivesInts) {
  const ParameterSpec p =
      Quantized(Distribution::kQUniform, 0, 5, 1, /*q_is_integer=*/true);
  EXPECT_EQ(IntAt(p, 0.5), 2);
  EXPECT_EQ(IntAt(p, 0.7), 4);
  const ParameterSpec by_ten =
      Quantized(Distribution::kQUniform, 0, 100, 10, /*q_is_integer=*/true);
  EXPECT_EQ(IntAt(by_ten, 0.26), 30);  // X = 26.
  EXPECT_EQ(FiniteSupport(by_ten, 11).value().front(), Value(0));
  EXPECT_EQ(FiniteSupport(by_ten, 11).value().back(), Value(100));
}

TEST(QUniformTest, DecimalQGivesNoFloatNoise) {
  const ParameterSpec p =
      Quantized(Distribution::kQUniform, 0, 1, 0.1, /*q_is_integer=*/false);
  ASSERT_NE(3 * 0.1, 0.3);  // What a plain product would give.
  EXPECT_EQ(FloatAt(p, 0.3), 0.3);
  const auto support = FiniteSupport(p, 100);
  ASSERT_TRUE(support.has_value());
  ASSERT_EQ(support->size(), 11u);
  const std::vector<double> decimals = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5,
                                        0.6, 0.7, 0.8, 0.9, 1.0};
  for (std::size_t i = 0; i < decimals.size(); ++i) {
    EXPECT_TRUE((*support)[i].is_number_float());
    EXPECT_EQ((*support)[i].get<double>(), decimals[i]);
  }
  // A value printed with the noise elsewhere is still on the lattice.
  EXPECT_TRUE(QuantileOf(p, Value(0.30000000000000004)).has_value());
  EXPECT_EQ(QuantileOf(p, Value(0.35)), std::nullopt);
  ExpectSupportRoundTrips(p);
}

TEST(QUniformTest, SupportIsEveryReachableMultipleOfQ) {
  // X in [0.25, 2.25]: 0.25 / 0.5 = 0.5 rounds to 0 and 4.5 to 4, but only
  // X = 0.25 itself rounds to 0 (0.0, below min: probability 0), while
  // every X in [1.75, 2.25] rounds to 4.
  const ParameterSpec p =
      Quantized(Distribution::kQUniform, 0.25, 2.25, 0.5, false);
  EXPECT_EQ(FiniteSupport(p, 4), (std::vector<Value>{0.5, 1.0, 1.5, 2.0}));
  EXPECT_EQ(FiniteSupport(p, 3), std::nullopt);
  EXPECT_EQ(FloatAt(p, 0.0), 0.5);
  EXPECT_EQ(FloatAt(p, 1.0), 2.0);
  EXPECT_EQ(QuantileOf(p, Value(0.0)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(2.5)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(-0.5)), std::nullopt);
  ExpectSupportRoundTrips(p);
}

// The bottom again, and the top: X in [0.05, 0.35] with q = 0.1 reaches 0.0
// only at 0.05 itself (0.35 / 0.1 is 3.4999999999999996 in binary, which
// rounds to 3: no cell at the top to drop); X in [0, 1.5] with q = 1
// reaches 2 only at 1.5 itself.
TEST(QUniformTest, ACellTheRangeTouchesInABoundAloneIsNoValue) {
  const ParameterSpec p =
      Quantized(Distribution::kQUniform, 0.05, 0.35, 0.1, false);
  EXPECT_EQ(FiniteSupport(p, 3), (std::vector<Value>{0.1, 0.2, 0.3}));
  EXPECT_EQ(FloatAt(p, 0.0), 0.1);
  EXPECT_EQ(FloatAt(p, 1.0), 0.3);
  const ParameterSpec top =
      Quantized(Distribution::kQUniform, 0.0, 1.5, 1.0, false);
  // 1.5 rounds (half to even) to 2, whose cell [1.5, 2.5] meets [0, 1.5] at
  // 1.5 alone.
  EXPECT_EQ(FiniteSupport(top, 2), (std::vector<Value>{0.0, 1.0}));
  EXPECT_EQ(FloatAt(top, 1.0), 1.0);
  // A range of one point keeps its one value.
  const ParameterSpec point =
      Quantized(Distribution::kQUniform, 0.05, 0.05, 0.1, false);
  EXPECT_EQ(FiniteSupport(point, 1), (std::vector<Value>{0.0}));
}

TEST(LogUniformTest, BoundsAreNaturalLogExponents) {
  const ParameterSpec p = Ranged(Distribution::kLogUniform, 0, 2);
  EXPECT_DOUBLE_EQ(FloatAt(p, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(FloatAt(p, 0.5), std::exp(1.0));
  EXPECT_DOUBLE_EQ(FloatAt(p, 1.0), std::exp(2.0));
  EXPECT_NEAR(QuantileOf(p, Value(std::exp(1.5))).value(), 0.75, 1e-12);
  EXPECT_EQ(QuantileOf(p, Value(0.5)), std::nullopt);
  EXPECT_EQ(FiniteSupport(p, 1000), std::nullopt);
  ExpectQuantileRoundTrips(p);
}

TEST(LogUniformValuesTest, UniformInLogOfTheBounds) {
  const ParameterSpec p = Ranged(Distribution::kLogUniformValues, 1e-4, 1);
  EXPECT_EQ(FloatAt(p, 0.0), 1e-4);
  EXPECT_EQ(FloatAt(p, 1.0), 1.0);
  EXPECT_NEAR(FloatAt(p, 0.5), 1e-2, 1e-15);
  EXPECT_NEAR(FloatAt(p, 0.25), 1e-3, 1e-16);
  EXPECT_NEAR(QuantileOf(p, Value(0.1)).value(), 0.75, 1e-12);
  ExpectQuantileRoundTrips(p);
}

TEST(QLogUniformTest, RoundsTheExponentForm) {
  // X = exp(ln(1000) / 2) = 31.62...: 3 tens with an integer q.
  const ParameterSpec p =
      Quantized(Distribution::kQLogUniform, 0, std::log(1000.0), 10,
                /*q_is_integer=*/true);
  EXPECT_EQ(IntAt(p, 0.5), 30);
  EXPECT_EQ(IntAt(p, 0.0), 0);  // X = 1 rounds to 0 * 10.
  EXPECT_EQ(IntAt(p, 1.0), 1000);
  EXPECT_EQ(FiniteSupport(p, 1000).value().size(), 101u);
  ExpectSupportRoundTrips(p);
}

TEST(QLogUniformValuesTest, RoundsTheValuesForm) {
  const ParameterSpec p = Quantized(Distribution::kQLogUniformValues, 1, 1000,
                                    1.0, /*q_is_integer=*/false);
  EXPECT_EQ(FloatAt(p, 0.5), 32.0);  // X = 31.62...
  EXPECT_EQ(FloatAt(p, 1.0), 1000.0);
  EXPECT_EQ(FiniteSupport(p, 999), std::nullopt);  // 1..1000.
  EXPECT_EQ(FiniteSupport(p, 1000).value().front(), Value(1.0));
  ExpectSupportRoundTrips(p);
}

TEST(InvLogUniformTest, ExponentsOfTheReciprocal) {
  const ParameterSpec p = Ranged(Distribution::kInvLogUniform, 0, 2);
  EXPECT_DOUBLE_EQ(FloatAt(p, 0.0), std::exp(-2.0));
  EXPECT_DOUBLE_EQ(FloatAt(p, 0.25), std::exp(-1.5));
  EXPECT_DOUBLE_EQ(FloatAt(p, 0.5), std::exp(-1.0));
  EXPECT_DOUBLE_EQ(FloatAt(p, 1.0), 1.0);
  EXPECT_EQ(QuantileOf(p, Value(2.0)), std::nullopt);
  ExpectQuantileRoundTrips(p);
}

TEST(InvLogUniformValuesTest, SameLawAsLogUniformValues) {
  const ParameterSpec inv =
      Ranged(Distribution::kInvLogUniformValues, 0.01, 100);
  const ParameterSpec log = Ranged(Distribution::kLogUniformValues, 0.01, 100);
  EXPECT_NEAR(FloatAt(inv, 0.5), 1.0, 1e-14);
  EXPECT_NEAR(FloatAt(inv, 0.25), 0.1, 1e-15);
  for (double u = 0; u <= 1; u += 0.125) {
    EXPECT_EQ(FloatAt(inv, u), FloatAt(log, u));
  }
  ExpectQuantileRoundTrips(inv);
}

TEST(NormalTest, MuPlusSigmaTimesPhiInverse) {
  const ParameterSpec p = Normal(Distribution::kNormal, 1, 2);
  EXPECT_NEAR(FloatAt(p, 0.5), 1.0, 1e-15);
  EXPECT_NEAR(FloatAt(p, kPhiOfOne), 3.0, 1e-12);
  EXPECT_NEAR(FloatAt(p, kPhiOfMinusOne), -1.0, 1e-12);
  EXPECT_NEAR(QuantileOf(p, Value(3.0)).value(), kPhiOfOne, 1e-14);
  EXPECT_EQ(QuantileOf(p, Value("3")), std::nullopt);
  EXPECT_EQ(FiniteSupport(p, 1000), std::nullopt);
  ExpectQuantileRoundTrips(p);
}

TEST(NormalTest, EndsOfTheUnitIntervalStayFinite) {
  const ParameterSpec p = Normal(Distribution::kNormal, 0, 1);
  const double low = FloatAt(p, 0.0);
  const double high = FloatAt(p, 1.0);
  EXPECT_TRUE(std::isfinite(low));
  EXPECT_TRUE(std::isfinite(high));
  EXPECT_LT(low, -6.0);
  EXPECT_GT(high, 6.0);
}

TEST(NormalTest, ZeroSigmaIsTheMean) {
  const ParameterSpec p = Normal(Distribution::kNormal, 4, 0);
  EXPECT_EQ(FloatAt(p, 0.1), 4.0);
  EXPECT_EQ(QuantileOf(p, Value(4.0)), 0.5);
}

TEST(QNormalTest, RoundsHalfToEven) {
  // X = 2.5 exactly at u = 0.5: rounds to 2, an int since q is.
  ParameterSpec p = Normal(Distribution::kQNormal, 2.5, 1);
  p.q = 1;
  p.q_is_integer = true;
  EXPECT_EQ(IntAt(p, 0.5), 2);
  EXPECT_EQ(IntAt(p, kPhiOfOne), 4);  // X = 3.5.
  p.q_is_integer = false;
  EXPECT_EQ(FloatAt(p, 0.5), 2.0);
  EXPECT_EQ(FiniteSupport(p, 1000000), std::nullopt);
  EXPECT_TRUE(QuantileOf(p, Value(-40.0)).has_value());  // Any multiple.
}

TEST(LogNormalTest, ExpOfANormal) {
  const ParameterSpec p = Normal(Distribution::kLogNormal, 0, 1);
  EXPECT_NEAR(FloatAt(p, 0.5), 1.0, 1e-15);
  EXPECT_NEAR(FloatAt(p, kPhiOfOne), std::exp(1.0), 1e-12);
  EXPECT_GT(FloatAt(p, 0.0), 0.0);
  EXPECT_TRUE(std::isfinite(FloatAt(p, 1.0)));
  EXPECT_EQ(QuantileOf(p, Value(-1.0)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(0.0)), std::nullopt);
  EXPECT_EQ(NearestQuantileOf(p, Value(-1.0)), 0.0);
  ExpectQuantileRoundTrips(p);
}

TEST(QLogNormalTest, RoundsTheLogNormal) {
  ParameterSpec p = Normal(Distribution::kQLogNormal, std::log(10.0), 1);
  p.q = 2;
  p.q_is_integer = true;
  EXPECT_EQ(IntAt(p, 0.5), 10);
  EXPECT_EQ(IntAt(p, 0.0), 0);  // X is tiny: rounds to 0.
  EXPECT_TRUE(QuantileOf(p, Value(0)).has_value());
  EXPECT_EQ(QuantileOf(p, Value(-2)), std::nullopt);
  EXPECT_EQ(QuantileOf(p, Value(3)), std::nullopt);
  EXPECT_EQ(FiniteSupport(p, 1000000), std::nullopt);
  for (int v = 0; v <= 40; v += 2) {
    EXPECT_EQ(ValueAtQuantile(p, QuantileOf(p, Value(v)).value()), Value(v));
  }
}

TEST(BetaTest, QuantileOfTheBetaLaw) {
  EXPECT_NEAR(FloatAt(Beta(Distribution::kBeta, 1, 1), 0.3), 0.3, 1e-15);
  EXPECT_NEAR(FloatAt(Beta(Distribution::kBeta, 2, 2), 0.5), 0.5, 1e-15);
  // Beta(2, 1) has CDF x^2; Beta(1, 2) has CDF 1 - (1 - x)^2.
  EXPECT_NEAR(FloatAt(Beta(Distribution::kBeta, 2, 1), 0.25), 0.5, 1e-14);
  EXPECT_NEAR(FloatAt(Beta(Distribution::kBeta, 1, 2), 0.75), 0.5, 1e-14);
  const ParameterSpec p = Beta(Distribution::kBeta, 2, 5);
  EXPECT_EQ(FloatAt(p, 0.0), 0.0);
  EXPECT_EQ(FloatAt(p, 1.0), 1.0);
  EXPECT_EQ(QuantileOf(p, Value(1.5)), std::nullopt);
  EXPECT_EQ(FiniteSupport(p, 1000), std::nullopt);
  ExpectQuantileRoundTrips(p);
}

TEST(QBetaTest, RoundsToDecimalMultiplesOfQ) {
  ParameterSpec p = Beta(Distribution::kQBeta, 2, 1);
  p.q = 0.1;
  EXPECT_EQ(FloatAt(p, 0.25), 0.5);  // X = sqrt(0.25).
  EXPECT_EQ(FloatAt(p, 0.36), 0.6);  // X = 0.6; 6 * 0.1 would be noisy.
  const auto support = FiniteSupport(p, 11);
  ASSERT_TRUE(support.has_value());
  EXPECT_EQ(support->front(), Value(0.0));
  EXPECT_EQ(support->back(), Value(1.0));
  EXPECT_EQ(FiniteSupport(p, 10), std::nullopt);
  ExpectSupportRoundTrips(p);
}

TEST(SamplingTest, SameSeedSameValues) {
  SweepSpec spec;
  spec.parameters = {Ranged(Distribution::kUniform, 0, 1),
                     Ranged(Distribution::kIntUniform, 0, 100),
                     Normal(Distribution::kLogNormal, 0, 1)};
  RandomEngine a(5);
  RandomEngine b(5);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(SamplePoint(spec, a), SamplePoint(spec, b));
  }
}

TEST(SamplingTest, PointIsOneUniformPerNonConstantParameter) {
  ParameterSpec constant = Param(Distribution::kConstant);
  constant.value = "fixed";
  const ParameterSpec uniform = Ranged(Distribution::kUniform, 0, 10);
  const ParameterSpec ints = Ranged(Distribution::kIntUniform, 0, 9);
  SweepSpec spec;
  spec.parameters = {constant, uniform, ints};
  RandomEngine rng(9);
  RandomEngine reference(9);
  const Point point = SamplePoint(spec, rng);
  ASSERT_EQ(point.size(), 3u);
  EXPECT_EQ(point[0], Value("fixed"));
  EXPECT_EQ(point[1], ValueAtQuantile(uniform, UniformUnit(reference)));
  EXPECT_EQ(point[2], ValueAtQuantile(ints, UniformUnit(reference)));
  EXPECT_EQ(rng, reference);
}

}  // namespace
}  // namespace sweep
