#include "search/bayes_search.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "search/bayes_model.h"
#include "search/bayes_observations.h"
#include "search/distribution.h"
#include "search/gp/acquisition.h"
#include "search/gp/cholesky.h"
#include "search/gp/quasi_random.h"
#include "search/random_search.h"
#include "search/space_encoding.h"
#include "search/value.h"

namespace sweep {
namespace {

using Kind = EncodedDimension::Kind;

// The scrambling of the initial design when the spec sets no seed.
constexpr uint64_t kDefaultDesignSeed = 0x5eed;
constexpr uint64_t kDesignSalt = 0xde51;
// Design points tried past the first unvisited index before giving up.
constexpr int kDesignLookahead = 256;

// Candidate budget. Scoring one candidate costs O(m^2) for m observations
// plus fantasies; up to kFullBudgetRows the counts below apply, beyond they
// shrink as 1/m^2 (to the minimums) so that a call stays near constant time
// (about 30 ms on one core at m = 500).
constexpr int kFullBudgetRows = 400;
constexpr int kQuasiRandomCandidates = 512;
constexpr int kLocalCandidates = 256;
constexpr int kMinQuasiRandomCandidates = 96;
constexpr int kMinLocalCandidates = 64;
constexpr int kRefinedStarts = 8;
constexpr int kRefineEvaluations = 40;
constexpr int kMinRefineEvaluations = 12;
constexpr int kScoreBatch = 128;
// With trials pending: candidates for a Thompson sample (fewer: a joint
// sample costs O(m^3) in their number m).
constexpr int kThompsonQuasiRandom = 256;
constexpr int kThompsonLocal = 128;
constexpr int kMinThompsonQuasiRandom = 64;
constexpr int kMinThompsonLocal = 32;

absl::flat_hash_set<std::string> VisitedKeys(const SearchContext& context) {
  absl::flat_hash_set<std::string> visited;
  for (const TrialRecord& trial : context.finished) {
    visited.insert(PointKey(trial.point));
  }
  for (const Point& point : context.pending) visited.insert(PointKey(point));
  return visited;
}

int InitialDesignSize(const SpaceEncoding& encoding) {
  return std::max(5, std::min(encoding.dimensions() + 1, 20));
}

// The first unvisited point of the initial design from index `first` on: a
// scrambled Halton sequence over the quantiles of the non-constant
// parameters.
std::optional<Point> DesignPoint(
    const SweepSpec& spec, uint64_t first,
    const absl::flat_hash_set<std::string>& visited) {
  int free_parameters = 0;
  for (const ParameterSpec& p : spec.parameters) {
    if (p.distribution != Distribution::kConstant) ++free_parameters;
  }
  const gp::ScrambledHalton halton(
      free_parameters,
      gp::MixSeed(spec.extension.seed.value_or(kDefaultDesignSeed),
                  kDesignSalt));
  for (uint64_t index = first; index < first + kDesignLookahead; ++index) {
    const Eigen::VectorXd u = halton.Point(index);
    Point point;
    int k = 0;
    for (const ParameterSpec& p : spec.parameters) {
      point.push_back(p.distribution == Distribution::kConstant
                          ? p.value
                          : ValueAtQuantile(p, u[k++]));
    }
    if (!visited.contains(PointKey(point))) return point;
  }
  return std::nullopt;
}

double StandardNormal(RandomEngine& rng) {
  const double u1 = 1.0 - UniformUnit(rng);  // In (0, 1].
  const double u2 = UniformUnit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// A copy of `x` moved a random step: numeric coordinates by a Gaussian of a
// random scale (each with probability max(0.2, 4/numeric dims)), a
// categorical switched to a random category with probability 0.2.
Eigen::VectorXd Perturbed(const SpaceEncoding& encoding,
                          const Eigen::VectorXd& x, RandomEngine& rng) {
  static constexpr double kScales[] = {0.01, 0.05, 0.15};
  const double scale = kScales[static_cast<int>(UniformUnit(rng) * 3)];
  const auto& dims = encoding.dims();
  int numeric = 0;
  for (const EncodedDimension& dim : dims)
    numeric += dim.kind != Kind::kCategory;
  const double move = std::max(0.2, 4.0 / std::max(numeric, 1));
  Eigen::VectorXd y = x;
  for (std::size_t j = 0; j < dims.size(); ++j) {
    const auto jj = static_cast<Eigen::Index>(j);
    if (dims[j].kind != Kind::kCategory) {
      if (UniformUnit(rng) < move) {
        y[jj] = std::clamp(y[jj] + scale * StandardNormal(rng), 0.0, 1.0);
      }
      continue;
    }
    // The first dimension of a group decides for the whole group.
    if (j > 0 && dims[j - 1].kind == Kind::kCategory &&
        dims[j - 1].parameter == dims[j].parameter) {
      continue;
    }
    std::size_t end = j;
    while (end < dims.size() && dims[end].kind == Kind::kCategory &&
           dims[end].parameter == dims[j].parameter) {
      ++end;
    }
    if (UniformUnit(rng) < 0.2) {
      const auto size = static_cast<double>(end - j);
      const auto pick = j + static_cast<std::size_t>(UniformUnit(rng) * size);
      for (std::size_t c = j; c < end; ++c) {
        y[static_cast<Eigen::Index>(c)] = c == pick ? 1.0 : 0.0;
      }
    }
  }
  return y;
}

// How much of the full candidate budget a model of `rows` rows affords.
double BudgetFraction(Eigen::Index rows) {
  const double ratio = static_cast<double>(kFullBudgetRows) /
                       static_cast<double>(std::max<Eigen::Index>(rows, 1));
  return std::min(1.0, ratio * ratio);
}

int Scaled(int full, int minimum, double fraction) {
  return std::max(minimum, static_cast<int>(full * fraction));
}

// The screening candidates, canonical: quasi-random points, and
// perturbations of the best observations.
Eigen::MatrixXd Candidates(const SpaceEncoding& encoding,
                           const BayesObservations& observations,
                           const BayesModel& model, int quasi_random, int local,
                           RandomEngine& rng) {
  const int d = encoding.dimensions();
  const gp::ScrambledHalton halton(d, rng());
  Eigen::MatrixXd candidates(quasi_random + local, d);
  for (int i = 0; i < quasi_random; ++i) {
    candidates.row(i) =
        encoding.Canonicalize(halton.Point(static_cast<uint64_t>(i)))
            .transpose();
  }
  const auto& best = model.best_observations;
  for (int i = 0; i < local; ++i) {
    const Eigen::VectorXd base =
        observations.points.row(best[static_cast<std::size_t>(i) % best.size()])
            .transpose();
    candidates.row(quasi_random + i) =
        encoding.Canonicalize(Perturbed(encoding, base, rng)).transpose();
  }
  return candidates;
}

// log EI under `model`; gradients are zero along categorical dimensions.
gp::BatchAcquisition LogEiOf(const BayesModel& model,
                             const SpaceEncoding& encoding) {
  return [&model, &encoding](const Eigen::MatrixXd& points,
                             Eigen::VectorXd* values,
                             Eigen::MatrixXd* gradients) {
    const gp::Prediction prediction =
        model.posterior->Predict(points, gradients != nullptr);
    values->resize(points.rows());
    if (gradients != nullptr) gradients->resize(points.rows(), points.cols());
    for (Eigen::Index i = 0; i < points.rows(); ++i) {
      const double stddev = std::sqrt(prediction.variance[i]);
      const gp::LogEi ei = gp::LogExpectedImprovement(prediction.mean[i],
                                                      stddev, model.incumbent);
      (*values)[i] = ei.value;
      if (gradients == nullptr) continue;
      gradients->row(i) =
          ei.d_mean * prediction.mean_gradient.row(i) +
          (ei.d_stddev / (2.0 * stddev)) * prediction.variance_gradient.row(i);
      for (int j = 0; j < encoding.dimensions(); ++j) {
        if (encoding.dims()[j].kind == Kind::kCategory) (*gradients)(i, j) = 0;
      }
    }
  };
}

// The categories of a candidate, as a string (empty without categoricals).
std::string CategorySignature(const SpaceEncoding& encoding,
                              const Eigen::RowVectorXd& x) {
  std::string signature;
  for (int j = 0; j < encoding.dimensions(); ++j) {
    if (encoding.dims()[j].kind == Kind::kCategory) {
      signature.push_back(x[j] > 0.5 ? '1' : '0');
    }
  }
  return signature;
}

// The candidates to refine (rows of `candidates`), from `order` (best
// first). Refinement keeps categories fixed, so up to half the starts go to
// the best candidate of each category combination, best first: a category
// whose good region lies elsewhere in the numeric dimensions gets its own
// local search. The rest are the best remaining candidates.
std::vector<int> StartRows(const SpaceEncoding& encoding,
                           const Eigen::MatrixXd& candidates,
                           const std::vector<int>& order) {
  const std::size_t starts =
      std::min<std::size_t>(kRefinedStarts, order.size());
  std::vector<int> chosen;
  std::vector<bool> taken(order.size(), false);
  absl::flat_hash_set<std::string> signatures;
  for (std::size_t i = 0; i < order.size() && chosen.size() < starts / 2; ++i) {
    if (signatures.insert(CategorySignature(encoding, candidates.row(order[i])))
            .second) {
      chosen.push_back(order[i]);
      taken[i] = true;
    }
  }
  for (std::size_t i = 0; i < order.size() && chosen.size() < starts; ++i) {
    if (!taken[i]) chosen.push_back(order[i]);
  }
  return chosen;
}

// With trials pending (parallel agents), every other suggestion is a
// Thompson sample: one joint draw of the objective from the posterior
// (fantasies included, so it is nearly the mean at a pending point) over the
// candidates, and its lowest unvisited candidate. Each agent's draw differs,
// so these spread over the plausible minima, where EI on the believer's
// posterior alone sends much of a batch to the corners of largest variance;
// the suggestions in between are that EI, which refines the incumbent's basin
// as a sequential sweep would. 8 workers, median regret over 40 seeds after
// 50 / 100 trials: Hartmann6 0.50 / 0.121 with Thompson draws only, 0.67 /
// 0.0023 alternating (1.15 / 0.119 with EI only, 20 seeds); Branin 2.1e-3 /
// 4.9e-5 with draws only, 7.0e-4 / 9.3e-6 alternating. nullopt when the
// covariance cannot be factored or every candidate was visited: the caller
// falls back to expected improvement.
std::optional<Eigen::VectorXd> ThompsonChoice(
    const gp::Posterior& posterior, const Eigen::MatrixXd& candidates,
    const SpaceEncoding& encoding,
    const absl::flat_hash_set<std::string>& visited, RandomEngine& rng) {
  absl::StatusOr<gp::JitteredFactor> factor =
      gp::JitteredCholesky(posterior.JointCovariance(candidates));
  if (!factor.ok()) return std::nullopt;
  Eigen::VectorXd normal(candidates.rows());
  for (Eigen::Index i = 0; i < normal.size(); ++i) {
    normal[i] = StandardNormal(rng);
  }
  const Eigen::VectorXd sample =
      posterior.PredictMean(candidates) +
      factor->lower.triangularView<Eigen::Lower>() * normal;
  if (!sample.allFinite()) return std::nullopt;  // Not an order to sort.
  std::vector<int> order(static_cast<std::size_t>(candidates.rows()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return sample[a] < sample[b]; });
  for (const int i : order) {
    Eigen::VectorXd x = candidates.row(i).transpose();
    if (!visited.contains(PointKey(encoding.Decode(x)))) return x;
  }
  return std::nullopt;
}

struct Ranked {
  Eigen::MatrixXd points;  // Canonical, best first.
  Eigen::VectorXd values;
};

// Screens `candidates`, refines the best few, and ranks them all by their
// canonical form's log EI.
Ranked RankCandidates(const gp::BatchAcquisition& acquisition,
                      const SpaceEncoding& encoding,
                      const Eigen::MatrixXd& candidates, double fraction) {
  const Eigen::VectorXd scores =
      gp::ScoreInBatches(acquisition, candidates, kScoreBatch);
  std::vector<int> order(static_cast<std::size_t>(candidates.rows()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return scores[a] > scores[b]; });
  const std::vector<int> chosen = StartRows(encoding, candidates, order);
  const int starts = static_cast<int>(chosen.size());
  Eigen::MatrixXd start_points(starts, candidates.cols());
  for (int s = 0; s < starts; ++s) {
    start_points.row(s) = candidates.row(chosen[s]);
  }
  const gp::RefinedPoints refined = gp::RefineJointly(
      acquisition, start_points,
      Scaled(kRefineEvaluations, kMinRefineEvaluations, fraction));
  Eigen::MatrixXd canonical(starts, candidates.cols());
  for (int s = 0; s < starts; ++s) {
    canonical.row(s) =
        encoding.Canonicalize(refined.points.row(s).transpose()).transpose();
  }
  Eigen::VectorXd canonical_scores;
  acquisition(canonical, &canonical_scores, nullptr);

  // Merge: refined points, then the screened ones, by score.
  std::vector<std::pair<double, Eigen::VectorXd>> all;
  all.reserve(static_cast<std::size_t>(starts + candidates.rows()));
  for (int s = 0; s < starts; ++s) {
    all.emplace_back(canonical_scores[s], canonical.row(s).transpose());
  }
  for (const int i : order) {
    all.emplace_back(scores[i], candidates.row(i).transpose());
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first > b.first;
  });
  Ranked ranked{
      Eigen::MatrixXd(static_cast<Eigen::Index>(all.size()), candidates.cols()),
      Eigen::VectorXd(static_cast<Eigen::Index>(all.size()))};
  for (std::size_t i = 0; i < all.size(); ++i) {
    ranked.points.row(static_cast<Eigen::Index>(i)) = all[i].second.transpose();
    ranked.values[static_cast<Eigen::Index>(i)] = all[i].first;
  }
  return ranked;
}

// The model's prediction at `x`, in the objective's units.
Prediction PredictionAt(const BayesModel& model, const Eigen::VectorXd& x,
                        Goal goal) {
  const gp::Prediction p = model.posterior->Predict(x.transpose(), false);
  const double mean = p.mean[0];
  const double stddev = std::sqrt(p.variance[0]);
  const double sign = goal == Goal::kMaximize ? -1.0 : 1.0;
  Prediction out;
  out.mean = sign * model.transform.Inverse(mean);
  out.stddev = model.transform.InverseHalfWidth(mean, stddev);
  out.acquisition =
      gp::LogExpectedImprovement(mean, stddev, model.incumbent).value;
  return out;
}

// True when the values differ by no more than rounding.
bool AllValuesEqual(const Eigen::VectorXd& values) {
  if (values.size() == 0) return true;
  const double high = values.maxCoeff();
  const double low = values.minCoeff();
  return high - low <= 1e-12 * std::max(1.0, std::abs(high));
}

absl::StatusOr<std::optional<Suggestion>> RandomSuggestion(
    const SearchContext& context, RandomEngine& rng) {
  return RandomSearcher().Suggest(context, rng);
}

}  // namespace

BayesSearcher::BayesSearcher() : memo_(std::make_unique<ModelMemo>()) {}

BayesSearcher::~BayesSearcher() = default;

std::unique_ptr<ModelMemo> BayesSearcher::TakeMemo() const {
  absl::MutexLock lock(&mu_);
  if (memo_ == nullptr) return std::make_unique<ModelMemo>();
  return std::move(memo_);
}

void BayesSearcher::ReturnMemo(std::unique_ptr<ModelMemo> memo) const {
  absl::MutexLock lock(&mu_);
  memo_ = std::move(memo);
}

absl::StatusOr<std::optional<Suggestion>> BayesSearcher::Suggest(
    const SearchContext& context, RandomEngine& rng) const {
  const SweepSpec& spec = context.spec;
  if (!spec.metric.has_value()) {
    return absl::InvalidArgumentError(
        "method bayes needs a metric to optimize");
  }
  const SpaceEncoding encoding(spec);
  if (encoding.dimensions() == 0) return RandomSuggestion(context, rng);
  const absl::flat_hash_set<std::string> visited = VisitedKeys(context);
  const BayesObservations observations = CollectObservations(context, encoding);

  // The space-filling design goes on until the model has something to learn:
  // while every value is the same (one success among failures imputed to
  // it, or a plateau), a fit sees no signal and its variance alone would
  // send every proposal to the corners of the box.
  const bool has_signal =
      observations.points.rows() >= 2 && !AllValuesEqual(observations.values);
  if (observations.points.rows() < InitialDesignSize(encoding) || !has_signal) {
    std::optional<Point> design =
        DesignPoint(spec, static_cast<uint64_t>(visited.size()), visited);
    if (design.has_value()) return Suggestion{std::move(*design), std::nullopt};
    // A small discrete space tried in full before the design's end: the
    // model's choice below once it has something to learn from, else a
    // random point (not one running now, while there is another).
    if (!has_signal) return RandomSuggestion(context, rng);
  }

  std::unique_ptr<ModelMemo> memo = TakeMemo();
  absl::StatusOr<std::optional<Suggestion>> result =
      [&]() -> absl::StatusOr<std::optional<Suggestion>> {
    absl::StatusOr<BayesModel> model =
        BuildModel(observations, LengthScaleGroups(encoding), memo.get());
    // A model that cannot be built (a covariance no jitter repairs) must not
    // stop the sweep: this suggestion is random.
    if (!model.ok()) return RandomSuggestion(context, rng);
    const Eigen::Index rows = observations.points.rows() +
                              observations.pending.rows() +
                              observations.unvalued.rows();
    const double fraction = BudgetFraction(rows);
    // Trials running elsewhere (not failed ones without a value, which are
    // fantasies too but leave a sequential sweep sequential); every other
    // such suggestion, by the parity of the trials seen, is a Thompson draw.
    const bool others_running = observations.pending.rows() > 0;
    if (others_running && rows % 2 == 0) {
      std::optional<Eigen::VectorXd> sampled = ThompsonChoice(
          *model->posterior,
          Candidates(
              encoding, observations, *model,
              Scaled(kThompsonQuasiRandom, kMinThompsonQuasiRandom, fraction),
              Scaled(kThompsonLocal, kMinThompsonLocal, fraction), rng),
          encoding, visited, rng);
      if (sampled.has_value()) {
        return Suggestion{encoding.Decode(*sampled),
                          PredictionAt(*model, *sampled, spec.metric->goal)};
      }
    }
    const gp::BatchAcquisition acquisition = LogEiOf(*model, encoding);
    const Ranked ranked = RankCandidates(
        acquisition, encoding,
        Candidates(
            encoding, observations, *model,
            Scaled(kQuasiRandomCandidates, kMinQuasiRandomCandidates, fraction),
            Scaled(kLocalCandidates, kMinLocalCandidates, fraction), rng),
        fraction);
    absl::flat_hash_set<std::string> pending;
    for (const Point& point : context.pending) pending.insert(PointKey(point));
    // The best-ranked point already tried (and not running), for a space
    // with nothing left untried.
    std::optional<Eigen::Index> best_tried;
    for (Eigen::Index i = 0; i < ranked.points.rows(); ++i) {
      const Eigen::VectorXd x = ranked.points.row(i).transpose();
      Point point = encoding.Decode(x);
      const std::string key = PointKey(point);
      if (visited.contains(key)) {
        if (!best_tried && !pending.contains(key)) best_tried = i;
        continue;
      }
      return Suggestion{std::move(point),
                        PredictionAt(*model, x, spec.metric->goal)};
    }
    absl::StatusOr<std::optional<Suggestion>> fallback =
        RandomSuggestion(context, rng);
    if (best_tried && fallback.ok() && fallback->has_value() &&
        visited.contains(PointKey((*fallback)->point))) {
      // Every point of a discrete space has been tried (random search found
      // none left): the model's choice again, a second look at a promising
      // point of a noisy objective, not a random repeat of a poor one.
      const Eigen::VectorXd x = ranked.points.row(*best_tried).transpose();
      return Suggestion{encoding.Decode(x),
                        PredictionAt(*model, x, spec.metric->goal)};
    }
    if (fallback.ok() && fallback->has_value()) {
      (*fallback)->prediction = PredictionAt(
          *model, encoding.Encode((*fallback)->point), spec.metric->goal);
    }
    return fallback;
  }();
  ReturnMemo(std::move(memo));
  return result;
}

}  // namespace sweep
