#include "search/bayes_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace sweep {
namespace {

// n observations of an objective that varies quickly along x0, slowly along
// x1 and not at all along x2.
BayesObservations Observations(int n) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  BayesObservations observations;
  observations.points.resize(n, 3);
  observations.values.resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) observations.points(i, j) = unit(rng);
    const double x0 = observations.points(i, 0);
    const double x1 = observations.points(i, 1);
    observations.values[i] = std::sin(9.0 * x0) + 0.5 * x1 * x1;
  }
  return observations;
}

BayesObservations FirstRows(const BayesObservations& all, int n) {
  BayesObservations some;
  some.points = all.points.topRows(n);
  some.values = all.values.head(n);
  return some;
}

TEST(FitCheckpointTest, EveryCallUpTo30ThenEach20PercentMore) {
  EXPECT_EQ(FitCheckpoint(7), 7);
  EXPECT_EQ(FitCheckpoint(30), 30);
  EXPECT_EQ(FitCheckpoint(35), 30);
  EXPECT_EQ(FitCheckpoint(36), 36);
  EXPECT_EQ(FitCheckpoint(134), 112);
  EXPECT_EQ(FitCheckpoint(135), 135);
}

// Beyond the full-fit size the hyperparameters come from a coarse fit on a
// subset refined on the rest: still a function of the observations alone.
TEST(BayesModelTest, LargeHistoryModelIsTheSameFromTheMemoOrFresh) {
  const std::vector<int> groups = {0, 1, 2};
  const BayesObservations all = Observations(140);
  ModelMemo long_lived;
  for (int n = 130; n <= 140; ++n) {
    ASSERT_TRUE(BuildModel(FirstRows(all, n), groups, &long_lived).ok());
  }
  ModelMemo fresh;
  absl::StatusOr<BayesModel> fresh_model = BuildModel(all, groups, &fresh);
  ASSERT_TRUE(fresh_model.ok()) << fresh_model.status();
  absl::StatusOr<BayesModel> memo_model = BuildModel(all, groups, &long_lived);
  ASSERT_TRUE(memo_model.ok()) << memo_model.status();
  EXPECT_TRUE(long_lived.fit == fresh.fit);
  EXPECT_EQ(long_lived.warp, fresh.warp);
  const Eigen::MatrixXd probe = Observations(20).points;
  const Eigen::VectorXd a = memo_model->posterior->PredictMean(probe);
  const Eigen::VectorXd b = fresh_model->posterior->PredictMean(probe);
  for (Eigen::Index i = 0; i < probe.rows(); ++i) EXPECT_EQ(a[i], b[i]);
}

TEST(BayesModelTest, LargeHistoryFitFindsWhichInputsMatter) {
  const std::vector<int> groups = {0, 1, 2};
  const BayesObservations all = Observations(140);
  ModelMemo memo;
  absl::StatusOr<BayesModel> model = BuildModel(all, groups, &memo);
  ASSERT_TRUE(model.ok()) << model.status();
  const Eigen::VectorXd& scales = memo.fit.log_length_scales;
  EXPECT_LT(scales[0], scales[1]);
  EXPECT_LT(scales[1], scales[2]);
  // And the model predicts new points of the smooth objective closely (the
  // posterior is on the transformed scale).
  const BayesObservations probe = Observations(160);
  const Eigen::VectorXd predicted =
      model->posterior->PredictMean(probe.points.bottomRows(20));
  for (Eigen::Index i = 0; i < predicted.size(); ++i) {
    EXPECT_NEAR(model->transform.Inverse(predicted[i]), probe.values[140 + i],
                0.05);
  }
}

}  // namespace
}  // namespace sweep
