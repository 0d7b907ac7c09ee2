#include "search/random_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "search/distribution.h"
#include "search/grid_search.h"

namespace sweep {
namespace {

// Draws from the law before turning to the slower exact methods; a space
// where 64 draws all land on visited points is mostly visited.
constexpr int kLawTries = 64;
// Uniform draws over a large space (> kMaxListedSpace points) before scanning.
constexpr int kUniformTries = 4096;

// A finite space: every parameter's possible values as grid axes, and the
// law's weight of each value (proportional to its probability), aligned.
struct DiscreteSpace {
  GridIndexer grid;
  std::vector<std::vector<double>> weights;
};

// The points already handed out, for membership tests.
struct VisitedPoints {
  absl::flat_hash_set<std::string> keys;  // PointKey of every point.
  absl::flat_hash_set<uint64_t> indices;  // Those lying in the space.
};

// A category's probability, up to a common factor: its written probability,
// or 1 when unweighted, summed over repeats (a value written twice is drawn
// twice as often, as in W&B).
std::vector<double> CategoryWeights(const ParameterSpec& p,
                                    const std::vector<Value>& support) {
  const bool weighted =
      p.distribution == Distribution::kCategoricalWithProbabilities;
  absl::flat_hash_map<std::string, double> weight_of_key;
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    const double weight = !weighted                    ? 1.0
                          : i < p.probabilities.size() ? p.probabilities[i]
                                                       : 0.0;
    weight_of_key[CanonicalKey(p.values[i])] += weight;
  }
  std::vector<double> weights;
  weights.reserve(support.size());
  for (const Value& v : support) {
    const auto it = weight_of_key.find(CanonicalKey(v));
    weights.push_back(it == weight_of_key.end() ? 0.0 : it->second);
  }
  return weights;
}

// For a quantized numeric form: the probability of each value's cell (the X
// that round to it). QuantileOf gives the middle of each cell on the quantile
// scale, and the cells of the support tile [0, 1] in order, so each upper
// boundary is 2 * middle - lower. Uniform when the quantiles do not fit that
// picture.
std::vector<double> QuantizedCellWeights(const ParameterSpec& p,
                                         const std::vector<Value>& support) {
  constexpr double kTolerance = 1e-6;
  const std::vector<double> uniform(support.size(), 1.0);
  std::vector<double> weights;
  weights.reserve(support.size());
  double lower = 0;
  for (const Value& v : support) {
    const std::optional<double> middle = QuantileOf(p, v);
    if (!middle.has_value() || *middle < lower - kTolerance) return uniform;
    const double width = 2 * (*middle - lower);
    // Never 0: the value can come from the law, however rarely.
    weights.push_back(std::max(width, std::numeric_limits<double>::min()));
    lower += width;
  }
  if (std::abs(lower - 1) > kTolerance) return uniform;
  return weights;
}

std::vector<double> SupportWeights(const ParameterSpec& p,
                                   const std::vector<Value>& support) {
  switch (p.distribution) {
    case Distribution::kConstant:
    case Distribution::kIntUniform:
      return std::vector<double>(support.size(), 1.0);
    case Distribution::kCategorical:
    case Distribution::kCategoricalWithProbabilities:
      return CategoryWeights(p, support);
    default:
      return QuantizedCellWeights(p, support);
  }
}

// The space of `spec` when every parameter has a finite support, or nullopt.
// Values of weight 0 (a weighted category of probability 0) are left out.
std::optional<DiscreteSpace> DiscreteSpaceOf(const SweepSpec& spec) {
  std::vector<std::vector<Value>> axes;
  std::vector<std::vector<double>> weights;
  for (const ParameterSpec& p : spec.parameters) {
    std::optional<std::vector<Value>> support =
        FiniteSupport(p, kMaxDiscreteSupport);
    if (!support.has_value()) return std::nullopt;
    const std::vector<double> support_weights = SupportWeights(p, *support);
    std::vector<Value>& axis = axes.emplace_back();
    std::vector<double>& axis_weights = weights.emplace_back();
    absl::flat_hash_set<std::string> seen;
    for (std::size_t j = 0; j < support->size(); ++j) {
      if (support_weights[j] > 0 &&
          seen.insert(CanonicalKey((*support)[j])).second) {
        axis.push_back(std::move((*support)[j]));
        axis_weights.push_back(support_weights[j]);
      }
    }
    if (axis.empty()) return std::nullopt;  // Not a valid spec; just sample.
  }
  return DiscreteSpace{GridIndexer(std::move(axes)), std::move(weights)};
}

// Adds `point` to `visited`; true when it was not there.
bool Visit(const Point& point, const GridIndexer& grid,
           VisitedPoints& visited) {
  if (!visited.keys.insert(PointKey(point)).second) return false;
  const std::optional<uint64_t> index = grid.IndexOf(point);
  if (index.has_value()) visited.indices.insert(*index);
  return true;
}

// The law's weight of the point at `index`: the product over its coordinates.
double PointWeight(const DiscreteSpace& space, uint64_t index) {
  const GridIndexer& grid = space.grid;
  double weight = 1;
  for (std::size_t i = grid.dimensions(); i-- > 0;) {
    weight *= space.weights[i][index % grid.axis_size(i)];
    index /= grid.axis_size(i);
  }
  return weight;
}

// Step 2: lists the space (grid.size() <= kMaxListedSpace, some point
// unvisited) and draws an unvisited point in proportion to its weight.
Point DrawWeightedUnvisited(const DiscreteSpace& space,
                            const VisitedPoints& visited, RandomEngine& rng) {
  const uint64_t size = space.grid.size();
  std::vector<double> weights(size, 0.0);
  for (uint64_t index = 0; index < size; ++index) {
    if (!visited.indices.contains(index)) {
      weights[index] = PointWeight(space, index);
    }
  }
  double total = 0;
  for (double w : weights) total += w;
  if (!(total > 0) || !std::isfinite(total)) {
    // Products of tiny weights underflowed: every unvisited point alike.
    total = 0;
    for (uint64_t index = 0; index < size; ++index) {
      weights[index] = visited.indices.contains(index) ? 0.0 : 1.0;
      total += weights[index];
    }
  }
  const double target = UniformUnit(rng) * total;
  double cumulative = 0;
  uint64_t chosen = size;
  for (uint64_t index = 0; index < size; ++index) {
    if (weights[index] <= 0) continue;
    chosen = index;  // The last unvisited one if rounding overshoots.
    cumulative += weights[index];
    if (cumulative > target) break;
  }
  return space.grid.PointAt(chosen);
}

// Step 3: uniform over a large space (> kMaxListedSpace points, some
// unvisited) by rejection; then the first unvisited point after a random one.
Point DrawUniformUnvisited(const DiscreteSpace& space,
                           const VisitedPoints& visited, RandomEngine& rng) {
  const GridIndexer& grid = space.grid;
  Point point(grid.dimensions());
  for (int attempt = 0; attempt < kUniformTries; ++attempt) {
    for (std::size_t i = 0; i < grid.dimensions(); ++i) {
      const auto position = static_cast<uint64_t>(
          UniformUnit(rng) * static_cast<double>(grid.axis_size(i)));
      point[i] = grid.ValueAt(i, std::min(position, grid.axis_size(i) - 1));
    }
    if (!visited.keys.contains(PointKey(point))) return point;
  }
  // A saturated space has more than 2^64 points, far more than were visited,
  // so the tries above cannot all fail there in practice.
  if (space.grid.saturated()) return point;
  const uint64_t size = space.grid.size();
  const uint64_t start = rng() % size;
  for (uint64_t step = 0; step < size; ++step) {
    const uint64_t index = (start + step) % size;
    if (!visited.indices.contains(index)) return space.grid.PointAt(index);
  }
  return point;  // Unreachable: the caller checked that a point is unvisited.
}

// A point not in `visited`, drawn as the header describes.
Point DrawUnvisited(const SweepSpec& spec, const DiscreteSpace& space,
                    const VisitedPoints& visited, RandomEngine& rng) {
  for (int attempt = 0; attempt < kLawTries; ++attempt) {
    Point point = SamplePoint(spec, rng);
    if (!visited.keys.contains(PointKey(point))) return point;
  }
  if (space.grid.size() <= kMaxListedSpace) {
    return DrawWeightedUnvisited(space, visited, rng);
  }
  return DrawUniformUnvisited(space, visited, rng);
}

}  // namespace

struct RandomSearcher::Memo {
  std::string parameters_key;
  std::optional<DiscreteSpace> space;
  // The points of context.finished[0, counted), and the ids of its first
  // and last trials (trial numbers; 0: not to be trusted).
  VisitedPoints ended;
  std::size_t counted = 0;
  int64_t first_id = 0;
  int64_t last_id = 0;
};

RandomSearcher::RandomSearcher() = default;
RandomSearcher::~RandomSearcher() = default;

absl::StatusOr<std::optional<Suggestion>> RandomSearcher::Suggest(
    const SearchContext& context, RandomEngine& rng) const {
  Suggestion suggestion;
  absl::MutexLock lock(&mu_);
  const std::string key = ParametersKey(context.spec);
  if (memo_ == nullptr || memo_->parameters_key != key) {
    memo_ = std::make_unique<Memo>();
    memo_->parameters_key = key;
    memo_->space = DiscreteSpaceOf(context.spec);
  }
  if (!memo_->space.has_value()) {
    suggestion.point = SamplePoint(context.spec, rng);
    return std::optional<Suggestion>(std::move(suggestion));
  }
  const DiscreteSpace& space = *memo_->space;
  // The trials seen before, with more at the end: visit the new ones. Any
  // other list (another one, a shorter one): visit them all again.
  const absl::Span<const TrialRecord> finished = context.finished;
  const bool extends =
      finished.size() >= memo_->counted &&
      (memo_->counted == 0 ||
       (memo_->last_id != 0 && finished.front().id == memo_->first_id &&
        finished[memo_->counted - 1].id == memo_->last_id));
  if (!extends) {
    memo_->ended = VisitedPoints();
    memo_->counted = 0;
  }
  for (std::size_t i = memo_->counted; i < finished.size(); ++i) {
    Visit(finished[i].point, space.grid, memo_->ended);
  }
  memo_->counted = finished.size();
  if (!finished.empty()) {
    memo_->first_id = finished.front().id;
    memo_->last_id = finished.back().id;
  }
  // The running points join the ended ones for this call only (what they
  // add is taken out again below).
  VisitedPoints& visited = memo_->ended;
  std::vector<std::string> added_keys;
  std::vector<uint64_t> added_indices;
  for (const Point& point : context.pending) {
    std::string point_key = PointKey(point);
    if (!visited.keys.insert(point_key).second) continue;
    added_keys.push_back(std::move(point_key));
    const std::optional<uint64_t> index = space.grid.IndexOf(point);
    if (index.has_value() && visited.indices.insert(*index).second) {
      added_indices.push_back(*index);
    }
  }
  const bool exhausted =
      !space.grid.saturated() && visited.indices.size() >= space.grid.size();
  if (!exhausted) {
    suggestion.point = DrawUnvisited(context.spec, space, visited, rng);
  }
  for (const std::string& added : added_keys) visited.keys.erase(added);
  for (const uint64_t added : added_indices) visited.indices.erase(added);
  if (!exhausted) return std::optional<Suggestion>(std::move(suggestion));
  // Every point was tried: by the law again, but while some point is not
  // running, not one that runs now (a second agent on it learns nothing).
  VisitedPoints running;
  for (const Point& point : context.pending) Visit(point, space.grid, running);
  suggestion.point = running.indices.size() < space.grid.size()
                         ? DrawUnvisited(context.spec, space, running, rng)
                         : SamplePoint(context.spec, rng);
  return std::optional<Suggestion>(std::move(suggestion));
}

bool RandomSearcher::ReadsFinished(const SweepSpec& spec) const {
  return DiscreteSpaceOf(spec).has_value();
}

}  // namespace sweep
