#include "search/gp/gaussian_process.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sweep::gp {
namespace {

const double kLog2Pi = std::log(2.0 * M_PI);

// Fantasies are observed without noise (up to this jitter): a pending trial
// will tell what the objective is there, so the variance at a pending point
// collapses and the next agents go elsewhere, even when the fitted noise is
// large.
constexpr double kFantasyNoise = kMinNoiseVariance;

// Appended pivots never fall below this fraction of the noise variance: in
// exact arithmetic they are at least the noise variance itself.
constexpr double kMinPivotFraction = 1e-3;

}  // namespace

Eigen::VectorXd Hyperparameters::Pack() const {
  const Eigen::Index g = log_length_scales.size();
  Eigen::VectorXd packed(g + 3);
  packed.head(g) = log_length_scales;
  packed[g] = log_signal_variance;
  packed[g + 1] = log_noise_variance;
  packed[g + 2] = mean;
  return packed;
}

Hyperparameters Hyperparameters::Unpack(const Eigen::VectorXd& packed) {
  const Eigen::Index g = packed.size() - 3;
  Hyperparameters h;
  h.log_length_scales = packed.head(g);
  h.log_signal_variance = packed[g];
  h.log_noise_variance = packed[g + 1];
  h.mean = packed[g + 2];
  return h;
}

double Hyperparameters::noise_variance() const {
  return std::max(std::exp(log_noise_variance), kMinNoiseVariance);
}

Matern52Kernel Hyperparameters::KernelFor(std::vector<int> groups) const {
  return Matern52Kernel(std::move(groups), log_length_scales,
                        log_signal_variance);
}

bool operator==(const Hyperparameters& a, const Hyperparameters& b) {
  return a.log_length_scales.size() == b.log_length_scales.size() &&
         a.log_length_scales == b.log_length_scales &&
         a.log_signal_variance == b.log_signal_variance &&
         a.log_noise_variance == b.log_noise_variance && a.mean == b.mean;
}

absl::StatusOr<double> LogMarginalLikelihood(const std::vector<int>& groups,
                                             const Hyperparameters& h,
                                             const Eigen::MatrixXd& x,
                                             const Eigen::VectorXd& y,
                                             Eigen::VectorXd* gradient) {
  return MarginalLikelihood(groups, x, y).Evaluate(h, gradient);
}

absl::StatusOr<double> MarginalLikelihood::Evaluate(const Hyperparameters& h,
                                                    Eigen::VectorXd* gradient) {
  const Matern52Kernel kernel = h.KernelFor(groups_);
  const double noise = h.noise_variance();
  kernel.GramWithRadial(x_, &gram_);
  covariance_ = gram_.k;
  covariance_.diagonal().array() += noise;
  absl::StatusOr<double> jitter = JitteredCholeskyInto(covariance_, &factor_);
  if (!jitter.ok()) return jitter.status();
  const auto lower = factor_.triangularView<Eigen::Lower>();
  const Eigen::VectorXd residual = y_.array() - h.mean;
  const Eigen::VectorXd z = lower.solve(residual);
  const double n = static_cast<double>(y_.size());
  const double value = -0.5 * z.squaredNorm() -
                       factor_.diagonal().array().log().sum() -
                       0.5 * n * kLog2Pi;
  if (gradient == nullptr) return value;

  const Eigen::VectorXd alpha =
      factor_.transpose().triangularView<Eigen::Upper>().solve(z);
  // W = alpha alpha^T - K^{-1}, with K^{-1} = L^{-T} L^{-1} (a symmetric
  // rank update, half the work of a general product), into factor_'s
  // storage: L is no longer needed.
  const Eigen::Index rows = x_.rows();
  inverse_.setIdentity(rows, rows);
  lower.solveInPlace(inverse_);
  Eigen::MatrixXd& w = factor_;
  w.setZero();
  w.selfadjointView<Eigen::Lower>().rankUpdate(inverse_.transpose(), -1.0);
  w.selfadjointView<Eigen::Lower>().rankUpdate(alpha, 1.0);
  for (Eigen::Index j = 1; j < rows; ++j) {
    w.col(j).head(j) = w.row(j).head(j).transpose();
  }
  const double trace = w.trace();
  // d/dtheta = 1/2 tr(W dK/dtheta).
  const Eigen::VectorXd kernel_gradient =
      kernel.WeightedHyperGradient(x_, gram_, &w);
  const int g = kernel.group_count();
  gradient->resize(h.size());
  gradient->head(g + 1) = 0.5 * kernel_gradient;
  gradient->coeffRef(g + 1) = 0.5 * trace * noise;
  gradient->coeffRef(g + 2) = alpha.sum();
  return value;
}

absl::StatusOr<GrowingCholesky> FactorObservations(const Matern52Kernel& kernel,
                                                   double noise_variance,
                                                   const Eigen::MatrixXd& x) {
  Eigen::MatrixXd k = kernel.Cross(x, x);
  k.diagonal().array() += noise_variance;
  return GrowingCholesky::Factor(k, kMinPivotFraction * noise_variance);
}

absl::Status ExtendFactor(const Matern52Kernel& kernel, double noise_variance,
                          const Eigen::MatrixXd& x, GrowingCholesky* factor) {
  for (Eigen::Index i = factor->size(); i < x.rows(); ++i) {
    const Eigen::VectorXd cross =
        kernel.Cross(x.row(i), x.topRows(i)).transpose();
    const absl::Status appended =
        factor->Append(cross, kernel.Diagonal() + noise_variance);
    if (!appended.ok()) return appended;
  }
  return absl::OkStatus();
}

absl::StatusOr<Posterior> Posterior::Create(
    const std::vector<int>& groups, const Hyperparameters& h, Eigen::MatrixXd x,
    Eigen::VectorXd y, const GrowingCholesky& factor, Eigen::MatrixXd fantasies,
    std::optional<double> fantasy_value) {
  if (factor.size() != x.rows() || y.size() != x.rows()) {
    return absl::InvalidArgumentError(
        absl::StrCat("posterior of ", x.rows(), " points, ", y.size(),
                     " values and a factor of ", factor.size(), " rows"));
  }
  Posterior posterior(h.KernelFor(groups), h.mean, h.noise_variance());
  posterior.x_ = std::move(x);
  posterior.y_ = std::move(y);
  posterior.factor_ = &factor;
  posterior.fantasies_ = std::move(fantasies);
  const Eigen::VectorXd residual = posterior.y_.array() - h.mean;
  const Eigen::VectorXd z = factor.SolveLower(residual);
  const Eigen::Index p = posterior.fantasies_.rows();
  if (p == 0) {
    posterior.alpha_x_ = factor.SolveUpper(z);
    posterior.alpha_p_ = Eigen::VectorXd(0);
    return posterior;
  }
  const Matern52Kernel& kernel = posterior.kernel_;
  posterior.cross_block_ =
      factor.SolveLower(kernel.Cross(posterior.x_, posterior.fantasies_))
          .transpose();
  const Eigen::MatrixXd& b = posterior.cross_block_;
  Eigen::MatrixXd schur =
      kernel.Cross(posterior.fantasies_, posterior.fantasies_);
  schur.diagonal().array() += kFantasyNoise;
  schur.noalias() -= b * b.transpose();
  absl::StatusOr<JitteredFactor> c = JitteredCholesky(schur);
  if (!c.ok()) return c.status();
  posterior.fantasy_lower_ = std::move(c->lower);
  // The believer's fantasy equals B z (the posterior mean less the constant),
  // which makes z2 zero; a liar's fantasy pulls the mean towards its value.
  Eigen::VectorXd z2 = Eigen::VectorXd::Zero(p);
  if (fantasy_value.has_value()) {
    const auto c_lower =
        posterior.fantasy_lower_.triangularView<Eigen::Lower>();
    z2 = c_lower.solve(
        (Eigen::VectorXd::Constant(p, *fantasy_value - h.mean) - b * z).eval());
  }
  posterior.alpha_p_ =
      posterior.fantasy_lower_.transpose().triangularView<Eigen::Upper>().solve(
          z2);
  posterior.alpha_x_ =
      factor.SolveUpper(z - b.transpose() * posterior.alpha_p_);
  return posterior;
}

Prediction Posterior::Predict(const Eigen::MatrixXd& points,
                              bool with_gradient) const {
  Prediction out;
  const Eigen::MatrixXd kx = kernel_.Cross(x_, points);  // n x b
  out.mean = (kx.transpose() * alpha_x_).array() + mean_;
  const Eigen::MatrixXd v1 = factor_->SolveLower(kx);
  out.variance = (kernel_.Diagonal() - v1.colwise().squaredNorm().array())
                     .matrix()
                     .transpose();
  const Eigen::Index p = fantasies_.rows();
  Eigen::MatrixXd v2;
  if (p > 0) {
    const Eigen::MatrixXd kp = kernel_.Cross(fantasies_, points);  // p x b
    out.mean += kp.transpose() * alpha_p_;
    v2 = fantasy_lower_.triangularView<Eigen::Lower>().solve(kp -
                                                             cross_block_ * v1);
    out.variance -= v2.colwise().squaredNorm().transpose();
  }
  // Rounding can push the variance of an observed point below zero.
  const double floor = 1e-12 * kernel_.Diagonal();
  out.variance = out.variance.cwiseMax(floor);
  if (!with_gradient) return out;

  // The variance's gradient is -2 k^T K_aug^{-1} dk/dx.
  Eigen::MatrixXd w_p;
  Eigen::MatrixXd w_x;
  if (p > 0) {
    w_p = fantasy_lower_.transpose().triangularView<Eigen::Upper>().solve(v2);
    w_x = factor_->SolveUpper(v1 - cross_block_.transpose() * w_p);
  } else {
    w_x = factor_->SolveUpper(v1);
  }
  const Eigen::Index d = points.cols();
  out.mean_gradient.resize(points.rows(), d);
  out.variance_gradient.resize(points.rows(), d);
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const Eigen::MatrixXd gx = kernel_.CrossGradient(points.row(i), x_);
    Eigen::RowVectorXd mean_gradient = alpha_x_.transpose() * gx;
    Eigen::RowVectorXd variance_gradient = w_x.col(i).transpose() * gx;
    if (p > 0) {
      const Eigen::MatrixXd gp =
          kernel_.CrossGradient(points.row(i), fantasies_);
      mean_gradient += alpha_p_.transpose() * gp;
      variance_gradient += w_p.col(i).transpose() * gp;
    }
    out.mean_gradient.row(i) = mean_gradient;
    out.variance_gradient.row(i) = out.variance[i] > floor
                                       ? (-2.0 * variance_gradient).eval()
                                       : Eigen::RowVectorXd::Zero(d);
  }
  return out;
}

Eigen::VectorXd Posterior::PredictMean(const Eigen::MatrixXd& points) const {
  Eigen::VectorXd mean = kernel_.Cross(points, x_) * alpha_x_;
  if (fantasies_.rows() > 0) {
    mean += kernel_.Cross(points, fantasies_) * alpha_p_;
  }
  return mean.array() + mean_;
}

Eigen::MatrixXd Posterior::JointCovariance(
    const Eigen::MatrixXd& points) const {
  const Eigen::MatrixXd v1 = factor_->SolveLower(kernel_.Cross(x_, points));
  Eigen::MatrixXd covariance = kernel_.Cross(points, points);
  covariance.noalias() -= v1.transpose() * v1;
  if (fantasies_.rows() > 0) {
    const Eigen::MatrixXd v2 =
        fantasy_lower_.triangularView<Eigen::Lower>().solve(
            kernel_.Cross(fantasies_, points) - cross_block_ * v1);
    covariance.noalias() -= v2.transpose() * v2;
  }
  return covariance;
}

Eigen::VectorXd Posterior::MeanAtObservations() const {
  // The first block row of the augmented system reads
  // (K + noise I) alpha_x + K_xp alpha_p = y - mean, so the latent mean at the
  // observations is y - noise alpha_x.
  return y_ - noise_variance_ * alpha_x_;
}

}  // namespace sweep::gp
