#include "search/bayes_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "search/random_search.h"
#include "search/searcher.h"
#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

ParameterSpec Ranged(std::string name, Distribution distribution, double min,
                     double max) {
  ParameterSpec p;
  p.name = name;
  p.path = {name};
  p.distribution = distribution;
  p.min = min;
  p.max = max;
  return p;
}

ParameterSpec Categorical(std::string name, std::vector<Value> values) {
  ParameterSpec p;
  p.name = name;
  p.path = {name};
  p.distribution = Distribution::kCategorical;
  p.values = std::move(values);
  return p;
}

SweepSpec BayesSpec(std::vector<ParameterSpec> parameters,
                    Goal goal = Goal::kMinimize) {
  SweepSpec spec;
  spec.method = Method::kBayes;
  spec.parameters = std::move(parameters);
  MetricSpec metric;
  metric.name = "loss";
  metric.goal = goal;
  spec.metric = metric;
  spec.extension.seed = 42;
  return spec;
}

std::string KeyOf(const Point& point) {
  std::string key;
  for (const Value& v : point) key += CanonicalKey(v) + "|";
  return key;
}

// The value of a configuration, or nullopt for a failed trial.
using Objective = std::function<std::optional<double>(const Point&)>;

Suggestion SuggestOne(const Searcher& searcher, const SweepSpec& spec,
                      const std::vector<TrialRecord>& finished,
                      const std::vector<Point>& pending, RandomEngine& rng) {
  absl::StatusOr<std::optional<Suggestion>> suggestion =
      searcher.Suggest(SearchContext{spec, finished, pending}, rng);
  EXPECT_TRUE(suggestion.ok()) << suggestion.status();
  if (!suggestion.ok() || !suggestion->has_value()) return {};
  return **suggestion;
}

TrialRecord Evaluate(const Objective& objective, Point point, int64_t id) {
  TrialRecord trial;
  trial.id = id;
  trial.point = std::move(point);
  trial.objective = objective(trial.point);
  trial.state =
      trial.objective.has_value() ? TrialState::kFinished : TrialState::kFailed;
  return trial;
}

// A sequential sweep: each suggestion sees every earlier trial finished.
std::vector<TrialRecord> RunSweep(const Searcher& searcher,
                                  const SweepSpec& spec,
                                  const Objective& objective, int budget,
                                  uint64_t seed) {
  RandomEngine rng(seed);
  std::vector<TrialRecord> trials;
  for (int i = 0; i < budget; ++i) {
    Suggestion s = SuggestOne(searcher, spec, trials, {}, rng);
    trials.push_back(Evaluate(objective, std::move(s.point), i + 1));
  }
  return trials;
}

double Best(const std::vector<TrialRecord>& trials) {
  double best = INFINITY;
  for (const TrialRecord& t : trials) {
    if (t.objective.has_value()) best = std::min(best, *t.objective);
  }
  return best;
}

double Number(const Value& v) { return v.get<double>(); }

Objective Quadratic3() {
  return [](const Point& p) -> std::optional<double> {
    return std::pow(Number(p[0]) - 0.3, 2) + std::pow(Number(p[1]) + 0.5, 2) +
           std::pow(Number(p[2]) - 1.1, 2);
  };
}

SweepSpec Quadratic3Spec() {
  return BayesSpec({Ranged("a", Distribution::kUniform, -1, 2),
                    Ranged("b", Distribution::kUniform, -1, 2),
                    Ranged("c", Distribution::kUniform, -1, 2)});
}

TEST(BayesSearcherTest, BeatsRandomOnAQuadratic) {
  const SweepSpec spec = Quadratic3Spec();
  for (const uint64_t seed : {1, 2}) {
    const double bayes =
        Best(RunSweep(BayesSearcher(), spec, Quadratic3(), 30, seed));
    const double random =
        Best(RunSweep(RandomSearcher(), spec, Quadratic3(), 30, seed));
    EXPECT_LT(bayes, 1e-3) << seed;
    EXPECT_LT(bayes, random / 10) << seed;
  }
}

// Four agents: each suggestion is made while the three other trials in
// flight are pending (the oldest finishes first), so it is a Thompson draw.
TEST(BayesSearcherTest, ParallelAgentsConvergeOnAQuadratic) {
  const SweepSpec spec = Quadratic3Spec();
  const Objective objective = Quadratic3();
  for (const uint64_t seed : {1, 2}) {
    const BayesSearcher searcher;
    RandomEngine rng(seed);
    std::vector<TrialRecord> finished;
    std::vector<Point> in_flight;
    std::vector<TrialRecord> all;
    for (int i = 0; i < 40; ++i) {
      if (in_flight.size() == 4) {
        finished.push_back(Evaluate(objective, in_flight.front(), i));
        in_flight.erase(in_flight.begin());
      }
      Suggestion s = SuggestOne(searcher, spec, finished, in_flight, rng);
      for (const Point& p : in_flight) {
        ASSERT_NE(KeyOf(p), KeyOf(s.point)) << "trial " << i;
      }
      all.push_back(Evaluate(objective, s.point, i + 1));
      in_flight.push_back(std::move(s.point));
    }
    EXPECT_LT(Best(all), 1e-2) << seed;
  }
}

TEST(BayesSearcherTest, MaximizesWhenAsked) {
  const SweepSpec spec =
      BayesSpec({Ranged("x", Distribution::kUniform, 0, 1)}, Goal::kMaximize);
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return 1.0 - std::pow(Number(p[0]) - 0.7, 2);
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 12, 3);
  double best = -INFINITY;
  for (const TrialRecord& t : trials) best = std::max(best, *t.objective);
  EXPECT_GT(best, 1.0 - 1e-5);
}

TEST(BayesSearcherTest, IntegerOnlySpaceFindsTheOptimum) {
  const SweepSpec spec =
      BayesSpec({Ranged("n", Distribution::kIntUniform, 0, 60)});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return std::abs(p[0].get<int64_t>() - 37) + 0.1;
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 15, 4);
  EXPECT_DOUBLE_EQ(Best(trials), 0.1);
  absl::flat_hash_set<std::string> keys;
  for (const TrialRecord& t : trials) {
    EXPECT_TRUE(t.point[0].is_number_integer());
    EXPECT_TRUE(keys.insert(KeyOf(t.point)).second) << "repeated a point";
  }
}

TEST(BayesSearcherTest, CategoricalOnlySpaceVisitsEveryPointThenRepeats) {
  const SweepSpec spec =
      BayesSpec({Categorical("opt", {"sgd", "adam", "rmsprop"}),
                 Categorical("act", {"relu", "tanh"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return (p[0] == "adam" ? 0.0 : 1.0) + (p[1] == "tanh" ? 0.0 : 0.5);
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 8, 5);
  absl::flat_hash_set<std::string> first_six;
  for (int i = 0; i < 6; ++i) first_six.insert(KeyOf(trials[i].point));
  EXPECT_EQ(first_six.size(), 6u);
  EXPECT_EQ(Best(trials), 0.0);
}

TEST(BayesSearcherTest, AnExhaustedSpaceGetsTheModelsChoiceNotARandomRepeat) {
  const SweepSpec spec = BayesSpec({Categorical("opt", {"a", "b", "c"}),
                                    Categorical("act", {"relu", "gelu"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    const double base = p[0] == "a" ? 1.0 : p[0] == "b" ? 0.5 : 0.2;
    return base + (p[1] == "relu" ? 0.1 : 0.0);
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 16, 3);
  // After the six points, only the two best (c/gelu 0.2, c/relu 0.3).
  for (size_t i = 6; i < trials.size(); ++i) {
    EXPECT_LE(*trials[i].objective, 0.3 + 1e-12)
        << "trial " << i + 1 << ": " << KeyOf(trials[i].point);
  }
}

// Four points, three agents: once each point was handed out, no agent is
// given a point another one is running while others are free.
TEST(BayesSearcherTest, AnExhaustedSmallSpaceDoesNotRepeatARunningPoint) {
  const SweepSpec spec =
      BayesSpec({Categorical("p", {"a", "b"}),
                 Ranged("k", Distribution::kIntUniform, 1, 2)});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return (p[0] == "a" ? 0.0 : 1.0) + 0.5 * Number(p[1]);
  };
  const Point a1{"a", 1}, a2{"a", 2}, b1{"b", 1}, b2{"b", 2};
  const std::vector<TrialRecord> finished = {Evaluate(objective, a1, 1),
                                             Evaluate(objective, a2, 2),
                                             Evaluate(objective, b1, 3)};
  for (uint64_t seed = 0; seed < 10; ++seed) {
    RandomEngine rng(seed);
    // b2 runs: the model's best, a1 (every point was tried).
    EXPECT_EQ(
        KeyOf(SuggestOne(BayesSearcher(), spec, finished, {b2}, rng).point),
        KeyOf(a1));
    // b2 twice and a1 run: not one of them.
    const std::string next = KeyOf(
        SuggestOne(BayesSearcher(), spec, finished, {b2, a1, b2}, rng).point);
    EXPECT_NE(next, KeyOf(b2));
    EXPECT_NE(next, KeyOf(a1));
  }
  // Before any value: the first trial's point runs, the next is another.
  for (uint64_t seed = 0; seed < 10; ++seed) {
    RandomEngine rng(seed);
    std::vector<TrialRecord> failed = {Evaluate(objective, a1, 1)};
    failed[0].objective.reset();
    failed[0].state = TrialState::kFailed;
    const std::vector<Point> running = {a2, b1, b2};
    EXPECT_EQ(
        KeyOf(SuggestOne(BayesSearcher(), spec, failed, running, rng).point),
        KeyOf(a1));
  }
}

TEST(BayesSearcherTest, ExhaustedTinySpaceStillSuggests) {
  const SweepSpec spec = BayesSpec({Categorical("c", {"a", "b"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return p[0] == "a" ? 1.0 : 2.0;
  };
  std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 2, 6);
  RandomEngine rng(6);
  for (int i = 0; i < 3; ++i) {
    const Suggestion s =
        SuggestOne(BayesSearcher(), spec, trials, {trials[0].point}, rng);
    ASSERT_EQ(s.point.size(), 1u);
    EXPECT_TRUE(s.point[0] == "a" || s.point[0] == "b");
  }
}

TEST(BayesSearcherTest, OneContinuousParameterConverges) {
  const SweepSpec spec =
      BayesSpec({Ranged("lr", Distribution::kLogUniformValues, 1e-5, 1)});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return std::pow(std::log10(Number(p[0])) + 2.5, 2);  // Best at 10^-2.5.
  };
  EXPECT_LT(Best(RunSweep(BayesSearcher(), spec, objective, 14, 7)), 1e-4);
}

TEST(BayesSearcherTest, NeverProposesAFinishedOrPendingPoint) {
  const SweepSpec spec =
      BayesSpec({Ranged("n", Distribution::kIntUniform, 1, 4),
                 Categorical("c", {"x", "y", "z"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return p[0].get<int64_t>() + (p[1] == "y" ? 0.5 : 0.0);
  };
  const BayesSearcher searcher;
  std::vector<TrialRecord> finished = RunSweep(searcher, spec, objective, 6, 8);
  RandomEngine rng(8);
  std::vector<Point> pending;
  absl::flat_hash_set<std::string> seen;
  for (const TrialRecord& t : finished) seen.insert(KeyOf(t.point));
  ASSERT_EQ(seen.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    const Suggestion s = SuggestOne(searcher, spec, finished, pending, rng);
    EXPECT_TRUE(seen.insert(KeyOf(s.point)).second) << "proposed again: " << i;
    pending.push_back(s.point);
  }
  EXPECT_EQ(seen.size(), 12u);  // The whole space, each point once.
}

TEST(BayesSearcherTest, HundredSuggestionsWhileAllPendingAreDistinct) {
  const SweepSpec spec =
      BayesSpec({Ranged("a", Distribution::kUniform, 0, 1),
                 Ranged("lr", Distribution::kLogUniformValues, 1e-4, 1),
                 Ranged("n", Distribution::kIntUniform, 1, 50),
                 Categorical("c", {"p", "q", "r", "s"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return std::pow(Number(p[0]) - 0.4, 2) +
           std::pow(std::log10(Number(p[1])) + 2, 2) / 4 +
           std::abs(p[2].get<int64_t>() - 20) / 50.0 + (p[3] == "q" ? 0 : 0.3);
  };
  const BayesSearcher searcher;
  const std::vector<TrialRecord> finished =
      RunSweep(searcher, spec, objective, 20, 9);
  RandomEngine rng(9);
  std::vector<Point> pending;
  absl::flat_hash_set<std::string> seen;
  for (const TrialRecord& t : finished) seen.insert(KeyOf(t.point));
  for (int i = 0; i < 100; ++i) {
    const Suggestion s = SuggestOne(searcher, spec, finished, pending, rng);
    EXPECT_TRUE(seen.insert(KeyOf(s.point)).second) << "repeated at " << i;
    ASSERT_TRUE(s.prediction.has_value());
    EXPECT_TRUE(std::isfinite(s.prediction->mean));
    pending.push_back(s.point);
  }
}

TEST(BayesSearcherTest, KeepsSuggestingSensiblePointsWhenTrialsFail) {
  const SweepSpec spec = BayesSpec({Ranged("x", Distribution::kUniform, 0, 1),
                                    Ranged("y", Distribution::kUniform, 0, 1)});
  // Every run with x > 0.6 crashes; the optimum is well inside.
  const Objective objective = [](const Point& p) -> std::optional<double> {
    const double x = Number(p[0]);
    if (x > 0.6) return std::nullopt;
    return std::pow(x - 0.3, 2) + std::pow(Number(p[1]) - 0.5, 2);
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 30, 10);
  int failed_late = 0;
  for (int i = 20; i < 30; ++i) failed_late += !trials[i].objective.has_value();
  EXPECT_LE(failed_late, 3);
  EXPECT_LT(Best(trials), 1e-3);
}

TEST(BayesSearcherTest, WhileEveryValueIsTheSameItKeepsFillingTheSpace) {
  // One trial succeeds, the rest fail outside [-2, 2]^2 (imputed to its
  // value): the fit saw no signal and sent every proposal to the corners.
  const SweepSpec spec =
      BayesSpec({Ranged("x", Distribution::kUniform, -5, 5),
                 Ranged("y", Distribution::kUniform, -5, 5)});
  const BayesSearcher searcher;
  const std::vector<TrialRecord> trials = RunSweep(
      searcher, spec,
      [](const Point& p) -> std::optional<double> {
        const double x = p[0].get<double>(), y = p[1].get<double>();
        if (std::abs(x) > 2 || std::abs(y) > 2) return std::nullopt;
        return 1.0;  // A plateau as well.
      },
      30, 7);
  int inside = 0, near_edge = 0;
  for (const TrialRecord& t : trials) {
    const double x = t.point[0].get<double>(), y = t.point[1].get<double>();
    inside += std::abs(x) <= 2 && std::abs(y) <= 2;
    near_edge += std::abs(x) > 4.5 || std::abs(y) > 4.5;
  }
  // Uniform points: 16% inside, 19% within 0.5 of an edge.
  EXPECT_GE(inside, 2);
  EXPECT_LE(near_edge, 12);
}

TEST(BayesSearcherTest, EveryTrialFailingStillGivesNewPoints) {
  const SweepSpec spec =
      BayesSpec({Ranged("x", Distribution::kUniform, 0, 1),
                 Ranged("n", Distribution::kIntUniform, 1, 3)});
  const Objective never = [](const Point&) -> std::optional<double> {
    return std::nullopt;
  };
  const std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, never, 12, 11);
  absl::flat_hash_set<std::string> keys;
  for (const TrialRecord& t : trials) {
    EXPECT_TRUE(keys.insert(KeyOf(t.point)).second);
  }
}

TEST(BayesSearcherTest, MemoDoesNotChangeSuggestions) {
  const SweepSpec spec = BayesSpec({Ranged("a", Distribution::kUniform, 0, 1),
                                    Ranged("b", Distribution::kUniform, 0, 1),
                                    Categorical("c", {"u", "v"})});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return std::sin(6 * Number(p[0])) + Number(p[1]) + (p[2] == "u" ? 0.2 : 0);
  };
  const BayesSearcher long_lived;
  std::vector<TrialRecord> trials;
  std::vector<Point> pending;
  RandomEngine rng(12);
  // Past the first refit checkpoints beyond 30 (36 and 44).
  for (int i = 0; i < 46; ++i) {
    RandomEngine fresh_rng = rng;
    const Suggestion s = SuggestOne(long_lived, spec, trials, pending, rng);
    const Suggestion fresh =
        SuggestOne(BayesSearcher(), spec, trials, pending, fresh_rng);
    ASSERT_EQ(KeyOf(s.point), KeyOf(fresh.point)) << "at trial " << i;
    ASSERT_EQ(s.prediction.has_value(), fresh.prediction.has_value());
    if (s.prediction.has_value()) {
      EXPECT_EQ(s.prediction->mean, fresh.prediction->mean);
      EXPECT_EQ(s.prediction->stddev, fresh.prediction->stddev);
    }
    // Every third trial stays pending for a while.
    if (i % 3 == 0) {
      pending.push_back(s.point);
    } else {
      trials.push_back(Evaluate(objective, s.point, i + 1));
    }
    if (pending.size() > 2) {
      trials.push_back(Evaluate(objective, pending.front(), 1000 + i));
      pending.erase(pending.begin());
    }
  }
}

TEST(BayesSearcherTest, InitialDesignIsReproducibleAndSpreadOut) {
  SweepSpec spec = BayesSpec({Ranged("x", Distribution::kUniform, 0, 1)});
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return Number(p[0]);
  };
  const std::vector<TrialRecord> a =
      RunSweep(BayesSearcher(), spec, objective, 5, 1);
  const std::vector<TrialRecord> b =
      RunSweep(BayesSearcher(), spec, objective, 5, 2);
  spec.extension.seed = 43;
  const std::vector<TrialRecord> c =
      RunSweep(BayesSearcher(), spec, objective, 5, 1);
  std::vector<double> xs;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(KeyOf(a[i].point),
              KeyOf(b[i].point));  // The spec's seed decides.
    xs.push_back(Number(a[i].point[0]));
  }
  EXPECT_NE(KeyOf(a[0].point), KeyOf(c[0].point));
  // Five points of a scrambled van der Corput sequence: no two close.
  std::sort(xs.begin(), xs.end());
  for (int i = 1; i < 5; ++i) EXPECT_GT(xs[i] - xs[i - 1], 0.05);
}

TEST(BayesSearcherTest, PredictionsComeInTheObjectivesUnits) {
  const SweepSpec spec =
      BayesSpec({Ranged("x", Distribution::kUniform, 0, 10)}, Goal::kMaximize);
  const Objective objective = [](const Point& p) -> std::optional<double> {
    return 100.0 + Number(p[0]);
  };
  std::vector<TrialRecord> trials =
      RunSweep(BayesSearcher(), spec, objective, 10, 13);
  RandomEngine rng(13);
  const Suggestion s = SuggestOne(BayesSearcher(), spec, trials, {}, rng);
  ASSERT_TRUE(s.prediction.has_value());
  EXPECT_NEAR(s.prediction->mean, *objective(s.point), 1.0);
  EXPECT_GE(s.prediction->stddev, 0.0);
  EXPECT_LT(s.prediction->stddev, 5.0);
}

TEST(BayesSearcherTest, NoMetricIsAnError) {
  SweepSpec spec = Quadratic3Spec();
  spec.metric.reset();
  RandomEngine rng(1);
  const std::vector<TrialRecord> none;
  EXPECT_EQ(BayesSearcher()
                .Suggest(SearchContext{spec, none, {}}, rng)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MakeSearcherTest, BayesIsTheBayesianSearcher) {
  const SweepSpec spec = Quadratic3Spec();
  EXPECT_NE(dynamic_cast<BayesSearcher*>(MakeSearcher(spec).get()), nullptr);
}

}  // namespace
}  // namespace sweep
