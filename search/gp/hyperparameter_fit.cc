#include "search/gp/hyperparameter_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/gp/lbfgs.h"

namespace sweep::gp {
namespace {

const double kLengthScaleSigma = std::sqrt(3.0);
constexpr double kSignalSigma = 2.0;
constexpr double kNoiseMean = -6.0;
constexpr double kNoiseSigma = 2.0;
constexpr double kMeanSigma = 1.0;

// The prior's center, in the unit cube: a scale of 1 (see the header).
double LengthScaleMean(int /*group_count*/) { return 0.0; }

// -(v - mean)^2 / (2 sigma^2), and its derivative.
double NormalLogDensity(double v, double mean, double sigma,
                        double* derivative) {
  const double z = (v - mean) / sigma;
  if (derivative != nullptr) *derivative = -z / sigma;
  return -0.5 * z * z;
}

// The fixed starts: the prior's center, and short length scales for
// objectives that vary quickly.
std::vector<Hyperparameters> StartsFor(int group_count) {
  std::vector<Hyperparameters> starts;
  for (const double log_scale : {LengthScaleMean(group_count), std::log(0.3)}) {
    Hyperparameters h;
    h.log_length_scales = Eigen::VectorXd::Constant(group_count, log_scale);
    h.log_signal_variance = 0;
    h.log_noise_variance = std::log(1e-3);
    h.mean = 0;
    starts.push_back(std::move(h));
  }
  return starts;
}

}  // namespace

double LogPrior(const Hyperparameters& h, Eigen::VectorXd* gradient) {
  const int g = static_cast<int>(h.log_length_scales.size());
  if (gradient != nullptr) gradient->resize(h.size());
  double derivative = 0;
  double* d = gradient != nullptr ? &derivative : nullptr;
  double value = 0;
  const double scale_mean = LengthScaleMean(g);
  for (int i = 0; i < g; ++i) {
    value += NormalLogDensity(h.log_length_scales[i], scale_mean,
                              kLengthScaleSigma, d);
    if (d != nullptr) (*gradient)[i] = derivative;
  }
  value += NormalLogDensity(h.log_signal_variance, 0.0, kSignalSigma, d);
  if (d != nullptr) (*gradient)[g] = derivative;
  value += NormalLogDensity(h.log_noise_variance, kNoiseMean, kNoiseSigma, d);
  if (d != nullptr) (*gradient)[g + 1] = derivative;
  value += NormalLogDensity(h.mean, 0.0, kMeanSigma, d);
  if (d != nullptr) (*gradient)[g + 2] = derivative;
  return value;
}

HyperparameterBounds BoundsFor(int group_count) {
  HyperparameterBounds bounds;
  bounds.lower.resize(group_count + 3);
  bounds.upper.resize(group_count + 3);
  bounds.lower.head(group_count).setConstant(std::log(0.01));
  bounds.upper.head(group_count).setConstant(std::log(200.0));
  bounds.lower[group_count] = std::log(1e-3);
  bounds.upper[group_count] = std::log(1e4);
  bounds.lower[group_count + 1] = std::log(kMinNoiseVariance);
  bounds.upper[group_count + 1] = std::log(2.0);
  bounds.lower[group_count + 2] = -5.0;
  bounds.upper[group_count + 2] = 5.0;
  return bounds;
}

absl::StatusOr<Hyperparameters> FitHyperparameters(
    const std::vector<int>& groups, const Eigen::MatrixXd& x,
    const Eigen::VectorXd& y, const FitOptions& options) {
  int group_count = 0;
  for (const int g : groups) group_count = std::max(group_count, g + 1);
  MarginalLikelihood marginal_likelihood(groups, x, y);
  const Objective log_posterior = [&](const Eigen::VectorXd& packed,
                                      Eigen::VectorXd* gradient) {
    const Hyperparameters h = Hyperparameters::Unpack(packed);
    absl::StatusOr<double> likelihood =
        marginal_likelihood.Evaluate(h, gradient);
    if (!likelihood.ok()) return -std::numeric_limits<double>::infinity();
    Eigen::VectorXd prior_gradient;
    const double prior =
        LogPrior(h, gradient != nullptr ? &prior_gradient : nullptr);
    if (gradient != nullptr) *gradient += prior_gradient;
    return *likelihood + prior;
  };
  const HyperparameterBounds bounds = BoundsFor(group_count);
  LbfgsOptions lbfgs;
  lbfgs.max_evaluations = options.max_evaluations_per_start;
  LbfgsResult best;
  best.value = -std::numeric_limits<double>::infinity();
  const std::vector<Hyperparameters> starts =
      options.starts.empty() ? StartsFor(group_count) : options.starts;
  for (const Hyperparameters& start : starts) {
    if (start.log_length_scales.size() != group_count) {
      return absl::InvalidArgumentError(
          absl::StrCat("a fit start with ", start.log_length_scales.size(),
                       " length scales for ", group_count, " groups"));
    }
    LbfgsResult result = MaximizeInBox(log_posterior, start.Pack(),
                                       bounds.lower, bounds.upper, lbfgs);
    if (result.value > best.value) best = std::move(result);
  }
  if (!std::isfinite(best.value)) {
    return absl::FailedPreconditionError(
        "no hyperparameters give a factorable covariance");
  }
  return Hyperparameters::Unpack(best.x);
}

}  // namespace sweep::gp
