// The Matérn-5/2 covariance with automatic relevance determination, on points
// of the unit cube (space_encoding.h). Input dimensions are gathered into
// length-scale groups: every numeric dimension is a group of its own, and the
// one-hot dimensions of a categorical share one group, so a categorical has a
// single "how much does changing the category matter" scale however many
// categories it has (two different categories are at squared distance 2/l^2).
// Immutable and thread-safe.
#ifndef SWEEP_SEARCH_GP_KERNEL_H_
#define SWEEP_SEARCH_GP_KERNEL_H_

#include <Eigen/Core>
#include <vector>

namespace sweep::gp {

// k(r) = s2 (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r), with
// r^2 = sum_j (a_j - b_j)^2 / l_{group(j)}^2.
class Matern52Kernel {
 public:
  // `groups[j]` in [0, G) is the group of input dimension j, and every group
  // in [0, G) holds at least one dimension; `log_length_scales` has G entries.
  Matern52Kernel(std::vector<int> groups, Eigen::VectorXd log_length_scales,
                 double log_signal_variance);

  int dimensions() const { return static_cast<int>(groups_.size()); }
  int group_count() const { return static_cast<int>(inverse_scale_.size()); }
  const std::vector<int>& groups() const { return groups_; }
  double signal_variance() const { return signal_variance_; }

  // k(x, x) for any x.
  double Diagonal() const { return signal_variance_; }

  // The covariances between the rows of `a` and the rows of `b` (points are
  // rows).
  Eigen::MatrixXd Cross(const Eigen::MatrixXd& a,
                        const Eigen::MatrixXd& b) const;

  // d k(x, b_i) / dx: row i holds the gradient for the i-th row of `b`.
  Eigen::MatrixXd CrossGradient(const Eigen::RowVectorXd& x,
                                const Eigen::MatrixXd& b) const;

  // K = Cross(x, x), with what its hyperparameter gradient needs: the
  // radial factor g_ij = -2 dk/d(r^2) at r_ij, so that
  // dK_ij/dlog l_g = g_ij sum_{a in g} (x_ia - x_ja)^2 / l_g^2.
  struct Gram {
    Eigen::MatrixXd k;
    Eigen::MatrixXd radial;
  };
  // Fills `gram`, reusing its storage when the sizes match (the fit calls
  // this for one x many times).
  void GramWithRadial(const Eigen::MatrixXd& x, Gram* gram) const;

  // For the marginal likelihood: sum_ij w_ij dK_ij/d(theta) for
  // theta = (log l_0, ..., log l_{G-1}, log s2), where `gram` is
  // GramWithRadial(x) and `w` is symmetric. Overwrites `w` (with
  // w .* gram.radial), to spare an n x n temporary.
  Eigen::VectorXd WeightedHyperGradient(const Eigen::MatrixXd& x,
                                        const Gram& gram,
                                        Eigen::MatrixXd* w) const;

 private:
  // The rows of `x` divided by their dimension's length scale.
  Eigen::MatrixXd Scaled(const Eigen::MatrixXd& x) const;
  // Squared scaled distances between the rows of `a` and `b`.
  Eigen::MatrixXd SquaredDistances(const Eigen::MatrixXd& a,
                                   const Eigen::MatrixXd& b) const;

  std::vector<int> groups_;
  Eigen::VectorXd inverse_scale_;               // 1 / l per group.
  Eigen::RowVectorXd dimension_inverse_scale_;  // 1 / l per dimension.
  double signal_variance_;
};

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_KERNEL_H_
