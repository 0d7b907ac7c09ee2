// An encoding of a sweep's parameter space to and from the unit cube, for the
// Bayesian search. Each numeric parameter is one dimension holding its
// quantile (distribution.h), so log-scaled forms are searched in log space and
// normal forms through their CDF (normal, log-normal and beta forms between
// their 0.001 and 0.999 quantiles); integers and quantized values are rounded
// on decoding; a categorical is a one-hot group of dimensions (categories, not
// ordinals); constants take no dimension. Immutable after construction and
// thread-safe.
#ifndef SWEEP_SEARCH_SPACE_ENCODING_H_
#define SWEEP_SEARCH_SPACE_ENCODING_H_

#include <Eigen/Core>
#include <vector>

#include "search/spec.h"

namespace sweep {

struct EncodedDimension {
  enum class Kind {
    kContinuous,  // Any u in [0, 1].
    kDiscrete,    // Integer or quantized: decodes to finitely many cells.
    kCategory,    // One element of a one-hot group.
  };
  Kind kind = Kind::kContinuous;
  int parameter = 0;  // Index into SweepSpec::parameters.
  int category = 0;   // kCategory: index of the value within the parameter.
};

class SpaceEncoding {
 public:
  // `spec` must outlive this object.
  explicit SpaceEncoding(const SweepSpec& spec);

  int dimensions() const { return static_cast<int>(dims_.size()); }
  const std::vector<EncodedDimension>& dims() const { return dims_; }

  // The point in [0, 1]^dimensions(); `point` is aligned with
  // spec.parameters. Categories are one-hot; categories of probability 0 have
  // no dimension. Numbers that the parameter cannot produce are clamped to
  // the nearest bound or lattice value (NearestQuantileOf); an unknown
  // category leaves its group all zero and a non-number given to a numeric
  // parameter is encoded at 0.5.
  Eigen::VectorXd Encode(const Point& point) const;

  // The configuration at x, which has dimensions() coordinates (clamped to
  // [0, 1]; a category group decodes to its largest coordinate, the first on
  // ties).
  Point Decode(const Eigen::VectorXd& x) const;

  // Encode(Decode(x)): the representative of x's cell, so two cube points that
  // decode to the same trial have the same canonical form.
  Eigen::VectorXd Canonicalize(const Eigen::VectorXd& x) const;

 private:
  const SweepSpec& spec_;
  std::vector<EncodedDimension> dims_;
  std::vector<int> first_dim_;  // Per parameter; -1 for constants.
};

}  // namespace sweep

#endif  // SWEEP_SEARCH_SPACE_ENCODING_H_
