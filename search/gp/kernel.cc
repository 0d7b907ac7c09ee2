#include "search/gp/kernel.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

namespace sweep::gp {
namespace {

const double kSqrt5 = std::sqrt(5.0);

}  // namespace

Matern52Kernel::Matern52Kernel(std::vector<int> groups,
                               Eigen::VectorXd log_length_scales,
                               double log_signal_variance)
    : groups_(std::move(groups)),
      inverse_scale_((-log_length_scales.array()).exp().matrix()),
      dimension_inverse_scale_(groups_.size()),
      signal_variance_(std::exp(log_signal_variance)) {
  for (int j = 0; j < dimensions(); ++j) {
    assert(groups_[j] >= 0 && groups_[j] < group_count());
    dimension_inverse_scale_[j] = inverse_scale_[groups_[j]];
  }
}

Eigen::MatrixXd Matern52Kernel::Scaled(const Eigen::MatrixXd& x) const {
  return x.array().rowwise() * dimension_inverse_scale_.array();
}

Eigen::MatrixXd Matern52Kernel::SquaredDistances(
    const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) const {
  const Eigen::MatrixXd za = Scaled(a);
  const Eigen::MatrixXd zb = Scaled(b);
  Eigen::MatrixXd d = -2.0 * za * zb.transpose();
  d.colwise() += za.rowwise().squaredNorm();
  d.rowwise() += zb.rowwise().squaredNorm().transpose();
  // Cancellation can leave tiny negatives where points coincide.
  return d.cwiseMax(0.0);
}

Eigen::MatrixXd Matern52Kernel::Cross(const Eigen::MatrixXd& a,
                                      const Eigen::MatrixXd& b) const {
  // One pass over a single n x m matrix: at thousands of points, whole-matrix
  // temporaries cost more in page faults than the arithmetic.
  const Eigen::MatrixXd za = Scaled(a);
  const Eigen::MatrixXd zb = Scaled(b);
  const Eigen::VectorXd norms_a = za.rowwise().squaredNorm();
  const Eigen::VectorXd norms_b = zb.rowwise().squaredNorm();
  Eigen::MatrixXd k(a.rows(), b.rows());
  k.noalias() = za * zb.transpose();
  Eigen::ArrayXd r2(k.rows());
  Eigen::ArrayXd sr(k.rows());
  for (Eigen::Index j = 0; j < k.cols(); ++j) {
    // Cancellation can leave tiny negatives where points coincide.
    r2 = (norms_a.array() + norms_b[j] - 2.0 * k.col(j).array()).max(0.0);
    sr = kSqrt5 * r2.sqrt();
    k.col(j).array() =
        (1.0 + sr + (5.0 / 3.0) * r2) * (signal_variance_ * (-sr).exp());
  }
  return k;
}

Eigen::MatrixXd Matern52Kernel::CrossGradient(const Eigen::RowVectorXd& x,
                                              const Eigen::MatrixXd& b) const {
  const Eigen::ArrayXd r2 = SquaredDistances(x, b).transpose().array();
  const Eigen::ArrayXd sr = kSqrt5 * r2.sqrt();
  // dk/d(r^2) * 2, per row of b.
  const Eigen::ArrayXd coefficient =
      -(5.0 / 3.0) * signal_variance_ * (1.0 + sr) * (-sr).exp();
  const Eigen::RowVectorXd inverse_scale2 =
      dimension_inverse_scale_.array().square().matrix();
  Eigen::MatrixXd difference = (-b).rowwise() + x;  // x - b_i per row.
  difference.array().rowwise() *= inverse_scale2.array();
  difference.array().colwise() *= coefficient;
  return difference;
}

void Matern52Kernel::GramWithRadial(const Eigen::MatrixXd& x,
                                    Gram* gram) const {
  const Eigen::MatrixXd z = Scaled(x);
  const Eigen::VectorXd norms = z.rowwise().squaredNorm();
  const Eigen::Index n = x.rows();
  gram->k.resize(n, n);
  gram->radial.resize(n, n);
  gram->radial.noalias() = z * z.transpose();
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double r2 =
          std::max(norms[i] + norms[j] - 2.0 * gram->radial(i, j), 0.0);
      const double sr = kSqrt5 * std::sqrt(r2);
      const double e = signal_variance_ * std::exp(-sr);
      gram->k(i, j) = (1.0 + sr + (5.0 / 3.0) * r2) * e;
      gram->radial(i, j) = (5.0 / 3.0) * (1.0 + sr) * e;
    }
  }
}

Eigen::VectorXd Matern52Kernel::WeightedHyperGradient(
    const Eigen::MatrixXd& x, const Gram& gram, Eigen::MatrixXd* w) const {
  Eigen::VectorXd gradient = Eigen::VectorXd::Zero(group_count() + 1);
  // K is proportional to s2.
  gradient[group_count()] = w->cwiseProduct(gram.k).sum();
  Eigen::MatrixXd& f = *w;
  f.array() *= gram.radial.array();
  const Eigen::VectorXd row_sums = f.rowwise().sum();
  const Eigen::MatrixXd fx = f * x;
  for (int a = 0; a < dimensions(); ++a) {
    // sum_ij f_ij (x_ia - x_ja)^2 for a symmetric f.
    const double sum = 2.0 * x.col(a).cwiseAbs2().dot(row_sums) -
                       2.0 * x.col(a).dot(fx.col(a));
    const double inverse_scale = inverse_scale_[groups_[a]];
    gradient[groups_[a]] += sum * inverse_scale * inverse_scale;
  }
  return gradient;
}

}  // namespace sweep::gp
