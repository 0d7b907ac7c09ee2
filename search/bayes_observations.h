// What the trials of a sweep tell the Bayesian search (spec section 4): the
// value each ended trial contributes, on the unit cube of the space
// encoding. Thread-safe.
#ifndef SWEEP_SEARCH_BAYES_OBSERVATIONS_H_
#define SWEEP_SEARCH_BAYES_OBSERVATIONS_H_

#include <Eigen/Core>
#include <optional>

#include "search/searcher.h"
#include "search/space_encoding.h"
#include "search/spec.h"

namespace sweep {

// Values are on the model's side of the goal: lower is better (a maximized
// metric is negated).
struct BayesObservations {
  // One row per trial that contributes a value, in the order of
  // context.finished; `values` aligned.
  Eigen::MatrixXd points;
  Eigen::VectorXd values;
  // Trials that contribute no value but must not be proposed again, and
  // count as pending for the model (fantasies): those without a value when
  // nothing can be imputed yet, and any still marked running.
  Eigen::MatrixXd unvalued;
  // context.pending, encoded.
  Eigen::MatrixXd pending;
  // What a pending trial observes in the model: the impute value of
  // metric.impute_while_running when that is set (a "constant liar");
  // nullopt for the default, where a pending trial only shrinks the variance
  // around it (the kriging believer).
  std::optional<double> pending_value;
};

// Which value each ended trial contributes:
//   finished or stopped (early-terminated), with a finite objective: the
//     objective, as it was logged (a stopped trial, what it showed);
//   failed, crashed or killed, whatever they logged, and finished or
//     stopped ones without a finite objective (crashed before logging, or a
//     diverged NaN/inf loss): the impute value of metric.impute, over the
//     trials of the first kind:
//       worst: the worst of their values;
//       best: the best of them;
//       latest: the value of the last of them in context.finished order
//         (the most recent trial to end with a value);
//     and when no trial of the first kind exists yet, nothing (`unvalued`).
// `spec.metric` must be set.
BayesObservations CollectObservations(const SearchContext& context,
                                      const SpaceEncoding& encoding);

}  // namespace sweep

#endif  // SWEEP_SEARCH_BAYES_OBSERVATIONS_H_
