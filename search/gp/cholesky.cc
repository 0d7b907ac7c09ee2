#include "search/gp/cholesky.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sweep::gp {
namespace {

constexpr double kFirstJitter = 1e-10;  // Relative to the mean diagonal.
constexpr double kLastJitter = 1e-4;

// Room for this many rows before the storage is reallocated: a function of
// the size alone, so equal growth histories give equal layouts.
Eigen::Index CapacityFor(Eigen::Index rows) {
  const Eigen::Index wanted = rows + rows / 4 + 16;
  return (wanted + 63) / 64 * 64;
}

// Eigen's LLT reports a non-positive pivot but lets NaN through.
template <typename Llt>
bool FactorIsUsable(const Llt& llt) {
  return llt.info() == Eigen::Success &&
         llt.matrixLLT().diagonal().allFinite() &&
         (llt.matrixLLT().diagonal().array() > 0).all();
}

// Factors `a` into the lower triangle of `lower` (same size; its strict upper
// triangle is left as it was), with the jitter JitteredCholesky describes.
absl::StatusOr<double> FactorInto(const Eigen::MatrixXd& a,
                                  Eigen::Ref<Eigen::MatrixXd> lower) {
  if (a.rows() != a.cols()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Cholesky of a non-square ", a.rows(), "x", a.cols(), " matrix"));
  }
  if (!a.allFinite()) {
    return absl::InvalidArgumentError("Cholesky of a non-finite matrix");
  }
  const Eigen::Index n = a.rows();
  if (n == 0) return 0.0;
  lower.triangularView<Eigen::Lower>() = a;
  const double scale = std::max(a.diagonal().mean(), 1e-300);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(lower);  // In place.
  double jitter = 0;
  for (double relative = kFirstJitter;
       !FactorIsUsable(llt) && relative <= kLastJitter * 1.0001;
       relative *= 10) {
    jitter = relative * scale;
    lower.triangularView<Eigen::Lower>() = a;
    lower.diagonal().array() += jitter;
    llt.compute(lower);
  }
  if (!FactorIsUsable(llt)) {
    return absl::FailedPreconditionError(
        absl::StrCat("covariance matrix of size ", n,
                     " is not positive definite, even with jitter ", jitter));
  }
  return jitter;
}

}  // namespace

absl::StatusOr<double> JitteredCholeskyInto(const Eigen::MatrixXd& a,
                                            Eigen::MatrixXd* lower) {
  lower->resize(a.rows(), a.rows());
  return FactorInto(a, *lower);
}

absl::StatusOr<JitteredFactor> JitteredCholesky(const Eigen::MatrixXd& a) {
  JitteredFactor factor;
  absl::StatusOr<double> jitter = JitteredCholeskyInto(a, &factor.lower);
  if (!jitter.ok()) return jitter.status();
  factor.lower.triangularView<Eigen::StrictlyUpper>().setZero();
  factor.jitter = *jitter;
  return factor;
}

absl::StatusOr<GrowingCholesky> GrowingCholesky::Factor(
    const Eigen::MatrixXd& a, double min_pivot) {
  // Factored in place in the grown storage: at thousands of rows, every
  // n x n copy costs more in page faults than the arithmetic. The storage
  // beyond the factor is left unwritten until rows are appended.
  if (a.rows() != a.cols()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Cholesky of a non-square ", a.rows(), "x", a.cols(), " matrix"));
  }
  GrowingCholesky growing;
  const Eigen::Index n = a.rows();
  const Eigen::Index capacity = CapacityFor(n);
  growing.storage_.resize(capacity, capacity);
  auto factor = growing.storage_.topLeftCorner(n, n);
  absl::StatusOr<double> jitter = FactorInto(a, factor);
  if (!jitter.ok()) return jitter.status();
  factor.triangularView<Eigen::StrictlyUpper>().setZero();
  growing.size_ = static_cast<int>(n);
  growing.min_pivot_ = std::max(min_pivot, *jitter);
  return growing;
}

absl::Status GrowingCholesky::Append(const Eigen::VectorXd& cross,
                                     double diagonal) {
  if (cross.size() != size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("appending ", cross.size(), " covariances to a factor of ",
                     size_, " rows"));
  }
  if (!cross.allFinite() || !std::isfinite(diagonal)) {
    return absl::InvalidArgumentError("appending a non-finite covariance");
  }
  const Eigen::VectorXd row =
      size_ == 0 ? Eigen::VectorXd()
                 : Eigen::VectorXd(
                       lower().triangularView<Eigen::Lower>().solve(cross));
  // Rounding (or a duplicate point) can leave a pivot at or below zero; the
  // floor is the jitter the matrix needed anyway.
  const double pivot2 = std::max(diagonal - row.squaredNorm(), min_pivot_);
  if (!std::isfinite(pivot2) || pivot2 <= 0) {
    return absl::FailedPreconditionError(
        "appended covariance row makes the matrix indefinite");
  }
  if (size_ == storage_.rows()) {
    const Eigen::Index capacity = CapacityFor(size_ + 1);
    Eigen::MatrixXd grown(capacity, capacity);
    grown.topLeftCorner(size_, size_) = lower();
    storage_ = std::move(grown);
  }
  storage_.block(size_, 0, 1, size_) = row.transpose();
  storage_.col(size_).head(size_).setZero();
  storage_(size_, size_) = std::sqrt(pivot2);
  ++size_;
  return absl::OkStatus();
}

Eigen::MatrixXd GrowingCholesky::SolveLower(const Eigen::MatrixXd& b) const {
  return lower().triangularView<Eigen::Lower>().solve(b);
}

Eigen::MatrixXd GrowingCholesky::SolveUpper(const Eigen::MatrixXd& b) const {
  return lower().transpose().triangularView<Eigen::Upper>().solve(b);
}

}  // namespace sweep::gp
