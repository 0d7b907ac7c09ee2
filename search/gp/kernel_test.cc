#include "search/gp/kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace sweep::gp {
namespace {

// Two numeric dimensions and a one-hot group of three sharing a scale.
Matern52Kernel MixedKernel() {
  Eigen::VectorXd log_scales(3);
  log_scales << std::log(0.3), std::log(1.7), std::log(0.8);
  return Matern52Kernel({0, 1, 2, 2, 2}, log_scales, std::log(2.5));
}

Eigen::MatrixXd SomePoints() {
  Eigen::MatrixXd x(4, 5);
  x << 0.1, 0.9, 1, 0, 0,  //
      0.4, 0.2, 0, 1, 0,   //
      0.75, 0.5, 0, 0, 1,  //
      0.1, 0.9, 1, 0, 0;   // A duplicate of the first.
  return x;
}

TEST(Matern52KernelTest, MatchesTheClosedForm) {
  const Matern52Kernel kernel = MixedKernel();
  const Eigen::MatrixXd x = SomePoints();
  const Eigen::MatrixXd k = kernel.Cross(x, x);
  EXPECT_NEAR(k(0, 0), 2.5, 1e-12);
  EXPECT_NEAR(k(0, 3), 2.5, 1e-12);
  EXPECT_TRUE(k.isApprox(k.transpose(), 1e-14));
  // Points 0 and 1: two numeric differences and two categories apart.
  const double r2 =
      std::pow(0.3 / 0.3, 2) + std::pow(0.7 / 1.7, 2) + 2.0 / (0.8 * 0.8);
  const double r = std::sqrt(r2);
  const double expected = 2.5 * (1 + std::sqrt(5.0) * r + 5.0 / 3.0 * r2) *
                          std::exp(-std::sqrt(5.0) * r);
  EXPECT_NEAR(k(0, 1), expected, 1e-12);
}

TEST(Matern52KernelTest, PointGradientMatchesFiniteDifferences) {
  const Matern52Kernel kernel = MixedKernel();
  const Eigen::MatrixXd b = SomePoints();
  Eigen::RowVectorXd x(5);
  x << 0.3, 0.6, 0.2, 0.5, 0.3;
  const Eigen::MatrixXd gradient = kernel.CrossGradient(x, b);
  constexpr double kStep = 1e-6;
  for (int j = 0; j < 5; ++j) {
    Eigen::RowVectorXd up = x;
    Eigen::RowVectorXd down = x;
    up[j] += kStep;
    down[j] -= kStep;
    const Eigen::MatrixXd numeric =
        (kernel.Cross(up, b) - kernel.Cross(down, b)) / (2 * kStep);
    for (int i = 0; i < b.rows(); ++i) {
      EXPECT_NEAR(gradient(i, j), numeric(0, i), 1e-7) << i << "," << j;
    }
  }
}

TEST(Matern52KernelTest, PointGradientIsZeroOnTopOfAPoint) {
  const Matern52Kernel kernel = MixedKernel();
  const Eigen::MatrixXd b = SomePoints();
  const Eigen::MatrixXd gradient = kernel.CrossGradient(b.row(1), b);
  EXPECT_TRUE(gradient.row(1).isZero(1e-14));
  EXPECT_TRUE(gradient.allFinite());
}

TEST(Matern52KernelTest, HyperGradientMatchesFiniteDifferences) {
  const Eigen::MatrixXd x = SomePoints();
  Eigen::MatrixXd w = Eigen::MatrixXd::Random(4, 4);
  w = (w + w.transpose()).eval();
  Eigen::VectorXd theta(4);
  theta << std::log(0.3), std::log(1.7), std::log(0.8), std::log(2.5);
  const auto weighted_sum = [&](const Eigen::VectorXd& t) {
    const Matern52Kernel kernel({0, 1, 2, 2, 2}, t.head(3), t[3]);
    return (w.array() * kernel.Cross(x, x).array()).sum();
  };
  const Matern52Kernel kernel({0, 1, 2, 2, 2}, theta.head(3), theta[3]);
  Matern52Kernel::Gram gram;
  kernel.GramWithRadial(x, &gram);
  EXPECT_TRUE(gram.k.isApprox(kernel.Cross(x, x), 1e-12));
  Eigen::MatrixXd scratch = w;
  const Eigen::VectorXd gradient =
      kernel.WeightedHyperGradient(x, gram, &scratch);
  ASSERT_EQ(gradient.size(), 4);
  constexpr double kStep = 1e-6;
  for (int i = 0; i < 4; ++i) {
    Eigen::VectorXd up = theta;
    Eigen::VectorXd down = theta;
    up[i] += kStep;
    down[i] -= kStep;
    const double numeric =
        (weighted_sum(up) - weighted_sum(down)) / (2 * kStep);
    EXPECT_NEAR(gradient[i], numeric, 1e-6 * (1 + std::abs(numeric))) << i;
  }
}

}  // namespace
}  // namespace sweep::gp
