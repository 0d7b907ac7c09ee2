// The acquisition function (log expected improvement) and its maximization
// over the unit cube. Thread-safe.
#ifndef SWEEP_SEARCH_GP_ACQUISITION_H_
#define SWEEP_SEARCH_GP_ACQUISITION_H_

#include <Eigen/Core>
#include <functional>

namespace sweep::gp {

// log h(z) for h(z) = phi(z) + z Phi(z), accurate for every finite z: far
// below the incumbent (z very negative) h underflows long before its log
// does. The formulation of Ament et al., "Unexpected Improvements to Expected
// Improvement for Bayesian Optimization" (NeurIPS 2023), eq. (9), with erfcx.
double LogH(double z);

// d log h / dz = Phi(z) / h(z), as accurately.
double LogHDerivative(double z);

// exp(x^2) erfc(x), the scaled complementary error function, for x >= 0.
double Erfcx(double x);

struct LogEi {
  double value = 0;
  double d_mean = 0;    // d value / d mean
  double d_stddev = 0;  // d value / d stddev
};

// log E[max(best - f, 0)] for f ~ N(mean, stddev^2), stddev > 0 (a
// minimization: improvement means going below `best`).
LogEi LogExpectedImprovement(double mean, double stddev, double best);

// An acquisition over a batch of points (rows of `points`): writes one value
// per point, and when `gradients` is not null, the gradient of each point's
// value as the matching row.
using BatchAcquisition =
    std::function<void(const Eigen::MatrixXd& points, Eigen::VectorXd* values,
                       Eigen::MatrixXd* gradients)>;

// Values of `acquisition` at every row of `points`, in batches of
// `batch_size` rows (bounding the memory a batch takes).
Eigen::VectorXd ScoreInBatches(const BatchAcquisition& acquisition,
                               const Eigen::MatrixXd& points, int batch_size);

struct RefinedPoints {
  Eigen::MatrixXd points;  // One row per start.
  Eigen::VectorXd values;
};

// Local maximization of `acquisition` from each row of `starts` within
// [0, 1]^d. The starts are refined jointly, as one L-BFGS problem on the sum
// of their values (their gradients are independent), so that each evaluation
// is one batch: with the GP's solves batched, a step for 16 starts costs far
// less than 16 steps. `max_evaluations` bounds the batches evaluated. Each
// returned point is at least as good as its start.
RefinedPoints RefineJointly(const BatchAcquisition& acquisition,
                            const Eigen::MatrixXd& starts, int max_evaluations);

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_ACQUISITION_H_
