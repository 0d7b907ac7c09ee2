#include "search/bayes_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "search/gp/hyperparameter_fit.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

// Up to this many observations, every call refits the hyperparameters.
constexpr int kRefitEveryUntil = 30;
// Beyond, a refit once the observations grew by this factor.
constexpr double kRefitGrowth = 1.2;
// L-BFGS evaluations per start of the hyperparameter fit.
constexpr int kFitEvaluations = 60;
// How many of the best observations seed local candidates.
constexpr int kBestObservations = 5;

// The observations the hyperparameters are fitted on, among the first r:
// all of them, or beyond kMaxFitPoints the best quarter (the region the
// search cares about) and evenly spaced others (the overall trend).
std::vector<int> FitRows(const Eigen::VectorXd& values, int r) {
  std::vector<int> rows(r);
  std::iota(rows.begin(), rows.end(), 0);
  if (r <= kMaxFitPoints) return rows;
  std::vector<int> by_value = rows;
  std::stable_sort(by_value.begin(), by_value.end(),
                   [&](int a, int b) { return values[a] < values[b]; });
  const int best_count = kMaxFitPoints / 4;
  std::vector<bool> chosen(r, false);
  for (int i = 0; i < best_count; ++i) chosen[by_value[i]] = true;
  std::vector<int> others;
  for (int i = 0; i < r; ++i) {
    if (!chosen[i]) others.push_back(i);
  }
  const int spread_count = kMaxFitPoints - best_count;
  const auto others_size = static_cast<int64_t>(others.size());
  for (int i = 0; i < spread_count; ++i) {
    chosen[others[static_cast<std::size_t>(i * others_size / spread_count)]] =
        true;
  }
  rows.clear();
  for (int i = 0; i < r; ++i) {
    if (chosen[i]) rows.push_back(i);
  }
  return rows;
}

// The exact inputs of a fit, for the memo's key.
std::vector<double> FitInputs(const Eigen::MatrixXd& x,
                              const Eigen::VectorXd& y, int checkpoint) {
  std::vector<double> inputs;
  inputs.reserve(1 + x.size() + y.size());
  inputs.push_back(checkpoint);
  inputs.insert(inputs.end(), x.data(), x.data() + x.size());
  inputs.insert(inputs.end(), y.data(), y.data() + y.size());
  return inputs;
}

absl::Status UpdateFit(const BayesObservations& observations,
                       const std::vector<int>& groups, int checkpoint,
                       ModelMemo* memo) {
  const std::vector<int> rows = FitRows(observations.values, checkpoint);
  const Eigen::Index d = observations.points.cols();
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()), d);
  Eigen::VectorXd y(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    x.row(static_cast<Eigen::Index>(i)) = observations.points.row(rows[i]);
    y[static_cast<Eigen::Index>(i)] = observations.values[rows[i]];
  }
  std::vector<double> inputs = FitInputs(x, y, checkpoint);
  if (inputs == memo->fit_inputs) return absl::OkStatus();
  // The model with and without the power transform, each with its MAP
  // hyperparameters; the one under which the values themselves are likelier
  // wins. The power transform helps heavy-tailed objectives, but turns a
  // smooth minimum at 0 into a cusp (log x^2), which a plain GP models far
  // better.
  gp::FitOptions options;
  options.max_evaluations_per_start = kFitEvaluations;
  double best_score = -std::numeric_limits<double>::infinity();
  absl::Status last_error = absl::OkStatus();
  for (const bool warp : {true, false}) {
    const gp::OutputTransform transform =
        warp ? gp::OutputTransform::Fit(y)
             : gp::OutputTransform::Standardize(y);
    if (warp && transform.family() == gp::OutputTransform::Family::kIdentity) {
      continue;  // Too few distinct values: the same as not warping.
    }
    const Eigen::VectorXd z = transform.Forward(y);
    absl::StatusOr<gp::Hyperparameters> fit =
        gp::FitHyperparameters(groups, x, z, options);
    if (!fit.ok()) {
      last_error = fit.status();
      continue;
    }
    absl::StatusOr<double> likelihood =
        gp::LogMarginalLikelihood(groups, *fit, x, z, nullptr);
    if (!likelihood.ok()) continue;
    const double score =
        *likelihood + gp::LogPrior(*fit, nullptr) + transform.LogJacobian(y);
    if (score > best_score) {
      best_score = score;
      memo->fit = *std::move(fit);
      memo->warp = warp;
    }
  }
  if (!std::isfinite(best_score)) {
    memo->fit_inputs.clear();
    return last_error.ok() ? absl::FailedPreconditionError(
                                 "no model of the observations could be fitted")
                           : last_error;
  }
  memo->fit_inputs = std::move(inputs);
  return absl::OkStatus();
}

absl::Status UpdateFactor(const Eigen::MatrixXd& points,
                          const std::vector<int>& groups, int checkpoint,
                          ModelMemo* memo) {
  const gp::Hyperparameters& h = memo->fit;
  const gp::Matern52Kernel kernel = h.KernelFor(groups);
  const double noise = h.noise_variance();
  const Eigen::Index cached = memo->factor_points.rows();
  const bool reusable = memo->factor_start == checkpoint &&
                        memo->factor_fit == h && cached <= points.rows() &&
                        memo->factor.size() == cached &&
                        memo->factor_points == points.topRows(cached);
  if (!reusable) {
    memo->factor_start = -1;
    ASSIGN_OR_RETURN(
        memo->factor,
        gp::FactorObservations(kernel, noise, points.topRows(checkpoint)));
    memo->factor_start = checkpoint;
    memo->factor_fit = h;
  }
  const absl::Status extended =
      gp::ExtendFactor(kernel, noise, points, &memo->factor);
  if (!extended.ok()) {
    memo->factor_start = -1;
    return extended;
  }
  memo->factor_points = points;
  return absl::OkStatus();
}

Eigen::MatrixXd Fantasies(const BayesObservations& observations) {
  Eigen::MatrixXd fantasies(
      observations.pending.rows() + observations.unvalued.rows(),
      observations.points.cols());
  fantasies << observations.pending, observations.unvalued;
  return fantasies;
}

}  // namespace

int FitCheckpoint(int n) {
  if (n <= kRefitEveryUntil) return n;
  int checkpoint = kRefitEveryUntil;
  while (true) {
    const auto next = static_cast<int>(std::ceil(checkpoint * kRefitGrowth));
    if (next > n) return checkpoint;
    checkpoint = next;
  }
}

std::vector<int> LengthScaleGroups(const SpaceEncoding& encoding) {
  std::vector<int> groups;
  int group = -1;
  int categorical = -1;  // The parameter of the previous category dimension.
  for (const EncodedDimension& dim : encoding.dims()) {
    const bool same_categorical =
        dim.kind == EncodedDimension::Kind::kCategory &&
        dim.parameter == categorical;
    if (!same_categorical) ++group;
    categorical =
        dim.kind == EncodedDimension::Kind::kCategory ? dim.parameter : -1;
    groups.push_back(group);
  }
  return groups;
}

absl::StatusOr<BayesModel> BuildModel(const BayesObservations& observations,
                                      const std::vector<int>& groups,
                                      ModelMemo* memo) {
  const auto n = static_cast<int>(observations.points.rows());
  const int checkpoint = FitCheckpoint(n);
  RETURN_IF_ERROR(UpdateFit(observations, groups, checkpoint, memo));
  RETURN_IF_ERROR(UpdateFactor(observations.points, groups, checkpoint, memo));

  BayesModel model;
  model.transform = memo->warp
                        ? gp::OutputTransform::Fit(observations.values)
                        : gp::OutputTransform::Standardize(observations.values);
  std::optional<double> liar;
  if (observations.pending_value.has_value()) {
    liar = model.transform.Forward(*observations.pending_value);
  }
  ASSIGN_OR_RETURN(
      gp::Posterior posterior,
      gp::Posterior::Create(groups, memo->fit, observations.points,
                            model.transform.Forward(observations.values),
                            memo->factor, Fantasies(observations), liar));
  const Eigen::VectorXd means = posterior.MeanAtObservations();
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const auto best = std::min<std::size_t>(kBestObservations, order.size());
  std::partial_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(best),
      order.end(), [&](int a, int b) {
        return means[a] < means[b] || (means[a] == means[b] && a < b);
      });
  order.resize(best);
  model.best_observations = std::move(order);
  // A fantasy counts as an observation of its value (the kriging believer's
  // mean, or the liar's value): otherwise a pending point predicted below the
  // incumbent keeps its improvement, and the next agents crowd around it.
  model.incumbent = means.minCoeff();
  if (posterior.fantasies().rows() > 0) {
    model.incumbent =
        std::min(model.incumbent,
                 posterior.PredictMean(posterior.fantasies()).minCoeff());
  }
  model.posterior = std::move(posterior);
  return model;
}

}  // namespace sweep
