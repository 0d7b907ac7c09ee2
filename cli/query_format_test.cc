// The text of the query commands, from proto messages (sweep_format.h,
// trial_format.h, display_format.h).
#include <limits>

#include "absl/strings/str_split.h"
#include "cli/display_format.h"
#include "cli/sweep_format.h"
#include "cli/table.h"
#include "cli/trial_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kCreatedMs = 1714566896000;  // 2024-05-01T12:34:56Z

v1::Sweep MakeSweep() {
  v1::Sweep sweep;
  sweep.set_id("abc123de");
  sweep.set_name("lr-search");
  sweep.set_method("grid");
  sweep.set_state(v1::SWEEP_STATE_RUNNING);
  sweep.set_created_ms(kCreatedMs);
  sweep.set_metric_name("val_loss");
  sweep.set_goal("minimize");
  sweep.set_grid_points(144);
  v1::TrialCounts& counts = *sweep.mutable_counts();
  counts.set_total(12);
  counts.set_running(3);
  counts.set_finished(7);
  counts.set_failed(1);
  counts.set_stopped(1);
  sweep.set_best_trial(7);
  sweep.set_best_value(0.2345);
  return sweep;
}

v1::Trial MakeTrial(int64_t number) {
  v1::Trial trial;
  trial.set_sweep_id("abc123de");
  trial.set_number(number);
  trial.set_state(v1::TRIAL_STATE_FINISHED);
  trial.set_config_json(R"({"lr": 0.001, "optimizer": {"name": "adam"}})");
  trial.set_host("gpu-01");
  trial.set_agent_id("agent-7");
  trial.set_created_ms(kCreatedMs);
  trial.set_ended_ms(kCreatedMs + 185000);
  trial.set_exit_code(0);
  trial.set_best_value(0.5);
  (*trial.mutable_summary())["val_loss"] = 0.6;
  (*trial.mutable_summary())["acc"] = 0.8;
  (*trial.mutable_summary())["_step"] = 10;
  return trial;
}

TEST(DisplayFormatTest, StatesDurationsAndTimes) {
  EXPECT_EQ(SweepStateName(v1::SWEEP_STATE_CANCELED), "canceled");
  EXPECT_EQ(TrialStateName(v1::TRIAL_STATE_STOPPED), "stopped");
  EXPECT_EQ(TrialStateName(static_cast<v1::TrialState>(99)), "unknown");
  EXPECT_EQ(FormatCompactDuration(absl::Milliseconds(437)), "0.4s");
  EXPECT_EQ(FormatCompactDuration(absl::Milliseconds(9999)), "9.9s");
  EXPECT_EQ(FormatCompactDuration(absl::Seconds(42)), "42s");
  EXPECT_EQ(FormatCompactDuration(absl::Seconds(185)), "3m05s");
  EXPECT_EQ(FormatCompactDuration(absl::Minutes(123)), "2h03m");
  EXPECT_EQ(FormatCompactDuration(absl::Hours(103)), "4d07h");
  EXPECT_EQ(FormatIsoTime(kCreatedMs + 7), "2024-05-01T12:34:56.007Z");
  EXPECT_EQ(FormatIsoTime(0), "");
  EXPECT_EQ(FormatLocalTime(kCreatedMs, absl::UTCTimeZone()),
            "2024-05-01 12:34:56 UTC");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::quiet_NaN()), "nan");
}

TEST(DisplayFormatTest, WholeNumbersPrintInFull) {
  EXPECT_EQ(FormatMetricValue(12345678901), "12345678901");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(0.1234567), "0.123457");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "inf");
}

TEST(DisplayFormatTest, ScriptJsonKeepsEveryKeyOfALargeSummary) {
  v1::Trial trial = MakeTrial(1);
  trial.mutable_summary()->clear();
  constexpr int kNames = 30'000;
  for (int i = 0; i < kNames; ++i) {
    (*trial.mutable_summary())["m" + std::to_string(i)] = i;
  }
  const nlohmann::json json = nlohmann::json::parse(ProtoToJson(trial));
  ASSERT_EQ(json["summary"].size(), static_cast<size_t>(kNames));
  for (int i = 0; i < kNames; i += 997) {
    EXPECT_EQ(json["summary"]["m" + std::to_string(i)], i);
  }
}

TEST(DisplayFormatTest, ScriptJsonHasNumbersShortStatesAndParsedConfigs) {
  v1::Trial trial = MakeTrial(12);
  (*trial.mutable_summary())["loss"] = std::numeric_limits<double>::quiet_NaN();
  trial.set_log_tail("bad byte \xff here\n");
  const nlohmann::json json = nlohmann::json::parse(ProtoToJson(trial));
  EXPECT_EQ(json["number"], 12);
  EXPECT_EQ(json["created_ms"], kCreatedMs);
  EXPECT_EQ(json["exit_code"], 0);
  EXPECT_EQ(json["signal"], nullptr);  // Unset fields are printed as null.
  EXPECT_EQ(json["malformed_metric_lines"], 0);  // Defaults are printed.
  EXPECT_EQ(json["state"], "finished");
  EXPECT_EQ(json["config"]["optimizer"]["name"], "adam");
  EXPECT_FALSE(json.contains("config_json"));
  EXPECT_EQ(json["best_value"], 0.5);
  EXPECT_EQ(json["summary"]["acc"], 0.8);
  EXPECT_EQ(json["summary"]["loss"], "NaN");
  EXPECT_TRUE(json["prediction"].is_null());
  EXPECT_TRUE(json["history"].is_array());
  EXPECT_EQ(json["log_tail"], "bad byte \xEF\xBF\xBD here\n");

  trial.clear_best_value();
  trial.set_config_json("");
  trial.mutable_stop_decision()->set_band(9);
  const nlohmann::json cleared = nlohmann::json::parse(ProtoToJson(trial));
  EXPECT_TRUE(cleared["best_value"].is_null());
  EXPECT_TRUE(cleared["config"].is_null());
  EXPECT_EQ(cleared["stop_decision"]["band"], 9);

  v1::Sweep sweep = MakeSweep();
  sweep.set_early_terminate_json(R"({"rule":"hyperband","bands":[]})");
  const nlohmann::json sweep_json = nlohmann::json::parse(ProtoToJson(sweep));
  EXPECT_EQ(sweep_json["state"], "running");
  EXPECT_EQ(sweep_json["counts"]["finished"], 7);
  EXPECT_EQ(sweep_json["grid_points"], 144);
  EXPECT_EQ(sweep_json["early_terminate"]["rule"], "hyperband");
}

TEST(SweepFormatTest, CreatedSweepNamesTheControllerOnlyWhenNotDefault) {
  EXPECT_EQ(FormatCreatedSweep(MakeSweep(), "localhost:7420", true),
            "Created sweep abc123de (grid, 144 points)\n"
            "Run an agent with:\n"
            "  sweep agent abc123de\n");
  v1::Sweep bayes = MakeSweep();
  bayes.set_method("bayes");
  bayes.set_grid_points(0);
  bayes.set_run_cap(50);
  EXPECT_EQ(FormatCreatedSweep(bayes, "head:9000", false),
            "Created sweep abc123de (bayes, run_cap 50)\n"
            "Run an agent with:\n"
            "  sweep agent abc123de --controller head:9000\n");
}

TEST(SweepFormatTest, SweepTable) {
  v1::ListSweepsResponse response;
  *response.add_sweeps() = MakeSweep();
  response.mutable_sweeps(0)->set_agents(3);
  v1::Sweep fresh = MakeSweep();
  fresh.set_id("zz99yy88");
  fresh.clear_best_value();
  fresh.set_best_trial(0);
  fresh.set_name("");
  *response.add_sweeps() = fresh;
  EXPECT_EQ(
      FormatSweepTable(response, absl::UTCTimeZone()),
      "ID        NAME       METHOD  STATE            TRIALS  AGENTS         "
      "BEST  CREATED\n"
      "abc123de  lr-search  grid    running  12 (3 running)       3  "
      "0.2345 (#7)  2024-05-01 12:34:56 UTC\n"
      "zz99yy88  -          grid    running  12 (3 running)       0            "
      "-  2024-05-01 12:34:56 UTC\n");
  EXPECT_THAT(FormatSweepTable(v1::ListSweepsResponse(), absl::UTCTimeZone()),
              HasSubstr("No sweeps yet"));
}

TEST(SweepFormatTest, StatusShowsCountsBestProgressAndEarlyTermination) {
  v1::Sweep sweep = MakeSweep();
  sweep.set_run_cap(50);
  sweep.set_state(v1::SWEEP_STATE_PAUSED);
  sweep.set_state_reason("paused by user");
  sweep.set_early_terminate_json(R"({"type":"hyperband","bands":[3,9]})");
  TrialList recent;
  *recent.Add() = MakeTrial(12);
  const std::string status = FormatSweepStatus(
      sweep, recent, absl::FromUnixMillis(kCreatedMs), absl::UTCTimeZone());
  EXPECT_THAT(status, HasSubstr("Sweep abc123de: lr-search\n"));
  EXPECT_THAT(status, HasSubstr("  state:     paused (paused by user)\n"));
  EXPECT_THAT(status, HasSubstr("  metric:    val_loss (minimize)\n"));
  EXPECT_THAT(status, HasSubstr("  trials:    12 (3 running, 7 finished, 1 "
                                "failed, 1 stopped)\n"));
  EXPECT_THAT(status, HasSubstr("  best:      #7, val_loss = 0.2345\n"));
  // Paused: no agent is not a problem; running, it is said with the remedy.
  EXPECT_THAT(status, HasSubstr("  agents:    none\n"));
  {
    v1::Sweep running = sweep;
    running.set_state(v1::SWEEP_STATE_RUNNING);
    EXPECT_THAT(
        FormatSweepStatus(running, recent, absl::FromUnixMillis(kCreatedMs),
                          absl::UTCTimeZone()),
        HasSubstr(
            "  agents:    none: start one with `sweep agent abc123de`\n"));
    running.set_agents(2);
    EXPECT_THAT(
        FormatSweepStatus(running, recent, absl::FromUnixMillis(kCreatedMs),
                          absl::UTCTimeZone()),
        HasSubstr("  agents:    2 (heard from within a lease"));
  }
  {
    v1::Sweep none = sweep;
    none.clear_best_trial();
    none.clear_best_value();
    EXPECT_THAT(
        FormatSweepStatus(none, recent, absl::FromUnixMillis(kCreatedMs),
                          absl::UTCTimeZone()),
        HasSubstr("  best:      none yet\n"));
    none.set_state(v1::SWEEP_STATE_FINISHED);
    EXPECT_THAT(
        FormatSweepStatus(none, recent, absl::FromUnixMillis(kCreatedMs),
                          absl::UTCTimeZone()),
        HasSubstr("  best:      none\n"));
  }
  EXPECT_THAT(status, HasSubstr("  progress:  12 of 144 grid points (8%); 12 "
                                "of run_cap 50 (24%)\n"));
  // Points rerun (sweep.retry_failed, lost agents): more trials than points.
  sweep.set_grid_points(10);
  sweep.set_run_cap(0);
  EXPECT_THAT(FormatSweepStatus(sweep, recent, absl::FromUnixMillis(kCreatedMs),
                                absl::UTCTimeZone()),
              HasSubstr("  progress:  12 trials for 10 grid points (some rerun "
                        "after a failure or a lost agent)\n"));
  // A lost trial's point runs again: it is no progress.
  sweep.mutable_counts()->set_crashed(3);
  EXPECT_THAT(FormatSweepStatus(sweep, recent, absl::FromUnixMillis(kCreatedMs),
                                absl::UTCTimeZone()),
              HasSubstr("  progress:  9 of 10 grid points (90%)\n"));
  // A description of an unknown shape is shown as JSON.
  EXPECT_THAT(status, HasSubstr("Early termination:\n  {\n    \"type\": "
                                "\"hyperband\",\n    \"bands\": [\n"));
  EXPECT_THAT(status, HasSubstr("Recent trials:\n   #  STATE"));
}

TEST(SweepFormatTest, StatusShowsTheDefinitionsLabelsAndTarget) {
  v1::Sweep sweep = MakeSweep();
  sweep.set_normalized_json(
      R"({"description": "lr and depth", "project": "vision",)"
      R"( "entity": "team", "metric": {"name": "val_loss", "target": 0.05}})");
  const std::string status =
      FormatSweepStatus(sweep, TrialList(), absl::FromUnixMillis(kCreatedMs),
                        absl::UTCTimeZone());
  EXPECT_THAT(status, HasSubstr("  description:  lr and depth\n"
                                "  project:      team/vision\n"));
  EXPECT_THAT(status, HasSubstr("  metric:       val_loss (minimize), target "
                                "0.05 ends the sweep\n"));
}

TEST(SweepFormatTest, StatusShowsEachStoppingRuleReadably) {
  v1::Sweep sweep = MakeSweep();
  const auto status = [&](const char* json) {
    sweep.set_early_terminate_json(json);
    return FormatSweepStatus(sweep, TrialList(),
                             absl::FromUnixMillis(kCreatedMs),
                             absl::UTCTimeZone());
  };
  EXPECT_THAT(
      status(R"({"rule":"hyperband","eta":3,"strict":true,"bands":[)"
             R"({"band":3,"trials":40,"threshold":0.25,"stopped":20},)"
             R"({"band":9,"trials":0,"threshold":null,"stopped":0},)"
             R"({"band":27,"trials":0,"threshold":null,"stopped":0},)"
             R"({"band":81,"trials":0,"threshold":null,"stopped":0}]})"),
      HasSubstr("Early termination: hyperband (eta 3, strict)\n"
                "  BAND  TRIALS  THRESHOLD  STOPPED\n"
                "     3      40       0.25       20\n"
                "     9       0          -        0\n"
                "  (more bands: 27, 81; none reached yet)\n"));
  EXPECT_THAT(status(R"({"rule":"asha","reduction_factor":3,"rungs":[)"
                     R"({"band":1,"trials":5,"threshold":0.5,"stopped":2}]})"),
              HasSubstr("Early termination: asha (reduction factor 3)\n"
                        "  RUNG  TRIALS  THRESHOLD  STOPPED\n"
                        "     1       5        0.5        2\n"));
  EXPECT_THAT(status(R"({"rule":"median","warmup_steps":5,"min_trials":3,)"
                     R"("steps_seen":27,"stopped":4})"),
              HasSubstr("Early termination: median (warm-up 5 iterations, at "
                        "least 3 other trials): 4 stopped, 27 iterations "
                        "seen\n"));
  // Whatever follows the first band no trial reached is only counted.
  EXPECT_THAT(status(R"({"rule":"asha","reduction_factor":2,"rungs":[)"
                     R"({"band":1,"trials":0,"threshold":null,"stopped":0},)"
                     R"(7]})"),
              HasSubstr("  (more rungs: -; none reached yet)\n"));
  // Not the shape it knows: the JSON as it came.
  EXPECT_THAT(status(R"({"rule":"hyperband","bands":7})"),
              HasSubstr("Early termination:\n  {\n    \"rule\""));
}

TEST(SweepFormatTest, AControllerThatRefusesChangesSaysSoFirst) {
  v1::Sweep sweep = MakeSweep();
  sweep.set_controller_problem("its store failed a write (disk is full)");
  const std::string status = FormatSweepStatus(
      sweep, {}, absl::FromUnixMillis(kCreatedMs), absl::UTCTimeZone(), 100);
  EXPECT_THAT(status, StartsWith("Sweep " + sweep.id() + ": " + sweep.name() +
                                 "\nThe controller: its store failed a "
                                 "write (disk is full)\n"));
  v1::ListSweepsResponse list;
  list.set_controller_problem(sweep.controller_problem());
  EXPECT_EQ(FormatSweepTable(list, absl::UTCTimeZone()),
            "No sweeps.\nThe controller: its store failed a write (disk is "
            "full)\n");
  *list.add_sweeps() = sweep;
  EXPECT_THAT(FormatSweepTable(list, absl::UTCTimeZone()),
              HasSubstr("\nThe controller: its store failed a write"));
  sweep.clear_controller_problem();
  EXPECT_THAT(FormatSweepStatus(sweep, {}, absl::FromUnixMillis(kCreatedMs),
                                absl::UTCTimeZone(), 100),
              Not(HasSubstr("The controller")));
}

TEST(SweepFormatTest, StateChange) {
  v1::Sweep sweep = MakeSweep();
  sweep.set_state(v1::SWEEP_STATE_FINISHED);
  sweep.set_state_reason("stopped by user");
  EXPECT_EQ(FormatStateChange(sweep, /*unchanged=*/false),
            "Sweep abc123de is now finished (stopped by user).\n");
  EXPECT_EQ(FormatStateChange(sweep, /*unchanged=*/true),
            "Sweep abc123de was already finished (stopped by user).\n");
}

TEST(TrialFormatTest, SummaryMetricsSkipTheSweepMetricAndBookkeeping) {
  TrialList trials;
  *trials.Add() = MakeTrial(1);
  (*trials.Add() = MakeTrial(2)).mutable_summary()->insert({"zeta", 1});
  EXPECT_THAT(ChooseSummaryMetrics(trials, "val_loss", 3),
              ElementsAre("acc", "zeta"));
  EXPECT_THAT(ChooseSummaryMetrics(trials, "val_loss", 1), ElementsAre("acc"));
}

TEST(TrialFormatTest, TableWithAStoppedTrial) {
  TrialList trials;
  *trials.Add() = MakeTrial(1);
  v1::Trial& stopped = *trials.Add() = MakeTrial(2);
  stopped.set_state(v1::TRIAL_STATE_STOPPED);
  stopped.mutable_stop_decision()->set_rule("hyperband");
  stopped.mutable_stop_decision()->set_band(9);
  stopped.mutable_stop_decision()->set_value(0.532);
  stopped.mutable_stop_decision()->set_threshold(0.41);
  v1::Trial& running = *trials.Add() = MakeTrial(3);
  running.set_state(v1::TRIAL_STATE_RUNNING);
  running.set_ended_ms(0);
  running.clear_best_value();
  const std::string table =
      FormatTrialTable(MakeSweep(), trials, {"acc"},
                       absl::FromUnixMillis(kCreatedMs) + absl::Seconds(42));
  EXPECT_EQ(table,
            "#  STATE     BEST val_loss  acc  CONFIG                        "
            "HOST    DURATION  WHY\n"
            "1  finished            0.5  0.8  lr=0.001 optimizer.name=adam  "
            "gpu-01     3m05s\n"
            "2  stopped             0.5  0.8  lr=0.001 optimizer.name=adam  "
            "gpu-01     3m05s  band 9: 0.532 vs 0.41\n"
            "3  running               -  0.8  lr=0.001 optimizer.name=adam  "
            "gpu-01       42s\n");
}

TEST(TrialFormatTest, TableSaysWhyATrialFailedCrashedOrWasKilled) {
  TrialList trials;
  *trials.Add() = MakeTrial(1);
  v1::Trial& failed = *trials.Add() = MakeTrial(2);
  failed.set_state(v1::TRIAL_STATE_FAILED);
  failed.set_end_reason("exit code 1; its last line: no data here");
  v1::Trial& crashed = *trials.Add() = MakeTrial(3);
  crashed.set_state(v1::TRIAL_STATE_CRASHED);
  crashed.set_end_reason("lease expired: no heartbeat for 30000 ms");
  const std::string table = FormatTrialTable(MakeSweep(), trials, {},
                                             absl::FromUnixMillis(kCreatedMs));
  EXPECT_THAT(table, HasSubstr("  WHY\n"));
  EXPECT_THAT(table, HasSubstr("  exit code 1; its last line: no data here\n"));
  EXPECT_THAT(table, HasSubstr("  lease expired: no heartbeat for 30000 ms\n"));

  // A long last line keeps its end, where the cause is.
  failed.set_end_reason(
      "exit code 2; its last line: /usr/bin/python3: can't open file "
      "'/home/someone/projects/train.py': [Errno 2] No such file or "
      "directory");
  EXPECT_THAT(FormatTrialTable(MakeSweep(), trials, {},
                               absl::FromUnixMillis(kCreatedMs)),
              HasSubstr("  exit code 2: \u2026train.py': [Errno 2] No such "
                        "file or directory\n"));

  // A finished trial without the metric, whose agent ignored lines: why.
  v1::Trial& ignored = *trials.Add() = MakeTrial(4);
  ignored.clear_best_value();
  ignored.clear_summary();
  ignored.set_end_reason("ignored line 1: val_loss \"0.4\" is a string");
  EXPECT_THAT(FormatTrialTable(MakeSweep(), trials, {},
                               absl::FromUnixMillis(kCreatedMs)),
              HasSubstr("  no val_loss: ignored line 1: val_loss \"0.4\" is a "
                        "string\n"));
  // One that logged it, only never finite: that, whatever else was ignored.
  ignored.mutable_summary()->insert(
      {"val_loss", std::numeric_limits<double>::quiet_NaN()});
  ignored.set_end_reason("ignored line 1: note \"0.5\" is a string");
  EXPECT_THAT(FormatTrialTable(MakeSweep(), trials, {},
                               absl::FromUnixMillis(kCreatedMs)),
              HasSubstr("  val_loss was never a finite number\n"));

  // All finished: no column.
  TrialList fine;
  *fine.Add() = MakeTrial(1);
  EXPECT_THAT(
      FormatTrialTable(MakeSweep(), fine, {}, absl::FromUnixMillis(kCreatedMs)),
      Not(HasSubstr("WHY")));
}

// CONFIG and WHY widen to a wide terminal and narrow to a narrower one;
// with no width known, 60 columns each.
TEST(TrialFormatTest, ConfigAndWhyFitTheOutputsWidth) {
  TrialList trials;
  v1::Trial& failed = *trials.Add() = MakeTrial(1);
  failed.set_state(v1::TRIAL_STATE_FAILED);
  failed.set_config_json(
      R"({"learning_rate": 0.000123, "optimizer": "adamw", "batch_size": 512,)"
      R"( "dropout": 0.25, "hidden_units": 1024, "weight_decay": 0.0001})");
  failed.set_end_reason(
      "exit code 127; its last line: /usr/bin/env: "
      "'/opt/conda/envs/research/bin/nonexistent-python': No such file or "
      "directory");
  v1::Trial& other = *trials.Add() = MakeTrial(2);
  other.set_config_json(
      R"({"learning_rate": 0.1, "optimizer": "sgd", "batch_size": 64,)"
      R"( "dropout": 0.5, "hidden_units": 32, "weight_decay": 0.01})");
  const absl::Time now = absl::FromUnixMillis(kCreatedMs);
  const auto longest_line = [](const std::string& table) {
    size_t longest = 0;
    for (absl::string_view line : absl::StrSplit(table, '\n')) {
      longest = std::max(longest, DisplayWidth(line));
    }
    return longest;
  };

  const std::string unknown = FormatTrialTable(MakeSweep(), trials, {}, now);
  EXPECT_THAT(unknown, HasSubstr("\u2026"));  // Both cut at 60.
  const std::string wide = FormatTrialTable(MakeSweep(), trials, {}, now, 400);
  EXPECT_THAT(wide, Not(HasSubstr("\u2026"))) << wide;
  EXPECT_THAT(wide, HasSubstr("weight_decay=0.0001"));
  EXPECT_THAT(wide, HasSubstr("nonexistent-python': No such file or "
                              "directory\n"));
  EXPECT_LE(longest_line(wide), 400u);
  const std::string narrow =
      FormatTrialTable(MakeSweep(), trials, {}, now, 120);
  EXPECT_LE(longest_line(narrow), 120u) << narrow;
  // Cut, WHY keeps how it ended and the end of the line.
  EXPECT_THAT(narrow, HasSubstr("exit code 127: \u2026"));
  EXPECT_THAT(narrow, HasSubstr("file or directory\n"));
}

TEST(TrialFormatTest, ConfigShowsOnlyTheParametersThatDiffer) {
  TrialList trials;
  (*trials.Add() = MakeTrial(1))
      .set_config_json(R"({"epochs": 10, "lr": 0.1, "opt": {"name": "sgd"}})");
  (*trials.Add() = MakeTrial(2))
      .set_config_json(R"({"epochs": 10, "lr": 0.2, "opt": {"name": "sgd"}})");
  (*trials.Add() = MakeTrial(3))
      .set_config_json(R"({"epochs": 10.0, "lr": 0.2, "extra": true})");
  const std::string table = FormatTrialTable(MakeSweep(), trials, {},
                                             absl::FromUnixMillis(kCreatedMs));
  EXPECT_THAT(table, HasSubstr("  CONFIG (differing)  "));
  EXPECT_THAT(table, HasSubstr("  lr=0.1 opt.name=sgd  "));
  EXPECT_THAT(table, HasSubstr("  lr=0.2 extra=true    "));
  EXPECT_THAT(table, Not(HasSubstr("epochs")));  // 10 equals 10.0.
}

TEST(TrialFormatTest, DetailShowsEverythingTheTrialCarries) {
  v1::Trial trial = MakeTrial(4);
  trial.set_state(v1::TRIAL_STATE_STOPPED);
  trial.set_end_reason("early-terminated by hyperband");
  trial.set_signal(15);
  trial.set_metric_points(120);
  trial.set_malformed_metric_lines(2);
  trial.mutable_prediction()->set_mean(0.25);
  trial.mutable_prediction()->set_stddev(0.03);
  trial.mutable_prediction()->set_acquisition(1.5);
  trial.mutable_stop_decision()->set_rule("hyperband");
  trial.mutable_stop_decision()->set_band(9);
  trial.mutable_stop_decision()->set_value(0.532);
  trial.mutable_stop_decision()->set_threshold(0.41);
  std::string log;
  for (int i = 1; i <= 30; ++i) log += "line " + std::to_string(i) + "\n";
  trial.set_log_tail(log);
  v1::MetricPoint& point = *trial.add_history();
  point.set_step(1);
  point.set_time_ms(kCreatedMs + 5000);
  (*point.mutable_values())["val_loss"] = 0.9;

  const std::string detail =
      FormatTrialDetail(MakeSweep(), trial, absl::FromUnixMillis(kCreatedMs),
                        absl::UTCTimeZone(), /*log_lines=*/3);
  EXPECT_THAT(detail, HasSubstr("Trial #4 of sweep abc123de\n"));
  EXPECT_THAT(detail, HasSubstr("  end reason:     early-terminated by "
                                "hyperband\n"));
  EXPECT_THAT(detail, HasSubstr("  agent:          agent-7 on gpu-01\n"));
  EXPECT_THAT(detail, HasSubstr("  exit:           signal 15\n"));
  v1::Trial lost = trial;
  lost.set_state(v1::TRIAL_STATE_CRASHED);
  // The controller sets neither when the agent reported no exit.
  lost.clear_signal();
  lost.clear_exit_code();
  EXPECT_THAT(
      FormatTrialDetail(MakeSweep(), lost, absl::FromUnixMillis(kCreatedMs),
                        absl::UTCTimeZone(), /*log_lines=*/3),
      HasSubstr("  exit:           unknown (its agent did not report "
                "one)\n"));
  EXPECT_THAT(detail,
              HasSubstr("  metric:         val_loss = 0.5 (best, minimize)\n"));
  EXPECT_THAT(detail, HasSubstr("  metric points:  120 stored, 2 malformed "
                                "lines ignored\n"));
  EXPECT_THAT(detail, HasSubstr("  prediction:     mean 0.25 \u00b1 0.03, "
                                "acquisition 1.5\n"));
  EXPECT_THAT(detail, HasSubstr("  stopped:        hyperband at band 9: value "
                                "0.532, threshold 0.41\n"));
  EXPECT_THAT(detail, HasSubstr("Config:\n  {\n    \"lr\": 0.001,\n"));
  EXPECT_THAT(detail, HasSubstr("Summary (last values):\n  _step:     10\n"
                                "  acc:       0.8\n  val_loss:  0.6\n"));
  EXPECT_THAT(detail, HasSubstr("History:\n  STEP  ELAPSED  val_loss\n"
                                "     1     5.0s       0.9\n"));
  EXPECT_THAT(detail, HasSubstr("Log tail:\n  (27 earlier lines not shown; "
                                "--json prints all)\n  line 28\n  line 29\n"
                                "  line 30\n"));

  // A Bayesian sweep's design point says why it has no prediction; the
  // median rule's unit is the iteration.
  v1::Sweep bayes = MakeSweep();
  bayes.set_method("bayes");
  trial.clear_prediction();
  trial.mutable_stop_decision()->set_rule("median");
  const std::string design = FormatTrialDetail(
      bayes, trial, absl::FromUnixMillis(kCreatedMs), absl::UTCTimeZone(), 3);
  EXPECT_THAT(design, HasSubstr("  prediction:     none: a point of the "
                                "initial space-filling design"));
  EXPECT_THAT(design, HasSubstr("  stopped:        median at iteration 9:"));

  // A program's escape sequences do not reach the terminal (colours are
  // dropped, other controls shown as '?'); a progress bar shows its last
  // state, and a line that "\r\n" ends shows whole.
  trial.set_log_tail(
      "\x1b]0;HACKED\x07\x1b[2J\x1b[31mfake error\x1b[0m\x07\n"
      "epoch 1:  10%\repoch 1: 100%\ttime 3s\n"
      "train: 100%| 10/10 [00:01, loss=0.41]\r\n");
  const std::string hostile = FormatTrialDetail(
      bayes, trial, absl::FromUnixMillis(kCreatedMs), absl::UTCTimeZone(), 3);
  EXPECT_THAT(hostile, HasSubstr("Log tail:\n  fake error?\n"
                                 "  epoch 1: 100%\ttime 3s\n"
                                 "  train: 100%| 10/10 [00:01, loss=0.41]\n"));
  EXPECT_EQ(hostile.find('\x1b'), std::string::npos);
}

TEST(TrialFormatTest, BestTrialShowsValueConfigAndRerunCommand) {
  const RerunCommand rerun{"python train.py --lr=0.001", false,
                           "SWEEP_PARAMS_JSON='{}'", "/src/clients/python"};
  const std::string best = FormatBestTrial(MakeSweep(), MakeTrial(7), rerun,
                                           absl::FromUnixMillis(kCreatedMs));
  EXPECT_THAT(best, HasSubstr("Best trial of sweep abc123de: #7, val_loss = "
                              "0.5 (minimize)\n"));
  EXPECT_THAT(best, HasSubstr("\"optimizer\": {\n    \"name\": \"adam\"\n"));
  EXPECT_THAT(best, HasSubstr("Rerun it, from the directory its agent ran "
                              "in:\n  SWEEP_PARAMS_JSON='{}' \\\n    python "
                              "train.py --lr=0.001\n"));
  EXPECT_THAT(best, HasSubstr("needs /src/clients/python/shim first on "
                              "PYTHONPATH too: `sweep best --wandb-shim`"));
  RerunCommand with_shim = rerun;
  with_shim.with_wandb_shim = true;
  EXPECT_THAT(FormatBestTrial(MakeSweep(), MakeTrial(7), with_shim,
                              absl::FromUnixMillis(kCreatedMs)),
              Not(HasSubstr("shim first")));
  const RerunCommand from_file{"python train.py params.json", true};
  EXPECT_THAT(FormatBestTrial(MakeSweep(), MakeTrial(7), from_file,
                              absl::FromUnixMillis(kCreatedMs)),
              HasSubstr("with the config above saved as params.json:\n"));
  EXPECT_THAT(FormatBestTrial(MakeSweep(), MakeTrial(7),
                              absl::NotFoundError("${envvar:DATA} is unset"),
                              absl::FromUnixMillis(kCreatedMs)),
              HasSubstr("(No rerun command: ${envvar:DATA} is unset.)\n"));
}

TEST(TrialFormatTest, MissingMetricNoteSaysWhatWasLoggedInstead) {
  v1::Trial trial = MakeTrial(3);  // Logged val_loss, acc and _step.
  EXPECT_EQ(MissingMetricNote(trial, "val_loss"), "");
  EXPECT_EQ(MissingMetricNote(trial, ""), "");
  trial.clear_best_value();
  EXPECT_EQ(MissingMetricNote(trial, "val_loss"),
            "val_loss was never a finite number");
  EXPECT_EQ(MissingMetricNote(trial, "loss"),
            "never logged loss; logged acc, val_loss");
  for (const char* name : {"b", "c", "d", "e"}) {
    (*trial.mutable_summary())[name] = 1;
  }
  EXPECT_EQ(MissingMetricNote(trial, "loss"),
            "never logged loss; logged acc, b, c, d, ...");
  trial.clear_summary();
  EXPECT_EQ(MissingMetricNote(trial, "loss"),
            "never logged loss (nor any metric)");
}

}  // namespace
}  // namespace sweep
