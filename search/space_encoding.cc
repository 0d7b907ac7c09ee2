#include "search/space_encoding.h"

#include <cassert>
#include <cmath>
#include <cstddef>

#include "search/distribution.h"
#include "search/value.h"

namespace sweep {
namespace {

using Kind = EncodedDimension::Kind;

// Where a value the parameter cannot place (a string for a numeric law) is
// encoded: the median, which decodes to a value the parameter can take.
constexpr double kUnplaceableQuantile = 0.5;

bool IsCategorical(Distribution d) {
  return d == Distribution::kCategorical ||
         d == Distribution::kCategoricalWithProbabilities;
}

bool IsDiscreteNumeric(Distribution d) {
  switch (d) {
    case Distribution::kIntUniform:
    case Distribution::kQUniform:
    case Distribution::kQLogUniform:
    case Distribution::kQLogUniformValues:
    case Distribution::kQNormal:
    case Distribution::kQLogNormal:
    case Distribution::kQBeta:
      return true;
    default:
      return false;
  }
}

double ClampedCoordinate(double x) {
  if (std::isnan(x)) return 0.0;
  return std::fmin(std::fmax(x, 0.0), 1.0);
}

// The prior's mass left out at each end for the laws whose support has no
// bounds of the user's choosing (normal and log-normal forms) or whose
// density vanishes at its bounds (beta forms). Their coordinate spans the
// quantiles [kTail, 1 - kTail], not [0, 1]: the acquisition often peaks on
// a face of the cube, where uncertainty is largest, and there a normal
// would be 7 standard deviations out (a momentum of 1.04 from mu 0.9,
// sigma 0.02), a beta exactly 0 or 1, values random search draws about
// once in 10^12 draws. Within these quantiles a normal spans mu +- 3.09
// sigma; a bounded law (uniform, log-uniform and their forms) keeps its
// bounds, which the user chose.
constexpr double kTail = 0.001;

bool TrimsTails(Distribution d) {
  switch (d) {
    case Distribution::kNormal:
    case Distribution::kQNormal:
    case Distribution::kLogNormal:
    case Distribution::kQLogNormal:
    case Distribution::kBeta:
    case Distribution::kQBeta:
      return true;
    default:
      return false;
  }
}

// The quantile of p's law at coordinate x.
double QuantileAt(const ParameterSpec& p, double x) {
  x = ClampedCoordinate(x);
  return TrimsTails(p.distribution) ? kTail + (1 - 2 * kTail) * x : x;
}

// The coordinate of quantile u (the nearest, for u in a trimmed tail).
double CoordinateOf(const ParameterSpec& p, double u) {
  if (!TrimsTails(p.distribution)) return u;
  return ClampedCoordinate((u - kTail) / (1 - 2 * kTail));
}

}  // namespace

SpaceEncoding::SpaceEncoding(const SweepSpec& spec) : spec_(spec) {
  first_dim_.assign(spec.parameters.size(), -1);
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
    const ParameterSpec& p = spec.parameters[i];
    const int parameter = static_cast<int>(i);
    if (p.distribution == Distribution::kConstant) continue;
    first_dim_[i] = static_cast<int>(dims_.size());
    if (!IsCategorical(p.distribution)) {
      const Kind kind = IsDiscreteNumeric(p.distribution) ? Kind::kDiscrete
                                                          : Kind::kContinuous;
      dims_.push_back({kind, parameter, 0});
      continue;
    }
    // A category of probability 0 is never proposed, and a value written
    // twice is one trial: neither gets a dimension of its own.
    for (const int c : DistinctCategories(p)) {
      dims_.push_back({Kind::kCategory, parameter, c});
    }
    // A parameter whose categories all have probability 0 is malformed; it
    // keeps no dimension and decodes to null.
    if (static_cast<int>(dims_.size()) == first_dim_[i]) first_dim_[i] = -1;
  }
}

Eigen::VectorXd SpaceEncoding::Encode(const Point& point) const {
  assert(point.size() == spec_.parameters.size());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(dimensions());
  for (std::size_t i = 0; i < spec_.parameters.size() && i < point.size();
       ++i) {
    const ParameterSpec& p = spec_.parameters[i];
    int d = first_dim_[i];
    if (d < 0) continue;
    if (!IsCategorical(p.distribution)) {
      x[d] = CoordinateOf(
          p, NearestQuantileOf(p, point[i]).value_or(kUnplaceableQuantile));
      continue;
    }
    // An unknown category leaves its group all zero.
    for (; d < dimensions() && dims_[d].parameter == static_cast<int>(i); ++d) {
      if (ValuesEqual(p.values[dims_[d].category], point[i])) {
        x[d] = 1.0;
        break;
      }
    }
  }
  return x;
}

Point SpaceEncoding::Decode(const Eigen::VectorXd& x) const {
  assert(x.size() == dimensions());
  Point point;
  point.reserve(spec_.parameters.size());
  for (std::size_t i = 0; i < spec_.parameters.size(); ++i) {
    const ParameterSpec& p = spec_.parameters[i];
    const int first = first_dim_[i];
    if (first < 0) {
      point.push_back(p.distribution == Distribution::kConstant ? p.value
                                                                : Value());
      continue;
    }
    if (!IsCategorical(p.distribution)) {
      point.push_back(ValueAtQuantile(p, QuantileAt(p, x[first])));
      continue;
    }
    int best = first;
    for (int d = first + 1;
         d < dimensions() && dims_[d].parameter == static_cast<int>(i); ++d) {
      if (ClampedCoordinate(x[d]) > ClampedCoordinate(x[best])) best = d;
    }
    point.push_back(p.values[dims_[best].category]);
  }
  return point;
}

Eigen::VectorXd SpaceEncoding::Canonicalize(const Eigen::VectorXd& x) const {
  return Encode(Decode(x));
}

}  // namespace sweep
