// Early termination rules (spec section 5 and the project's extensions):
// W&B's Hyperband exactly, asynchronous successive halving (ASHA) and median
// stopping. Each rule is incremental: Observe() of one logged value costs
// O(log n) in the number of trials, Judge() of a running trial O(log n); no
// call rescans histories. Values are the sweep metric's finite values in
// logging order ("an iteration is one logged value of the metric"); when the
// goal is maximize they are negated inside, and every value and threshold a
// rule reports is in the metric's own units.
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

// What a rule calls the point it judges at: "band" (hyperband), "rung"
// (asha), "iteration" (median).
const char* StopUnit(const std::string& rule);

// Why a rule stops a trial.
struct StopVerdict {
  std::string rule;  // "hyperband", "asha", "median".
  int64_t band = 0;  // The band, rung or step (iterations) it was judged at.
  double value = 0;  // The trial's value there, as logged.
  double threshold = 0;  // What it had to be no worse than, as logged.
  // "hyperband band 3: val_loss 0.52 is worse than the threshold 0.41".
  std::string Reason(const std::string& metric_name) const;
};

class EarlyStopper {
 public:
  virtual ~EarlyStopper() = default;

  // Records the next value `value` (as logged) of `trial`'s metric.
  // Non-finite values are ignored (they are not iterations).
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
  // recovery), shown per band by Describe().
  virtual void CountStop(int64_t band) = 0;
  // The rule's setup and state: bands or rungs, how many trials reached
  // each, the current threshold and how many trials it stopped there.
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
