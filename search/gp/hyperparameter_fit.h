// Fitting the GP's hyperparameters: the maximum a posteriori estimate under
// the priors below, by L-BFGS on the analytic gradient from a few fixed
// starts. The fit is deterministic (no random restarts), so the Bayesian
// search can cache it and still give the answer a fresh fit would.
//
// Priors, for inputs in the unit cube and standardized outputs:
//   log l   ~ N(0, sqrt(3)^2)  per length-scale group: a scale of about the
//             cube's side, from 0.18 to 5.7 within one sigma. Not the
//             dimension-scaled prior of Hvarfner et al. (2024), centered at
//             sqrt(2) + log(d) / 2 (11.6 at d = 8), tried here first: with a
//             few dozen values in 6-10 dimensions it made the GP nearly
//             linear across the cube, confident that the corners beyond the
//             data's downhill side were best, and the search spent most of
//             its budget there (Styblinski-Tang 8d: worse than random search
//             after 50 trials). Measured in the README;
//   log s2  ~ N(0, 2^2);
//   log noise variance ~ N(-6, 2^2): mostly near-deterministic objectives,
//             while a noisy one can still reach a noise of 0.1 and more;
//   mean    ~ N(0, 1).
// Thread-safe.
#ifndef SWEEP_SEARCH_GP_HYPERPARAMETER_FIT_H_
#define SWEEP_SEARCH_GP_HYPERPARAMETER_FIT_H_

#include <Eigen/Core>
#include <vector>

#include "absl/status/statusor.h"
#include "search/gp/gaussian_process.h"

namespace sweep::gp {

struct FitOptions {
  int max_evaluations_per_start = 60;
  // Where L-BFGS starts: when empty, the fixed starts (the prior's center,
  // and short length scales for objectives that vary quickly).
  std::vector<Hyperparameters> starts;
};

// The log prior density of h (up to a constant), and its gradient with
// respect to h.Pack() when `gradient` is not null.
double LogPrior(const Hyperparameters& h, Eigen::VectorXd* gradient);

// The box the fit searches, as packed vectors.
struct HyperparameterBounds {
  Eigen::VectorXd lower;
  Eigen::VectorXd upper;
};
HyperparameterBounds BoundsFor(int group_count);

// The MAP hyperparameters for observations (x, y): y should be standardized.
// An error status only when no start gives a factorable covariance.
absl::StatusOr<Hyperparameters> FitHyperparameters(
    const std::vector<int>& groups, const Eigen::MatrixXd& x,
    const Eigen::VectorXd& y, const FitOptions& options);

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_HYPERPARAMETER_FIT_H_
