// Box-constrained maximization with NLopt's L-BFGS, behind a small
// Eigen-typed interface, for the hyperparameter fit and the acquisition
// optimizer. Thread-safe (each call owns its optimizer).
#ifndef SWEEP_SEARCH_GP_LBFGS_H_
#define SWEEP_SEARCH_GP_LBFGS_H_

#include <Eigen/Core>
#include <functional>

namespace sweep::gp {

// The function to maximize: its value at x, and its gradient written to
// `gradient` (already sized) when that is not null. A non-finite value marks
// x as infeasible; the search backs away from it.
using Objective =
    std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* gradient)>;

struct LbfgsOptions {
  int max_evaluations = 50;
  double relative_tolerance = 1e-7;  // On the value and on x.
};

struct LbfgsResult {
  Eigen::VectorXd x;  // The best point evaluated (`start` if none was finite).
  double value = 0;   // Its value (-infinity if none was finite).
  int evaluations = 0;
};

// Maximizes `objective` over the box [lower, upper] from `start` (clamped to
// the box). The best point seen is returned whatever NLopt reports (it stops
// on round-off in flat regions, which is no failure here).
LbfgsResult MaximizeInBox(const Objective& objective,
                          const Eigen::VectorXd& start,
                          const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper,
                          const LbfgsOptions& options);

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_LBFGS_H_
