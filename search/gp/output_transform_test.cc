#include "search/gp/output_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace sweep::gp {
namespace {

using Family = OutputTransform::Family;

double Mean(const Eigen::VectorXd& v) { return v.mean(); }
double Stddev(const Eigen::VectorXd& v) {
  return std::sqrt((v.array() - v.mean()).square().mean());
}

TEST(OutputTransformTest, LossesSpanningDecadesGetALogLikeWarp) {
  Eigen::VectorXd losses(9);
  losses << 1e-4, 3e-4, 1e-3, 1e-2, 0.05, 0.3, 2, 40, 900;
  const OutputTransform transform = OutputTransform::Fit(losses);
  EXPECT_EQ(transform.family(), Family::kBoxCox);
  EXPECT_NEAR(transform.lambda(), 0.0, 0.1);
  const Eigen::VectorXd z = transform.Forward(losses);
  EXPECT_NEAR(Mean(z), 0.0, 1e-9);
  EXPECT_NEAR(Stddev(z), 1.0, 1e-9);
  // The small losses are told apart about as well as the large ones.
  EXPECT_GT(z[1] - z[0], 0.1);
}

TEST(OutputTransformTest, IsMonotoneAndInvertible) {
  Eigen::VectorXd values(7);
  values << -3.2, -3.0, -2.1, -0.5, -0.4, -0.01, 0.3;
  const OutputTransform transform = OutputTransform::Fit(values);
  EXPECT_EQ(transform.family(), Family::kYeoJohnson);
  const Eigen::VectorXd z = transform.Forward(values);
  for (int i = 1; i < 7; ++i) EXPECT_LT(z[i - 1], z[i]);
  for (int i = 0; i < 7; ++i) {
    EXPECT_NEAR(transform.Inverse(z[i]), values[i], 1e-9) << i;
  }
  for (const double v : {-10.0, 5.0}) {
    EXPECT_NEAR(transform.Inverse(transform.Forward(v)), v, 1e-6) << v;
  }
}

TEST(OutputTransformTest, FewDistinctValuesAreOnlyStandardized) {
  Eigen::VectorXd values(4);
  values << 2, 4, 2, 4;
  const OutputTransform transform = OutputTransform::Fit(values);
  EXPECT_EQ(transform.family(), Family::kIdentity);
  EXPECT_NEAR(transform.Forward(4.0), 1.0, 1e-12);
  EXPECT_NEAR(transform.Forward(2.0), -1.0, 1e-12);
  EXPECT_NEAR(transform.Inverse(0.0), 3.0, 1e-12);
  const OutputTransform constant =
      OutputTransform::Fit(Eigen::VectorXd::Constant(3, 7.0));
  EXPECT_NEAR(constant.Forward(7.0), 0.0, 1e-12);
  EXPECT_NEAR(constant.Forward(8.0), 1.0, 1e-12);
}

TEST(OutputTransformTest, LogJacobianMatchesFiniteDifferences) {
  Eigen::VectorXd losses(6);
  losses << 0.02, 0.1, 0.5, 3, 40, 700;
  Eigen::VectorXd mixed(5);
  mixed << -2, -0.5, 0.1, 0.2, 9;
  for (const Eigen::VectorXd& values : {losses, mixed}) {
    for (const OutputTransform& transform :
         {OutputTransform::Fit(values), OutputTransform::Standardize(values)}) {
      double numeric = 0;
      for (const double v : values) {
        const double step = 1e-6 * std::max(1.0, std::abs(v));
        numeric += std::log(
            (transform.Forward(v + step) - transform.Forward(v - step)) /
            (2 * step));
      }
      EXPECT_NEAR(transform.LogJacobian(values), numeric, 1e-5);
    }
  }
}

TEST(OutputTransformTest, InverseSaturatesInsteadOfFailing) {
  Eigen::VectorXd losses(5);
  losses << 1e-3, 1e-2, 1e-1, 1, 1e4;
  const OutputTransform transform = OutputTransform::Fit(losses);
  for (const double z : {-1e3, -50.0, 50.0, 1e3}) {
    EXPECT_FALSE(std::isnan(transform.Inverse(z))) << z;
  }
  EXPECT_GE(transform.Inverse(-1e3), 0.0);
}

// A prediction's spread on the objective's scale: the half-width of the
// interval, or where the inverse saturates on one side (a corner far from
// the data), the other side's, never the clamp's 1e308.
TEST(OutputTransformTest, InverseHalfWidthIgnoresASaturatedSide) {
  Eigen::VectorXd losses(5);
  losses << 1e-3, 1e-2, 1e-1, 1, 1e4;
  const OutputTransform transform = OutputTransform::Fit(losses);
  const double inside = transform.InverseHalfWidth(0.0, 0.1);
  EXPECT_NEAR(inside, 0.5 * (transform.Inverse(0.1) - transform.Inverse(-0.1)),
              1e-12);
  ASSERT_GE(transform.Inverse(1e3), 1e300);  // Saturated above.
  const double wide = transform.InverseHalfWidth(1.0, 1e3);
  EXPECT_LT(wide, 1e300);
  EXPECT_NEAR(wide, transform.Inverse(1.0) - transform.Inverse(1.0 - 1e3),
              1e-9 * std::abs(wide) + 1e-12);
  const OutputTransform identity;
  EXPECT_DOUBLE_EQ(identity.InverseHalfWidth(2.0, 0.5), 0.5);
}

}  // namespace
}  // namespace sweep::gp
