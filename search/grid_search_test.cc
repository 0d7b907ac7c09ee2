#include "search/grid_search.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/searcher.h"
#include "search/spec.h"
#include "search/value.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

ParameterSpec Constant(std::string name, Value value) {
  ParameterSpec p;
  p.name = std::move(name);
  p.path = {p.name};
  p.distribution = Distribution::kConstant;
  p.value = std::move(value);
  return p;
}

ParameterSpec Categorical(std::string name, std::vector<Value> values) {
  ParameterSpec p;
  p.name = std::move(name);
  p.path = {p.name};
  p.distribution = Distribution::kCategorical;
  p.values = std::move(values);
  return p;
}

ParameterSpec IntUniform(std::string name, int64_t min, int64_t max) {
  ParameterSpec p;
  p.name = std::move(name);
  p.path = {p.name};
  p.distribution = Distribution::kIntUniform;
  p.min = static_cast<double>(min);
  p.max = static_cast<double>(max);
  return p;
}

ParameterSpec QUniform(std::string name, double min, double max, double q,
                       bool q_is_integer = false) {
  ParameterSpec p;
  p.name = std::move(name);
  p.path = {p.name};
  p.distribution = Distribution::kQUniform;
  p.min = min;
  p.max = max;
  p.q = q;
  p.q_is_integer = q_is_integer;
  return p;
}

// `parameters` must be in sorted order, as the parser leaves them.
SweepSpec GridSpec(std::vector<ParameterSpec> parameters) {
  SweepSpec spec;
  spec.method = Method::kGrid;
  spec.parameters = std::move(parameters);
  return spec;
}

std::vector<Value> Axis(const ParameterSpec& p) {
  absl::StatusOr<std::vector<Value>> axis = GridAxis(p);
  EXPECT_TRUE(axis.ok()) << axis.status();
  return axis.ok() ? *axis : std::vector<Value>();
}

// The point GridSearcher suggests; nullopt when the grid is covered.
std::optional<Point> Suggest(const SweepSpec& spec,
                             const std::vector<TrialRecord>& finished,
                             const std::vector<Point>& pending = {}) {
  const SearchContext context{spec, finished, pending};
  RandomEngine rng(7);
  absl::StatusOr<std::optional<Suggestion>> suggestion =
      GridSearcher().Suggest(context, rng);
  EXPECT_TRUE(suggestion.ok()) << suggestion.status();
  if (!suggestion.ok() || !suggestion->has_value()) return std::nullopt;
  return (*suggestion)->point;
}

// Asks for up to `requests` points, each handed-out point staying pending,
// as when that many agents ask at once.
std::vector<Point> SuggestWhilePending(const SweepSpec& spec, int requests) {
  std::vector<Point> pending;
  for (int i = 0; i < requests; ++i) {
    std::optional<Point> point = Suggest(spec, {}, pending);
    if (!point.has_value()) break;
    pending.push_back(std::move(*point));
  }
  return pending;
}

TrialRecord Trial(Point point, TrialState state) {
  TrialRecord trial;
  trial.state = state;
  trial.point = std::move(point);
  return trial;
}

std::string PointKeyForTest(const Point& point) {
  std::string key;
  for (const Value& v : point) key += CanonicalKey(v) + "|";
  return key;
}

TEST(GridAxisTest, ConstantIsOneValue) {
  EXPECT_THAT(Axis(Constant("c", "adam")), ElementsAre(Value("adam")));
}

TEST(GridAxisTest, CategoricalKeepsWrittenOrder) {
  EXPECT_THAT(
      Axis(Categorical("c", {3, 1, "b", 2, "a"})),
      ElementsAre(Value(3), Value(1), Value("b"), Value(2), Value("a")));
}

TEST(GridAxisTest, CategoricalDropsDuplicatesWithWandbEquality) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Value> axis = Axis(
      Categorical("c", {3000000.0, 3000000, true, 1, Value::parse("[1]"), 1,
                        Value::parse(R"({"a": 1, "b": 2})"),
                        Value::parse(R"({"b": 2, "a": 1})"), nan, nan, "1"}));
  ASSERT_THAT(axis, SizeIs(7));
  // The first occurrence is kept, with its type.
  EXPECT_TRUE(axis[0].is_number_float());
  EXPECT_EQ(axis[0].get<double>(), 3000000.0);
  EXPECT_EQ(axis[1], Value(true));  // true differs from 1,
  EXPECT_EQ(axis[2], Value(1));
  EXPECT_EQ(axis[3], Value::parse("[1]"));  // and [1] from 1.
  EXPECT_EQ(axis[4], Value::parse(R"({"a": 1, "b": 2})"));
  EXPECT_TRUE(std::isnan(axis[5].get<double>()));
  EXPECT_EQ(axis[6], Value("1"));  // A string is not a number.
}

TEST(GridAxisTest, StringOneDiffersFromNumberOne) {
  EXPECT_THAT(Axis(Categorical("c", {1, "1", 1.0})),
              ElementsAre(Value(1), Value("1")));
}

TEST(GridAxisTest, WeightedCategoricalIgnoresProbabilities) {
  ParameterSpec p = Categorical("c", {"x", "y", "x"});
  p.distribution = Distribution::kCategoricalWithProbabilities;
  p.probabilities = {0.2, 0.7, 0.1};
  EXPECT_THAT(Axis(p), ElementsAre(Value("x"), Value("y")));
}

TEST(GridAxisTest, IntUniformIncludesBothBounds) {
  const std::vector<Value> axis = Axis(IntUniform("i", -1, 2));
  EXPECT_THAT(axis, ElementsAre(Value(-1), Value(0), Value(1), Value(2)));
  for (const Value& v : axis) EXPECT_TRUE(v.is_number_integer()) << v;
  EXPECT_THAT(Axis(IntUniform("i", 5, 5)), ElementsAre(Value(5)));
}

TEST(GridAxisTest, QUniformIncludesMaxOnTheLattice) {
  const std::vector<Value> axis = Axis(QUniform("q", 0, 0.3, 0.1));
  ASSERT_THAT(axis, SizeIs(4));
  // Cleaned of noise: 3 * 0.1 would be 0.30000000000000004.
  EXPECT_EQ(axis[0].get<double>(), 0.0);
  EXPECT_EQ(axis[1].get<double>(), 0.1);
  EXPECT_EQ(axis[2].get<double>(), 0.2);
  EXPECT_EQ(axis[3].get<double>(), 0.3);
  for (const Value& v : axis) EXPECT_TRUE(v.is_number_float()) << v;
  EXPECT_EQ(Value(0.1 + 2 * 0.1).dump(), "0.30000000000000004");
  EXPECT_EQ(axis[3].dump(), "0.3");
}

TEST(GridAxisTest, QUniformExcludesMaxOffTheLattice) {
  const std::vector<Value> axis = Axis(QUniform("q", 0, 1, 0.3));
  ASSERT_THAT(axis, SizeIs(4));
  EXPECT_EQ(axis[3].get<double>(), 0.9);
  EXPECT_THAT(Axis(QUniform("q", 0, 0.35, 0.1)), SizeIs(4));
}

TEST(GridAxisTest, QUniformStartsAtMinAndCleansZero) {
  const std::vector<Value> axis = Axis(QUniform("q", -0.3, 0.3, 0.1));
  ASSERT_THAT(axis, SizeIs(7));
  EXPECT_EQ(axis[0].get<double>(), -0.3);
  EXPECT_EQ(axis[2].get<double>(), -0.1);
  EXPECT_EQ(axis[3].dump(), "0.0");  // Neither 5.5e-17 nor -0.0.
  EXPECT_EQ(axis[4].get<double>(), 0.1);
  EXPECT_EQ(axis[6].get<double>(), 0.3);
}

TEST(GridAxisTest, QUniformKeepsNeighboursApartFarFromZero) {
  const std::vector<Value> axis = Axis(QUniform("q", 1e10, 1e10 + 4e-5, 1e-5));
  ASSERT_THAT(axis, SizeIs(5));
  for (std::size_t i = 1; i < axis.size(); ++i) {
    EXPECT_LT(axis[i - 1].get<double>(), axis[i].get<double>());
  }
}

TEST(GridAxisTest, QUniformIntsOnlyForIntegerQAndIntegerMin) {
  const std::vector<Value> ints = Axis(QUniform("q", 0, 10, 5, true));
  EXPECT_THAT(ints, ElementsAre(Value(0), Value(5), Value(10)));
  for (const Value& v : ints) EXPECT_TRUE(v.is_number_integer()) << v;

  // q written as 5.0: floats, as the spec's "3.0, not 3".
  for (const Value& v : Axis(QUniform("q", 0, 10, 5, false))) {
    EXPECT_TRUE(v.is_number_float()) << v;
  }
  // An integer q from a fractional min cannot give integers.
  const std::vector<Value> halves = Axis(QUniform("q", 0.5, 10, 5, true));
  ASSERT_THAT(halves, SizeIs(2));
  EXPECT_EQ(halves[1].get<double>(), 5.5);
  EXPECT_TRUE(halves[1].is_number_float());
}

TEST(GridAxisTest, OtherDistributionsAreErrorsNamingTheParameter) {
  ParameterSpec p = QUniform("opt.lr", 0.001, 0.1, 1);
  p.distribution = Distribution::kLogUniformValues;
  const absl::StatusOr<std::vector<Value>> axis = GridAxis(p);
  ASSERT_FALSE(axis.ok());
  EXPECT_EQ(axis.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(axis.status().message(), HasSubstr("opt.lr"));
}

TEST(GridAxisTest, TooLongAxisIsAnError) {
  EXPECT_FALSE(GridAxis(QUniform("q", 0, 1, 1e-9)).ok());
}

TEST(GridSizeTest, IsTheProductOfTheAxisLengths) {
  const SweepSpec spec =
      GridSpec({IntUniform("a", 1, 4), Categorical("b", {1, 2, 3, 4, 5}),
                QUniform("c", 0, 0.6, 0.1), Constant("d", "k"),
                Categorical("e", {true, false, "x"}), IntUniform("f", 0, 30)});
  EXPECT_EQ(GridSize(spec), uint64_t{4 * 5 * 7 * 3 * 31});
}

TEST(GridSizeTest, CountsDuplicatesOnce) {
  EXPECT_EQ(GridSize(GridSpec(
                {Categorical("a", {1, 1.0, 2}), Categorical("b", {"x", "x"})})),
            uint64_t{2});
}

TEST(GridSizeTest, SaturatesInsteadOfOverflowing) {
  const SweepSpec spec =
      GridSpec({QUniform("a", 0, 1e12, 1), QUniform("b", 0, 1e12, 1)});
  EXPECT_EQ(GridSize(spec), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(GridSize(GridSpec({QUniform("a", 0, 1e12, 1)})),
            uint64_t{1'000'000'000'001});
}

TEST(GridSizeTest, NulloptWhenAParameterCannotBeAnAxis) {
  ParameterSpec uniform = QUniform("u", 0, 1, 1);
  uniform.distribution = Distribution::kUniform;
  EXPECT_EQ(GridSize(GridSpec({IntUniform("a", 1, 3), uniform})), std::nullopt);
}

TEST(GridSizeTest, LongIntegerAxesAreCountedWithoutListingThem) {
  // A hundred axes of ten million integers: counted, not listed (listing
  // them took minutes), and saturated.
  std::vector<ParameterSpec> axes;
  for (int i = 0; i < 100; ++i) {
    axes.push_back(IntUniform(absl::StrCat("p", i), 1, 10'000'000));
  }
  EXPECT_EQ(GridSize(GridSpec(axes)), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(GridSize(GridSpec({IntUniform("a", -5'000'000, 4'999'999),
                               IntUniform("b", 0, 9'999'999)})),
            uint64_t{100'000'000'000'000});
  // Exact where max - min + 1 in doubles is not (2^53 + 1).
  EXPECT_EQ(GridSize(GridSpec({IntUniform("a", 0, 9007199254740992.0)})),
            uint64_t{9007199254740993});
}

TEST(GridIndexerTest, IntegerRangeAxesMapLikeListedOnes) {
  const GridIndexer ranges(
      {GridAxisValues::IntRange(-2, 5), GridAxisValues::Listed({"x", "y"})});
  const GridIndexer listed({{-2, -1, 0, 1, 2}, {"x", "y"}});
  ASSERT_EQ(ranges.size(), listed.size());
  for (uint64_t index = 0; index < ranges.size(); ++index) {
    EXPECT_EQ(ranges.PointAt(index), listed.PointAt(index));
    EXPECT_EQ(ranges.IndexOf(ranges.PointAt(index)), index);
  }
  // W&B equality: 1.0 is the integer 1; 1.5, 3, "1" and true are not on it.
  EXPECT_EQ(ranges.IndexOf({Value(1.0), Value("y")}), 7u);
  for (const Value& off : {Value(1.5), Value(3), Value(-3), Value("1"),
                           Value(true), Value(nullptr)}) {
    EXPECT_EQ(ranges.IndexOf({off, Value("x")}), std::nullopt) << off;
  }
  // No overflow at the ends of int64_t.
  const GridIndexer extreme(
      {GridAxisValues::IntRange(std::numeric_limits<int64_t>::max() - 1, 2)});
  EXPECT_EQ(extreme.IndexOf({Value(std::numeric_limits<int64_t>::max())}), 1u);
  EXPECT_EQ(extreme.IndexOf({Value(std::numeric_limits<int64_t>::min())}),
            std::nullopt);
  EXPECT_EQ(extreme.IndexOf({Value(std::numeric_limits<uint64_t>::max())}),
            std::nullopt);
}

TEST(GridSearcherTest, LongIntegerAxesAreWalkedWithoutListingThem) {
  // 10^14 points over two axes of ten million: every call is cheap and
  // points come in grid order, the last axis fastest.
  const SweepSpec spec = GridSpec(
      {IntUniform("a", 1, 10'000'000), IntUniform("b", 1, 10'000'000)});
  const GridSearcher searcher;
  std::vector<Point> pending;
  RandomEngine rng(1);
  for (int64_t b = 1; b <= 3; ++b) {
    const SearchContext context{spec, {}, pending};
    absl::StatusOr<std::optional<Suggestion>> s =
        searcher.Suggest(context, rng);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->point, (Point{1, b}));
    pending.push_back((*s)->point);
  }
}

TEST(GridSearcherTest, SaturatedGridIsRefusedBeforeBuildingItsAxes) {
  std::vector<ParameterSpec> axes;
  for (int i = 0; i < 100; ++i) {
    axes.push_back(QUniform(absl::StrCat("p", i), 0, 9'999'999, 1));
  }
  const SweepSpec spec = GridSpec(axes);
  const SearchContext context{spec, {}, {}};
  RandomEngine rng(1);
  absl::StatusOr<std::optional<Suggestion>> s =
      GridSearcher().Suggest(context, rng);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("2^64"));
}

TEST(GridSearcherTest, ASearcherFollowsAChangedParameterList) {
  // The memo is keyed on the parameters, not on the searcher.
  const GridSearcher searcher;
  RandomEngine rng(1);
  for (const SweepSpec& spec : {GridSpec({Categorical("a", {1, 2})}),
                                GridSpec({Categorical("a", {"x", "y"})}),
                                GridSpec({IntUniform("a", 5, 6)})}) {
    const SearchContext context{spec, {}, {}};
    absl::StatusOr<std::optional<Suggestion>> s =
        searcher.Suggest(context, rng);
    ASSERT_TRUE(s.ok() && s->has_value());
    EXPECT_EQ((*s)->point[0], GridAxis(spec.parameters[0])->front());
  }
}

// One searcher over a list of ended trials that grows at its end (as the
// controller's does) counts only the new ones, and answers as a fresh
// searcher given the whole list would; a list that does not extend the one
// it saw is counted again.
TEST(GridSearcherTest, ASearcherKeptAcrossCallsAnswersAsAFreshOne) {
  SweepSpec spec =
      GridSpec({IntUniform("a", 1, 12), Categorical("b", {"x", "y", "z"})});
  spec.extension.retry_failed = 1;
  const GridSearcher kept;
  RandomEngine rng(3);
  std::vector<TrialRecord> ended;
  std::vector<Point> pending;
  std::mt19937_64 dice(11);
  const TrialState states[] = {TrialState::kFinished, TrialState::kCrashed,
                               TrialState::kFailed, TrialState::kStopped};
  int64_t next_id = 1;
  for (int step = 0; step < 400; ++step) {
    const SearchContext context{spec, ended, pending};
    absl::StatusOr<std::optional<Suggestion>> got = kept.Suggest(context, rng);
    ASSERT_TRUE(got.ok());
    const std::optional<Point> fresh = Suggest(spec, ended, pending);
    ASSERT_EQ(got->has_value(), fresh.has_value()) << "step " << step;
    if (!fresh.has_value()) break;
    EXPECT_EQ(PointKeyForTest((*got)->point), PointKeyForTest(*fresh))
        << "step " << step;
    pending.push_back(*fresh);
    // Now and then a pending point ends (not the oldest first), however.
    if (pending.size() > 3 || dice() % 2 == 0) {
      const std::size_t which = dice() % pending.size();
      TrialRecord trial = Trial(pending[which], states[dice() % 4]);
      trial.id = next_id++;
      ended.push_back(std::move(trial));
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(which));
    }
  }
  EXPECT_GT(ended.size(), 36u);
  // Another list: counted again, not taken for the one before.
  const std::vector<TrialRecord> other = {ended.back()};
  const SearchContext context{spec, other, {}};
  absl::StatusOr<std::optional<Suggestion>> again = kept.Suggest(context, rng);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(PointKeyForTest((*again)->point),
            PointKeyForTest(*Suggest(spec, other)));
}

TEST(GridSizeTest, CountsQuantizedAxesAsTheyAreListed) {
  for (const ParameterSpec& p :
       {QUniform("a", 0, 1, 0.1), QUniform("b", -0.3, 0.3, 0.1),
        QUniform("c", 1e10, 1e10 + 4e-5, 1e-5),
        QUniform("d", 1e16, 1e16 + 8, 1), QUniform("e", 0.5, 1e6, 0.25),
        QUniform("f", 1, 1, 3)}) {
    EXPECT_EQ(GridSize(GridSpec({p})), Axis(p).size()) << p.name;
  }
}

TEST(GridIndexerTest, IndexOfInvertsPointAt) {
  const GridIndexer grid({{1, 2, 3}, {"x", "y"}});
  ASSERT_EQ(grid.size(), 6u);
  for (uint64_t index = 0; index < grid.size(); ++index) {
    EXPECT_EQ(grid.IndexOf(grid.PointAt(index)), index);
  }
  EXPECT_EQ(grid.IndexOf({Value(2.0), Value("y")}), 3u);
  EXPECT_EQ(grid.IndexOf({Value(4), Value("y")}), std::nullopt);
  EXPECT_EQ(grid.IndexOf({Value(1)}), std::nullopt);
}

TEST(GridSearcherTest, LastParameterVariesFastestInWrittenValueOrder) {
  const SweepSpec spec =
      GridSpec({Categorical("a", {2, 1}), Constant("b", "sgd"),
                Categorical("c", {"y", "x", "z"})});
  const std::vector<Point> points = SuggestWhilePending(spec, 10);
  const auto point = [](int a, const char* c) {
    return Point{Value(a), Value("sgd"), Value(c)};
  };
  EXPECT_THAT(points, ElementsAre(point(2, "y"), point(2, "x"), point(2, "z"),
                                  point(1, "y"), point(1, "x"), point(1, "z")));
}

TEST(GridSearcherTest, NonGridParameterIsInvalidArgument) {
  ParameterSpec normal = QUniform("noise", 0, 1, 1);
  normal.distribution = Distribution::kNormal;
  const SweepSpec spec = GridSpec({IntUniform("a", 1, 3), normal});
  const SearchContext context{spec, {}, {}};
  RandomEngine rng(1);
  const absl::StatusOr<std::optional<Suggestion>> suggestion =
      GridSearcher().Suggest(context, rng);
  ASSERT_FALSE(suggestion.ok());
  EXPECT_EQ(suggestion.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(suggestion.status().message(), HasSubstr("noise"));
}

// The 13,020-point grid W&B overshot to 17,961 trials.
SweepSpec LargeGrid() {
  return GridSpec({IntUniform("a", 1, 4), Categorical("b", {1, 2, 3, 4, 5}),
                   QUniform("c", 0, 0.6, 0.1),
                   Categorical("d", {"relu", "tanh", "gelu"}),
                   IntUniform("e", 0, 30), Constant("f", 0.5)});
}

TEST(GridSearcherTest, LargeGridYieldsEveryPointOnceThenNothing) {
  const SweepSpec spec = LargeGrid();
  ASSERT_EQ(GridSize(spec), uint64_t{13'020});
  // Half the grid ended (in every covering state), the rest handed out one
  // by one while pending.
  std::vector<TrialRecord> finished;
  std::vector<Point> pending;
  absl::flat_hash_set<std::string> seen;
  const TrialState states[] = {TrialState::kFinished, TrialState::kFailed,
                               TrialState::kKilled, TrialState::kStopped};
  for (int i = 0; i < 13'020; ++i) {
    std::optional<Point> point = Suggest(spec, finished, pending);
    ASSERT_TRUE(point.has_value()) << "after " << i << " points";
    ASSERT_TRUE(seen.insert(PointKeyForTest(*point)).second)
        << "repeated after " << i << " points";
    if (i < 6'510) {
      finished.push_back(Trial(std::move(*point), states[i % 4]));
    } else {
      pending.push_back(std::move(*point));
    }
  }
  EXPECT_EQ(Suggest(spec, finished, pending), std::nullopt);
}

TEST(GridSearcherTest, ConcurrentRequestsGetDistinctPoints) {
  const std::vector<Point> points = SuggestWhilePending(LargeGrid(), 200);
  ASSERT_THAT(points, SizeIs(200));
  absl::flat_hash_set<std::string> keys;
  for (const Point& point : points) keys.insert(PointKeyForTest(point));
  EXPECT_THAT(keys, SizeIs(200));
}

TEST(GridSearcherTest, GridOfNPointsYieldsExactlyN) {
  const SweepSpec spec =
      GridSpec({IntUniform("a", 1, 10), Categorical("b", {"x", "y", "z"}),
                QUniform("c", 0, 2, 0.5)});
  ASSERT_EQ(GridSize(spec), uint64_t{150});
  const std::vector<Point> points = SuggestWhilePending(spec, 200);
  EXPECT_THAT(points, SizeIs(150));
  absl::flat_hash_set<std::string> keys;
  for (const Point& point : points) keys.insert(PointKeyForTest(point));
  EXPECT_THAT(keys, SizeIs(150));
}

TEST(GridSearcherTest, ConstantsAreCopiedIntoEveryPoint) {
  const SweepSpec spec =
      GridSpec({Constant("a", Value::parse("[1, 2]")), IntUniform("b", 1, 3),
                Constant("c", "fixed")});
  const std::vector<Point> points = SuggestWhilePending(spec, 5);
  ASSERT_THAT(points, SizeIs(3));
  for (const Point& point : points) {
    ASSERT_THAT(point, SizeIs(3));
    EXPECT_EQ(point[0], Value::parse("[1, 2]"));
    EXPECT_EQ(point[2], Value("fixed"));
  }
}

TEST(GridSearcherTest, CrashedPointIsHandedOutAgain) {
  const SweepSpec spec = GridSpec({IntUniform("a", 1, 3)});
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kCrashed)}), Point{1});
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kCrashed),
                           Trial({1}, TrialState::kCrashed)}),
            Point{1});
  // Once it finishes on a later attempt, it is covered.
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kCrashed),
                           Trial({1}, TrialState::kFinished)}),
            Point{2});
  // Lost kMaxCrashesPerPoint (3) times, it is covered: a point that always
  // outlasts its node (a job's time limit) is not retried forever.
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kCrashed),
                           Trial({1}, TrialState::kCrashed),
                           Trial({1}, TrialState::kCrashed)}),
            Point{2});
}

TEST(GridSearcherTest, FailedPointIsNotHandedOutAgainByDefault) {
  const SweepSpec spec = GridSpec({IntUniform("a", 1, 3)});
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kFailed)}), Point{2});
}

TEST(GridSearcherTest, FailedPointIsRetriedWhenAsked) {
  SweepSpec spec = GridSpec({IntUniform("a", 1, 3)});
  spec.extension.retry_failed = 2;
  const TrialRecord failed = Trial({1}, TrialState::kFailed);
  EXPECT_EQ(Suggest(spec, {failed}), Point{1});
  EXPECT_EQ(Suggest(spec, {failed, failed}), Point{1});
  EXPECT_EQ(Suggest(spec, {failed, failed, failed}), Point{2});
  // A retry in progress is pending, so the point is covered meanwhile.
  EXPECT_EQ(Suggest(spec, {failed}, {{1}}), Point{2});
}

TEST(GridSearcherTest, EveryOtherStateCoversItsPoint) {
  const SweepSpec spec = GridSpec({IntUniform("a", 1, 5)});
  EXPECT_EQ(Suggest(spec, {Trial({1}, TrialState::kFinished),
                           Trial({2}, TrialState::kKilled),
                           Trial({3}, TrialState::kStopped),
                           Trial({4}, TrialState::kRunning)}),
            Point{5});
}

TEST(GridSearcherTest, EqualValuesOfAnotherTypeCoverThePoint) {
  const SweepSpec spec = GridSpec(
      {IntUniform("a", 1, 2),
       Categorical("b", {Value::parse(R"({"x": 1, "y": [2]})"), "z"})});
  // Trials as another tool may have logged them: floats, reordered keys.
  const Value reordered = Value::parse(R"({"y": [2.0], "x": 1.0})");
  EXPECT_EQ(Suggest(spec, {Trial({1.0, reordered}, TrialState::kFinished),
                           Trial({1.0, "z"}, TrialState::kFinished)}),
            (Point{2, Value::parse(R"({"x": 1, "y": [2]})")}));
}

TEST(GridSearcherTest, TrialsOffTheGridAreIgnored) {
  const SweepSpec spec = GridSpec({IntUniform("a", 1, 2), Constant("b", 0)});
  EXPECT_EQ(Suggest(spec,
                    {Trial({1, 99}, TrialState::kFinished),
                     Trial({true, 0}, TrialState::kFinished),
                     Trial({1}, TrialState::kFinished)},
                    {{1.5, 0}}),
            (Point{1, 0}));
}

TEST(GridSearcherTest, CoveredGridGivesNullopt) {
  const SweepSpec spec = GridSpec({Categorical("a", {"x", "y"})});
  EXPECT_EQ(Suggest(spec, {Trial({"x"}, TrialState::kFinished)}, {{"y"}}),
            std::nullopt);
}

TEST(MakeSearcherTest, GridMethodGivesGridSearcher) {
  const std::unique_ptr<Searcher> searcher =
      MakeSearcher(GridSpec({IntUniform("a", 1, 2)}));
  EXPECT_NE(dynamic_cast<GridSearcher*>(searcher.get()), nullptr);
}

}  // namespace
}  // namespace sweep
