#include "search/bayes_model.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <optional>
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

// Up to this many fit rows, the hyperparameters are fitted on all of them,
// from the fixed starts, with and without the power transform.
constexpr int kFullFitPoints = 96;
// Beyond, that choice and a first estimate come from this many of the rows,
// and the estimate is refined on all of them with a few evaluations: the
// multi-start search costs O(rows^3) per evaluation, so it runs where rows
// are few.
constexpr int kCoarseFitPoints = 64;
constexpr int kRefineEvaluations = 20;

// The observations a fit uses, among the first r: all of them, or beyond
// `limit` the best quarter (the region the search cares about) and evenly
// spaced others (the overall trend).
std::vector<int> FitRows(const Eigen::VectorXd& values, int r, int limit) {
  std::vector<int> rows(r);
  std::iota(rows.begin(), rows.end(), 0);
  if (r <= limit) return rows;
  std::vector<int> by_value = rows;
  std::stable_sort(by_value.begin(), by_value.end(),
                   [&](int a, int b) { return values[a] < values[b]; });
  const int best_count = limit / 4;
  std::vector<bool> chosen(r, false);
  for (int i = 0; i < best_count; ++i) chosen[by_value[i]] = true;
  std::vector<int> others;
  for (int i = 0; i < r; ++i) {
    if (!chosen[i]) others.push_back(i);
  }
  const int spread_count = limit - best_count;
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

// The points and values of some observations.
struct FitData {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

FitData Gather(const BayesObservations& observations,
               const std::vector<int>& rows) {
  FitData data{Eigen::MatrixXd(static_cast<Eigen::Index>(rows.size()),
                               observations.points.cols()),
               Eigen::VectorXd(static_cast<Eigen::Index>(rows.size()))};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    data.x.row(row) = observations.points.row(rows[i]);
    data.y[row] = observations.values[rows[i]];
  }
  return data;
}

// The exact inputs of a fit, for the memo's key.
std::vector<double> FitInputs(int checkpoint,
                              std::initializer_list<const FitData*> data) {
  std::vector<double> inputs{static_cast<double>(checkpoint)};
  for (const FitData* d : data) {
    inputs.push_back(static_cast<double>(d->y.size()));
    inputs.insert(inputs.end(), d->x.data(), d->x.data() + d->x.size());
    inputs.insert(inputs.end(), d->y.data(), d->y.data() + d->y.size());
  }
  return inputs;
}

gp::OutputTransform TransformFor(bool warp, const Eigen::VectorXd& y) {
  return warp ? gp::OutputTransform::Fit(y)
              : gp::OutputTransform::Standardize(y);
}

struct ModelChoice {
  gp::Hyperparameters fit;
  bool warp = true;
};

// The model of `data` with and without the power transform, each with its
// MAP hyperparameters; the one under which the values themselves are
// likelier wins. The power transform helps heavy-tailed objectives, but turns
// a smooth minimum at 0 into a cusp (log x^2), which a plain GP models far
// better.
absl::StatusOr<ModelChoice> ChooseModel(const std::vector<int>& groups,
                                        const FitData& data) {
  gp::FitOptions options;
  options.max_evaluations_per_start = kFitEvaluations;
  std::optional<ModelChoice> best;
  double best_score = -std::numeric_limits<double>::infinity();
  absl::Status last_error = absl::OkStatus();
  for (const bool warp : {true, false}) {
    const gp::OutputTransform transform = TransformFor(warp, data.y);
    if (warp && transform.family() == gp::OutputTransform::Family::kIdentity) {
      continue;  // Too few distinct values: the same as not warping.
    }
    const Eigen::VectorXd z = transform.Forward(data.y);
    absl::StatusOr<gp::Hyperparameters> fit =
        gp::FitHyperparameters(groups, data.x, z, options);
    if (!fit.ok()) {
      last_error = fit.status();
      continue;
    }
    absl::StatusOr<double> likelihood =
        gp::LogMarginalLikelihood(groups, *fit, data.x, z, nullptr);
    if (!likelihood.ok()) continue;
    const double score = *likelihood + gp::LogPrior(*fit, nullptr) +
                         transform.LogJacobian(data.y);
    if (score > best_score) {
      best_score = score;
      best = ModelChoice{*std::move(fit), warp};
    }
  }
  if (best.has_value()) return *std::move(best);
  return last_error.ok() ? absl::FailedPreconditionError(
                               "no model of the observations could be fitted")
                         : last_error;
}

absl::Status UpdateFit(const BayesObservations& observations,
                       const std::vector<int>& groups, int checkpoint,
                       ModelMemo* memo) {
  const std::vector<int> rows =
      FitRows(observations.values, checkpoint, kMaxFitPoints);
  const bool coarse_first = static_cast<int>(rows.size()) > kFullFitPoints;
  const FitData fine = Gather(observations, rows);
  const FitData coarse =
      coarse_first ? Gather(observations, FitRows(observations.values,
                                                  checkpoint, kCoarseFitPoints))
                   : FitData();
  std::vector<double> inputs = coarse_first
                                   ? FitInputs(checkpoint, {&coarse, &fine})
                                   : FitInputs(checkpoint, {&fine});
  if (inputs == memo->fit_inputs) return absl::OkStatus();
  memo->fit_inputs.clear();
  ASSIGN_OR_RETURN(ModelChoice choice,
                   ChooseModel(groups, coarse_first ? coarse : fine));
  if (coarse_first) {
    // The refinement starts from the coarse estimate and keeps the best point
    // it evaluates, so it can only improve on it; if every evaluation fails,
    // the coarse estimate stands.
    gp::FitOptions options;
    options.max_evaluations_per_start = kRefineEvaluations;
    options.starts = {choice.fit};
    absl::StatusOr<gp::Hyperparameters> refined = gp::FitHyperparameters(
        groups, fine.x, TransformFor(choice.warp, fine.y).Forward(fine.y),
        options);
    if (refined.ok()) choice.fit = *std::move(refined);
  }
  memo->fit = std::move(choice.fit);
  memo->warp = choice.warp;
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
