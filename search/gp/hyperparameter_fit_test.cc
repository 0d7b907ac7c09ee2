#include "search/gp/hyperparameter_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "search/gp/quasi_random.h"

namespace sweep::gp {
namespace {

TEST(LogPriorTest, GradientMatchesFiniteDifferences) {
  Hyperparameters h;
  h.log_length_scales = Eigen::Vector3d(-1.0, 0.5, 2.0);
  h.log_signal_variance = 0.7;
  h.log_noise_variance = -4.0;
  h.mean = 0.3;
  Eigen::VectorXd gradient;
  LogPrior(h, &gradient);
  const Eigen::VectorXd packed = h.Pack();
  constexpr double kStep = 1e-6;
  for (int i = 0; i < packed.size(); ++i) {
    Eigen::VectorXd up = packed;
    Eigen::VectorXd down = packed;
    up[i] += kStep;
    down[i] -= kStep;
    const double numeric = (LogPrior(Hyperparameters::Unpack(up), nullptr) -
                            LogPrior(Hyperparameters::Unpack(down), nullptr)) /
                           (2 * kStep);
    EXPECT_NEAR(gradient[i], numeric, 1e-6) << i;
  }
}

struct Data {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

// y varies quickly along dimension 0, slowly along 1, not at all along 2.
Data Sample(int n) {
  const ScrambledHalton halton(3, 7);
  Data data{halton.Points(0, n), Eigen::VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    data.y[i] = std::sin(9 * data.x(i, 0)) + 0.5 * data.x(i, 1);
  }
  data.y = (data.y.array() - data.y.mean()) /
           std::sqrt((data.y.array() - data.y.mean()).square().mean());
  return data;
}

TEST(FitHyperparametersTest, LearnsWhichDimensionsMatter) {
  const Data data = Sample(60);
  absl::StatusOr<Hyperparameters> fit =
      FitHyperparameters({0, 1, 2}, data.x, data.y, FitOptions());
  ASSERT_TRUE(fit.ok()) << fit.status();
  // With a large signal variance, long scales still model a trend, so the
  // order of the scales is what tells relevance.
  const Eigen::VectorXd scales = fit->log_length_scales.array().exp();
  EXPECT_GT(scales[1], 2 * scales[0]);
  EXPECT_GT(scales[2], 5 * scales[0]);  // Irrelevant: long.
  EXPECT_GE(scales[2], scales[1]);
  EXPECT_LT(fit->noise_variance(), 1e-2);  // The data are noise-free.
}

TEST(FitHyperparametersTest, IsDeterministic) {
  const Data data = Sample(25);
  absl::StatusOr<Hyperparameters> a =
      FitHyperparameters({0, 1, 2}, data.x, data.y, FitOptions());
  absl::StatusOr<Hyperparameters> b =
      FitHyperparameters({0, 1, 2}, data.x, data.y, FitOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b);
}

TEST(FitHyperparametersTest, FindsNoiseInNoisyData) {
  Data data = Sample(80);
  // Deterministic noise of standard deviation 0.4, unrelated to the points.
  uint64_t state = 12345;
  for (int i = 0; i < 80; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(state >> 11) * 0x1.0p-53;
    data.y[i] += 0.4 * std::sqrt(3.0) * (2 * u - 1);
  }
  absl::StatusOr<Hyperparameters> fit =
      FitHyperparameters({0, 1, 2}, data.x, data.y, FitOptions());
  ASSERT_TRUE(fit.ok());
  EXPECT_GT(fit->noise_variance(), 0.03);
}

TEST(FitHyperparametersTest, NonFiniteDataIsAnError) {
  Data data = Sample(10);
  data.x(3, 0) = std::nan("");
  EXPECT_FALSE(
      FitHyperparameters({0, 1, 2}, data.x, data.y, FitOptions()).ok());
}

}  // namespace
}  // namespace sweep::gp
