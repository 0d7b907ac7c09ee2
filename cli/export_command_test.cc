#include "cli/export_command.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Trial MakeTrial(int64_t number, const std::string& config_json) {
  v1::Trial trial;
  trial.set_sweep_id("abc123de");
  trial.set_number(number);
  trial.set_state(v1::TRIAL_STATE_FINISHED);
  trial.set_config_json(config_json);
  trial.set_created_ms(1714566896789);  // 2024-05-01T12:34:56.789Z
  trial.set_ended_ms(1714566896789 + 12345);
  trial.set_exit_code(0);
  trial.set_agent_id("agent-1");
  trial.set_host("gpu-01");
  return trial;
}

// The CSV split into lines (no field here holds a newline).
std::vector<std::string> Lines(const std::string& csv) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : csv) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  EXPECT_TRUE(line.empty()) << "the last line must end in a newline";
  return lines;
}

TEST(CsvFieldTest, QuotesOnlyWhatRfc4180Requires) {
  EXPECT_EQ(CsvField("plain value"), "plain value");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
}

TEST(ExportTableTest,
     ColumnsAreTrialFieldsThenTheSortedUnionOfParamsAndMetrics) {
  TrialList trials;
  *trials.Add() = MakeTrial(1, R"({"lr": 0.1, "optimizer": {"name": "adam"}})");
  (*trials.Add() = MakeTrial(2, R"({"epochs": 3, "lr": 0.2})"))
      .mutable_summary()
      ->insert({"val_loss", 0.5});
  trials[0].mutable_summary()->insert({"acc", 0.9});
  const ExportTable table = BuildExportTable(trials);
  EXPECT_THAT(
      table.columns,
      ElementsAre("number", "state", "best_value", "created", "ended",
                  "duration_s", "exit_code", "signal", "agent", "host",
                  "end_reason", "stop_decision.rule", "stop_decision.band",
                  "stop_decision.value", "stop_decision.threshold",
                  "config.epochs", "config.lr", "config.optimizer.name",
                  "summary.acc", "summary.val_loss"));
  ASSERT_EQ(table.rows.size(), 2u);
  // Every row holds every column; what a trial lacks is null.
  ASSERT_EQ(table.rows[0].size(), table.columns.size());
  ASSERT_EQ(table.rows[1].size(), table.columns.size());
  EXPECT_TRUE(table.rows[0][15].is_null());  // config.epochs
  EXPECT_TRUE(table.rows[1][17].is_null());  // config.optimizer.name
  EXPECT_EQ(table.rows[1][15], 3);
  EXPECT_EQ(table.rows[0][18], 0.9);  // summary.acc
}

// A trial logging tens of thousands of metric names is exported in
// near-linear time (each cell was a scan of the row's object: 50,000 names
// took minutes).
TEST(ExportTableTest, ManyMetricNamesAreExportedEveryOneInItsColumn) {
  TrialList trials;
  v1::Trial& trial = *trials.Add() = MakeTrial(1, R"({"lr": 0.1})");
  constexpr int kNames = 50'000;
  for (int i = 0; i < kNames; ++i) {
    (*trial.mutable_summary())["m" + std::to_string(i)] = i;
  }
  const ExportTable table = BuildExportTable(trials);
  ASSERT_EQ(table.columns.size(), 16u + kNames);
  ASSERT_EQ(table.rows.size(), 1u);
  for (size_t i = 16; i < table.columns.size(); ++i) {
    ASSERT_EQ(table.rows[0][i], std::stoi(table.columns[i].substr(9)))
        << table.columns[i];
  }
  // Parsed unordered: ordered_json's own inserts scan.
  const nlohmann::json json = nlohmann::json::parse(FormatExportJson(table));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].size(), 16u + kNames);
  EXPECT_EQ(json[0]["summary.m49999"], 49'999);
}

TEST(ExportTableTest, CsvKeepsIntegersAndFloatsApartAndLeavesMissingEmpty) {
  TrialList trials;
  *trials.Add() = MakeTrial(1, R"({"batch": 32, "scale": 3.0, "lr": 1e-05})");
  *trials.Add() =
      MakeTrial(2, R"({"batch": 64, "flag": true, "tags": [1, 2]})");
  const std::vector<std::string> lines =
      Lines(FormatExportCsv(BuildExportTable(trials)));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "number,state,best_value,created,ended,duration_s,exit_code,"
            "signal,agent,host,end_reason,stop_decision.rule,"
            "stop_decision.band,stop_decision.value,stop_decision.threshold,"
            "config.batch,config.flag,config.lr,config.scale,config.tags");
  EXPECT_EQ(lines[1],
            "1,finished,,2024-05-01T12:34:56.789Z,2024-05-01T12:35:09.134Z,"
            "12.345,0,,agent-1,gpu-01,,,,,,32,,1e-05,3.0,");
  EXPECT_EQ(lines[2],
            "2,finished,,2024-05-01T12:34:56.789Z,2024-05-01T12:35:09.134Z,"
            "12.345,0,,agent-1,gpu-01,,,,,,64,true,,,\"[1,2]\"");
}

// Why each trial ended, and what stopped it: a Hyperband stop and a lost
// lease are told apart. The sweep's metric has its column before any trial
// has logged it.
TEST(ExportTableTest, WhyATrialEndedAndTheSweepMetricAreColumns) {
  TrialList trials;
  v1::Trial& stopped = *trials.Add() = MakeTrial(1, "{}");
  stopped.set_state(v1::TRIAL_STATE_STOPPED);
  stopped.set_end_reason("stopped by hyperband at band 3");
  v1::StopDecision& decision = *stopped.mutable_stop_decision();
  decision.set_rule("hyperband");
  decision.set_band(3);
  decision.set_value(10);
  decision.set_threshold(8.5);
  v1::Trial& crashed = *trials.Add() = MakeTrial(2, "{}");
  crashed.set_state(v1::TRIAL_STATE_CRASHED);
  crashed.set_end_reason("lease expired");
  const Value json =
      Value::parse(FormatExportJson(BuildExportTable(trials, "val_loss")));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].at("end_reason"), "stopped by hyperband at band 3");
  EXPECT_EQ(json[0].at("stop_decision.rule"), "hyperband");
  EXPECT_EQ(json[0].at("stop_decision.band"), 3);
  EXPECT_EQ(json[0].at("stop_decision.value"), 10.0);
  EXPECT_EQ(json[0].at("stop_decision.threshold"), 8.5);
  EXPECT_EQ(json[1].at("end_reason"), "lease expired");
  EXPECT_TRUE(json[1].at("stop_decision.rule").is_null());
  EXPECT_TRUE(json[1].at("stop_decision.threshold").is_null());
  EXPECT_TRUE(json[0].at("summary.val_loss").is_null());
  EXPECT_TRUE(json[1].at("summary.val_loss").is_null());
}

TEST(ExportTableTest, CsvQuotesCommasQuotesAndNewlinesInValues) {
  TrialList trials;
  *trials.Add() =
      MakeTrial(1, R"({"arch": "resnet,50", "note": "say \"hi\"\nbye"})");
  const std::string csv = FormatExportCsv(BuildExportTable(trials));
  EXPECT_THAT(csv, HasSubstr(",\"resnet,50\",\"say \"\"hi\"\"\nbye\"\n"));
}

TEST(ExportTableTest, NonFiniteValuesKeepTheirKindInCsvAndJson) {
  TrialList trials;
  v1::Trial& trial = *trials.Add() = MakeTrial(1, "{}");
  trial.set_best_value(std::numeric_limits<double>::quiet_NaN());
  trial.mutable_summary()->insert(
      {"loss", std::numeric_limits<double>::quiet_NaN()});
  trial.mutable_summary()->insert(
      {"grad", std::numeric_limits<double>::infinity()});
  const ExportTable table = BuildExportTable(trials);
  const std::vector<std::string> lines = Lines(FormatExportCsv(table));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].substr(lines[0].rfind("threshold")),
            "threshold,summary.grad,summary.loss");
  EXPECT_EQ(lines[1].substr(0, 15), "1,finished,nan,");
  EXPECT_EQ(lines[1].substr(lines[1].rfind("gpu-01")), "gpu-01,,,,,,inf,nan");

  const Value json = Value::parse(FormatExportJson(table));
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].at("best_value"), "NaN");
  EXPECT_EQ(json[0].at("summary.loss"), "NaN");
  EXPECT_EQ(json[0].at("summary.grad"), "Infinity");
}

TEST(ExportTableTest, JsonRowsAreFlatWithNumbersAsNumbers) {
  TrialList trials;
  v1::Trial& trial = *trials.Add() =
      MakeTrial(7, R"({"optimizer": {"lr": 0.001, "momentum": {"beta": 9}}})");
  trial.set_best_value(0.25);
  trial.mutable_summary()->insert({"val_loss", 0.25});
  trial.mutable_summary()->insert({"epoch", 12});
  v1::Trial& running = *trials.Add() = MakeTrial(8, R"({"optimizer": {}})");
  running.set_state(v1::TRIAL_STATE_RUNNING);
  running.set_ended_ms(0);
  running.clear_exit_code();
  // A lost trial: its agent reported no exit, and the controller sets none.
  v1::Trial& lost = *trials.Add() = MakeTrial(9, R"({"optimizer": {}})");
  lost.set_state(v1::TRIAL_STATE_CRASHED);
  lost.clear_exit_code();
  v1::Trial& killed = *trials.Add() = MakeTrial(10, R"({"optimizer": {}})");
  killed.set_state(v1::TRIAL_STATE_KILLED);
  killed.clear_exit_code();
  killed.set_signal(9);

  const Value json = Value::parse(FormatExportJson(BuildExportTable(trials)));
  ASSERT_EQ(json.size(), 4u);
  const Value& best = json[0];
  EXPECT_EQ(best.at("number"), 7);
  EXPECT_TRUE(best.at("config.optimizer.lr").is_number_float());
  EXPECT_EQ(best.at("config.optimizer.lr"), 0.001);
  EXPECT_TRUE(best.at("config.optimizer.momentum.beta").is_number_integer());
  EXPECT_EQ(best.at("summary.val_loss"), 0.25);
  // An integral metric is an integer: "12", not "12.0".
  EXPECT_TRUE(best.at("summary.epoch").is_number_integer());
  EXPECT_EQ(best.at("summary.epoch"), 12);
  EXPECT_EQ(best.at("best_value"), 0.25);
  EXPECT_EQ(best.at("duration_s"), 12.345);
  EXPECT_EQ(best.at("created"), "2024-05-01T12:34:56.789Z");
  for (const auto& [key, value] : best.items()) {
    EXPECT_FALSE(value.is_object()) << key;
  }
  // A running trial has no end, duration or exit code yet.
  const Value& live = json[1];
  EXPECT_EQ(live.at("state"), "running");
  EXPECT_TRUE(live.at("ended").is_null());
  EXPECT_TRUE(live.at("duration_s").is_null());
  EXPECT_TRUE(live.at("exit_code").is_null());
  // An empty nested object has no leaves, so no column.
  EXPECT_FALSE(live.contains("config.optimizer"));
  EXPECT_EQ(json[0].at("exit_code"), 0);
  EXPECT_TRUE(json[0].at("signal").is_null());
  EXPECT_TRUE(json[2].at("exit_code").is_null());
  EXPECT_TRUE(json[2].at("signal").is_null());
  EXPECT_TRUE(json[3].at("exit_code").is_null());
  EXPECT_EQ(json[3].at("signal"), 9);
}

TEST(ExportTableTest, NoTrialsGiveAHeaderAndAnEmptyArray) {
  const ExportTable table = BuildExportTable(TrialList());
  EXPECT_EQ(FormatExportCsv(table),
            "number,state,best_value,created,ended,duration_s,exit_code,"
            "signal,agent,host,end_reason,stop_decision.rule,"
            "stop_decision.band,stop_decision.value,stop_decision.threshold\n");
  EXPECT_EQ(FormatExportJson(table), "[]\n");
}

TEST(ExportTableTest, SignalAndExitCodeOfAKilledTrial) {
  TrialList trials;
  v1::Trial& trial = *trials.Add() = MakeTrial(1, "{}");
  trial.set_state(v1::TRIAL_STATE_KILLED);
  trial.set_signal(15);
  const Value json = Value::parse(FormatExportJson(BuildExportTable(trials)));
  EXPECT_EQ(json[0].at("signal"), 15);
  EXPECT_EQ(json[0].at("state"), "killed");
}

}  // namespace
}  // namespace sweep
