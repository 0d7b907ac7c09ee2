// The map from objective values (to be minimized) to the scale the GP models.
// Objectives of hyperparameter searches are often heavy-tailed (a loss that
// spans orders of magnitude, a diverged run imputed at the worst value), and a
// GP with Gaussian noise fitted to such values spends its length scales on
// the outliers. So values go through a power transform chosen by maximum
// likelihood, as HEBO does (Cowen-Rivers et al., 2022):
//   all values > 0: Box-Cox on values / their geometric mean; lambda near 0
//     is the log warp, which resolves 1e-3 from 1e-2 as well as 10 from 100;
//   otherwise: Yeo-Johnson on the standardized values;
// then the result is standardized. Unlike HEBO, lambda is kept in [-2, 1]:
// the transform may compress the bad (high) values and stretch the good
// ones, never the reverse, which would spend the model's resolution on
// differences among failures (a plateau of bad values pulls the likelihood
// towards lambda = 2). Monotone increasing, so "lower is better" is kept.
// Immutable and thread-safe.
#ifndef SWEEP_SEARCH_GP_OUTPUT_TRANSFORM_H_
#define SWEEP_SEARCH_GP_OUTPUT_TRANSFORM_H_

#include <Eigen/Core>

namespace sweep::gp {

class OutputTransform {
 public:
  enum class Family { kIdentity, kBoxCox, kYeoJohnson };

  // The identity.
  OutputTransform() = default;

  // The transform for `values` (finite). Fewer than three distinct values
  // only get standardized.
  static OutputTransform Fit(const Eigen::VectorXd& values);

  // The affine map that standardizes `values`, without a power.
  static OutputTransform Standardize(const Eigen::VectorXd& values);

  // sum_i log Forward'(values[i]): with the model's log likelihood of the
  // transformed values, the log likelihood of the values themselves, which
  // is what tells two transforms apart (a warped GP's criterion, Snelson et
  // al. 2004).
  double LogJacobian(const Eigen::VectorXd& values) const;

  // To the model's scale. Values outside what Fit saw are fine (Box-Cox
  // needs them positive: others are clamped to the smallest positive
  // double).
  double Forward(double value) const;
  Eigen::VectorXd Forward(const Eigen::VectorXd& values) const;

  // Back to the objective's scale: the inverse of Forward, extended to the
  // whole line by clamping where the inverse power has no value.
  double Inverse(double z) const;

  // What `stddev` around `mean` (the model's scale) is on the objective's
  // scale: half the width of [Inverse(mean - stddev), Inverse(mean +
  // stddev)]. Where one end saturates (the inverse power has no value that
  // far out, and Inverse clamps to the largest double), the half-width on
  // the other side; infinity when both do.
  double InverseHalfWidth(double mean, double stddev) const;

  Family family() const { return family_; }
  double lambda() const { return lambda_; }

 private:
  static OutputTransform Fit(const Eigen::VectorXd& values, bool warp);

  Family family_ = Family::kIdentity;
  double lambda_ = 1;
  // Applied before the power: (value - pre_shift) / pre_scale.
  double pre_shift_ = 0;
  double pre_scale_ = 1;
  // Applied after it: (power - post_mean) / post_scale.
  double post_mean_ = 0;
  double post_scale_ = 1;
};

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_OUTPUT_TRANSFORM_H_
