#include "search/bayes_observations.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "search/searcher.h"
#include "search/space_encoding.h"
#include "search/spec.h"

namespace sweep {
namespace {

SweepSpec OneParameterSpec(Goal goal, Impute impute) {
  SweepSpec spec;
  spec.method = Method::kBayes;
  ParameterSpec p;
  p.name = "x";
  p.path = {"x"};
  p.distribution = Distribution::kUniform;
  p.min = 0;
  p.max = 10;
  spec.parameters.push_back(p);
  MetricSpec metric;
  metric.name = "loss";
  metric.goal = goal;
  metric.impute = impute;
  spec.metric = metric;
  return spec;
}

TrialRecord Trial(int64_t id, TrialState state, double x,
                  std::optional<double> objective) {
  TrialRecord trial;
  trial.id = id;
  trial.state = state;
  trial.point = {Value(x)};
  trial.objective = objective;
  return trial;
}

std::vector<TrialRecord> MixedHistory() {
  return {
      Trial(1, TrialState::kFinished, 1, 3.0),
      Trial(2, TrialState::kFailed, 2, 0.5),  // Logged, then failed.
      Trial(3, TrialState::kStopped, 3, 7.0),
      Trial(4, TrialState::kFinished, 4, std::nullopt),
      Trial(5, TrialState::kFinished, 5,
            std::numeric_limits<double>::quiet_NaN()),
      Trial(6, TrialState::kCrashed, 6, std::nullopt),
      Trial(7, TrialState::kFinished, 7, 5.0),
      Trial(8, TrialState::kRunning, 8, std::nullopt),
  };
}

BayesObservations Collect(const SweepSpec& spec,
                          const std::vector<TrialRecord>& finished,
                          const std::vector<Point>& pending = {}) {
  const SpaceEncoding encoding(spec);
  return CollectObservations(SearchContext{spec, finished, pending}, encoding);
}

TEST(CollectObservationsTest, ImputesWorstForFailuresAndMissingValues) {
  const SweepSpec spec = OneParameterSpec(Goal::kMinimize, Impute::kWorst);
  const BayesObservations obs = Collect(spec, MixedHistory());
  ASSERT_EQ(obs.values.size(), 7);
  const std::vector<double> expected = {3, 7, 7, 7, 7, 7, 5};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(obs.values[i], expected[i]) << i;
  EXPECT_NEAR(obs.points(1, 0), 0.2, 1e-12);  // x = 2 on [0, 10].
  ASSERT_EQ(obs.unvalued.rows(), 1);          // The one still running.
  EXPECT_NEAR(obs.unvalued(0, 0), 0.8, 1e-12);
  EXPECT_FALSE(obs.pending_value.has_value());
}

TEST(CollectObservationsTest, BestAndLatestImpute) {
  const BayesObservations best =
      Collect(OneParameterSpec(Goal::kMinimize, Impute::kBest), MixedHistory());
  EXPECT_EQ(best.values[1], 3.0);
  const BayesObservations latest = Collect(
      OneParameterSpec(Goal::kMinimize, Impute::kLatest), MixedHistory());
  // The last trial in order with a value of its own is trial 7.
  EXPECT_EQ(latest.values[1], 5.0);
}

TEST(CollectObservationsTest, MaximizedMetricIsNegated) {
  const BayesObservations obs = Collect(
      OneParameterSpec(Goal::kMaximize, Impute::kWorst), MixedHistory());
  EXPECT_EQ(obs.values[0], -3.0);
  EXPECT_EQ(obs.values[1], -3.0);  // The worst of -3, -7, -5.
  EXPECT_EQ(obs.values[6], -5.0);
}

TEST(CollectObservationsTest, NothingToImputeLeavesTrialsUnvalued) {
  const SweepSpec spec = OneParameterSpec(Goal::kMinimize, Impute::kWorst);
  const std::vector<TrialRecord> failures = {
      Trial(1, TrialState::kFailed, 1, std::nullopt),
      Trial(2, TrialState::kKilled, 2, 4.0),
  };
  const BayesObservations obs = Collect(spec, failures);
  EXPECT_EQ(obs.values.size(), 0);
  EXPECT_EQ(obs.unvalued.rows(), 2);
}

TEST(CollectObservationsTest, ImputeWhileRunningMakesPendingALiar) {
  SweepSpec spec = OneParameterSpec(Goal::kMinimize, Impute::kWorst);
  spec.metric->impute_while_running = Impute::kBest;
  const BayesObservations obs =
      Collect(spec, MixedHistory(), {{Value(9.0)}, {Value(1.5)}});
  ASSERT_EQ(obs.pending.rows(), 2);
  EXPECT_NEAR(obs.pending(0, 0), 0.9, 1e-12);
  ASSERT_TRUE(obs.pending_value.has_value());
  EXPECT_EQ(*obs.pending_value, 3.0);
}

}  // namespace
}  // namespace sweep
