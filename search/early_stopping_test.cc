// The spec's Hyperband vectors (from W&B's own tests), and ASHA and median
// stopping on hand-computed cases.
#include "search/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

SweepSpec Spec(const std::string& goal, const std::string& rule) {
  ParsedDefinition parsed = ParseSweepDefinition(
      "method: random\nprogram: p.py\nmetric: {name: loss, goal: " + goal +
          "}\n" + rule + "parameters:\n  x: {min: 0.0, max: 1.0}\n",
      "t.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.Format();
  return parsed.ok() ? *parsed.spec : SweepSpec{};
}

void Log(EarlyStopper& stopper, int64_t trial,
         const std::vector<double>& values) {
  for (double v : values) stopper.Observe(trial, v);
}

TEST(HyperbandBandsTest, FromMaxIterAndS) {
  HyperbandSpec spec;
  spec.max_iter = 81;
  spec.s = 3;
  spec.eta = 3;
  EXPECT_THAT(HyperbandBands(spec), ElementsAre(3, 9, 27));
  spec.max_iter = 18;
  spec.s = 2;
  EXPECT_THAT(HyperbandBands(spec), ElementsAre(2, 6));
  spec.max_iter = 5;
  spec.s = 2;
  spec.eta = 2;
  EXPECT_THAT(HyperbandBands(spec), ElementsAre(1, 2));
}

TEST(HyperbandBandsTest, FromMinIterAreCapped) {
  HyperbandSpec spec;
  spec.min_iter = 3;
  spec.eta = 3;
  const std::vector<int64_t> bands = HyperbandBands(spec);
  ASSERT_GE(bands.size(), 4u);
  EXPECT_THAT(std::vector<int64_t>(bands.begin(), bands.begin() + 4),
              ElementsAre(3, 9, 27, 81));
  EXPECT_LE(bands.size(), static_cast<size_t>(kMaxBands));
  spec.min_iter = 30;
  spec.eta = 1.5;
  const std::vector<int64_t> slow = HyperbandBands(spec);
  EXPECT_THAT(std::vector<int64_t>(slow.begin(), slow.begin() + 5),
              ElementsAre(30, 45, 67, 101, 151));
  EXPECT_LE(slow.size(), static_cast<size_t>(kMaxBands));
}

TEST(HyperbandTest, WandbVectorMinIterMinimize) {
  const SweepSpec spec = Spec(
      "minimize", "early_terminate: {type: hyperband, min_iter: 3, eta: 3}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {10, 10, 10, 10});
  Log(*stopper, 2, {10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  const std::optional<StopVerdict> first = stopper->Judge(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->band, 3);
  EXPECT_EQ(first->value, 10);
  EXPECT_EQ(first->threshold, 8);
  EXPECT_FALSE(stopper->Judge(2).has_value());
}

TEST(HyperbandTest, WandbVectorMinIterMaximize) {
  const SweepSpec spec = Spec(
      "maximize", "early_terminate: {type: hyperband, min_iter: 3, eta: 3}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {10, 10, 10, 10});
  Log(*stopper, 2, {10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  const std::optional<StopVerdict> first = stopper->Judge(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value, 10);
  EXPECT_EQ(first->threshold, 12);  // In the metric's own units.
  EXPECT_FALSE(stopper->Judge(2).has_value());
}

TEST(HyperbandTest, WandbVectorMaxIterThresholds) {
  const SweepSpec spec =
      Spec("minimize",
           "early_terminate: {type: hyperband, max_iter: 5, eta: 2, s: 2}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {10, 9});     // a, finished
  Log(*stopper, 2, {10, 10});    // b
  Log(*stopper, 3, {10, 8, 8});  // c
  Log(*stopper, 4, {10, 7, 7});  // d
  Log(*stopper, 5, {10, 6, 6});  // e, finished
  stopper->Forget(1);
  stopper->Forget(5);
  const Value described = stopper->Describe();
  EXPECT_EQ(described["bands"][0]["threshold"], 10.0);
  EXPECT_EQ(described["bands"][1]["threshold"], 8.0);
  EXPECT_TRUE(stopper->Judge(2).has_value());
  EXPECT_FALSE(stopper->Judge(3).has_value());
  EXPECT_FALSE(stopper->Judge(4).has_value());
}

TEST(HyperbandTest, WandbVectorMaxIterSecondCase) {
  const SweepSpec spec =
      Spec("minimize",
           "early_terminate: {type: hyperband, max_iter: 5, eta: 2, s: 2}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {10});        // a, finished
  Log(*stopper, 2, {11});        // b
  Log(*stopper, 3, {10, 8, 8});  // c
  Log(*stopper, 4, {10, 7, 7});  // d
  Log(*stopper, 5, {10, 6, 6});  // e, finished
  stopper->Forget(1);
  stopper->Forget(5);
  EXPECT_TRUE(stopper->Judge(2).has_value());
  EXPECT_TRUE(stopper->Judge(3).has_value());
  EXPECT_FALSE(stopper->Judge(4).has_value());
}

TEST(HyperbandTest, LoneTrialIsNeverStoppedAndNonFiniteIsNoIteration) {
  const SweepSpec spec = Spec(
      "minimize", "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {100, std::nan(""), 1000, 1e9});
  EXPECT_FALSE(stopper->Judge(1).has_value());
  EXPECT_EQ(stopper->Describe()["bands"][1]["trials"], 1);  // Band 3.
}

TEST(HyperbandTest, NotStrictJudgesTheBestValueSoFar) {
  const SweepSpec spec =
      Spec("minimize",
           "early_terminate: {type: hyperband, min_iter: 2, eta: 3, strict: "
           "false}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {1, 1});
  Log(*stopper, 2, {0.5, 3});  // h[1] = 3 is worse, but min(h) = 0.5 is not.
  EXPECT_FALSE(stopper->Judge(2).has_value());
  const SweepSpec strict = Spec(
      "minimize", "early_terminate: {type: hyperband, min_iter: 2, eta: 3}\n");
  auto strict_stopper = MakeEarlyStopper(strict);
  Log(*strict_stopper, 1, {1, 1});
  Log(*strict_stopper, 2, {0.5, 3});
  EXPECT_TRUE(strict_stopper->Judge(2).has_value());
}

TEST(AshaTest, RungsAndTopFraction) {
  AshaSpec spec;
  spec.min_resource = 1;
  spec.max_resource = 27;
  spec.reduction_factor = 3;
  EXPECT_THAT(AshaRungs(spec), ElementsAre(1, 3, 9));

  const SweepSpec sweep =
      Spec("minimize",
           "sweep:\n  early_terminate: {type: asha, min_resource: 1, "
           "max_resource: 27, reduction_factor: 3}\n");
  auto stopper = MakeEarlyStopper(sweep);
  // Rung 1 values arrive 5, 4, 3, 2, 6: each is judged on arrival against
  // the top floor(n/3) (at least 1) of those that reached it so far.
  stopper->Observe(1, 5);
  EXPECT_FALSE(stopper->Judge(1).has_value());  // n=1: keeps 1.
  stopper->Observe(2, 4);
  EXPECT_FALSE(stopper->Judge(2).has_value());  // n=2: best of {4,5} is 4.
  stopper->Observe(3, 3);
  EXPECT_FALSE(stopper->Judge(3).has_value());  // n=3: keeps 1, 3 is best.
  stopper->Observe(4, 2);
  EXPECT_FALSE(stopper->Judge(4).has_value());
  stopper->Observe(5, 6);
  const std::optional<StopVerdict> v = stopper->Judge(5);  // n=5: keeps 1.
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->band, 1);
  EXPECT_EQ(v->threshold, 2);
  // Judged once per rung: asking again says nothing new.
  EXPECT_FALSE(stopper->Judge(5).has_value());
  // Trial 2 reaches rung 3 alone and goes on.
  stopper->Observe(2, 4);
  stopper->Observe(2, 4);
  EXPECT_FALSE(stopper->Judge(2).has_value());
}

TEST(MedianTest, StopsBelowTheMedianOfOthersAfterWarmup) {
  const SweepSpec spec = Spec(
      "minimize",
      "sweep:\n  early_terminate: {type: median, warmup_steps: 2, min_trials: "
      "3}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {5, 4, 3});
  Log(*stopper, 2, {6, 5, 4});
  Log(*stopper, 3, {7, 6, 5});
  Log(*stopper, 4, {9, 8, 7});
  // Step 3: others' best values 3, 4, 5 -> median 4; trial 4's best is 7.
  const std::optional<StopVerdict> v = stopper->Judge(4);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->band, 3);
  EXPECT_EQ(v->value, 7);
  EXPECT_EQ(v->threshold, 4);
  EXPECT_FALSE(stopper->Judge(1).has_value());
  // During the warm-up nothing is judged.
  Log(*stopper, 5, {100, 100});
  EXPECT_FALSE(stopper->Judge(5).has_value());
  // Step 3 of trial 5: others 3, 4, 5, 7 -> median 4.5.
  stopper->Observe(5, 4.4);
  EXPECT_FALSE(stopper->Judge(5).has_value());
  EXPECT_THAT(v->Reason("loss"),
              HasSubstr("median iteration 3: loss 7.0 is worse than the "
                        "median 4.0"));
}

// The others' values at the iteration, not their best so far: one lucky
// first value does not raise the bar for everyone after it.
TEST(MedianTest, ComparesWithTheOthersValuesAtTheIteration) {
  const SweepSpec spec = Spec(
      "minimize",
      "sweep:\n  early_terminate: {type: median, warmup_steps: 2, min_trials: "
      "3}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {1, 1, 1, 1, 1});
  Log(*stopper, 2, {2, 2, 2, 2, 2});
  Log(*stopper, 3, {3, 3, 3, 3, 3});
  Log(*stopper, 4, {0, 4, 4, 4, 4});
  // Iteration 5: the others logged 1, 2, 3, 4 -> median 2.5 (their best so
  // far, 1, 2, 3, 0, have the median 1.5).
  Log(*stopper, 5, {2.4, 2.4, 2.4, 2.4, 2.4});
  EXPECT_FALSE(stopper->Judge(5).has_value());
  Log(*stopper, 6, {2.6, 2.6, 2.6, 2.6, 2.6});
  const std::optional<StopVerdict> v = stopper->Judge(6);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->threshold, 2.4);  // 1, 2, 2.4, 3, 4.
}

TEST(MedianTest, AValueEqualToTheMedianButForRoundingIsATie) {
  const SweepSpec spec = Spec(
      "maximize",
      "sweep:\n  early_terminate: {type: median, warmup_steps: 0, min_trials: "
      "2}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {0.6968383933401711});
  Log(*stopper, 2, {0.6968383933401713});
  Log(*stopper, 3, {0.6968383933401711});
  // Others: ...711 and ...713, median ...712: "worse" only in the last bit.
  EXPECT_FALSE(stopper->Judge(3).has_value());
  Log(*stopper, 4, {0.6968});
  EXPECT_TRUE(stopper->Judge(4).has_value());
}

TEST(MedianTest, NeedsMinTrialsOthers) {
  const SweepSpec spec = Spec(
      "minimize",
      "sweep:\n  early_terminate: {type: median, warmup_steps: 0, min_trials: "
      "2}\n");
  auto stopper = MakeEarlyStopper(spec);
  Log(*stopper, 1, {1});
  Log(*stopper, 2, {9});
  EXPECT_FALSE(stopper->Judge(2).has_value());  // Only one other trial.
  Log(*stopper, 3, {2});
  EXPECT_TRUE(stopper->Judge(2).has_value());
}

// Thresholds are exact order statistics however values and queries
// interleave (duplicates included): Hyperband's sorted(v)[floor(n / eta)]
// and ASHA's (keep)-th smallest, against a sort of every value so far.
TEST(EarlyStopperTest, ThresholdsMatchASortAsValuesArrive) {
  for (const std::string rule :
       {"early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n",
        "sweep:\n  early_terminate: {type: asha, min_resource: 1, "
        "reduction_factor: 3}\n"}) {
    SCOPED_TRACE(rule);
    auto stopper = MakeEarlyStopper(Spec("minimize", rule));
    ASSERT_NE(stopper, nullptr);
    std::mt19937_64 rng(11);
    std::vector<double> band_one;
    for (int64_t trial = 1; trial <= 2000; ++trial) {
      // Few distinct values, so that ties are common.
      const double value = static_cast<double>(rng() % 50) / 7.0;
      stopper->Observe(trial, value);
      band_one.push_back(value);
      std::optional<StopVerdict> verdict = stopper->Judge(trial);
      // Every few trials, also through Describe (a query without a judge).
      if (trial % 7 == 0 || trial < 20) {
        std::vector<double> sorted = band_one;
        std::sort(sorted.begin(), sorted.end());
        const size_t n = sorted.size();
        const size_t index =
            rule.find("hyperband") != std::string::npos
                ? std::min(n - 1, static_cast<size_t>(n / 3.0))
                : std::max<size_t>(1, static_cast<size_t>(n / 3.0)) - 1;
        const Value described = stopper->Describe();
        const Value& first = described.contains("bands")
                                 ? described["bands"][0]
                                 : described["rungs"][0];
        ASSERT_EQ(first["threshold"].get<double>(), sorted[index])
            << "after " << n << " values";
        EXPECT_EQ(verdict.has_value(), value > sorted[index]);
      }
      stopper->Forget(trial);
    }
  }
}

TEST(DivergedTest, StoppedWhereTheRuleFirstJudgesEvenAlone) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    std::string rule;
    int64_t after;
  };
  for (const Case& c :
       {Case{"early_terminate: {type: hyperband, min_iter: 3, eta: 3}\n", 3},
        // At least three values in a row, whatever the first rung.
        Case{"sweep:\n  early_terminate: {type: asha, min_resource: 2, "
             "reduction_factor: 3}\n",
             3},
        Case{"sweep:\n  early_terminate: {type: median, warmup_steps: 4}\n",
             5}}) {
    SCOPED_TRACE(c.rule);
    for (const std::string goal : {"minimize", "maximize"}) {
      auto stopper = MakeEarlyStopper(Spec(goal, c.rule));
      ASSERT_NE(stopper, nullptr);
      // The infinity on the bad side; the other (a perfect PSNR) is no
      // divergence.
      const double bad = goal == "minimize" ? inf : -inf;
      // A lone trial whose loss went NaN, then stayed NaN or bad.
      stopper->Observe(1, 0.5);
      for (int64_t i = 1; i < c.after; ++i) {
        stopper->Observe(1, i % 2 ? nan : bad);
        stopper->Observe(1, -bad);  // Not counted.
        EXPECT_FALSE(stopper->Judge(1).has_value()) << i;
      }
      stopper->Observe(1, nan);
      const std::optional<StopVerdict> v = stopper->Judge(1);
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(v->rule, kDivergedRule);
      EXPECT_EQ(v->band, c.after);
      EXPECT_TRUE(std::isnan(v->value));
      EXPECT_TRUE(std::isnan(v->threshold));
      EXPECT_EQ(v->Reason("loss"),
                absl::StrCat("diverged: loss was not finite for ", c.after,
                             " values in a row (last nan)"));
      // A finite value between starts the count again.
      for (int64_t i = 1; i < c.after; ++i) stopper->Observe(2, bad);
      stopper->Observe(2, 1.0);
      for (int64_t i = 1; i < c.after; ++i) stopper->Observe(2, bad);
      EXPECT_FALSE(stopper->Judge(2).has_value());
      stopper->Observe(2, bad);
      ASSERT_TRUE(stopper->Judge(2).has_value());
      EXPECT_EQ(stopper->Judge(2)->value, bad);
      // A trial at the good infinity all along is not diverged.
      for (int64_t i = 0; i < 2 * c.after; ++i) stopper->Observe(3, -bad);
      EXPECT_FALSE(stopper->Judge(3).has_value());
      // An ended trial is forgotten.
      stopper->Forget(2);
      EXPECT_FALSE(stopper->Judge(2).has_value());
      EXPECT_EQ(stopper->Describe()["diverged"]["after"], c.after);
    }
  }
}

TEST(DivergedTest, NonFiniteValuesAreNoIterationsOfTheRule) {
  auto stopper = MakeEarlyStopper(Spec(
      "minimize", "early_terminate: {type: hyperband, min_iter: 2, eta: 3}\n"));
  Log(*stopper, 1, {1, std::nan(""), 1});
  Log(*stopper, 2, {5, 5});
  EXPECT_EQ(stopper->Describe()["bands"][0]["trials"], 2);  // Band 2.
  EXPECT_EQ(stopper->Describe()["bands"][1]["trials"], 0);  // Band 6.
  const std::optional<StopVerdict> v = stopper->Judge(2);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rule, "hyperband");
  EXPECT_EQ(v->threshold, 1);
}

TEST(DivergedTest, StopsAreCountedApartFromTheRules) {
  auto stopper = MakeEarlyStopper(Spec(
      "minimize", "early_terminate: {type: hyperband, min_iter: 2, eta: 3}\n"));
  stopper->CountStop(kDivergedRule, 2);
  stopper->CountStop(kDivergedRule, 7);
  stopper->CountStop("hyperband", 2);
  const Value d = stopper->Describe();
  EXPECT_EQ(d["diverged"]["stopped"], 2) << d.dump();
  EXPECT_EQ(d["bands"][0]["stopped"], 1) << d.dump();
  EXPECT_EQ(d["bands"][1]["stopped"], 0) << d.dump();
}

TEST(EarlyStopperTest, NoneWithoutARule) {
  EXPECT_EQ(MakeEarlyStopper(Spec("minimize", "")), nullptr);
}

}  // namespace
}  // namespace sweep
