// Grid search (../shared/SPEC-sweep-config.md, section 3): the cartesian
// product of every parameter's values, handed out in a fixed order, each point
// once (lost points again, failed points again when asked).
//
// The grid is never materialized: a point is a mixed-radix index over the
// axes, so a call costs O(trials * parameters), whatever the number of grid
// points. Everything here is thread-safe.
#ifndef SWEEP_SEARCH_GRID_SEARCH_H_
#define SWEEP_SEARCH_GRID_SEARCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "search/searcher.h"
#include "search/spec.h"

namespace sweep {

// The most values one axis may hold. A q_uniform axis with a tiny q is
// almost certainly a mistake, and could not be enumerated anyway.
inline constexpr std::size_t kMaxGridAxisValues = 10'000'000;

// The values `p` takes on a grid, in grid order, without duplicates (W&B
// equality, first occurrence kept):
//   constant: its value;
//   categorical, categorical_w_probabilities: the values as written (the
//     probabilities play no part in a grid);
//   int_uniform: min, min + 1, ..., max (ints);
//   q_uniform: min + k*q for k = 0, 1, ... while <= max. Deliberately unlike
//     W&B (numpy's arange), max is included when it lies on the lattice
//     (within 1e-9 of the range, at most 1e-3 of a step). Floating-point noise
//     is cleaned (0.1 + 2*0.1 gives 0.3). The values are ints only when q was
//     written as an integer and min is an integer, floats otherwise.
// InvalidArgument, naming the parameter, for any other distribution, an empty
// axis, or more than kMaxGridAxisValues values.
absl::StatusOr<std::vector<Value>> GridAxis(const ParameterSpec& p);

// GridAxis of every parameter, aligned with spec.parameters.
absl::StatusOr<std::vector<std::vector<Value>>> GridAxes(const SweepSpec& spec);

// The number of grid points: the product of the axis lengths, UINT64_MAX when
// it does not fit in 64 bits. nullopt when some parameter cannot be a grid
// axis (GridAxis fails for a reason other than its length).
std::optional<uint64_t> GridSize(const SweepSpec& spec);

// One axis of a GridIndexer: values listed in order, or the integers
// int_start, int_start + 1, ... (int_length of them), never listed, so that
// an int_uniform axis of ten million values costs nothing to hold or search.
struct GridAxisValues {
  std::vector<Value> values;
  std::optional<int64_t> int_start;
  uint64_t int_length = 0;

  static GridAxisValues Listed(std::vector<Value> values) {
    return GridAxisValues{std::move(values), std::nullopt, 0};
  }
  static GridAxisValues IntRange(int64_t start, uint64_t length) {
    return GridAxisValues{{}, start, length};
  }
  uint64_t size() const {
    return int_start.has_value() ? int_length : values.size();
  }
};

// Numbers the points of a product of finite axes in grid order (the last axis
// varying fastest) and maps points to those indices and back. Random search
// uses it for discrete spaces too. Immutable after construction, so
// thread-compatible.
class GridIndexer {
 public:
  // Every axis must be non-empty and free of duplicates (W&B equality).
  explicit GridIndexer(std::vector<std::vector<Value>> axes);
  explicit GridIndexer(std::vector<GridAxisValues> axes);

  // The number of points, UINT64_MAX when saturated().
  uint64_t size() const { return size_; }
  // True when the product does not fit in 64 bits; IndexOf then fails.
  bool saturated() const { return saturated_; }
  std::size_t dimensions() const { return axes_.size(); }
  uint64_t axis_size(std::size_t axis) const { return axes_[axis].size(); }
  // The value at `position` (below axis_size(axis)) of `axis`.
  Value ValueAt(std::size_t axis, uint64_t position) const;

  // The index of `point`, or nullopt when it is not on the grid (a different
  // length, a coordinate on no axis) or saturated().
  std::optional<uint64_t> IndexOf(const Point& point) const;
  // The point at `index`, which must be below size().
  Point PointAt(uint64_t index) const;

 private:
  // Hashing and equality agreeing with ValuesEqual. Cheaper than keying by
  // CanonicalKey, which formats every float: IndexOf runs once per trial
  // coordinate on every call.
  struct WandbHash {
    std::size_t operator()(const Value& v) const;
  };
  struct WandbEqual {
    bool operator()(const Value& a, const Value& b) const {
      return ValuesEqual(a, b);
    }
  };

  std::optional<uint64_t> PositionOf(std::size_t axis, const Value& v) const;

  std::vector<GridAxisValues> axes_;
  // Per listed axis: each value -> its position on the axis.
  std::vector<absl::flat_hash_map<Value, std::size_t, WandbHash, WandbEqual>>
      positions_;
  uint64_t size_ = 1;
  bool saturated_ = false;
};

inline constexpr int64_t kMaxCrashesPerPoint = 3;

// Everything about spec's parameters that a space built from them depends
// on (names, distributions, values and their probabilities, bounds), as a
// string: searchers keep what they built while it does not change.
std::string ParametersKey(const SweepSpec& spec);

// Hands out the first grid point, in grid order, that is not covered:
//   - the order is the cartesian product over spec.parameters (already in
//     sorted flattened order), the last parameter varying fastest, each axis
//     in GridAxis order;
//   - a point is covered by every pending point and every ended trial having
//     it (coordinates compared with W&B equality; a trial whose point is not
//     on the grid covers nothing), except that kCrashed trials cover their
//     point only once it has been lost kMaxCrashesPerPoint times (lost
//     points are handed out again, but a point that always outlasts its
//     node is not retried forever), and that with
//     spec.extension.retry_failed = N > 0 kFailed trials cover their point
//     only once it has failed N + 1 times.
// Returns nullopt once every point is covered. Deterministic: `rng` is unused.
// InvalidArgument when GridAxes fails or the grid has 2^64 points or more.
//
// The axes are built once per parameter list and kept (an int_uniform axis
// as a range, never listed); a grid of 2^64 points or more is refused before
// any axis is built. What the ended trials cover is kept too, and a call
// that sees the trials it saw before with more appended (the controller's
// list of ended trials grows at its end) counts only the new ones: a call
// costs O((new trials + pending) * parameters) amortized, not O(trials).
class GridSearcher : public Searcher {
 public:
  absl::StatusOr<std::optional<Suggestion>> Suggest(
      const SearchContext& context, RandomEngine& rng) const override;

 private:
  // What context.finished covers, counted up to `counted` trials.
  struct Coverage {
    std::shared_ptr<const GridIndexer> grid;
    std::size_t counted = 0;
    int64_t first_id = 0;  // The ids of finished[0] and
    int64_t last_id = 0;   // finished[counted - 1] (trial numbers, not 0).
    int64_t retries = 0;
    absl::flat_hash_set<uint64_t> covered;
    absl::flat_hash_map<uint64_t, int64_t> failures;
    absl::flat_hash_map<uint64_t, int64_t> crashes;
    // Every index below it is covered (covered only grows).
    uint64_t first_uncovered = 0;
  };

  // The indexer for `spec`, from the memo when its parameters are the ones
  // it was built for.
  absl::StatusOr<std::shared_ptr<const GridIndexer>> Indexer(
      const SweepSpec& spec) const;

  mutable absl::Mutex mu_;
  mutable std::string memo_key_ ABSL_GUARDED_BY(mu_);
  mutable std::shared_ptr<const GridIndexer> memo_ ABSL_GUARDED_BY(mu_);
  mutable Coverage coverage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sweep

#endif  // SWEEP_SEARCH_GRID_SEARCH_H_
