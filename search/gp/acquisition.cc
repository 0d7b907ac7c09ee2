#include "search/gp/acquisition.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "search/gp/lbfgs.h"

namespace sweep::gp {
namespace {

const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);      // c1 in the paper.
const double kHalfLogPiOver2 = 0.5 * std::log(M_PI / 2.0);  // c2.
const double kSqrt2 = std::sqrt(2.0);
// Below -1/sqrt(machine epsilon), log h takes its asymptotic form.
const double kAsymptoticZ =
    -1.0 / std::sqrt(std::numeric_limits<double>::epsilon());
// Above this, exp(x^2) erfc(x) is evaluated by its asymptotic series.
constexpr double kErfcxSeriesFrom = 25.0;

double NormalCdf(double z) { return 0.5 * std::erfc(-z / kSqrt2); }

double NormalPdf(double z) { return std::exp(-0.5 * z * z - kHalfLog2Pi); }

// log(1 - exp(a)) for a < 0, without cancellation (Maechler 2012).
double Log1mExp(double a) {
  return a > -M_LN2 ? std::log(-std::expm1(a)) : std::log1p(-std::exp(a));
}

// log h(z) + z^2 / 2 for z <= -1: the part that stays of moderate size.
double LogHPlusHalfSquare(double z) {
  if (z <= kAsymptoticZ) return -kHalfLog2Pi - 2.0 * std::log(-z);
  return -kHalfLog2Pi +
         Log1mExp(std::log(Erfcx(-z / kSqrt2) * -z) + kHalfLogPiOver2);
}

}  // namespace

double Erfcx(double x) {
  if (x < kErfcxSeriesFrom) return std::exp(x * x) * std::erfc(x);
  // 1/(x sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2x^2)^k; at x >= 25 six terms
  // leave an error far below double precision.
  const double inverse = 1.0 / (2.0 * x * x);
  double term = 1.0;
  double sum = 1.0;
  for (int k = 1; k <= 6; ++k) {
    term *= -(2.0 * k - 1.0) * inverse;
    sum += term;
  }
  return sum / (x * std::sqrt(M_PI));
}

double LogH(double z) {
  if (z > -1.0) return std::log(NormalPdf(z) + z * NormalCdf(z));
  return LogHPlusHalfSquare(z) - 0.5 * z * z;
}

double LogHDerivative(double z) {
  if (z > -1.0) {
    const double cdf = NormalCdf(z);
    return cdf / (NormalPdf(z) + z * cdf);
  }
  // Phi(z) = exp(-z^2/2) erfcx(-z/sqrt2) / 2: the exp(-z^2/2) cancels.
  return std::exp(std::log(0.5 * Erfcx(-z / kSqrt2)) - LogHPlusHalfSquare(z));
}

LogEi LogExpectedImprovement(double mean, double stddev, double best) {
  const double z = (best - mean) / stddev;
  const double slope = LogHDerivative(z);
  LogEi out;
  out.value = std::log(stddev) + LogH(z);
  out.d_mean = -slope / stddev;
  out.d_stddev = 1.0 / stddev - slope * z / stddev;
  return out;
}

Eigen::VectorXd ScoreInBatches(const BatchAcquisition& acquisition,
                               const Eigen::MatrixXd& points, int batch_size) {
  Eigen::VectorXd scores(points.rows());
  for (Eigen::Index begin = 0; begin < points.rows(); begin += batch_size) {
    const Eigen::Index size =
        std::min<Eigen::Index>(batch_size, points.rows() - begin);
    Eigen::VectorXd values;
    acquisition(points.middleRows(begin, size), &values, nullptr);
    scores.segment(begin, size) = values;
  }
  return scores;
}

RefinedPoints RefineJointly(const BatchAcquisition& acquisition,
                            const Eigen::MatrixXd& starts,
                            int max_evaluations) {
  using RowMajor =
      Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index count = starts.rows();
  const Eigen::Index d = starts.cols();
  RefinedPoints best{starts,
                     Eigen::VectorXd::Constant(
                         count, -std::numeric_limits<double>::infinity())};
  if (count == 0) return best;
  // Each start keeps the best point it reached, whatever the joint search
  // does with the sum.
  const Objective sum = [&](const Eigen::VectorXd& packed,
                            Eigen::VectorXd* gradient) {
    const Eigen::MatrixXd points =
        Eigen::Map<const RowMajor>(packed.data(), count, d);
    Eigen::VectorXd values;
    Eigen::MatrixXd gradients;
    acquisition(points, &values, gradient != nullptr ? &gradients : nullptr);
    for (Eigen::Index s = 0; s < count; ++s) {
      if (std::isfinite(values[s]) && values[s] > best.values[s]) {
        best.values[s] = values[s];
        best.points.row(s) = points.row(s);
      }
    }
    if (gradient != nullptr) {
      Eigen::Map<RowMajor>(gradient->data(), count, d) = gradients;
    }
    return values.sum();
  };
  Eigen::VectorXd packed(count * d);
  Eigen::Map<RowMajor>(packed.data(), count, d) = starts;
  LbfgsOptions options;
  options.max_evaluations = max_evaluations;
  options.relative_tolerance = 1e-6;
  MaximizeInBox(sum, packed, Eigen::VectorXd::Zero(count * d),
                Eigen::VectorXd::Ones(count * d), options);
  return best;
}

}  // namespace sweep::gp
