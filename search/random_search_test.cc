#include "search/random_search.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/searcher.h"
#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::SizeIs;

ParameterSpec Parameter(std::string name, Distribution distribution) {
  ParameterSpec p;
  p.name = std::move(name);
  p.path = {p.name};
  p.distribution = distribution;
  return p;
}

ParameterSpec Categorical(std::string name, std::vector<Value> values) {
  ParameterSpec p = Parameter(std::move(name), Distribution::kCategorical);
  p.values = std::move(values);
  return p;
}

ParameterSpec Weighted(std::string name, std::vector<Value> values,
                       std::vector<double> probabilities) {
  ParameterSpec p =
      Parameter(std::move(name), Distribution::kCategoricalWithProbabilities);
  p.values = std::move(values);
  p.probabilities = std::move(probabilities);
  return p;
}

ParameterSpec Ranged(std::string name, Distribution distribution, double min,
                     double max) {
  ParameterSpec p = Parameter(std::move(name), distribution);
  p.min = min;
  p.max = max;
  return p;
}

SweepSpec RandomSpec(std::vector<ParameterSpec> parameters) {
  SweepSpec spec;
  spec.method = Method::kRandom;
  spec.parameters = std::move(parameters);
  return spec;
}

std::string KeyOf(const Point& point) {
  std::string key;
  for (const Value& v : point) key += CanonicalKey(v) + "|";
  return key;
}

Point SuggestPoint(const SweepSpec& spec,
                   const std::vector<TrialRecord>& finished,
                   const std::vector<Point>& pending, RandomEngine& rng) {
  const SearchContext context{spec, finished, pending};
  absl::StatusOr<std::optional<Suggestion>> suggestion =
      RandomSearcher().Suggest(context, rng);
  EXPECT_TRUE(suggestion.ok()) << suggestion.status();
  if (!suggestion.ok() || !suggestion->has_value()) return {};
  return (*suggestion)->point;
}

// `count` suggestions, each added to the pending points of the next.
std::vector<Point> SuggestWhilePending(const SweepSpec& spec, int count,
                                       RandomEngine& rng) {
  std::vector<Point> pending;
  for (int i = 0; i < count; ++i) {
    pending.push_back(SuggestPoint(spec, {}, pending, rng));
  }
  return pending;
}

std::vector<std::string> Keys(const std::vector<Point>& points) {
  std::vector<std::string> keys;
  for (const Point& point : points) keys.push_back(KeyOf(point));
  return keys;
}

std::size_t DistinctCount(const std::vector<Point>& points) {
  absl::flat_hash_set<std::string> keys;
  for (const Point& point : points) keys.insert(KeyOf(point));
  return keys.size();
}

// 2 * 3 * 4 = 24 points.
SweepSpec SmallDiscreteSpec() {
  return RandomSpec({Categorical("act", {"relu", "tanh"}),
                     Ranged("layers", Distribution::kIntUniform, 1, 3),
                     Weighted("opt", {"adam", "sgd", "rmsprop", "adagrad"},
                              {0.7, 0.1, 0.1, 0.1})});
}

// One searcher over a list of ended trials that grows at its end (as the
// controller's does) answers as a fresh searcher given the whole list, draw
// for draw; with running points, which count for one call only; through the
// space's exhaustion; and with another list, which is visited again.
TEST(RandomSearcherTest, ASearcherKeptAcrossCallsAnswersAsAFreshOne) {
  const SweepSpec spec = SmallDiscreteSpec();
  const RandomSearcher kept;
  std::vector<TrialRecord> ended;
  std::vector<Point> pending;
  int64_t next_id = 1;
  for (int step = 0; step < 40; ++step) {
    RandomEngine kept_rng(100 + step);
    RandomEngine fresh_rng(100 + step);
    const SearchContext context{spec, ended, pending};
    absl::StatusOr<std::optional<Suggestion>> got =
        kept.Suggest(context, kept_rng);
    ASSERT_TRUE(got.ok() && got->has_value());
    const Point fresh = SuggestPoint(spec, ended, pending, fresh_rng);
    ASSERT_EQ(KeyOf((*got)->point), KeyOf(fresh)) << "step " << step;
    pending.push_back(fresh);
    // The oldest running trial ends every other step, a newer one now and
    // then.
    if (pending.size() > 2) {
      const std::size_t which = step % 3 == 0 ? pending.size() - 1 : 0;
      TrialRecord trial;
      trial.id = next_id++;
      trial.state = TrialState::kFinished;
      trial.point = pending[which];
      ended.push_back(std::move(trial));
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(which));
    }
  }
  EXPECT_GT(ended.size(), 24u);  // Past the space's exhaustion.
  const std::vector<TrialRecord> other(ended.begin() + 1, ended.begin() + 3);
  RandomEngine kept_rng(7);
  RandomEngine fresh_rng(7);
  const SearchContext context{spec, other, {}};
  absl::StatusOr<std::optional<Suggestion>> got =
      kept.Suggest(context, kept_rng);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(KeyOf((*got)->point),
            KeyOf(SuggestPoint(spec, other, {}, fresh_rng)));
}

TEST(RandomSearcherTest, SameSeedGivesSameSequence) {
  const SweepSpec continuous =
      RandomSpec({Ranged("lr", Distribution::kLogUniformValues, 1e-4, 1e-1),
                  Categorical("opt", {"adam", "sgd"})});
  for (const SweepSpec& spec : {continuous, SmallDiscreteSpec()}) {
    RandomEngine first(42);
    RandomEngine second(42);
    RandomEngine other(43);
    const std::vector<Point> a = SuggestWhilePending(spec, 30, first);
    EXPECT_EQ(Keys(a), Keys(SuggestWhilePending(spec, 30, second)));
    EXPECT_NE(Keys(a), Keys(SuggestWhilePending(spec, 30, other)));
  }
}

TEST(RandomSearcherTest, DiscreteSpaceHasNoRepeatsUntilExhausted) {
  const SweepSpec spec = SmallDiscreteSpec();
  RandomEngine rng(1);
  std::vector<Point> points = SuggestWhilePending(spec, 24, rng);
  EXPECT_EQ(DistinctCount(points), 24u);
  // Every point visited: suggestions repeat, still from the space.
  const Point again = SuggestPoint(spec, {}, points, rng);
  EXPECT_THAT(Keys(points), Contains(KeyOf(again)));
}

TEST(RandomSearcherTest, AnExhaustedSpaceRepeatsAPointNotRunningNow) {
  const SweepSpec spec = SmallDiscreteSpec();
  RandomEngine rng(3);
  std::vector<Point> points = SuggestWhilePending(spec, 24, rng);
  std::vector<TrialRecord> finished(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    finished[i].point = points[i];
    finished[i].state = TrialState::kFinished;
  }
  // 23 of the 24 points run again: the next agent gets the 24th.
  const std::vector<Point> running(points.begin() + 1, points.end());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    RandomEngine draw(seed);
    EXPECT_EQ(KeyOf(SuggestPoint(spec, finished, running, draw)),
              KeyOf(points[0]));
  }
}

TEST(RandomSearcherTest, EndedTrialsInAnyStateCountAsVisited) {
  const SweepSpec spec =
      RandomSpec({Categorical("a", {"x", "y"}),
                  Ranged("b", Distribution::kIntUniform, 1, 2)});
  std::vector<TrialRecord> finished(3);
  finished[0].point = {"x", 1};
  finished[0].state = TrialState::kCrashed;
  finished[1].point = {"y", 2.0};  // W&B-equal to 2.
  finished[1].state = TrialState::kFailed;
  finished[2].point = {"y", 1};
  finished[2].state = TrialState::kFinished;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    RandomEngine rng(seed);
    EXPECT_EQ(SuggestPoint(spec, finished, {}, rng), (Point{"x", 2}));
  }
}

TEST(RandomSearcherTest, RareWeightedValueIsVisitedBeforeRepeats) {
  const SweepSpec spec =
      RandomSpec({Weighted("opt", {"adam", "lamb"}, {0.999999, 0.000001}),
                  Ranged("layers", Distribution::kIntUniform, 1, 2)});
  RandomEngine rng(3);
  const std::vector<Point> points = SuggestWhilePending(spec, 4, rng);
  EXPECT_EQ(DistinctCount(points), 4u);
  EXPECT_THAT(Keys(points), Contains(KeyOf({"lamb", 1})));
  EXPECT_THAT(Keys(points), Contains(KeyOf({"lamb", 2})));
}

TEST(RandomSearcherTest, ZeroProbabilityValueIsNeverSuggested) {
  const SweepSpec spec =
      RandomSpec({Weighted("opt", {"adam", "never"}, {1.0, 0.0}),
                  Ranged("layers", Distribution::kIntUniform, 1, 2)});
  RandomEngine rng(5);
  const std::vector<Point> points = SuggestWhilePending(spec, 6, rng);
  EXPECT_EQ(DistinctCount(points), 2u);
  for (const Point& point : points) EXPECT_EQ(point[0], Value("adam"));
}

TEST(RandomSearcherTest, QuantizedDiscreteSpaceHasNoRepeats) {
  ParameterSpec q = Ranged("q", Distribution::kQUniform, 0, 1);
  q.q = 0.25;  // 0, 0.25, ..., 1.
  ParameterSpec log_q = Ranged("w", Distribution::kQLogUniformValues, 1, 1000);
  log_q.q = 100;  // 0, 100, ..., 1000: the small cells are rare.
  log_q.q_is_integer = true;
  const SweepSpec spec = RandomSpec({q, log_q});
  RandomEngine rng(11);
  const std::vector<Point> points = SuggestWhilePending(spec, 55, rng);
  EXPECT_EQ(DistinctCount(points), 55u);
}

// The law sits almost entirely on one point of an 8,000,000-point space:
// once that point is visited, the draw is uniform over the rest.
TEST(RandomSearcherTest, LargeSpaceFallsBackToUniformDraws) {
  std::vector<Value> values;
  std::vector<double> probabilities;
  for (int i = 0; i < 200; ++i) {
    values.emplace_back(i);
    probabilities.push_back(i == 0 ? 1 - 199e-12 : 1e-12);
  }
  const SweepSpec spec = RandomSpec({Weighted("a", values, probabilities),
                                     Weighted("b", values, probabilities),
                                     Weighted("c", values, probabilities)});
  RandomEngine rng(17);
  const std::vector<Point> points = SuggestWhilePending(spec, 5, rng);
  EXPECT_EQ(points[0], (Point{0, 0, 0}));
  EXPECT_EQ(DistinctCount(points), 5u);
}

TEST(RandomSearcherTest, ContinuousDrawsStayWithinBounds) {
  ParameterSpec beta = Parameter("beta", Distribution::kBeta);
  beta.a = 2;
  beta.b = 5;
  const SweepSpec spec = RandomSpec(
      {beta, Ranged("lr", Distribution::kLogUniformValues, 1e-4, 0.1),
       Ranged("x", Distribution::kUniform, -2, 3),
       Ranged("n", Distribution::kIntUniform, 0, 1'000'000'000)});
  RandomEngine rng(9);
  std::vector<Point> pending;
  for (int i = 0; i < 1000; ++i) {
    const Point point = SuggestPoint(spec, {}, pending, rng);
    ASSERT_THAT(point, SizeIs(4));
    EXPECT_GE(point[0].get<double>(), 0);
    EXPECT_LE(point[0].get<double>(), 1);
    EXPECT_GE(point[1].get<double>(), 1e-4);
    EXPECT_LE(point[1].get<double>(), 0.1);
    EXPECT_GE(point[2].get<double>(), -2);
    EXPECT_LT(point[2].get<double>(), 3);
    EXPECT_TRUE(point[3].is_number_integer());
    EXPECT_GE(point[3].get<int64_t>(), 0);
    EXPECT_LE(point[3].get<int64_t>(), 1'000'000'000);
    if (i < 100) pending.push_back(point);
  }
}

TEST(RandomSearcherTest, ReadsEndedTrialsOnlyInADiscreteSpace) {
  const RandomSearcher searcher;
  EXPECT_TRUE(searcher.ReadsFinished(SmallDiscreteSpec()));
  EXPECT_FALSE(searcher.ReadsFinished(
      RandomSpec({Categorical("a", {"x", "y"}),
                  Ranged("lr", Distribution::kLogUniformValues, 1e-5, 1)})));
}

TEST(RandomSearcherTest, AlwaysSuggestsSomething) {
  const SweepSpec spec = RandomSpec({Categorical("a", {1})});
  RandomEngine rng(2);
  EXPECT_THAT(SuggestWhilePending(spec, 3, rng), Each(Point{1}));
}

// Bayes has its own searcher now (bayes_search_test.cc).
TEST(MakeSearcherTest, RandomGivesRandomSearcher) {
  const SweepSpec spec = SmallDiscreteSpec();
  EXPECT_NE(dynamic_cast<RandomSearcher*>(MakeSearcher(spec).get()), nullptr);
}

}  // namespace
}  // namespace sweep
