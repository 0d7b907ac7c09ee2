#include "search/gp/acquisition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "search/gp/gaussian_process.h"

namespace sweep::gp {
namespace {

double NaiveH(double z) {
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  return pdf + z * cdf;
}

TEST(LogHTest, MatchesTheNaiveFormulaWhereThatIsAccurate) {
  for (double z = -6.0; z <= 6.0; z += 0.25) {
    EXPECT_NEAR(LogH(z), std::log(NaiveH(z)), 1e-9 * (1 + std::abs(LogH(z))))
        << z;
  }
}

TEST(LogHTest, StaysFiniteAndAsymptoticFarBelowTheIncumbent) {
  const double c1 = 0.5 * std::log(2 * M_PI);
  for (const double z : {-40.0, -1e3, -1e6, -1e9, -1e12}) {
    const double value = LogH(z);
    ASSERT_TRUE(std::isfinite(value)) << z;
    // h(z) ~ phi(z) / z^2 as z -> -infinity.
    const double asymptote = -0.5 * z * z - c1 - 2 * std::log(-z);
    EXPECT_NEAR(value, asymptote, 1e-2 * std::abs(asymptote) / (z * z) + 1e-9)
        << z;
  }
  // Decreasing throughout.
  double previous = LogH(5.0);
  for (double z = 4.9; z > -60; z -= 0.1) {
    const double value = LogH(z);
    EXPECT_LT(value, previous) << z;
    previous = value;
  }
}

TEST(LogHTest, DerivativeMatchesFiniteDifferences) {
  for (const double z : {-30.0, -8.0, -2.5, -1.0001, -0.9999, 0.0, 1.5, 7.0}) {
    const double step = 1e-6 * std::max(1.0, std::abs(z));
    const double numeric = (LogH(z + step) - LogH(z - step)) / (2 * step);
    EXPECT_NEAR(LogHDerivative(z), numeric, 1e-5 * (1 + std::abs(numeric)))
        << z;
  }
}

TEST(ErfcxTest, IsContinuousWhereTheSeriesTakesOver) {
  EXPECT_NEAR(Erfcx(25.0 - 1e-12) / Erfcx(25.0), 1.0, 1e-12);
  EXPECT_NEAR(Erfcx(0.0), 1.0, 1e-15);
  EXPECT_NEAR(Erfcx(1e8), 1.0 / (1e8 * std::sqrt(M_PI)), 1e-22);
}

TEST(LogExpectedImprovementTest, GradientMatchesFiniteDifferences) {
  const double best = 0.3;
  for (const double mean : {-1.0, 0.2, 0.5, 4.0, 40.0}) {
    for (const double stddev : {0.05, 0.5, 2.0}) {
      const LogEi ei = LogExpectedImprovement(mean, stddev, best);
      constexpr double kStep = 1e-7;
      const double d_mean =
          (LogExpectedImprovement(mean + kStep, stddev, best).value -
           LogExpectedImprovement(mean - kStep, stddev, best).value) /
          (2 * kStep);
      const double d_stddev =
          (LogExpectedImprovement(mean, stddev + kStep, best).value -
           LogExpectedImprovement(mean, stddev - kStep, best).value) /
          (2 * kStep);
      const double tolerance = 1e-4 * (1 + std::abs(d_mean));
      EXPECT_NEAR(ei.d_mean, d_mean, tolerance) << mean << " " << stddev;
      EXPECT_NEAR(ei.d_stddev, d_stddev, 1e-4 * (1 + std::abs(d_stddev)))
          << mean << " " << stddev;
    }
  }
}

// A concave toy acquisition whose maximum over the cube is known.
BatchAcquisition Bowl(const Eigen::RowVectorXd& center) {
  return [center](const Eigen::MatrixXd& points, Eigen::VectorXd* values,
                  Eigen::MatrixXd* gradients) {
    const Eigen::MatrixXd difference = points.rowwise() - center;
    *values = -difference.rowwise().squaredNorm();
    if (gradients != nullptr) *gradients = -2.0 * difference;
  };
}

TEST(RefineJointlyTest, FindsAnInteriorMaximum) {
  const Eigen::RowVectorXd center = Eigen::RowVector3d(0.3, 0.7, 0.55);
  const Eigen::MatrixXd starts = Eigen::MatrixXd::Random(6, 3).cwiseAbs();
  const RefinedPoints refined = RefineJointly(Bowl(center), starts, 50);
  for (int s = 0; s < 6; ++s) {
    EXPECT_LT((refined.points.row(s) - center).norm(), 1e-4) << s;
    EXPECT_GT(refined.values[s], -1e-8);
  }
}

TEST(RefineJointlyTest, StopsAtTheBoxWhenTheMaximumIsOutside) {
  const Eigen::RowVectorXd center = Eigen::RowVector2d(1.4, -0.2);
  Eigen::MatrixXd starts(2, 2);
  starts << 0.5, 0.5, 0.1, 0.9;
  const RefinedPoints refined = RefineJointly(Bowl(center), starts, 50);
  for (int s = 0; s < 2; ++s) {
    EXPECT_NEAR(refined.points(s, 0), 1.0, 1e-6);
    EXPECT_NEAR(refined.points(s, 1), 0.0, 1e-6);
  }
}

TEST(RefineJointlyTest, FindsTheLogEiMaximumOfAToySurrogate) {
  // A GP on a 1-d bowl with its minimum at 0.62: EI peaks close by.
  Hyperparameters h;
  h.log_length_scales = Eigen::VectorXd::Constant(1, std::log(0.3));
  h.log_noise_variance = std::log(1e-6);
  Eigen::MatrixXd x(5, 1);
  x << 0.0, 0.25, 0.5, 0.75, 1.0;
  Eigen::VectorXd y = (x.array() - 0.62).square().matrix() * 4.0;
  const std::vector<int> groups = {0};
  absl::StatusOr<GrowingCholesky> factor =
      FactorObservations(h.KernelFor(groups), h.noise_variance(), x);
  ASSERT_TRUE(factor.ok());
  absl::StatusOr<Posterior> posterior = Posterior::Create(
      groups, h, x, y, *factor, Eigen::MatrixXd(0, 1), std::nullopt);
  ASSERT_TRUE(posterior.ok());
  const double best = y.minCoeff();
  const BatchAcquisition log_ei = [&](const Eigen::MatrixXd& points,
                                      Eigen::VectorXd* values,
                                      Eigen::MatrixXd* gradients) {
    const Prediction p = posterior->Predict(points, gradients != nullptr);
    values->resize(points.rows());
    if (gradients != nullptr) gradients->resize(points.rows(), 1);
    for (int i = 0; i < points.rows(); ++i) {
      const double sd = std::sqrt(p.variance[i]);
      const LogEi ei = LogExpectedImprovement(p.mean[i], sd, best);
      (*values)[i] = ei.value;
      if (gradients != nullptr) {
        (*gradients)(i, 0) = ei.d_mean * p.mean_gradient(i, 0) +
                             ei.d_stddev / (2 * sd) * p.variance_gradient(i, 0);
      }
    }
  };
  // The exhaustive answer on a fine grid.
  const Eigen::MatrixXd grid = Eigen::VectorXd::LinSpaced(10001, 0, 1);
  const Eigen::VectorXd scores = ScoreInBatches(log_ei, grid, 1000);
  Eigen::Index arg = 0;
  scores.maxCoeff(&arg);
  Eigen::MatrixXd starts(3, 1);
  starts << 0.55, 0.7, 0.6;
  const RefinedPoints refined = RefineJointly(log_ei, starts, 60);
  for (int s = 0; s < 3; ++s) {
    EXPECT_NEAR(refined.points(s, 0), grid(arg, 0), 2e-3) << s;
    EXPECT_GE(refined.values[s], scores[arg] - 1e-6);
  }
}

}  // namespace
}  // namespace sweep::gp
