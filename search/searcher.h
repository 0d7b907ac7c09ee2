// The interface every search method implements. The controller calls it with
// the sweep's spec, the trials so far, every pending trial and a seeded random
// engine; a searcher is pure: it keeps no state between calls, sees no clock,
// file or network, and the same inputs and engine state give the same answer.
#ifndef SWEEP_SEARCH_SEARCHER_H_
#define SWEEP_SEARCH_SEARCHER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "search/distribution.h"
#include "search/spec.h"

namespace sweep {

// Trial states (spec section 6). kRunning trials are pending.
enum class TrialState {
  kRunning,
  kFinished,
  kFailed,   // The program exited non-zero.
  kCrashed,  // Lost: the agent died or its lease expired (or preempted).
  kKilled,   // By a user or a cancel.
  kStopped,  // Early-terminated.
};

// A trial as the searcher sees it.
struct TrialRecord {
  int64_t id = 0;
  TrialState state = TrialState::kRunning;
  Point point;
  // The value this trial contributes to a model-based search (spec section
  // 4), as logged (not negated); nullopt when it has none.
  std::optional<double> objective;
  // Grid: how many earlier trials had this point (0 for the first); lets a
  // retried failed point be told apart from its first attempt.
  int attempt = 0;
};

// What a model-based search predicted for its suggestion.
struct Prediction {
  double mean = 0;
  double stddev = 0;
  double acquisition = 0;
};

struct Suggestion {
  Point point;
  std::optional<Prediction> prediction;
};

struct SearchContext {
  const SweepSpec& spec;
  // Every trial that has ended, in creation order.
  absl::Span<const TrialRecord> finished;
  // Every trial still running, plus points handed out but not yet recorded.
  absl::Span<const Point> pending;
};

class Searcher {
 public:
  virtual ~Searcher() = default;

  // The next configuration, or nullopt when the method has nothing left to
  // propose (a covered grid): the sweep is then finished once its running
  // trials end. Errors are InvalidArgument for a spec this searcher cannot
  // serve.
  virtual absl::StatusOr<std::optional<Suggestion>> Suggest(
      const SearchContext& context, RandomEngine& rng) const = 0;

  // Whether Suggest reads context.finished for `spec`. When it does not (a
  // random search of a space with a continuous parameter), the controller
  // keeps no record of ended trials for it, so a long sweep's memory stays
  // flat, and passes an empty context.finished.
  virtual bool ReadsFinished(const SweepSpec& spec) const { return true; }
};

// The engine for the suggestion of trial `number` (1 for the first) of a
// sweep with seed `seed`: a fresh engine per trial, so the same seed gives the
// same sequence of trials, also across controller restarts and whatever the
// order in which concurrent agents ask. The controller and `sweep validate
// --preview` both draw from it.
RandomEngine SuggestionEngine(uint64_t seed, int64_t number);

// The seed of a sweep whose definition sets none: derived from its id, so
// every new sweep draws its own points and a restarted controller continues
// each sweep's sequence.
uint64_t SeedFromSweepId(std::string_view sweep_id);

// The searcher for spec.method: GridSearcher, RandomSearcher or BayesSearcher.
std::unique_ptr<Searcher> MakeSearcher(const SweepSpec& spec);

}  // namespace sweep

#endif  // SWEEP_SEARCH_SEARCHER_H_
