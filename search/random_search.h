// Random search: every parameter drawn from its law (spec section 2), with
// no repeated configuration in a discrete space while an unvisited one is
// left (W&B repeats freely: spec section 7). Thread-safe.
#ifndef SWEEP_SEARCH_RANDOM_SEARCH_H_
#define SWEEP_SEARCH_RANDOM_SEARCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "search/searcher.h"

namespace sweep {

// A parameter with more possible values than this is treated as continuous:
// repeats on it are rare, and listing its values on every call would cost
// more than they are worth.
inline constexpr std::size_t kMaxDiscreteSupport = 100'000;

// Up to this many points, a space whose law keeps landing on visited points is
// listed in full to draw among the unvisited ones.
inline constexpr uint64_t kMaxListedSpace = 1'000'000;

// Draws SamplePoint(spec, rng), except in a discrete space: when every
// parameter has a finite support (FiniteSupport with kMaxDiscreteSupport), a
// point is not suggested again while some point of the space is neither in a
// trial of context.finished (any state) nor in context.pending. Points are
// compared with W&B equality. The unvisited point is drawn:
//   1. by rejection from the law: up to 64 draws of SamplePoint;
//   2. for spaces of at most kMaxListedSpace points, among all unvisited
//      points with probability proportional to their law's (the product over
//      parameters): a category's written probability (uniform unless
//      weighted; a value written twice counts twice), uniform for
//      int_uniform, and for the quantized numeric forms the probability of
//      the value's rounding cell, from QuantileOf. So the draw follows the
//      law restricted to the unvisited points, as step 1 does;
//   3. for larger spaces, uniformly over the product of the supports, by
//      rejection, and as a last resort (practically never) the first
//      unvisited point after a random one.
// A weighted value of probability exactly 0 is never suggested. Once every
// point has been visited, points repeat: drawn by the law again, restricted
// (as above) to the points not in context.pending while there are some.
// Continuous spaces always draw SamplePoint. The same inputs and engine state
// give the same suggestion. Never returns nullopt.
class RandomSearcher : public Searcher {
 public:
  RandomSearcher();
  ~RandomSearcher() override;

  absl::StatusOr<std::optional<Suggestion>> Suggest(
      const SearchContext& context, RandomEngine& rng) const override;
  // Only in a discrete space (to avoid repeats).
  bool ReadsFinished(const SweepSpec& spec) const override;

 private:
  // The discrete space of the parameters last seen and the points of the
  // ended trials, kept between calls: a call that sees the trials it saw
  // before with more appended (as the controller's list grows) visits only
  // the new ones, so a suggestion costs O(new + pending), not O(trials).
  struct Memo;

  mutable absl::Mutex mu_;
  mutable std::unique_ptr<Memo> memo_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sweep

#endif  // SWEEP_SEARCH_RANDOM_SEARCH_H_
