#include "search/space_encoding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "search/distribution.h"
#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

using Kind = EncodedDimension::Kind;

ParameterSpec Param(std::string name, Distribution d) {
  ParameterSpec p;
  p.name = name;
  p.path = {name};
  p.distribution = d;
  return p;
}

ParameterSpec Ranged(std::string name, Distribution d, double min, double max) {
  ParameterSpec p = Param(std::move(name), d);
  p.min = min;
  p.max = max;
  return p;
}

ParameterSpec Constant(std::string name, Value value) {
  ParameterSpec p = Param(std::move(name), Distribution::kConstant);
  p.value = std::move(value);
  return p;
}

ParameterSpec Categorical(std::string name, std::vector<Value> values) {
  ParameterSpec p = Param(std::move(name), Distribution::kCategorical);
  p.values = std::move(values);
  return p;
}

// One parameter of every distribution of the spec's table.
SweepSpec EveryDistribution() {
  SweepSpec spec;
  auto& ps = spec.parameters;
  ps.push_back(Constant("a_constant", "fixed"));
  ps.push_back(Categorical("b_categorical", {"x", 2, 3.5}));
  ParameterSpec weighted =
      Param("c_weighted", Distribution::kCategoricalWithProbabilities);
  weighted.values = {"p", "q", "r"};
  weighted.probabilities = {0.3, 0.0, 0.7};
  ps.push_back(weighted);
  ps.push_back(Ranged("d_int", Distribution::kIntUniform, -3, 7));
  ps.push_back(Ranged("e_uniform", Distribution::kUniform, -1, 1));
  ParameterSpec q_uniform =
      Ranged("f_q_uniform", Distribution::kQUniform, 0, 1);
  q_uniform.q = 0.1;
  ps.push_back(q_uniform);
  ps.push_back(Ranged("g_log_uniform", Distribution::kLogUniform, -5, 0));
  ps.push_back(
      Ranged("h_log_uniform_values", Distribution::kLogUniformValues, 1e-4, 1));
  ParameterSpec q_log =
      Ranged("i_q_log_uniform", Distribution::kQLogUniform, 0, std::log(100.0));
  q_log.q = 2;
  q_log.q_is_integer = true;
  ps.push_back(q_log);
  ParameterSpec q_log_values = Ranged(
      "j_q_log_uniform_values", Distribution::kQLogUniformValues, 16, 1024);
  q_log_values.q = 16;
  q_log_values.q_is_integer = true;
  ps.push_back(q_log_values);
  ps.push_back(Ranged("k_inv_log_uniform", Distribution::kInvLogUniform, 0, 4));
  ps.push_back(Ranged("l_inv_log_uniform_values",
                      Distribution::kInvLogUniformValues, 0.01, 10));
  ParameterSpec normal = Param("m_normal", Distribution::kNormal);
  normal.mu = 1;
  normal.sigma = 2;
  ps.push_back(normal);
  ParameterSpec q_normal = Param("n_q_normal", Distribution::kQNormal);
  q_normal.sigma = 10;
  q_normal.q = 0.5;
  ps.push_back(q_normal);
  ps.push_back(Param("o_log_normal", Distribution::kLogNormal));
  ParameterSpec q_log_normal =
      Param("p_q_log_normal", Distribution::kQLogNormal);
  q_log_normal.mu = 3;
  q_log_normal.q = 4;
  q_log_normal.q_is_integer = true;
  ps.push_back(q_log_normal);
  ParameterSpec beta = Param("q_beta", Distribution::kBeta);
  beta.a = 2;
  beta.b = 5;
  ps.push_back(beta);
  ParameterSpec q_beta = Param("r_q_beta", Distribution::kQBeta);
  q_beta.a = 0.5;
  q_beta.b = 0.5;
  q_beta.q = 0.05;
  ps.push_back(q_beta);
  return spec;
}

bool IsContinuousForm(Distribution d) {
  switch (d) {
    case Distribution::kUniform:
    case Distribution::kLogUniform:
    case Distribution::kLogUniformValues:
    case Distribution::kInvLogUniform:
    case Distribution::kInvLogUniformValues:
    case Distribution::kNormal:
    case Distribution::kLogNormal:
    case Distribution::kBeta:
      return true;
    default:
      return false;
  }
}

TEST(SpaceEncodingTest, DimensionsPerParameter) {
  const SweepSpec spec = EveryDistribution();
  const SpaceEncoding encoding(spec);
  // No dimension for the constant; three for the categorical; two for the
  // weighted categorical (one category has probability 0); one for each of
  // the 15 numeric forms.
  EXPECT_EQ(encoding.dimensions(), 3 + 2 + 15);
  const auto& dims = encoding.dims();
  EXPECT_EQ(dims[0].parameter, 1);
  EXPECT_EQ(dims[0].kind, Kind::kCategory);
  EXPECT_EQ(dims[2].category, 2);
  EXPECT_EQ(dims[3].parameter, 2);
  EXPECT_EQ(dims[3].category, 0);
  EXPECT_EQ(dims[4].category, 2);  // "q" (probability 0) is skipped.
  for (std::size_t d = 5; d < dims.size(); ++d) {
    const ParameterSpec& p = spec.parameters[dims[d].parameter];
    EXPECT_EQ(dims[d].kind, IsContinuousForm(p.distribution) ? Kind::kContinuous
                                                             : Kind::kDiscrete)
        << p.name;
  }
}

TEST(SpaceEncodingTest, CategoriesAreOneHot) {
  SweepSpec spec;
  spec.parameters = {Categorical("opt", {"adam", "sgd", "rmsprop"})};
  const SpaceEncoding encoding(spec);
  ASSERT_EQ(encoding.dimensions(), 3);
  EXPECT_EQ(encoding.Encode({"sgd"}), Eigen::Vector3d(0, 1, 0));
  EXPECT_EQ(encoding.Encode({"unknown"}), Eigen::Vector3d(0, 0, 0));
  EXPECT_EQ(encoding.Decode(Eigen::Vector3d(0.2, 0.1, 0.9)), Point{"rmsprop"});
  EXPECT_EQ(encoding.Decode(Eigen::Vector3d(0.5, 0.5, 0.2)), Point{"adam"});
  EXPECT_EQ(encoding.Canonicalize(Eigen::Vector3d(0.3, 0.8, 0.8)),
            Eigen::Vector3d(0, 1, 0));
}

// Discrete values equal with their type; continuous ones within rounding.
void ExpectSameTrial(const SweepSpec& spec, const Point& actual,
                     const Point& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ParameterSpec& p = spec.parameters[i];
    if (IsContinuousForm(p.distribution)) {
      const double want = expected[i].get<double>();
      EXPECT_NEAR(actual[i].get<double>(), want, 1e-9 * std::fabs(want) + 1e-12)
          << p.name;
    } else {
      EXPECT_EQ(actual[i].dump(), expected[i].dump()) << p.name;
    }
  }
}

TEST(SpaceEncodingTest, RepeatedCategoryIsOneDimension) {
  SweepSpec spec;
  spec.parameters = {Categorical("batch", {32, 64, 32.0})};
  const SpaceEncoding encoding(spec);
  ASSERT_EQ(encoding.dimensions(), 2);
  EXPECT_EQ(encoding.Encode({32.0}), Eigen::Vector2d(1, 0));
  EXPECT_EQ(encoding.Decode(Eigen::Vector2d(0.9, 0.1)), Point{32});
}

// Normal, log-normal and beta forms span their 0.001 to 0.999 quantiles.
bool TrimsTails(Distribution d) {
  return d == Distribution::kNormal || d == Distribution::kQNormal ||
         d == Distribution::kLogNormal || d == Distribution::kQLogNormal ||
         d == Distribution::kBeta || d == Distribution::kQBeta;
}

TEST(SpaceEncodingTest, RoundTripsEveryDistribution) {
  const SweepSpec spec = EveryDistribution();
  const SpaceEncoding encoding(spec);
  RandomEngine rng(17);
  int trimmed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const Point point = SamplePoint(spec, rng);
    const Eigen::VectorXd x = encoding.Encode(point);
    ASSERT_EQ(x.size(), encoding.dimensions());
    EXPECT_GE(x.minCoeff(), 0.0);
    EXPECT_LE(x.maxCoeff(), 1.0);
    // A value in a trimmed tail comes back at the tail's edge.
    Point expected = point;
    for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
      const ParameterSpec& p = spec.parameters[i];
      if (!TrimsTails(p.distribution)) continue;
      const double u = QuantileOf(p, point[i]).value();
      if (u >= 0.001 && u <= 0.999) continue;
      expected[i] = ValueAtQuantile(p, u < 0.5 ? 0.001 : 0.999);
      ++trimmed;
    }
    ExpectSameTrial(spec, encoding.Decode(x), expected);
  }
  EXPECT_GT(trimmed, 0);  // Each of the six laws, 3000 draws: about 36.
}

TEST(SpaceEncodingTest, UnboundedLawsSpanTheirCentralQuantiles) {
  ParameterSpec momentum = Param("momentum", Distribution::kNormal);
  momentum.mu = 0.9;
  momentum.sigma = 0.02;
  ParameterSpec lr = Param("lr", Distribution::kLogNormal);
  lr.mu = -6.9;
  lr.sigma = 1;
  ParameterSpec share = Param("share", Distribution::kBeta);
  share.a = 2;
  share.b = 2;
  SweepSpec spec;
  spec.parameters = {momentum, lr, share,
                     Ranged("x", Distribution::kUniform, 0, 1)};
  const SpaceEncoding encoding(spec);
  // The cube's faces, where the acquisition often peaks: within 3.09
  // sigma (the 0.001 and 0.999 quantiles), not 7; a beta off 0 and 1; a
  // uniform at its bounds.
  const Point low = encoding.Decode(Eigen::VectorXd::Zero(4));
  const Point high = encoding.Decode(Eigen::VectorXd::Ones(4));
  EXPECT_NEAR(low[0].get<double>(), 0.9 - 3.0902 * 0.02, 1e-5);
  EXPECT_NEAR(high[0].get<double>(), 0.9 + 3.0902 * 0.02, 1e-5);
  EXPECT_NEAR(std::log(low[1].get<double>()), -6.9 - 3.0902, 1e-4);
  EXPECT_NEAR(std::log(high[1].get<double>()), -6.9 + 3.0902, 1e-4);
  EXPECT_GT(low[2].get<double>(), 0.01);
  EXPECT_LT(high[2].get<double>(), 0.99);
  EXPECT_EQ(low[3].get<double>(), 0.0);
  EXPECT_EQ(high[3].get<double>(), 1.0);
  // A value beyond them (a trial from before, a random draw) is placed on
  // the face.
  EXPECT_EQ(encoding.Encode({1.1, 1e-9, 0.0, 0.5}),
            Eigen::Vector4d(1, 0, 0, 0.5));
}

TEST(SpaceEncodingTest, LogFormsAreLinearInLogSpace) {
  SweepSpec spec;
  spec.parameters = {
      Ranged("lr", Distribution::kLogUniformValues, 1e-4, 1),
      Ranged("decay", Distribution::kLogUniform, std::log(1e-3), 0),
      Ranged("eps", Distribution::kInvLogUniformValues, 1e-6, 1e-2)};
  const SpaceEncoding encoding(spec);
  const Eigen::VectorXd x = encoding.Encode({1e-2, 1e-2, 1e-4});
  EXPECT_NEAR(x[0], 0.5, 1e-12);
  EXPECT_NEAR(x[1], 1.0 / 3, 1e-12);
  EXPECT_NEAR(x[2], 0.5, 1e-12);
  EXPECT_NEAR(encoding.Encode({1e-3, 1e-3, 1e-6})[0], 0.25, 1e-12);
  const Point point = encoding.Decode(Eigen::Vector3d(0.75, 0, 1));
  EXPECT_NEAR(point[0].get<double>(), 0.1, 1e-14);
  EXPECT_NEAR(point[1].get<double>(), 1e-3, 1e-16);
  EXPECT_NEAR(point[2].get<double>(), 1e-2, 1e-16);
}

TEST(SpaceEncodingTest, NormalFormsGoThroughTheirCdf) {
  ParameterSpec normal = Param("w", Distribution::kNormal);
  normal.mu = 3;
  normal.sigma = 2;
  SweepSpec spec;
  spec.parameters = {normal};
  const SpaceEncoding encoding(spec);
  EXPECT_NEAR(encoding.Encode({3.0})[0], 0.5, 1e-15);
  // Phi(1), with the quantiles 0.001 to 0.999 spread over [0, 1].
  EXPECT_NEAR(encoding.Encode({5.0})[0], (0.8413447460685429 - 0.001) / 0.998,
              1e-14);
  EXPECT_TRUE(std::isfinite(
      encoding.Decode(Eigen::VectorXd::Ones(1))[0].get<double>()));
}

TEST(SpaceEncodingTest, CanonicalizeIsIdempotent) {
  const SweepSpec spec = EveryDistribution();
  const SpaceEncoding encoding(spec);
  RandomEngine rng(3);
  std::vector<Eigen::VectorXd> points = {
      Eigen::VectorXd::Zero(encoding.dimensions()),   // The cube's corners,
      Eigen::VectorXd::Ones(encoding.dimensions())};  // where u is clamped.
  for (int trial = 0; trial < 200; ++trial) {
    Eigen::VectorXd x(encoding.dimensions());
    for (int d = 0; d < x.size(); ++d) x[d] = UniformUnit(rng);
    points.push_back(x);
  }
  for (const Eigen::VectorXd& x : points) {
    const Eigen::VectorXd once = encoding.Canonicalize(x);
    const Eigen::VectorXd twice = encoding.Canonicalize(once);
    for (int d = 0; d < x.size(); ++d) {
      const bool continuous = encoding.dims()[d].kind == Kind::kContinuous;
      if (continuous) {
        EXPECT_NEAR(twice[d], once[d], 1e-9) << d;
      } else {
        EXPECT_EQ(twice[d], once[d]) << d;
      }
    }
    ExpectSameTrial(spec, encoding.Decode(once), encoding.Decode(x));
  }
}

TEST(SpaceEncodingTest, DistinctCellsStayDistinct) {
  const SweepSpec spec = EveryDistribution();
  const SpaceEncoding encoding(spec);
  for (int d = 0; d < encoding.dimensions(); ++d) {
    if (encoding.dims()[d].kind != Kind::kDiscrete) continue;
    const int parameter = encoding.dims()[d].parameter;
    const ParameterSpec& p = spec.parameters[parameter];
    const auto support = FiniteSupport(p, 1000);
    if (!support) continue;  // q_normal, q_log_normal.
    std::set<double> coordinates;
    RandomEngine rng(1);
    Point point = SamplePoint(spec, rng);
    for (const Value& v : *support) {
      point[parameter] = v;
      const Eigen::VectorXd x = encoding.Encode(point);
      EXPECT_EQ(encoding.Canonicalize(x)[d], x[d]) << p.name << " " << v;
      EXPECT_EQ(encoding.Decode(x)[parameter].dump(), v.dump()) << p.name;
      coordinates.insert(x[d]);
    }
    EXPECT_EQ(coordinates.size(), support->size()) << p.name;
  }
}

TEST(SpaceEncodingTest, IntegerCellsSplitTheUnitIntervalEvenly) {
  SweepSpec spec;
  spec.parameters = {Ranged("layers", Distribution::kIntUniform, 1, 4)};
  const SpaceEncoding encoding(spec);
  EXPECT_EQ(encoding.Encode({1})[0], 0.125);
  EXPECT_EQ(encoding.Encode({4})[0], 0.875);
  EXPECT_EQ(encoding.Decode(Eigen::VectorXd::Constant(1, 0.26))[0], Value(2));
  EXPECT_EQ(encoding.Canonicalize(Eigen::VectorXd::Constant(1, 0.26))[0],
            0.375);
}

TEST(SpaceEncodingTest, ClampsWhatTheParameterCannotProduce) {
  SweepSpec spec;
  spec.parameters = {Ranged("lr", Distribution::kUniform, 0, 10),
                     Ranged("layers", Distribution::kIntUniform, 1, 4)};
  const SpaceEncoding encoding(spec);
  EXPECT_EQ(encoding.Encode({-5.0, 99}), Eigen::Vector2d(0, 0.875));
  EXPECT_EQ(encoding.Encode({12.0, 2.4}), Eigen::Vector2d(1, 0.375));
  EXPECT_EQ(encoding.Encode({"high", true}), Eigen::Vector2d(0.5, 0.5));
  EXPECT_EQ(encoding.Decode(Eigen::Vector2d(-0.5, 1.7)), (Point{0.0, 4}));
  EXPECT_EQ(encoding.Decode(Eigen::Vector2d(NAN, 0.1)), (Point{0.0, 1}));
}

TEST(SpaceEncodingTest, ConstantsTakeNoDimensionButDecode) {
  SweepSpec spec;
  spec.parameters = {Constant("epochs", 10),
                     Ranged("lr", Distribution::kUniform, 0, 1),
                     Constant("name", "run")};
  const SpaceEncoding encoding(spec);
  ASSERT_EQ(encoding.dimensions(), 1);
  EXPECT_EQ(encoding.Encode({10, 0.25, "run"}),
            Eigen::VectorXd::Constant(1, 0.25));
  EXPECT_EQ(encoding.Decode(Eigen::VectorXd::Constant(1, 0.5)),
            (Point{10, 0.5, "run"}));
}

TEST(SpaceEncodingTest, NestedParametersAreSeparateLeaves) {
  // The same leaf name under two parents: flattened names differ.
  ParameterSpec adam_lr =
      Ranged("adam.lr", Distribution::kLogUniformValues, 1e-5, 1e-1);
  adam_lr.path = {"adam", "lr"};
  ParameterSpec sgd_lr = Ranged("sgd.lr", Distribution::kUniform, 0.01, 1);
  sgd_lr.path = {"sgd", "lr"};
  ParameterSpec sgd_nesterov = Categorical("sgd.nesterov", {true, false});
  sgd_nesterov.path = {"sgd", "nesterov"};
  SweepSpec spec;
  spec.parameters = {adam_lr, sgd_lr, sgd_nesterov};
  const SpaceEncoding encoding(spec);
  ASSERT_EQ(encoding.dimensions(), 4);
  EXPECT_EQ(encoding.dims()[0].parameter, 0);
  EXPECT_EQ(encoding.dims()[1].parameter, 1);
  EXPECT_EQ(encoding.dims()[2].parameter, 2);
  EXPECT_EQ(encoding.dims()[3].parameter, 2);
  const Point point = {1e-3, 0.5, false};
  const Eigen::VectorXd x = encoding.Encode(point);
  EXPECT_NEAR(x[0], 0.5, 1e-12);
  EXPECT_NEAR(x[1], 0.49 / 0.99, 1e-12);
  EXPECT_EQ(x[2], 0.0);
  EXPECT_EQ(x[3], 1.0);
  const Point back = encoding.Decode(x);
  EXPECT_NEAR(back[0].get<double>(), 1e-3, 1e-15);
  EXPECT_NEAR(back[1].get<double>(), 0.5, 1e-15);
  EXPECT_EQ(back[2], Value(false));
}

}  // namespace
}  // namespace sweep
