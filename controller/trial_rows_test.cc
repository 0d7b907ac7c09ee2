// The stored JSON of a trial's summary, prediction and stop decision, read
// back into the wire message whatever the store holds.
#include "controller/trial_rows.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace sweep {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(TrialRowsTest, NonFiniteNumbersSurviveTheStore) {
  const nlohmann::json stored = nlohmann::json::parse(
      PredictionToJson(12.5, kInf, -std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(stored["mean"], 12.5);
  EXPECT_EQ(DoubleFromStored(stored["stddev"]), kInf);
  EXPECT_TRUE(std::isnan(DoubleFromStored(stored["acquisition"])));
  EXPECT_EQ(DoubleFromStored(StoredDouble(-kInf)), -kInf);

  const absl::flat_hash_map<std::string, double> summary =
      SummaryFromJson(SummaryToJson({{"loss", kInf}, {"acc", 0.5}}));
  EXPECT_EQ(summary.at("loss"), kInf);
  EXPECT_EQ(summary.at("acc"), 0.5);
}

TEST(TrialRowsTest, NullsOrStrangeTypesInStoredJsonDoNotThrow) {
  // Rows written before non-finite values were kept hold a null where an
  // infinite standard deviation was; reading one threw and failed every
  // listing of the sweep.
  TrialRow row;
  row.sweep_id = "abc";
  row.number = 20;
  row.summary_json = R"({"loss": null, "acc": 0.5})";
  row.prediction_json =
      R"({"mean": 20.5, "stddev": null, "acquisition": -4.2})";
  row.stop_json = R"({"rule": 3, "band": "nine", "value": null})";
  v1::Trial trial;
  TrialToProto(row, &trial);
  EXPECT_EQ(trial.prediction().mean(), 20.5);
  EXPECT_TRUE(std::isnan(trial.prediction().stddev()));
  EXPECT_EQ(trial.prediction().acquisition(), -4.2);
  EXPECT_EQ(trial.summary().size(), 1);
  EXPECT_EQ(trial.stop_decision().band(), 0);
  EXPECT_EQ(trial.stop_decision().rule(), "");
}

TEST(TrialRowsTest, AnExitIsSetOnlyWhenTheAgentReportedOne) {
  TrialRow row;
  row.sweep_id = "s";
  row.number = 1;
  row.state = v1::TRIAL_STATE_RUNNING;
  v1::Trial trial;
  TrialToProto(row, &trial);
  EXPECT_FALSE(trial.has_exit_code());
  EXPECT_FALSE(trial.has_signal());

  row.ended_ms = 5;
  row.state = v1::TRIAL_STATE_FINISHED;
  trial.Clear();
  TrialToProto(row, &trial);
  ASSERT_TRUE(trial.has_exit_code());
  EXPECT_EQ(trial.exit_code(), 0);
  EXPECT_FALSE(trial.has_signal());

  row.state = v1::TRIAL_STATE_CRASHED;  // Lost: no exit reported.
  trial.Clear();
  TrialToProto(row, &trial);
  EXPECT_FALSE(trial.has_exit_code());
  EXPECT_FALSE(trial.has_signal());

  row.exit_code = 143;  // Interrupted, and it exited.
  trial.Clear();
  TrialToProto(row, &trial);
  EXPECT_EQ(trial.exit_code(), 143);

  row.state = v1::TRIAL_STATE_KILLED;
  row.exit_code = 0;
  row.signal = 9;
  trial.Clear();
  TrialToProto(row, &trial);
  EXPECT_FALSE(trial.has_exit_code());
  EXPECT_EQ(trial.signal(), 9);
}

TEST(TrialRowsTest, ADivergedTrialGivesTheSearchNoValue) {
  TrialRow row;
  row.state = v1::TRIAL_STATE_STOPPED;
  row.best_value = 0.01;  // Logged before its loss went NaN.
  row.stop_json = R"({"rule": "diverged", "band": 3, "value": "NaN"})";
  EXPECT_EQ(StoppedAt(row.stop_json),
            std::make_optional(std::pair<std::string, int64_t>("diverged", 3)));
  EXPECT_FALSE(SearchObjective(row).has_value());
  // Stopped by a rule, it gives the best value it logged.
  row.stop_json = R"({"rule": "hyperband", "band": 9, "value": 0.5})";
  EXPECT_EQ(SearchObjective(row), 0.01);
  // A stored decision of another shape is no decision's rule.
  EXPECT_FALSE(StoppedAt("").has_value());
  EXPECT_FALSE(StoppedAt("[1]").has_value());
  EXPECT_EQ(StoppedAt(R"({"band": "x"})"),
            std::make_optional(std::pair<std::string, int64_t>("", 0)));
  row.state = v1::TRIAL_STATE_FINISHED;
  EXPECT_EQ(SearchObjective(row), 0.01);
}

}  // namespace
}  // namespace sweep
