#include "search/grid_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

// How far from the lattice max may sit and still be a grid value, as a
// fraction of the range max - min. Absorbs the rounding of (max - min) / q.
constexpr double kLatticeTolerance = 1e-9;

// kLatticeTolerance in steps of q, for a range of `steps` steps; never more
// than a small fraction of one step, however long the range.
double LatticeToleranceInSteps(double steps) {
  return std::min(kLatticeTolerance * std::max(1.0, steps), 1e-3);
}

// Beyond this magnitude a double no longer converts to int64_t safely.
constexpr double kInt64Bound = 9.2e18;

absl::Status AxisError(const ParameterSpec& p, const std::string& problem) {
  std::string where;
  if (p.location.line > 0) {
    where = absl::StrCat(" (line ", p.location.line, ", column ",
                         p.location.column, ")");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("parameter '", p.name, "'", where, ": ", problem));
}

bool IsInt64(double x) {
  return std::isfinite(x) && std::floor(x) == x && std::abs(x) < kInt64Bound;
}

// The number of values of an int_uniform axis, as a double because it may
// exceed every integer type.
absl::StatusOr<double> IntUniformLength(const ParameterSpec& p) {
  if (!IsInt64(p.min) || !IsInt64(p.max)) {
    return AxisError(p, "int_uniform needs integer min and max");
  }
  if (p.max < p.min) return AxisError(p, "max is below min");
  return p.max - p.min + 1;
}

// The number of lattice values min + k*q <= max of a q_uniform axis.
absl::StatusOr<double> QUniformLength(const ParameterSpec& p) {
  if (!std::isfinite(p.min) || !std::isfinite(p.max) || !std::isfinite(p.q) ||
      p.q <= 0) {
    return AxisError(p, "q_uniform needs finite min and max and q > 0");
  }
  if (p.max < p.min) return AxisError(p, "max is below min");
  const double steps = (p.max - p.min) / p.q;
  return std::floor(steps + LatticeToleranceInSteps(steps)) + 1;
}

// The number of values GridAxis would list before removing duplicates, or
// the error it would give for anything but its length.
absl::StatusOr<double> RawAxisLength(const ParameterSpec& p) {
  switch (p.distribution) {
    case Distribution::kConstant:
      return 1.0;
    case Distribution::kCategorical:
    case Distribution::kCategoricalWithProbabilities:
      if (p.values.empty()) return AxisError(p, "has no values");
      return static_cast<double>(p.values.size());
    case Distribution::kIntUniform:
      return IntUniformLength(p);
    case Distribution::kQUniform:
      return QUniformLength(p);
    default:
      return AxisError(
          p, absl::StrCat("distribution '",
                          std::string(DistributionName(p.distribution)),
                          "' cannot be a grid axis; grid search allows "
                          "constant, categorical, "
                          "categorical_w_probabilities, int_uniform and "
                          "q_uniform"));
  }
}

// `x` = min + k*q with the noise of floating-point arithmetic removed
// (0.1 + 2*0.1 = 0.30000000000000004 -> 0.3, -0.3 + 3*0.1 -> 0). `scale` is
// max(|min|, |k*q|), the magnitude the noise is relative to. Rounds to 15,
// then 16 significant digits of `scale`, keeping a rounding only when it moves
// x by a tiny fraction of q, so that neighbouring values never merge.
double CleanLatticeValue(double x, double scale, double q) {
  for (int digits : {15, 16}) {
    const int decimals =
        digits - 1 - static_cast<int>(std::floor(std::log10(scale)));
    if (decimals < 0) break;  // Beyond 1e15 the noise is below one unit.
    char text[400];  // Enough for 16 digits plus up to ~330 leading zeros.
    std::snprintf(text, sizeof(text), "%.*f", decimals, x);
    const double cleaned = std::strtod(text, nullptr);
    if (std::abs(cleaned - x) <= kLatticeTolerance * q) {
      return cleaned == 0 ? 0.0 : cleaned;  // Never -0.0.
    }
  }
  return x;
}

std::vector<Value> IntUniformValues(const ParameterSpec& p, int64_t length) {
  std::vector<Value> values;
  values.reserve(length);
  const auto min = static_cast<int64_t>(p.min);
  for (int64_t k = 0; k < length; ++k) values.emplace_back(min + k);
  return values;
}

std::vector<Value> QUniformValues(const ParameterSpec& p, int64_t length) {
  std::vector<Value> values;
  values.reserve(length);
  // Ints only when every value is one: an integer q from an integer min.
  if (p.q_is_integer && IsInt64(p.q) && IsInt64(p.min) &&
      IsInt64(p.min + p.q * static_cast<double>(length))) {
    const auto min = static_cast<int64_t>(p.min);
    const auto q = static_cast<int64_t>(p.q);
    for (int64_t k = 0; k < length; ++k) values.emplace_back(min + k * q);
    return values;
  }
  const double tolerance = LatticeToleranceInSteps((p.max - p.min) / p.q) * p.q;
  for (int64_t k = 0; k < length; ++k) {
    const double step = static_cast<double>(k) * p.q;
    const double x = p.min + step;
    if (std::abs(x - p.max) <= tolerance) {
      values.emplace_back(p.max);  // Exactly as written.
    } else {
      const double scale = std::max({std::abs(p.min), step, p.q});
      values.emplace_back(CleanLatticeValue(x, scale, p.q));
    }
  }
  return values;
}

// `values` without the later occurrences of W&B-equal values.
std::vector<Value> WithoutDuplicates(std::vector<Value> values) {
  absl::flat_hash_set<std::string> seen;
  std::vector<Value> unique;
  unique.reserve(values.size());
  for (Value& v : values) {
    if (seen.insert(CanonicalKey(v)).second) unique.push_back(std::move(v));
  }
  return unique;
}

uint64_t SaturatingMultiply(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

// Counts one more ended trial (see GridSearcher in the header for the
// rule): whether it covers its point depends only on how many trials of
// that point ended how, not on their order.
template <typename Coverage>
void CountEnded(const TrialRecord& trial, Coverage& coverage) {
  const std::optional<uint64_t> index = coverage.grid->IndexOf(trial.point);
  if (!index.has_value()) return;
  // A lost trial (its agent died or was shut down) runs again, but not
  // forever: a point whose trial is lost kMaxCrashesPerPoint times (one
  // that outlasts every job's time limit, one that takes its node down)
  // is covered.
  if (trial.state == TrialState::kCrashed &&
      ++coverage.crashes[*index] < kMaxCrashesPerPoint) {
    return;
  }
  if (trial.state == TrialState::kFailed &&
      ++coverage.failures[*index] <= coverage.retries) {
    return;
  }
  coverage.covered.insert(*index);
}

// The number of integers in [min, max] of a valid int_uniform axis, exactly
// (max - min + 1 in doubles rounds beyond 2^53); 0 for all 2^64 of them.
uint64_t IntRangeLength(const ParameterSpec& p) {
  return static_cast<uint64_t>(static_cast<int64_t>(p.max)) -
         static_cast<uint64_t>(static_cast<int64_t>(p.min)) + 1;
}

// Whether the values of a q_uniform axis are certainly distinct: when q is
// far above the spacing of doubles at the axis's magnitude, min + k*q for
// different k never round to the same double, and CleanLatticeValue never
// merges neighbours. Otherwise only listing the axis tells.
bool LatticeValuesAreDistinct(const ParameterSpec& p) {
  const double magnitude = std::max({std::abs(p.min), std::abs(p.max), p.q});
  return p.q > 1e-9 * magnitude;
}

std::vector<GridAxisValues> Listed(std::vector<std::vector<Value>> axes) {
  std::vector<GridAxisValues> listed;
  listed.reserve(axes.size());
  for (std::vector<Value>& axis : axes) {
    listed.push_back(GridAxisValues::Listed(std::move(axis)));
  }
  return listed;
}

}  // namespace

std::string ParametersKey(const SweepSpec& spec) {
  std::string key;
  for (const ParameterSpec& p : spec.parameters) {
    absl::StrAppend(&key, p.name.size(), ":", p.name, "|",
                    static_cast<int>(p.distribution), "|",
                    CanonicalKey(p.value), "|");
    for (const Value& v : p.values) absl::StrAppend(&key, CanonicalKey(v), ",");
    for (double w : p.probabilities)
      absl::StrAppend(&key, absl::StrFormat("%a,", w));
    absl::StrAppend(&key, "|", absl::StrFormat("%a|%a|%a", p.min, p.max, p.q),
                    p.q_is_integer ? "i" : "f", ";");
  }
  return key;
}

absl::StatusOr<std::vector<Value>> GridAxis(const ParameterSpec& p) {
  ASSIGN_OR_RETURN(const double length, RawAxisLength(p));
  if (length > static_cast<double>(kMaxGridAxisValues)) {
    return AxisError(p, absl::StrCat("a grid axis of ", length,
                                     " values is longer than the limit of ",
                                     kMaxGridAxisValues));
  }
  switch (p.distribution) {
    case Distribution::kConstant:
      return std::vector<Value>{p.value};
    case Distribution::kIntUniform:
      return IntUniformValues(p, static_cast<int64_t>(length));
    case Distribution::kQUniform:
      return WithoutDuplicates(QUniformValues(p, static_cast<int64_t>(length)));
    default:  // The categoricals; RawAxisLength rejected everything else.
      return WithoutDuplicates(p.values);
  }
}

absl::StatusOr<std::vector<std::vector<Value>>> GridAxes(
    const SweepSpec& spec) {
  std::vector<std::vector<Value>> axes;
  axes.reserve(spec.parameters.size());
  for (const ParameterSpec& p : spec.parameters) {
    ASSIGN_OR_RETURN(std::vector<Value> axis, GridAxis(p));
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::optional<uint64_t> GridSize(const SweepSpec& spec) {
  uint64_t size = 1;
  for (const ParameterSpec& p : spec.parameters) {
    const absl::StatusOr<double> raw_length = RawAxisLength(p);
    if (!raw_length.ok()) return std::nullopt;
    uint64_t length = std::numeric_limits<uint64_t>::max();
    if (*raw_length >= std::ldexp(1.0, 64)) {
      // Saturated.
    } else if (p.distribution == Distribution::kIntUniform) {
      length = IntRangeLength(p);  // Exact, where the double may not be.
    } else if (p.distribution == Distribution::kConstant ||
               (p.distribution == Distribution::kQUniform &&
                LatticeValuesAreDistinct(p)) ||
               *raw_length > static_cast<double>(kMaxGridAxisValues) ||
               size == std::numeric_limits<uint64_t>::max()) {
      // Values that cannot repeat, an axis too long to list, or one that
      // cannot change a saturated product: counted without listing.
      length = static_cast<uint64_t>(*raw_length);
    } else {
      // Exact: duplicates (written or from rounding) are not counted.
      absl::StatusOr<std::vector<Value>> axis = GridAxis(p);
      if (!axis.ok()) return std::nullopt;
      length = axis->size();
    }
    size = SaturatingMultiply(size, length);
  }
  return size;
}

std::size_t GridIndexer::WandbHash::operator()(const Value& v) const {
  switch (v.type()) {
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
    case Value::value_t::number_float: {
      // W&B-equal numbers are mathematically equal, so their nearest doubles
      // are too; NaNs are all equal, and -0.0 equals 0.
      const double x = v.get<double>();
      if (std::isnan(x)) return absl::HashOf(uint64_t{0x7ff8000000000000});
      return absl::HashOf(x == 0 ? 0.0 : x);
    }
    case Value::value_t::string:
      return absl::HashOf(v.get_ref<const std::string&>());
    case Value::value_t::boolean:
      return absl::HashOf(v.get<bool>(), 1);
    default:  // Null, lists and mappings: rare on an axis.
      return absl::HashOf(CanonicalKey(v));
  }
}

GridIndexer::GridIndexer(std::vector<std::vector<Value>> axes)
    : GridIndexer(Listed(std::move(axes))) {}

GridIndexer::GridIndexer(std::vector<GridAxisValues> axes)
    : axes_(std::move(axes)) {
  positions_.resize(axes_.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    const std::vector<Value>& values = axes_[i].values;
    for (std::size_t j = 0; j < values.size(); ++j) {
      positions_[i].emplace(values[j], j);
    }
    const uint64_t product = SaturatingMultiply(size_, axes_[i].size());
    if (product == std::numeric_limits<uint64_t>::max()) saturated_ = true;
    size_ = product;
  }
}

Value GridIndexer::ValueAt(std::size_t axis, uint64_t position) const {
  const GridAxisValues& a = axes_[axis];
  if (a.int_start.has_value()) {
    // In unsigned arithmetic: start + position may pass through values that
    // do not fit in int64_t on the way to one that does.
    return Value(
        static_cast<int64_t>(static_cast<uint64_t>(*a.int_start) + position));
  }
  return a.values[position];
}

std::optional<uint64_t> GridIndexer::PositionOf(std::size_t axis,
                                                const Value& v) const {
  const GridAxisValues& a = axes_[axis];
  if (!a.int_start.has_value()) {
    const auto it = positions_[axis].find(v);
    if (it == positions_[axis].end()) return std::nullopt;
    return it->second;
  }
  // W&B equality: any number equal to an integer of the range.
  int64_t x = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    x = v.get<int64_t>();
  } else if (v.is_number_float() && IsInt64(v.get<double>())) {
    x = static_cast<int64_t>(v.get<double>());
  } else {
    return std::nullopt;
  }
  // In unsigned arithmetic: x - start may not fit in int64_t.
  const uint64_t offset =
      static_cast<uint64_t>(x) - static_cast<uint64_t>(*a.int_start);
  if (x < *a.int_start || offset >= a.int_length) return std::nullopt;
  return offset;
}

std::optional<uint64_t> GridIndexer::IndexOf(const Point& point) const {
  if (saturated_ || point.size() != axes_.size()) return std::nullopt;
  uint64_t index = 0;
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    const std::optional<uint64_t> position = PositionOf(i, point[i]);
    if (!position.has_value()) return std::nullopt;
    index = index * axes_[i].size() + *position;
  }
  return index;
}

Point GridIndexer::PointAt(uint64_t index) const {
  Point point(axes_.size());
  for (std::size_t i = axes_.size(); i-- > 0;) {
    point[i] = ValueAt(i, index % axes_[i].size());
    index /= axes_[i].size();
  }
  return point;
}

absl::StatusOr<std::shared_ptr<const GridIndexer>> GridSearcher::Indexer(
    const SweepSpec& spec) const {
  const std::string key = ParametersKey(spec);
  {
    absl::MutexLock lock(&mu_);
    if (memo_ != nullptr && memo_key_ == key) return memo_;
  }
  const std::optional<uint64_t> size = GridSize(spec);
  if (size == std::numeric_limits<uint64_t>::max()) {
    return absl::InvalidArgumentError(
        "the grid has 2^64 points or more; reduce the number of values");
  }
  std::vector<GridAxisValues> axes;
  axes.reserve(spec.parameters.size());
  for (const ParameterSpec& p : spec.parameters) {
    if (p.distribution == Distribution::kIntUniform) {
      RETURN_IF_ERROR(RawAxisLength(p).status());
      axes.push_back(GridAxisValues::IntRange(static_cast<int64_t>(p.min),
                                              IntRangeLength(p)));
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<Value> values, GridAxis(p));
    axes.push_back(GridAxisValues::Listed(std::move(values)));
  }
  auto indexer = std::make_shared<const GridIndexer>(std::move(axes));
  absl::MutexLock lock(&mu_);
  memo_key_ = key;
  memo_ = indexer;
  return indexer;
}

absl::StatusOr<std::optional<Suggestion>> GridSearcher::Suggest(
    const SearchContext& context, RandomEngine& /*rng*/) const {
  ASSIGN_OR_RETURN(const std::shared_ptr<const GridIndexer> grid,
                   Indexer(context.spec));
  const int64_t retries =
      std::max<int64_t>(0, context.spec.extension.retry_failed);
  absl::MutexLock lock(&mu_);
  Coverage& coverage = coverage_;
  const absl::Span<const TrialRecord> finished = context.finished;
  // The trials counted before, with more at the end: count the new ones.
  // Anything else (another list, a shorter one): count them all again.
  // (Trials without ids, as some callers give, are always counted again.)
  const bool extends =
      coverage.grid == grid && coverage.retries == retries &&
      finished.size() >= coverage.counted &&
      (coverage.counted == 0 ||
       (coverage.last_id != 0 && finished.front().id == coverage.first_id &&
        finished[coverage.counted - 1].id == coverage.last_id));
  if (!extends) {
    coverage = Coverage();
    coverage.grid = grid;
    coverage.retries = retries;
  }
  for (std::size_t i = coverage.counted; i < finished.size(); ++i) {
    CountEnded(finished[i], coverage);
  }
  coverage.counted = finished.size();
  if (!finished.empty()) {
    coverage.first_id = finished.front().id;
    coverage.last_id = finished.back().id;
  }
  while (coverage.first_uncovered < grid->size() &&
         coverage.covered.contains(coverage.first_uncovered)) {
    ++coverage.first_uncovered;
  }
  absl::flat_hash_set<uint64_t> pending;
  for (const Point& point : context.pending) {
    const std::optional<uint64_t> index = grid->IndexOf(point);
    if (index.has_value()) pending.insert(*index);
  }
  // At most (covered points past first_uncovered) + pending + 1 steps.
  uint64_t first = coverage.first_uncovered;
  while (first < grid->size() &&
         (coverage.covered.contains(first) || pending.contains(first))) {
    ++first;
  }
  if (first == grid->size()) return std::optional<Suggestion>();
  Suggestion suggestion;
  suggestion.point = grid->PointAt(first);
  return std::optional<Suggestion>(std::move(suggestion));
}

}  // namespace sweep
