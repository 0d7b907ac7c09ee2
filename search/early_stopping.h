// Early termination rules (spec section 5 and the project's extensions):
// W&B's Hyperband exactly, asynchronous successive halving (ASHA) and median
// stopping. Each rule is incremental: Observe() of one logged value costs
// O(log n) in the number of trials, Judge() of a running trial O(log n); no
// call rescans histories. Values are the sweep metric's finite values in
// logging order ("an iteration is one logged value of the metric"); when the
// goal is maximize they are negated inside, and every value and threshold a
// rule reports is in the metric's own units.
//
// Besides its rule, every stopper stops a running trial whose metric was NaN
// or an infinity on the bad side (+inf when minimizing) for as many values in
// a row as the rule lets any trial log before judging it (Hyperband's first
// band, ASHA's first rung, the median rule's warm-up plus one), and at least
// three. A loss gone NaN stays NaN, and the
// rule, which sees finite values only (spec section 5), would let such a
// trial run to its end, alone or not. Its verdict names the rule
// kDivergedRule, with band = that count and value = the last value logged.
//
// Thread-compatible: the controller calls a rule under its sweep's lock.
#ifndef SWEEP_SEARCH_EARLY_STOPPING_H_
#define SWEEP_SEARCH_EARLY_STOPPING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/spec.h"
#include "search/value.h"

namespace sweep {

// The rule a stop of a diverged trial names (see above).
inline constexpr char kDivergedRule[] = "diverged";

// What a rule calls the point it judges at: "band" (hyperband), "rung"
// (asha), "iteration" (median, diverged).
const char* StopUnit(const std::string& rule);

// Why a rule stops a trial.
struct StopVerdict {
  std::string rule;  // "hyperband", "asha", "median", kDivergedRule.
  // The band, rung or step (iterations) it was judged at; for a diverged
  // trial, how many values in a row were not finite.
  int64_t band = 0;
  double value = 0;  // The trial's value there, as logged.
  // What it had to be no worse than, as logged (NaN for a diverged trial).
  double threshold = 0;
  // "hyperband band 3: val_loss 0.52 is worse than the threshold 0.41",
  // "diverged: val_loss was not finite for 3 values in a row (last nan)".
  std::string Reason(const std::string& metric_name) const;
};

class EarlyStopper {
 public:
  virtual ~EarlyStopper() = default;

  // Records the next value `value` (as logged) of `trial`'s metric.
  // Non-finite values are no iterations of the rule; they count only
  // towards stopping a diverged trial.
  virtual void Observe(int64_t trial, double value) = 0;
  // Whether the running `trial` should stop now.
  virtual std::optional<StopVerdict> Judge(int64_t trial) = 0;
  // The values of `trial` observed so far were judged already (they are
  // replayed after a controller restart): a rule that judges a trial once
  // per rung (ASHA) does not judge them again. Rules that judge a running
  // trial at every call (Hyperband's and the median's thresholds move as
  // others log) have nothing to forget.
  virtual void MarkJudged(int64_t trial) { (void)trial; }
  // The trial ended; what it logged still counts for the others.
  virtual void Forget(int64_t trial) = 0;
  // Counts a stop the controller ordered (also for stopped trials found at
  // recovery), shown per band by Describe(): the verdict's rule and band.
  virtual void CountStop(const std::string& rule, int64_t band) = 0;
  // The rule's setup and state: bands or rungs, how many trials reached
  // each, the current threshold and how many trials it stopped there; and
  // "diverged": {"after": values in a row, "stopped": trials}.
  virtual Value Describe() const = 0;
};

// The rule the spec asks for, or nullptr when it has none (or no metric).
std::unique_ptr<EarlyStopper> MakeEarlyStopper(const SweepSpec& spec);

// W&B's Hyperband bands (spec section 5), capped at kMaxBands bands and
// values up to kMaxBandIterations.
inline constexpr int kMaxBands = 64;
inline constexpr int64_t kMaxBandIterations = int64_t{1} << 40;
std::vector<int64_t> HyperbandBands(const HyperbandSpec& spec);

// ASHA's rungs: min_resource * reduction_factor^k below max_resource (when
// set), with the same caps.
std::vector<int64_t> AshaRungs(const AshaSpec& spec);

}  // namespace sweep

#endif  // SWEEP_SEARCH_EARLY_STOPPING_H_
