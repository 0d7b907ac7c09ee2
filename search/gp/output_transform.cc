#include "search/gp/output_transform.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sweep::gp {
namespace {

using Family = OutputTransform::Family;

constexpr double kLambdaMin = -2.0;
constexpr double kLambdaMax = 1.0;
constexpr double kCoarseStep = 0.05;
constexpr double kFineStep = 0.005;
constexpr double kNearZero = 1e-9;

// (u^lambda - 1) / lambda, or log u at lambda = 0; accurate near 0.
double BoxCox(double lambda, double u) {
  const double log_u = std::log(u);
  if (std::abs(lambda) < kNearZero) return log_u;
  return std::expm1(lambda * log_u) / lambda;
}

// The inverse of BoxCox; t beyond the range's end gives that end.
double BoxCoxInverse(double lambda, double t) {
  if (std::abs(lambda) < kNearZero) return std::exp(t);
  const double a = lambda * t;
  if (a <= -1.0) {
    return lambda > 0 ? 0.0 : std::numeric_limits<double>::max();
  }
  return std::exp(std::log1p(a) / lambda);
}

double YeoJohnson(double lambda, double u) {
  if (u >= 0) {
    const double log_u = std::log1p(u);
    if (std::abs(lambda) < kNearZero) return log_u;
    return std::expm1(lambda * log_u) / lambda;
  }
  const double mu = 2.0 - lambda;
  const double log_u = std::log1p(-u);
  if (std::abs(mu) < kNearZero) return -log_u;
  return -std::expm1(mu * log_u) / mu;
}

double YeoJohnsonInverse(double lambda, double t) {
  if (t >= 0) {
    if (std::abs(lambda) < kNearZero) return std::expm1(t);
    const double a = lambda * t;
    if (a <= -1.0) return std::numeric_limits<double>::max();
    return std::expm1(std::log1p(a) / lambda);
  }
  const double mu = 2.0 - lambda;
  if (std::abs(mu) < kNearZero) return -std::expm1(-t);
  const double a = -mu * t;
  if (a <= -1.0) return -std::numeric_limits<double>::max();
  return -std::expm1(std::log1p(a) / mu);
}

double Power(Family family, double lambda, double u) {
  switch (family) {
    case Family::kBoxCox:
      return BoxCox(lambda, u);
    case Family::kYeoJohnson:
      return YeoJohnson(lambda, u);
    case Family::kIdentity:
      break;
  }
  return u;
}

// log dPower/du.
double LogPowerDerivative(Family family, double lambda, double u) {
  switch (family) {
    case Family::kBoxCox:
      return (lambda - 1.0) * std::log(u);
    case Family::kYeoJohnson:
      return u >= 0 ? (lambda - 1.0) * std::log1p(u)
                    : (1.0 - lambda) * std::log1p(-u);
    case Family::kIdentity:
      break;
  }
  return 0.0;
}

double PowerInverse(Family family, double lambda, double t) {
  switch (family) {
    case Family::kBoxCox:
      return BoxCoxInverse(lambda, t);
    case Family::kYeoJohnson:
      return YeoJohnsonInverse(lambda, t);
    case Family::kIdentity:
      break;
  }
  return t;
}

double Variance(const Eigen::ArrayXd& a) {
  return (a - a.mean()).square().mean();
}

// The profile log-likelihood of lambda: a normal fit to the transformed
// values, plus the log Jacobian of the transform.
double LogLikelihood(Family family, double lambda, const Eigen::ArrayXd& u) {
  Eigen::ArrayXd t(u.size());
  double log_jacobian = 0;
  for (Eigen::Index i = 0; i < u.size(); ++i) {
    t[i] = Power(family, lambda, u[i]);
    log_jacobian += family == Family::kBoxCox
                        ? std::log(u[i])
                        : std::copysign(std::log1p(std::abs(u[i])), u[i]);
  }
  const double variance = Variance(t);
  if (!(variance > 0) || !std::isfinite(variance)) {
    return -std::numeric_limits<double>::infinity();
  }
  return -0.5 * static_cast<double>(u.size()) * std::log(variance) +
         (lambda - 1.0) * log_jacobian;
}

double BestLambda(Family family, const Eigen::ArrayXd& u) {
  double best = 1.0;
  double best_value = LogLikelihood(family, best, u);
  const auto consider = [&](double lambda) {
    const double value = LogLikelihood(family, lambda, u);
    if (value > best_value) {
      best_value = value;
      best = lambda;
    }
  };
  const int coarse =
      static_cast<int>(std::lround((kLambdaMax - kLambdaMin) / kCoarseStep));
  for (int i = 0; i <= coarse; ++i) consider(kLambdaMin + i * kCoarseStep);
  const double center = best;
  const int fine = static_cast<int>(std::lround(kCoarseStep / kFineStep));
  for (int i = -fine; i <= fine; ++i) {
    consider(std::clamp(center + i * kFineStep, kLambdaMin, kLambdaMax));
  }
  return best;
}

int DistinctCount(const Eigen::VectorXd& values) {
  Eigen::VectorXd sorted = values;
  double* const begin = sorted.data();
  double* const end = begin + sorted.size();
  std::sort(begin, end);
  return static_cast<int>(std::unique(begin, end) - begin);
}

}  // namespace

OutputTransform OutputTransform::Standardize(const Eigen::VectorXd& values) {
  return Fit(values, /*warp=*/false);
}

OutputTransform OutputTransform::Fit(const Eigen::VectorXd& values) {
  return Fit(values, /*warp=*/true);
}

OutputTransform OutputTransform::Fit(const Eigen::VectorXd& values, bool warp) {
  OutputTransform transform;
  const Eigen::ArrayXd v = values.array();
  if (warp && v.size() > 0 && DistinctCount(values) >= 3) {
    if ((v > 0).all()) {
      transform.family_ = Family::kBoxCox;
      transform.pre_scale_ = std::exp(v.log().mean());  // Geometric mean.
    } else {
      transform.family_ = Family::kYeoJohnson;
      transform.pre_shift_ = v.mean();
      transform.pre_scale_ = std::sqrt(Variance(v));
    }
    const Eigen::ArrayXd u = (v - transform.pre_shift_) / transform.pre_scale_;
    transform.lambda_ = BestLambda(transform.family_, u);
  }
  Eigen::ArrayXd t(v.size());
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    t[i] = Power(transform.family_, transform.lambda_,
                 (v[i] - transform.pre_shift_) / transform.pre_scale_);
  }
  if (t.size() > 0) transform.post_mean_ = t.mean();
  const double scale = t.size() > 1 ? std::sqrt(Variance(t)) : 0.0;
  transform.post_scale_ = scale > 0 && std::isfinite(scale) ? scale : 1.0;
  return transform;
}

double OutputTransform::Forward(double value) const {
  double u = (value - pre_shift_) / pre_scale_;
  if (family_ == Family::kBoxCox) {
    u = std::max(u, std::numeric_limits<double>::min());
  }
  return (Power(family_, lambda_, u) - post_mean_) / post_scale_;
}

double OutputTransform::LogJacobian(const Eigen::VectorXd& values) const {
  double sum = 0;
  for (const double value : values) {
    double u = (value - pre_shift_) / pre_scale_;
    if (family_ == Family::kBoxCox) {
      u = std::max(u, std::numeric_limits<double>::min());
    }
    sum += LogPowerDerivative(family_, lambda_, u);
  }
  return sum - static_cast<double>(values.size()) *
                   std::log(pre_scale_ * post_scale_);
}

Eigen::VectorXd OutputTransform::Forward(const Eigen::VectorXd& values) const {
  Eigen::VectorXd out(values.size());
  for (Eigen::Index i = 0; i < values.size(); ++i) out[i] = Forward(values[i]);
  return out;
}

double OutputTransform::Inverse(double z) const {
  const double u = PowerInverse(family_, lambda_, z * post_scale_ + post_mean_);
  return u * pre_scale_ + pre_shift_;
}

double OutputTransform::InverseHalfWidth(double mean, double stddev) const {
  // Clamped values (about the largest double) are no widths: 1e300 is far
  // past anything an objective measures.
  const auto usable = [](double width) {
    return std::isfinite(width) && width < 1e300;
  };
  const double center = Inverse(mean);
  const double below = std::abs(center - Inverse(mean - stddev));
  const double above = std::abs(Inverse(mean + stddev) - center);
  if (usable(below) && usable(above)) return 0.5 * (below + above);
  if (usable(below)) return below;
  if (usable(above)) return above;
  return std::numeric_limits<double>::infinity();
}

}  // namespace sweep::gp
