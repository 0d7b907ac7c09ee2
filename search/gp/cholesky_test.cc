#include "search/gp/cholesky.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

namespace sweep::gp {
namespace {

Eigen::MatrixXd RandomCovariance(int n, double ridge) {
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n);
  Eigen::MatrixXd k = a * a.transpose() / n;
  k.diagonal().array() += ridge;
  return k;
}

TEST(JitteredCholeskyTest, FactorsAPositiveDefiniteMatrixWithoutJitter) {
  const Eigen::MatrixXd k = RandomCovariance(20, 0.5);
  absl::StatusOr<JitteredFactor> factor = JitteredCholesky(k);
  ASSERT_TRUE(factor.ok()) << factor.status();
  EXPECT_EQ(factor->jitter, 0.0);
  EXPECT_TRUE((factor->lower * factor->lower.transpose()).isApprox(k, 1e-12));
}

TEST(JitteredCholeskyTest, RepairsASingularMatrixWithJitter) {
  // Rank one: a plain factorization breaks down.
  const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(6, 1, 2);
  const Eigen::MatrixXd k = v * v.transpose();
  absl::StatusOr<JitteredFactor> factor = JitteredCholesky(k);
  ASSERT_TRUE(factor.ok()) << factor.status();
  EXPECT_GT(factor->jitter, 0.0);
  Eigen::MatrixXd jittered = k;
  jittered.diagonal().array() += factor->jitter;
  EXPECT_TRUE(
      (factor->lower * factor->lower.transpose()).isApprox(jittered, 1e-9));
}

TEST(JitteredCholeskyTest, IndefiniteMatrixIsAnError) {
  Eigen::MatrixXd k(2, 2);
  k << 1, 2, 2, 1;  // Eigenvalues 3 and -1: no small jitter helps.
  absl::StatusOr<JitteredFactor> factor = JitteredCholesky(k);
  ASSERT_FALSE(factor.ok());
  EXPECT_EQ(factor.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(JitteredCholeskyTest, NonFiniteOrNonSquareMatrixIsAnError) {
  Eigen::MatrixXd k = RandomCovariance(3, 1);
  k(1, 2) = k(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(JitteredCholesky(k).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JitteredCholesky(Eigen::MatrixXd::Ones(2, 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GrowingCholeskyTest, AppendedRowsMatchAFullFactorization) {
  const Eigen::MatrixXd k = RandomCovariance(40, 0.1);
  absl::StatusOr<GrowingCholesky> growing =
      GrowingCholesky::Factor(k.topLeftCorner(10, 10), 0.0);
  ASSERT_TRUE(growing.ok()) << growing.status();
  for (int i = 10; i < 40; ++i) {
    ASSERT_TRUE(growing->Append(k.row(i).head(i).transpose(), k(i, i)).ok());
  }
  ASSERT_EQ(growing->size(), 40);
  const Eigen::MatrixXd full = Eigen::LLT<Eigen::MatrixXd>(k).matrixL();
  EXPECT_TRUE(Eigen::MatrixXd(growing->lower()).isApprox(full, 1e-10));
  const Eigen::VectorXd b = Eigen::VectorXd::Random(40);
  EXPECT_TRUE(growing->SolveUpper(growing->SolveLower(b))
                  .isApprox(k.llt().solve(b), 1e-8));
}

TEST(GrowingCholeskyTest, GrowthHistoryDoesNotChangeTheBits) {
  const Eigen::MatrixXd k = RandomCovariance(150, 0.05);
  absl::StatusOr<GrowingCholesky> one_go =
      GrowingCholesky::Factor(k.topLeftCorner(5, 5), 0.0);
  ASSERT_TRUE(one_go.ok());
  for (int i = 5; i < 150; ++i) {
    ASSERT_TRUE(one_go->Append(k.row(i).head(i).transpose(), k(i, i)).ok());
  }
  // The same rows, appended to a copy taken half way (as the searcher's memo
  // does between calls).
  absl::StatusOr<GrowingCholesky> first_half =
      GrowingCholesky::Factor(k.topLeftCorner(5, 5), 0.0);
  ASSERT_TRUE(first_half.ok());
  for (int i = 5; i < 70; ++i) {
    ASSERT_TRUE(first_half->Append(k.row(i).head(i).transpose(), k(i, i)).ok());
  }
  GrowingCholesky resumed = *first_half;
  for (int i = 70; i < 150; ++i) {
    ASSERT_TRUE(resumed.Append(k.row(i).head(i).transpose(), k(i, i)).ok());
  }
  EXPECT_TRUE(Eigen::MatrixXd(resumed.lower()) ==
              Eigen::MatrixXd(one_go->lower()));
}

TEST(GrowingCholeskyTest, AppendRejectsBadInputAndKeepsTheFactor) {
  const Eigen::MatrixXd k = RandomCovariance(4, 1);
  absl::StatusOr<GrowingCholesky> growing = GrowingCholesky::Factor(k, 0.0);
  ASSERT_TRUE(growing.ok());
  EXPECT_EQ(growing->Append(Eigen::VectorXd::Zero(3), 1).code(),
            absl::StatusCode::kInvalidArgument);
  Eigen::VectorXd cross = Eigen::VectorXd::Zero(4);
  cross[2] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(growing->Append(cross, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(growing->size(), 4);
}

TEST(GrowingCholeskyTest, FactorRejectsBadInput) {
  EXPECT_EQ(GrowingCholesky::Factor(Eigen::MatrixXd::Identity(3, 4), 0.0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  Eigen::MatrixXd k = RandomCovariance(3, 1);
  k(1, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(GrowingCholesky::Factor(k, 0.0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Factored in place in its grown storage: a matrix that needs jitter is
// refactored from the original, and nothing above the diagonal is left.
TEST(GrowingCholeskyTest, JitteredFactorIsLowerTriangular) {
  const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(6, 1, 2);
  const Eigen::MatrixXd k = v * v.transpose();  // Rank one.
  absl::StatusOr<GrowingCholesky> growing = GrowingCholesky::Factor(k, 0.0);
  ASSERT_TRUE(growing.ok()) << growing.status();
  const Eigen::MatrixXd lower = growing->lower();
  EXPECT_TRUE(
      lower.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0.0));
  const Eigen::MatrixXd product = lower * lower.transpose();
  EXPECT_TRUE(product.isApprox(k, 1e-6));
  EXPECT_GT((product - k).diagonal().minCoeff(), 0.0);  // The jitter.
  ASSERT_TRUE(growing->Append(Eigen::VectorXd::Constant(6, 0.1), 5.0).ok());
  const Eigen::MatrixXd grown = growing->lower();
  EXPECT_TRUE(
      grown.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0.0));
}

TEST(GrowingCholeskyTest, DuplicateRowKeepsThePivotFloor) {
  const Eigen::MatrixXd k = RandomCovariance(3, 1);
  absl::StatusOr<GrowingCholesky> growing = GrowingCholesky::Factor(k, 1e-6);
  ASSERT_TRUE(growing.ok());
  // Row 0 again, with the same variance: singular without the floor.
  ASSERT_TRUE(growing->Append(k.row(0).transpose(), k(0, 0)).ok());
  EXPECT_NEAR(growing->lower()(3, 3), 1e-3, 1e-12);
}

}  // namespace
}  // namespace sweep::gp
