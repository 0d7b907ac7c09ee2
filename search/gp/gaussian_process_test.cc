#include "search/gp/gaussian_process.h"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <cmath>
#include <optional>
#include <vector>

namespace sweep::gp {
namespace {

const std::vector<int> kGroups = {0, 1, 2};

Hyperparameters SomeHyperparameters() {
  Hyperparameters h;
  h.log_length_scales = Eigen::Vector3d(std::log(0.4), std::log(0.7), 1.0);
  h.log_signal_variance = std::log(1.3);
  h.log_noise_variance = std::log(1e-6);
  h.mean = 0.2;
  return h;
}

double Objective(const Eigen::RowVectorXd& x) {
  return std::sin(5 * x[0]) + x[1] * x[1] - 0.3 * x[2];
}

struct Data {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

Data SomeData(int n) {
  Data data{Eigen::MatrixXd(n, 3), Eigen::VectorXd(n)};
  // A deterministic scatter over the cube.
  for (int i = 0; i < n; ++i) {
    data.x.row(i) << std::fmod(0.37 * i + 0.1, 1.0),
        std::fmod(0.61 * i + 0.3, 1.0), std::fmod(0.83 * i + 0.5, 1.0);
    data.y[i] = Objective(data.x.row(i));
  }
  return data;
}

Posterior MakePosterior(const Hyperparameters& h, const Data& data,
                        const GrowingCholesky& factor,
                        const Eigen::MatrixXd& fantasies,
                        std::optional<double> liar) {
  absl::StatusOr<Posterior> posterior =
      Posterior::Create(kGroups, h, data.x, data.y, factor, fantasies, liar);
  EXPECT_TRUE(posterior.ok()) << posterior.status();
  return *std::move(posterior);
}

TEST(GaussianProcessTest, InterpolatesNoiseFreeDataWithLittleVarianceThere) {
  const Hyperparameters h = SomeHyperparameters();
  const Data data = SomeData(25);
  absl::StatusOr<GrowingCholesky> factor =
      FactorObservations(h.KernelFor(kGroups), h.noise_variance(), data.x);
  ASSERT_TRUE(factor.ok()) << factor.status();
  const Posterior posterior =
      MakePosterior(h, data, *factor, Eigen::MatrixXd(0, 3), std::nullopt);
  const Prediction at_data = posterior.Predict(data.x, false);
  for (int i = 0; i < 25; ++i) {
    EXPECT_NEAR(at_data.mean[i], data.y[i], 1e-3) << i;
    EXPECT_LT(at_data.variance[i], 1e-4 * 1.3) << i;
  }
  EXPECT_TRUE(posterior.MeanAtObservations().isApprox(at_data.mean, 1e-6));
  // Away from the data the variance is larger.
  Eigen::MatrixXd away(1, 3);
  away << 0.97, 0.02, 0.5;
  EXPECT_GT(posterior.Predict(away, false).variance[0], 1e-3);
}

TEST(GaussianProcessTest, MarginalLikelihoodGradientMatchesFiniteDifferences) {
  Hyperparameters h = SomeHyperparameters();
  h.log_noise_variance = std::log(0.05);
  const Data data = SomeData(15);
  Eigen::VectorXd gradient;
  ASSERT_TRUE(
      LogMarginalLikelihood(kGroups, h, data.x, data.y, &gradient).ok());
  const Eigen::VectorXd packed = h.Pack();
  constexpr double kStep = 1e-5;
  for (int i = 0; i < packed.size(); ++i) {
    Eigen::VectorXd up = packed;
    Eigen::VectorXd down = packed;
    up[i] += kStep;
    down[i] -= kStep;
    const double numeric =
        (*LogMarginalLikelihood(kGroups, Hyperparameters::Unpack(up), data.x,
                                data.y, nullptr) -
         *LogMarginalLikelihood(kGroups, Hyperparameters::Unpack(down), data.x,
                                data.y, nullptr)) /
        (2 * kStep);
    EXPECT_NEAR(gradient[i], numeric, 1e-5 * (1 + std::abs(numeric))) << i;
  }
}

TEST(GaussianProcessTest, MarginalLikelihoodOfBadInputIsAnError) {
  Data data = SomeData(5);
  data.x(2, 1) = std::nan("");
  EXPECT_FALSE(LogMarginalLikelihood(kGroups, SomeHyperparameters(), data.x,
                                     data.y, nullptr)
                   .ok());
  EXPECT_FALSE(
      FactorObservations(SomeHyperparameters().KernelFor(kGroups), 1e-6, data.x)
          .ok());
}

TEST(GaussianProcessTest, ExtendedFactorGivesTheSamePosterior) {
  Hyperparameters h = SomeHyperparameters();
  h.log_noise_variance = std::log(1e-3);
  const Data data = SomeData(30);
  const Matern52Kernel kernel = h.KernelFor(kGroups);
  absl::StatusOr<GrowingCholesky> full =
      FactorObservations(kernel, h.noise_variance(), data.x);
  absl::StatusOr<GrowingCholesky> grown =
      FactorObservations(kernel, h.noise_variance(), data.x.topRows(12));
  ASSERT_TRUE(full.ok() && grown.ok());
  ASSERT_TRUE(ExtendFactor(kernel, h.noise_variance(), data.x, &*grown).ok());
  const Eigen::MatrixXd probe = Eigen::MatrixXd::Random(7, 3).cwiseAbs();
  const Prediction a =
      MakePosterior(h, data, *full, Eigen::MatrixXd(0, 3), std::nullopt)
          .Predict(probe, false);
  const Prediction b =
      MakePosterior(h, data, *grown, Eigen::MatrixXd(0, 3), std::nullopt)
          .Predict(probe, false);
  EXPECT_TRUE(a.mean.isApprox(b.mean, 1e-9));
  EXPECT_TRUE(a.variance.isApprox(b.variance, 1e-9));
}

TEST(GaussianProcessTest, BelieverKeepsTheMeanAndShrinksTheVariance) {
  Hyperparameters h = SomeHyperparameters();
  h.log_noise_variance = std::log(1e-4);
  const Data data = SomeData(12);
  absl::StatusOr<GrowingCholesky> factor =
      FactorObservations(h.KernelFor(kGroups), h.noise_variance(), data.x);
  ASSERT_TRUE(factor.ok());
  Eigen::MatrixXd pending(2, 3);
  pending << 0.9, 0.9, 0.1,  //
      0.05, 0.5, 0.95;
  const Posterior plain =
      MakePosterior(h, data, *factor, Eigen::MatrixXd(0, 3), std::nullopt);
  const Posterior believer =
      MakePosterior(h, data, *factor, pending, std::nullopt);
  const Prediction before = plain.Predict(pending, false);
  const Prediction after = believer.Predict(pending, false);
  EXPECT_TRUE(before.mean.isApprox(after.mean, 1e-9));
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(before.variance[i], 1e-3);
    EXPECT_LT(after.variance[i], 2e-4);
  }
  // A liar pulls the mean at the pending points to its value.
  const Posterior liar = MakePosterior(h, data, *factor, pending, 5.0);
  const Prediction lied = liar.Predict(pending, false);
  for (int i = 0; i < 2; ++i) {
    // The fantasy's noise (1e-4) is under a tenth of the prior variance.
    EXPECT_NEAR(lied.mean[i], 5.0, 0.1 * std::abs(5.0 - before.mean[i]));
  }
}

// The joint covariance, with pending points, against the textbook formula
// K** - K*A (K_AA + noise)^-1 KA* over the observations and the fantasies.
TEST(GaussianProcessTest, JointCovarianceMatchesTheDirectFormula) {
  Hyperparameters h = SomeHyperparameters();
  h.log_noise_variance = std::log(1e-3);
  const Data data = SomeData(10);
  const Matern52Kernel kernel = h.KernelFor(kGroups);
  absl::StatusOr<GrowingCholesky> factor =
      FactorObservations(kernel, h.noise_variance(), data.x);
  ASSERT_TRUE(factor.ok());
  Eigen::MatrixXd pending(2, 3);
  pending << 0.9, 0.9, 0.1,  //
      0.05, 0.5, 0.95;
  const Posterior posterior =
      MakePosterior(h, data, *factor, pending, std::nullopt);
  Eigen::MatrixXd points(4, 3);
  points << 0.2, 0.2, 0.2,  //
      0.21, 0.2, 0.25,      //
      0.8, 0.1, 0.6,        //
      0.9, 0.85, 0.1;
  const Eigen::MatrixXd covariance = posterior.JointCovariance(points);

  Eigen::MatrixXd all(12, 3);
  all << data.x, pending;
  Eigen::MatrixXd k = kernel.Cross(all, all);
  for (int i = 0; i < 12; ++i) {
    k(i, i) += i < 10 ? h.noise_variance() : kMinNoiseVariance;
  }
  const Eigen::MatrixXd cross = kernel.Cross(all, points);
  const Eigen::MatrixXd expected =
      kernel.Cross(points, points) - cross.transpose() * k.ldlt().solve(cross);
  EXPECT_TRUE(covariance.isApprox(expected, 1e-6)) << covariance << "\nvs\n"
                                                   << expected;
  const Prediction prediction = posterior.Predict(points, false);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(covariance(i, i), prediction.variance[i], 1e-9);
  }
  // Near-duplicate points are strongly correlated.
  EXPECT_GT(covariance(0, 1),
            0.5 * std::sqrt(covariance(0, 0) * covariance(1, 1)));
}

TEST(GaussianProcessTest, PredictionGradientsMatchFiniteDifferences) {
  Hyperparameters h = SomeHyperparameters();
  h.log_noise_variance = std::log(1e-3);
  const Data data = SomeData(20);
  absl::StatusOr<GrowingCholesky> factor =
      FactorObservations(h.KernelFor(kGroups), h.noise_variance(), data.x);
  ASSERT_TRUE(factor.ok());
  Eigen::MatrixXd pending(1, 3);
  pending << 0.5, 0.5, 0.5;
  for (const std::optional<double> liar :
       {std::optional<double>(), std::optional<double>(1.5)}) {
    const Posterior posterior = MakePosterior(h, data, *factor, pending, liar);
    Eigen::MatrixXd points(2, 3);
    points << 0.31, 0.72, 0.18,  //
        0.55, 0.45, 0.6;
    const Prediction p = posterior.Predict(points, true);
    constexpr double kStep = 1e-6;
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) {
        Eigen::MatrixXd up = points.row(i);
        Eigen::MatrixXd down = points.row(i);
        up(0, j) += kStep;
        down(0, j) -= kStep;
        const Prediction pu = posterior.Predict(up, false);
        const Prediction pd = posterior.Predict(down, false);
        EXPECT_NEAR(p.mean_gradient(i, j),
                    (pu.mean[0] - pd.mean[0]) / (2 * kStep), 1e-5);
        EXPECT_NEAR(p.variance_gradient(i, j),
                    (pu.variance[0] - pd.variance[0]) / (2 * kStep), 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace sweep::gp
