// Cholesky factors of covariance matrices, with the failures checked: jitter
// on the diagonal is escalated when a factorization breaks down, and a matrix
// that stays indefinite (or holds NaN) is an error status, never a silent
// garbage factor. Thread-compatible.
#ifndef SWEEP_SEARCH_GP_CHOLESKY_H_
#define SWEEP_SEARCH_GP_CHOLESKY_H_

#include <Eigen/Core>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sweep::gp {

struct JitteredFactor {
  Eigen::MatrixXd lower;  // L with L L^T = a + jitter I; zero above.
  double jitter = 0;      // What had to be added to the diagonal.
};

// Factors the symmetric `a` (only its lower triangle is read), adding
// jitter = 1e-10, 1e-9, ..., 1e-4 times the mean diagonal when a plain
// factorization fails. InvalidArgument for a non-square matrix or a
// non-finite entry; FailedPrecondition when `a` is not positive definite even
// with the largest jitter.
absl::StatusOr<JitteredFactor> JitteredCholesky(const Eigen::MatrixXd& a);

// The same, for repeated factorizations of matrices of one size: L goes to
// the lower triangle of `*lower` (its storage reused; the strict upper
// triangle is left unspecified), and the jitter used is returned.
absl::StatusOr<double> JitteredCholeskyInto(const Eigen::MatrixXd& a,
                                            Eigen::MatrixXd* lower);

// The lower factor L of an n x n covariance matrix that grows one row at a
// time in O(n^2) per row, for the Bayesian search's cache: observations
// arrive one by one, so a factor extended by the new rows replaces a fresh
// O(n^3) factorization. Extending by rows, however grouped, gives
// bit-identical results, and the storage layout is a function of the rows
// appended, so a factor grown call by call equals one grown in one go.
class GrowingCholesky {
 public:
  GrowingCholesky() = default;

  // The factor of `a` (JitteredCholesky). Rows appended later have their
  // pivot kept at least the jitter used here (and at least `min_pivot`).
  static absl::StatusOr<GrowingCholesky> Factor(const Eigen::MatrixXd& a,
                                                double min_pivot);

  int size() const { return size_; }

  // Appends a row and column to the factored matrix: `cross` holds the new
  // row's covariances with the size() previous ones, `diagonal` its
  // variance. InvalidArgument for a non-finite input; the factor is
  // unchanged on error.
  absl::Status Append(const Eigen::VectorXd& cross, double diagonal);

  // L (size() x size(), lower triangular).
  Eigen::Block<const Eigen::MatrixXd> lower() const {
    return storage_.topLeftCorner(size_, size_);
  }

  // L^{-1} b and L^{-T} b for b with size() rows.
  Eigen::MatrixXd SolveLower(const Eigen::MatrixXd& b) const;
  Eigen::MatrixXd SolveUpper(const Eigen::MatrixXd& b) const;

 private:
  Eigen::MatrixXd storage_;  // capacity x capacity; the top-left L is used.
  int size_ = 0;
  double min_pivot_ = 0;  // Lower bound on appended squared pivots.
};

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_CHOLESKY_H_
