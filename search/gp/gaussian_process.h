// Gaussian-process regression on the unit cube: a constant mean, the
// Matérn-5/2 ARD kernel (kernel.h) and Gaussian noise, on standardized
// outputs. The marginal likelihood (with its analytic gradient) serves the
// hyperparameter fit (hyperparameter_fit.h); Posterior predicts the latent
// function given the observations and fantasies for pending points.
#ifndef SWEEP_SEARCH_GP_GAUSSIAN_PROCESS_H_
#define SWEEP_SEARCH_GP_GAUSSIAN_PROCESS_H_

#include <Eigen/Core>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "search/gp/cholesky.h"
#include "search/gp/kernel.h"

namespace sweep::gp {

// Everything but the mean in log space. The optimizer's vector (Pack) is
// (log l_0 .. log l_{G-1}, log s2, log noise, mean).
struct Hyperparameters {
  Eigen::VectorXd log_length_scales;  // One per length-scale group.
  double log_signal_variance = 0;
  double log_noise_variance = -9;
  double mean = 0;

  int size() const { return static_cast<int>(log_length_scales.size()) + 3; }
  Eigen::VectorXd Pack() const;
  static Hyperparameters Unpack(const Eigen::VectorXd& packed);
  double noise_variance() const;
  Matern52Kernel KernelFor(std::vector<int> groups) const;

  friend bool operator==(const Hyperparameters& a, const Hyperparameters& b);
};

// The noise variance never goes below this: it also keeps K well conditioned.
inline constexpr double kMinNoiseVariance = 1e-6;

// log p(y | x, h) for the rows of `x` and the values `y`; with `gradient`,
// also its gradient with respect to h.Pack(). An error status when the
// covariance cannot be factored (JitteredCholesky).
absl::StatusOr<double> LogMarginalLikelihood(const std::vector<int>& groups,
                                             const Hyperparameters& h,
                                             const Eigen::MatrixXd& x,
                                             const Eigen::VectorXd& y,
                                             Eigen::VectorXd* gradient);

// LogMarginalLikelihood for many h on the same data, as the fit needs: the
// n x n buffers are kept from one evaluation to the next (allocating them
// anew costs as much as the arithmetic). Thread-compatible.
class MarginalLikelihood {
 public:
  // `x` and `y` must outlive this object.
  MarginalLikelihood(std::vector<int> groups, const Eigen::MatrixXd& x,
                     const Eigen::VectorXd& y)
      : groups_(std::move(groups)), x_(x), y_(y) {}

  absl::StatusOr<double> Evaluate(const Hyperparameters& h,
                                  Eigen::VectorXd* gradient);

 private:
  const std::vector<int> groups_;
  const Eigen::MatrixXd& x_;
  const Eigen::VectorXd& y_;
  Matern52Kernel::Gram gram_;
  Eigen::MatrixXd covariance_;  // K + noise I.
  Eigen::MatrixXd factor_;      // L in the lower triangle; then W.
  Eigen::MatrixXd inverse_;     // L^{-1}.
};

// The covariance of the observations, K(x, x) + noise I, factored so that it
// can be extended by further observations.
absl::StatusOr<GrowingCholesky> FactorObservations(const Matern52Kernel& kernel,
                                                   double noise_variance,
                                                   const Eigen::MatrixXd& x);

// Extends `factor` (of the first factor->size() rows of `x`) to every row.
absl::Status ExtendFactor(const Matern52Kernel& kernel, double noise_variance,
                          const Eigen::MatrixXd& x, GrowingCholesky* factor);

// What the model says about a batch of points (rows): the latent function's
// mean and variance, and with gradients requested, their gradients (row i
// for point i).
struct Prediction {
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;
  Eigen::MatrixXd mean_gradient;
  Eigen::MatrixXd variance_gradient;
};

// The posterior given observations (x, y) and fantasies: pending points
// whose outcome is not known. A fantasy observes `fantasy_value` when given
// (a constant liar), else the posterior mean there (the kriging believer,
// which leaves the mean unchanged and only shrinks the variance around the
// pending point); either way without noise, so that the variance at the
// pending point collapses. Fantasies are a block appended to the
// observations' factor, so they cost O(p n^2), not a new factorization.
// Immutable; thread-safe.
class Posterior {
 public:
  // `factor` is FactorObservations(kernel, noise, x) (possibly extended by
  // ExtendFactor) and must outlive the posterior. `fantasies` holds the
  // pending points as rows (possibly none).
  static absl::StatusOr<Posterior> Create(const std::vector<int>& groups,
                                          const Hyperparameters& h,
                                          Eigen::MatrixXd x, Eigen::VectorXd y,
                                          const GrowingCholesky& factor,
                                          Eigen::MatrixXd fantasies,
                                          std::optional<double> fantasy_value);

  Prediction Predict(const Eigen::MatrixXd& points, bool with_gradient) const;

  // The posterior mean alone: O(n d) per point, where Predict is O(n^2).
  Eigen::VectorXd PredictMean(const Eigen::MatrixXd& points) const;

  // The posterior covariance between the rows of `points` (m x m, its
  // diagonal Predict's variances), for drawing a joint sample of the
  // objective there: O(n^2 m + n m^2).
  Eigen::MatrixXd JointCovariance(const Eigen::MatrixXd& points) const;

  // The fantasized points, as rows.
  const Eigen::MatrixXd& fantasies() const { return fantasies_; }

  // The posterior mean at every observation, in order.
  Eigen::VectorXd MeanAtObservations() const;

  int observations() const { return static_cast<int>(x_.rows()); }
  const Matern52Kernel& kernel() const { return kernel_; }

 private:
  Posterior(Matern52Kernel kernel, double mean, double noise_variance)
      : kernel_(std::move(kernel)),
        mean_(mean),
        noise_variance_(noise_variance) {}

  Matern52Kernel kernel_;
  double mean_;
  double noise_variance_;
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  const GrowingCholesky* factor_ = nullptr;  // Of the observations; not owned.
  // The fantasies' block of the factor: [L 0; B C].
  Eigen::MatrixXd fantasies_;
  Eigen::MatrixXd cross_block_;    // B = K(fantasies, x) L^{-T}.
  Eigen::MatrixXd fantasy_lower_;  // C.
  // K_aug^{-1} (y_aug - mean), split over observations and fantasies.
  Eigen::VectorXd alpha_x_;
  Eigen::VectorXd alpha_p_;
};

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_GAUSSIAN_PROCESS_H_
