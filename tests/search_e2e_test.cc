// Search methods and early termination through the real binary: a real
// `sweep server`, real `sweep agent` processes and real Python programs.
// Bayes finds the minimum of a quadratic and records its predictions;
// Hyperband, ASHA and the median rule stop a program logging a weak curve at
// a band while programs logging strong curves run to the end, and a run
// whose metric went NaN at the first band.
#include <chrono>
#include <cmath>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/subprocess.h"
#include "tests/sweep_cli.h"

namespace sweep {
namespace {

using ::nlohmann::json;
using ::sweep::testing::BackgroundProcess;
using ::sweep::testing::ExitStatus;
using ::sweep::testing::JsonInt;
using ::sweep::testing::ProcessResult;
using ::sweep::testing::ScopedTempDir;
using ::sweep::testing::ServerProcess;
using ::sweep::testing::StartServer;
using ::sweep::testing::Stream;
using ::sweep::testing::SweepCli;
using ::sweep::testing::WriteFile;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kAgentTimeout(120);

class SearchEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    server_ =
        StartServer(dir_.Path("data"), 0, {"--heartbeat-interval-ms", "200"});
    ASSERT_NE(server_.process, nullptr) << server_.error;
    cli_ = SweepCli(server_.address);
  }

  std::string CreateSweep(const std::string& program_name,
                          const std::string& program, const std::string& yaml) {
    EXPECT_TRUE(WriteFile(dir_.Path(program_name), program));
    const std::string file =
        dir_.Path("sweep-" + std::to_string(++sweeps_) + ".yaml");
    EXPECT_TRUE(WriteFile(file, yaml));
    return cli_.Create(file);
  }

  // Runs one agent on `id` until the sweep has nothing left for it.
  void RunAgent(const std::string& id) {
    std::unique_ptr<BackgroundProcess> agent =
        cli_.StartAgent(id, dir_.path(), {"--workdir", dir_.Path("runs")});
    ASSERT_NE(agent, nullptr);
    const std::optional<ExitStatus> exit = agent->WaitForExit(kAgentTimeout);
    ASSERT_TRUE(exit.has_value()) << "the agent did not exit; stderr:\n"
                                  << agent->Output(Stream::kStderr);
    EXPECT_EQ(exit->exit_code, 0) << agent->Output(Stream::kStderr);
  }

  static json Config(const json& trial) { return trial["config"]; }

  ScopedTempDir dir_{"search-e2e"};  // Destroyed last.
  ServerProcess server_;
  SweepCli cli_{""};
  int sweeps_ = 0;
};

// f(x, y) = (x - 0.3)^2 + (y + 0.2)^2, logged once.
constexpr char kQuadratic[] = R"(import sweep_client

c = sweep_client.config()
sweep_client.log({"loss": (c["x"] - 0.3) ** 2 + (c["y"] + 0.2) ** 2})
)";

// The first point reaches the target and then fails: its configuration is
// nobody's best, so the sweep goes on over the rest of the grid.
constexpr char kFailsAfterTheTarget[] = R"(import sys

import sweep_client

x = sweep_client.config()["x"]
sweep_client.log({"acc": {1: 0.95, 2: 0.5, 3: 0.6}[x]})
sys.exit(1 if x == 1 else 0)
)";

TEST_F(SearchEndToEndTest, ATargetReachedByAFailedTrialDoesNotEndTheSweep) {
  const std::string id = CreateSweep("fails.py", kFailsAfterTheTarget, R"(
program: fails.py
method: grid
metric: {name: acc, goal: maximize, target: 0.9}
parameters:
  x: {values: [1, 2, 3]}
)");
  ASSERT_FALSE(id.empty());
  RunAgent(id);
  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0]["state"], "failed") << trials[0].dump();
  const json status = cli_.Json({"status", id});
  EXPECT_EQ(status["state"], "finished") << status.dump();
  EXPECT_THAT(status["state_reason"].get<std::string>(),
              HasSubstr("every grid point"));
  const json best = cli_.Json({"best", id});
  EXPECT_EQ(Config(best)["x"], 3) << best.dump();
}

TEST_F(SearchEndToEndTest, BayesFindsTheMinimumAndRecordsItsPredictions) {
  const std::string id = CreateSweep("quadratic.py", kQuadratic, R"(
name: e2e-bayes
program: quadratic.py
method: bayes
run_cap: 24
metric:
  name: loss
  goal: minimize
sweep:
  seed: 7
parameters:
  x:
    min: -1.0
    max: 1.0
  y:
    min: -1.0
    max: 1.0
)");
  ASSERT_FALSE(id.empty());
  RunAgent(id);

  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 24u);
  std::set<std::string> configs;
  int with_prediction = 0;
  double best = INFINITY;
  for (const json& trial : trials) {
    EXPECT_EQ(trial["state"], "finished") << trial.dump();
    EXPECT_TRUE(configs.insert(trial["config"].dump()).second)
        << "repeated configuration " << trial["config"];
    best = std::min(best, trial["summary"]["loss"].get<double>());
    if (!trial["prediction"].is_null()) {
      const json& prediction = trial["prediction"];
      EXPECT_TRUE(std::isfinite(prediction.value("mean", NAN)))
          << prediction.dump();
      EXPECT_GE(prediction.value("stddev", -1.0), 0.0) << prediction.dump();
      ++with_prediction;
    }
  }
  // Twenty-four uniform draws come within 0.03 of the minimum (loss below
  // 1e-3) with probability about 2%; the GP, after its initial design, every
  // time with this seed.
  EXPECT_LT(best, 1e-3);
  // Every trial after the initial design (at most 20) is the model's.
  EXPECT_GE(with_prediction, 4);

  const json status = cli_.Json({"status", id});
  EXPECT_EQ(status["state"], "finished") << status.dump();
  // The human view of a model-proposed trial shows its prediction.
  const ProcessResult detail =
      cli_.Run({"trials", id, std::to_string(trials.size())});
  EXPECT_EQ(detail.exit_code, 0) << detail.err;
  EXPECT_THAT(detail.out, HasSubstr("prediction:"));
}

// Logs `steps` values of `loss`: 1.0 each when x < 10 (strong), 50.0 when
// x >= 10 (weak). A weak run is slow (20 s in all), so it is still running
// when the stop order arrives; a strong one is quick.
constexpr char kCurves[] = R"(import time

import sweep_client

x = sweep_client.config()["x"]
weak = x >= 10
for step in range(100):
    sweep_client.log({"loss": 50.0 if weak else 1.0}, step=step)
    if weak:
        time.sleep(0.2)
    elif step >= 11:
        break
)";

// A grid sweep of three strong programs then one weak one, run by one agent
// in that order, so every rule sees the strong curves before the weak one.
std::string StoppingSweep(const std::string& rule) {
  return R"(
name: e2e-stopping
program: curves.py
method: grid
metric:
  name: loss
  goal: minimize
)" + rule +
         R"(
parameters:
  x:
    values: [1, 2, 3, 50]
)";
}

struct StoppingCase {
  std::string name;
  std::string rule_yaml;
  std::string rule;  // As StopDecision.rule says it.
  // Where the weak trial is judged first. The median rule judges at the
  // count of values when a report arrives, which depends on how the agent
  // batched them: at or after this.
  int64_t band;
  bool exact_band;
  // In `sweep status`: the rule's table header or summary; in `sweep
  // trials`: the weak trial's stop column (a prefix of it for the median).
  std::string status_text;
  std::string stop_text;

  friend void PrintTo(const StoppingCase& c, std::ostream* os) {
    *os << c.name;
  }
};

class StoppingEndToEndTest
    : public SearchEndToEndTest,
      public ::testing::WithParamInterface<StoppingCase> {};

TEST_P(StoppingEndToEndTest, StopsTheWeakRunAtItsBandAndLetsStrongOnesFinish) {
  const StoppingCase& c = GetParam();
  const std::string id =
      CreateSweep("curves.py", kCurves, StoppingSweep(c.rule_yaml));
  ASSERT_FALSE(id.empty());
  RunAgent(id);

  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 4u);
  for (const json& listed : trials) {
    const json trial = cli_.TrialWithHistory(id, JsonInt(listed["number"]));
    const int64_t x = Config(trial)["x"];
    if (x < 10) {
      EXPECT_EQ(trial["state"], "finished") << trial.dump();
      EXPECT_EQ(JsonInt(trial["metric_points"]), 12) << trial.dump();
      continue;
    }
    ASSERT_EQ(trial["state"], "stopped") << trial.dump();
    const json& decision = trial["stop_decision"];
    EXPECT_EQ(decision["rule"], c.rule) << decision.dump();
    if (c.exact_band) {
      EXPECT_EQ(JsonInt(decision["band"]), c.band) << decision.dump();
    } else {
      EXPECT_GE(JsonInt(decision["band"]), c.band) << decision.dump();
    }
    EXPECT_EQ(decision["value"].get<double>(), 50.0) << decision.dump();
    EXPECT_EQ(decision["threshold"].get<double>(), 1.0) << decision.dump();
    // Stopped soon after the band, long before its hundred points.
    EXPECT_GE(JsonInt(trial["metric_points"]), c.band);
    EXPECT_LT(JsonInt(trial["metric_points"]), 60) << trial.dump();
    // The program was ended by a signal, not by finishing; its record
    // says why (the rule), not which signal.
    EXPECT_NE(JsonInt(trial["signal"]), 0) << trial.dump();
    EXPECT_THAT(trial["end_reason"].get<std::string>(), HasSubstr(c.rule))
        << trial.dump();
  }
  const json status = cli_.Json({"status", id});
  EXPECT_EQ(JsonInt(status["counts"]["stopped"]), 1) << status.dump();
  EXPECT_EQ(JsonInt(status["counts"]["finished"]), 3) << status.dump();
  // What a user reads: the rule's state and the stopped trial's decision.
  const ProcessResult text = cli_.Run({"status", id});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("Early termination: " + c.rule + " ("))
      << text.out;
  EXPECT_THAT(text.out, HasSubstr(c.status_text)) << text.out;
  const ProcessResult table = cli_.Run({"trials", id});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(c.stop_text)) << table.out;
  // The export tells the stopped trial apart, and why.
  const ProcessResult exported = cli_.Run({"export", id, "--format", "json"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const json rows = json::parse(exported.out);
  ASSERT_EQ(rows.size(), 4u) << exported.out;
  int stopped_rows = 0;
  for (const json& row : rows) {
    if (row["state"] != "stopped") {
      EXPECT_TRUE(row["stop_decision.rule"].is_null()) << row.dump();
      continue;
    }
    ++stopped_rows;
    EXPECT_EQ(row["stop_decision.rule"], c.rule) << row.dump();
    EXPECT_EQ(row["stop_decision.value"].get<double>(), 50.0) << row.dump();
    EXPECT_EQ(row["stop_decision.threshold"].get<double>(), 1.0) << row.dump();
    EXPECT_THAT(row["end_reason"].get<std::string>(), HasSubstr(c.rule));
  }
  EXPECT_EQ(stopped_rows, 1);
}

// Logs `loss` as 1.0 for twelve steps when x is 1; as NaN (a diverged
// run) every 0.2 s for a hundred steps otherwise.
constexpr char kDiverges[] = R"(import time

import sweep_client

diverged = sweep_client.config()["x"] != 1
for step in range(12 if not diverged else 100):
    sweep_client.log({"loss": float("nan") if diverged else 1.0}, step=step)
    if diverged:
        time.sleep(0.2)
)";

// A run whose metric went NaN gets no iteration of the rule, yet is stopped
// where the rule would first judge it, even with no other run to compare.
TEST_F(SearchEndToEndTest, StopsADivergedRunAtTheFirstBandEvenAlone) {
  const std::string id = CreateSweep(
      "diverges.py", kDiverges,
      "program: diverges.py\nmethod: grid\nmetric: {name: loss, goal: "
      "minimize}\nearly_terminate: {type: hyperband, min_iter: 3}\n"
      "parameters:\n  x: {values: [2, 1]}\n");
  ASSERT_FALSE(id.empty());
  RunAgent(id);

  const std::vector<json> trials = cli_.Trials(id);
  ASSERT_EQ(trials.size(), 2u);
  for (const json& listed : trials) {
    const json trial = cli_.TrialWithHistory(id, JsonInt(listed["number"]));
    if (Config(trial)["x"] == 1) {
      EXPECT_EQ(trial["state"], "finished") << trial.dump();
      continue;
    }
    ASSERT_EQ(trial["state"], "stopped") << trial.dump();
    const json& decision = trial["stop_decision"];
    EXPECT_EQ(decision["rule"], "diverged") << decision.dump();
    EXPECT_GE(JsonInt(decision["band"]), 3) << decision.dump();
    EXPECT_LT(JsonInt(trial["metric_points"]), 60) << trial.dump();
    EXPECT_THAT(trial["end_reason"].get<std::string>(),
                HasSubstr("diverged: loss was not finite for "))
        << trial.dump();
  }
  const ProcessResult status = cli_.Run({"status", id});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out,
              HasSubstr("diverged (metric not finite for 3 values in a "
                        "row): 1 stopped"))
      << status.out;
  const ProcessResult table = cli_.Run({"trials", id});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("diverged: nan, ")) << table.out;
  const ProcessResult exported = cli_.Run({"export", id, "--format", "csv"});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr(",diverged,")) << exported.out;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, StoppingEndToEndTest,
    ::testing::Values(
        StoppingCase{"hyperband",
                     "early_terminate:\n  type: hyperband\n  min_iter: 3\n"
                     "  eta: 2\n",
                     "hyperband", 3, true, "BAND  TRIALS  THRESHOLD  STOPPED\n",
                     "band 3: 50 vs 1"},
        StoppingCase{"asha",
                     "sweep:\n  early_terminate:\n    type: asha\n"
                     "    min_resource: 4\n    reduction_factor: 2\n"
                     "    max_resource: 12\n",
                     "asha", 4, true, "RUNG  TRIALS  THRESHOLD  STOPPED\n",
                     "rung 4: 50 vs 1"},
        StoppingCase{"median",
                     "sweep:\n  early_terminate:\n    type: median\n"
                     "    warmup_steps: 5\n    min_trials: 2\n",
                     "median", 6, false, ": 1 stopped, ", "iteration "}),
    [](const ::testing::TestParamInfo<StoppingCase>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace sweep
