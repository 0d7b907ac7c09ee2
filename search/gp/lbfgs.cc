#include "search/gp/lbfgs.h"

#include <nlopt.h>

#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

namespace sweep::gp {
namespace {

// What NLopt is told for an infeasible point: low enough to be rejected by
// the line search, finite so that its arithmetic stays sane.
constexpr double kInfeasibleValue = -1e100;

struct Search {
  const Objective* objective;
  Eigen::VectorXd best_x;
  double best_value = -std::numeric_limits<double>::infinity();
  int evaluations = 0;
};

double Evaluate(unsigned n, const double* x, double* gradient, void* data) {
  Search& search = *static_cast<Search*>(data);
  ++search.evaluations;
  const Eigen::Map<const Eigen::VectorXd> point(x, n);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(n);
  const double value =
      (*search.objective)(point, gradient != nullptr ? &g : nullptr);
  const bool usable = std::isfinite(value) && g.allFinite();
  if (gradient != nullptr) {
    Eigen::Map<Eigen::VectorXd>(gradient, n) =
        usable ? g : Eigen::VectorXd::Zero(n);
  }
  if (!usable) return kInfeasibleValue;
  if (value > search.best_value) {
    search.best_value = value;
    search.best_x = point;
  }
  return value;
}

using OptimizerPtr =
    std::unique_ptr<std::remove_pointer_t<nlopt_opt>, void (*)(nlopt_opt)>;

}  // namespace

LbfgsResult MaximizeInBox(const Objective& objective,
                          const Eigen::VectorXd& start,
                          const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper,
                          const LbfgsOptions& options) {
  const auto n = static_cast<unsigned>(start.size());
  Eigen::VectorXd x = start.cwiseMax(lower).cwiseMin(upper);
  Search search{&objective, x};
  if (n == 0) {
    search.best_value = objective(x, nullptr);
    return {x, search.best_value, 1};
  }
  OptimizerPtr optimizer(nlopt_create(NLOPT_LD_LBFGS, n), nlopt_destroy);
  if (optimizer == nullptr) {
    // Out of memory in NLopt: the start is all that can be offered.
    const double value = objective(x, nullptr);
    return {
        x,
        std::isfinite(value) ? value : -std::numeric_limits<double>::infinity(),
        1};
  }
  nlopt_set_lower_bounds(optimizer.get(), lower.data());
  nlopt_set_upper_bounds(optimizer.get(), upper.data());
  nlopt_set_max_objective(optimizer.get(), Evaluate, &search);
  nlopt_set_maxeval(optimizer.get(), options.max_evaluations);
  nlopt_set_ftol_rel(optimizer.get(), options.relative_tolerance);
  nlopt_set_xtol_rel(optimizer.get(), options.relative_tolerance);
  double value = 0;
  // Every outcome, failures included, leaves the best point in `search`.
  nlopt_optimize(optimizer.get(), x.data(), &value);
  return {search.best_x, search.best_value, search.evaluations};
}

}  // namespace sweep::gp
