#include "search/bayes_observations.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace sweep {
namespace {

// The value a trial logged, on the minimizing side, when it counts as-is.
std::optional<double> OwnValue(const TrialRecord& trial, Goal goal) {
  if (trial.state != TrialState::kFinished &&
      trial.state != TrialState::kStopped) {
    return std::nullopt;
  }
  if (!trial.objective.has_value() || !std::isfinite(*trial.objective)) {
    return std::nullopt;
  }
  return goal == Goal::kMaximize ? -*trial.objective : *trial.objective;
}

std::optional<double> ImputeValue(Impute impute,
                                  const std::vector<double>& own_values) {
  if (own_values.empty()) return std::nullopt;
  switch (impute) {
    case Impute::kWorst:
      return *std::max_element(own_values.begin(), own_values.end());
    case Impute::kBest:
      return *std::min_element(own_values.begin(), own_values.end());
    case Impute::kLatest:
      return own_values.back();
  }
  return std::nullopt;
}

Eigen::MatrixXd Rows(const std::vector<Eigen::VectorXd>& rows, int columns) {
  Eigen::MatrixXd matrix(static_cast<Eigen::Index>(rows.size()), columns);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    matrix.row(static_cast<Eigen::Index>(i)) = rows[i].transpose();
  }
  return matrix;
}

}  // namespace

BayesObservations CollectObservations(const SearchContext& context,
                                      const SpaceEncoding& encoding) {
  const MetricSpec& metric = *context.spec.metric;
  std::vector<double> own_values;
  for (const TrialRecord& trial : context.finished) {
    const std::optional<double> value = OwnValue(trial, metric.goal);
    if (value.has_value()) own_values.push_back(*value);
  }
  const std::optional<double> imputed = ImputeValue(metric.impute, own_values);

  std::vector<Eigen::VectorXd> points;
  std::vector<double> values;
  std::vector<Eigen::VectorXd> unvalued;
  for (const TrialRecord& trial : context.finished) {
    std::optional<double> value = OwnValue(trial, metric.goal);
    if (!value.has_value() && trial.state != TrialState::kRunning) {
      value = imputed;
    }
    if (value.has_value()) {
      points.push_back(encoding.Encode(trial.point));
      values.push_back(*value);
    } else {
      unvalued.push_back(encoding.Encode(trial.point));
    }
  }
  std::vector<Eigen::VectorXd> pending;
  pending.reserve(context.pending.size());
  for (const Point& point : context.pending) {
    pending.push_back(encoding.Encode(point));
  }

  BayesObservations out;
  const int d = encoding.dimensions();
  out.points = Rows(points, d);
  out.values = Eigen::Map<const Eigen::VectorXd>(
      values.data(), static_cast<Eigen::Index>(values.size()));
  out.unvalued = Rows(unvalued, d);
  out.pending = Rows(pending, d);
  if (metric.impute_while_running.has_value()) {
    out.pending_value = ImputeValue(*metric.impute_while_running, own_values);
  }
  return out;
}

}  // namespace sweep
