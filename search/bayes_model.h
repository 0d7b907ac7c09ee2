// The Gaussian-process model behind one Bayesian suggestion, and the memo
// that lets the next call skip most of its cost.
//
// Cost and purity. A searcher is pure: the same inputs must give the same
// suggestion, whatever calls came before. The two expensive steps are made
// functions of the inputs alone, then memoized:
//   - the hyperparameters are fitted on the first R observations, where R is
//     the largest "checkpoint" not above n (every n up to 30, then each 20%
//     more); beyond kMaxFitPoints of them, on a fixed subset (the best
//     quarter by value and evenly spaced others). Up to 96 fit rows the fit
//     is a multi-start search on all of them; beyond, the multi-start search
//     (and the choice of output transform) runs on a 64-row subset chosen the
//     same way, and its result is refined on all the fit rows by a few
//     L-BFGS steps: each evaluation costs O(rows^3), so the many evaluations
//     run where rows are few. Between checkpoints the fit's inputs do not
//     change, so a memo keyed on those exact inputs answers the fit;
//   - the covariance's Cholesky factor is defined as the factor of the first
//     R rows extended one row at a time (GrowingCholesky), which a memo
//     holding the factor of a prefix reproduces bit for bit by appending the
//     new rows: O(n^2) per new observation instead of O(n^3).
// So a searcher that has served earlier calls and a fresh one give identical
// suggestions; the memo only saves time. The posterior is always conditioned
// on every observation.
//
// Output transform. Each fit is made twice, on the values through the power
// transform of gp/output_transform.h and on the values only standardized;
// the model under which the raw values are likelier (marginal likelihood,
// prior and the transform's Jacobian) is kept, with its transform refitted on
// every observation at each call.
#ifndef SWEEP_SEARCH_BAYES_MODEL_H_
#define SWEEP_SEARCH_BAYES_MODEL_H_

#include <Eigen/Core>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "search/bayes_observations.h"
#include "search/gp/cholesky.h"
#include "search/gp/gaussian_process.h"
#include "search/gp/output_transform.h"
#include "search/space_encoding.h"

namespace sweep {

// Hyperparameters are fitted on at most this many observations.
inline constexpr int kMaxFitPoints = 128;

// The number of leading observations the hyperparameters are fitted on when
// there are n: the largest checkpoint <= n.
int FitCheckpoint(int n);

// The length-scale group of each dimension of `encoding`: one per numeric
// dimension, one shared by a categorical's one-hot dimensions.
std::vector<int> LengthScaleGroups(const SpaceEncoding& encoding);

// What a call leaves for the next. Thread-compatible: the searcher hands it
// to one call at a time.
struct ModelMemo {
  // The last hyperparameter fit: its exact inputs, and its result.
  std::vector<double> fit_inputs;
  gp::Hyperparameters fit;
  bool warp = true;  // Whether values go through the power transform.
  // The factor of the first factor_points.rows() observations' covariance
  // under `factor_fit`, started from `factor_start` rows.
  int factor_start = -1;
  gp::Hyperparameters factor_fit;
  Eigen::MatrixXd factor_points;
  gp::GrowingCholesky factor;
};

// The model of one call. It refers to the memo's factor: the memo must
// outlive it and stay unchanged meanwhile.
struct BayesModel {
  gp::OutputTransform transform;  // Objective values to the model's scale.
  std::optional<gp::Posterior> posterior;
  // The lowest posterior mean at an observation or a fantasy.
  double incumbent = 0;
  // Observations in order of their posterior mean, lowest first (at most a
  // few), for local candidates.
  std::vector<int> best_observations;
};

// Builds the model for `observations` (at least one row), reusing and
// updating `memo`. Pending points and unvalued trials are fantasies. An
// error status when the covariance cannot be factored.
absl::StatusOr<BayesModel> BuildModel(const BayesObservations& observations,
                                      const std::vector<int>& groups,
                                      ModelMemo* memo);

}  // namespace sweep

#endif  // SWEEP_SEARCH_BAYES_MODEL_H_
