#include "search/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace sweep {
namespace {

// A multiset of values with O(log n) insertion and k-th smallest (libstdc++'s
// policy-based order-statistics tree). Entries are (value, tie breaker).
class OrderedValues {
 public:
  void Insert(double value) { tree_.insert({value, next_id_++}); }
  size_t size() const { return tree_.size(); }
  // The k-th smallest value, 0-based; k < size().
  double KthSmallest(size_t k) const { return tree_.find_by_order(k)->first; }
  // How many entries are smaller than (value, id).
  size_t RankOf(double value, uint64_t id) const {
    return tree_.order_of_key({value, id});
  }
  uint64_t last_id() const { return next_id_ - 1; }

 private:
  using Entry = std::pair<double, uint64_t>;
  __gnu_pbds::tree<Entry, __gnu_pbds::null_type, std::less<Entry>,
                   __gnu_pbds::rb_tree_tag,
                   __gnu_pbds::tree_order_statistics_node_update>
      tree_;
  uint64_t next_id_ = 0;
};

// The k-th smallest of a growing multiset, for the fixed quantiles Hyperband
// and ASHA ask for (k = floor(n / eta) moves by at most one per value): two
// heaps split after the k-th smallest, every value of `low_` <= every value
// of `high_`. 8 bytes per value, so a sweep of 100,000 trials costs under
// 1 MB per band; Insert is O(log n), and KthSmallest O(log n) per step that
// k moved since the last query.
class SplitValues {
 public:
  void Insert(double value) {
    if (!low_.empty() && value < low_.front()) {
      low_.push_back(value);
      std::push_heap(low_.begin(), low_.end());
    } else {
      high_.push_back(value);
      std::push_heap(high_.begin(), high_.end(), std::greater<>());
    }
  }
  size_t size() const { return low_.size() + high_.size(); }
  // The k-th smallest value, 0-based; k < size().
  double KthSmallest(size_t k) const {
    while (low_.size() > k + 1) {
      std::pop_heap(low_.begin(), low_.end());
      high_.push_back(low_.back());
      low_.pop_back();
      std::push_heap(high_.begin(), high_.end(), std::greater<>());
    }
    while (low_.size() < k + 1) {
      std::pop_heap(high_.begin(), high_.end(), std::greater<>());
      low_.push_back(high_.back());
      high_.pop_back();
      std::push_heap(low_.begin(), low_.end());
    }
    return low_.front();
  }

 private:
  // Rebalanced by the const KthSmallest: the split is a cache, the multiset
  // is the same.
  mutable std::vector<double> low_;   // Max-heap of the smallest values.
  mutable std::vector<double> high_;  // Min-heap of the others.
};

// Values inside a rule are "smaller is better".
double Oriented(const SweepSpec& spec, double value) {
  return spec.metric && spec.metric->goal == Goal::kMaximize ? -value : value;
}

std::vector<int64_t> GeometricSeries(double start, double factor,
                                     int64_t limit) {
  std::vector<int64_t> out;
  double b = start;
  while (static_cast<int>(out.size()) < kMaxBands && b <= limit) {
    const int64_t band = static_cast<int64_t>(std::floor(b));
    if (band >= 1 && (out.empty() || band > out.back())) out.push_back(band);
    b *= factor;
  }
  return out;
}

Value BandJson(int64_t band, size_t reached, std::optional<double> threshold,
               int64_t stopped) {
  Value out = Value::object();
  out["band"] = band;
  out["trials"] = reached;
  out["threshold"] = threshold ? Value(*threshold) : Value(nullptr);
  out["stopped"] = stopped;
  return out;
}

class HyperbandStopper : public EarlyStopper {
 public:
  HyperbandStopper(const SweepSpec& spec, std::vector<int64_t> bands)
      : spec_(spec),
        bands_(std::move(bands)),
        r_(1.0 / spec.early_terminate->hyperband.eta),
        strict_(spec.early_terminate->hyperband.strict),
        values_(bands_.size()) {}

  void Observe(int64_t trial, double value) override {
    if (!std::isfinite(value)) return;
    const double x = Oriented(spec_, value);
    Progress& p = trials_[trial];
    ++p.count;
    p.min = p.count == 1 ? x : std::min(p.min, x);
    if (p.next_band < bands_.size() && p.count == bands_[p.next_band]) {
      values_[p.next_band].Insert(x);
      p.band_value = x;
      ++p.next_band;
    }
  }

  std::optional<StopVerdict> Judge(int64_t trial) override {
    auto it = trials_.find(trial);
    if (it == trials_.end() || it->second.next_band == 0) return std::nullopt;
    const Progress& p = it->second;
    const size_t band = p.next_band - 1;  // Largest band <= count.
    const double threshold = Threshold(band);
    const double condition = strict_ ? p.band_value : p.min;
    if (!(condition > threshold)) return std::nullopt;
    return StopVerdict{"hyperband", bands_[band], Oriented(spec_, condition),
                       Oriented(spec_, threshold)};
  }

  void Forget(int64_t trial) override { trials_.erase(trial); }
  void CountStop(const std::string& rule, int64_t band) override {
    (void)rule;
    ++stopped_[band];
  }

  Value Describe() const override {
    Value out = Value::object();
    out["rule"] = "hyperband";
    out["eta"] = spec_.early_terminate->hyperband.eta;
    out["strict"] = strict_;
    out["bands"] = Value::array();
    for (size_t i = 0; i < bands_.size(); ++i) {
      std::optional<double> threshold;
      if (values_[i].size() > 0) threshold = Oriented(spec_, Threshold(i));
      auto s = stopped_.find(bands_[i]);
      out["bands"].push_back(BandJson(bands_[i], values_[i].size(), threshold,
                                      s == stopped_.end() ? 0 : s->second));
    }
    return out;
  }

 private:
  struct Progress {
    int64_t count = 0;
    double min = 0;
    size_t next_band = 0;  // Index of the next band this trial will reach.
    double band_value = 0;
  };

  // sorted(values)[floor(r * len(values))], as W&B computes it.
  double Threshold(size_t band) const {
    const SplitValues& v = values_[band];
    size_t index = static_cast<size_t>(static_cast<double>(v.size()) * r_);
    return v.KthSmallest(std::min(index, v.size() - 1));
  }

  const SweepSpec& spec_;
  const std::vector<int64_t> bands_;
  const double r_;
  const bool strict_;
  std::vector<SplitValues> values_;
  absl::flat_hash_map<int64_t, Progress> trials_;
  std::map<int64_t, int64_t> stopped_;
};

class AshaStopper : public EarlyStopper {
 public:
  AshaStopper(const SweepSpec& spec, std::vector<int64_t> rungs)
      : spec_(spec),
        rungs_(std::move(rungs)),
        eta_(spec.early_terminate->asha.reduction_factor),
        values_(rungs_.size()) {}

  void Observe(int64_t trial, double value) override {
    if (!std::isfinite(value)) return;
    Progress& p = trials_[trial];
    ++p.count;
    if (p.next_rung < rungs_.size() && p.count == rungs_[p.next_rung]) {
      p.rung_value = Oriented(spec_, value);
      values_[p.next_rung].Insert(p.rung_value);
      p.to_judge = true;
      ++p.next_rung;
    }
  }

  // A trial is judged once, when it reaches a rung: it goes on only while it
  // is in the top 1/eta of the trials that reached that rung so far.
  std::optional<StopVerdict> Judge(int64_t trial) override {
    auto it = trials_.find(trial);
    if (it == trials_.end() || !it->second.to_judge) return std::nullopt;
    Progress& p = it->second;
    p.to_judge = false;
    const size_t rung = p.next_rung - 1;
    const SplitValues& v = values_[rung];
    const size_t keep = std::max<size_t>(
        1, static_cast<size_t>(static_cast<double>(v.size()) / eta_));
    const double threshold = v.KthSmallest(keep - 1);
    if (!(p.rung_value > threshold)) return std::nullopt;
    return StopVerdict{"asha", rungs_[rung], Oriented(spec_, p.rung_value),
                       Oriented(spec_, threshold)};
  }

  void MarkJudged(int64_t trial) override {
    auto it = trials_.find(trial);
    if (it != trials_.end()) it->second.to_judge = false;
  }
  void Forget(int64_t trial) override { trials_.erase(trial); }
  void CountStop(const std::string& rule, int64_t band) override {
    (void)rule;
    ++stopped_[band];
  }

  Value Describe() const override {
    Value out = Value::object();
    out["rule"] = "asha";
    out["reduction_factor"] = eta_;
    out["rungs"] = Value::array();
    for (size_t i = 0; i < rungs_.size(); ++i) {
      std::optional<double> threshold;
      const SplitValues& v = values_[i];
      if (v.size() > 0) {
        const size_t keep = std::max<size_t>(
            1, static_cast<size_t>(static_cast<double>(v.size()) / eta_));
        threshold = Oriented(spec_, v.KthSmallest(keep - 1));
      }
      auto s = stopped_.find(rungs_[i]);
      out["rungs"].push_back(BandJson(rungs_[i], v.size(), threshold,
                                      s == stopped_.end() ? 0 : s->second));
    }
    return out;
  }

 private:
  struct Progress {
    int64_t count = 0;
    size_t next_rung = 0;
    double rung_value = 0;
    bool to_judge = false;
  };

  const SweepSpec& spec_;
  const std::vector<int64_t> rungs_;
  const double eta_;
  std::vector<SplitValues> values_;
  absl::flat_hash_map<int64_t, Progress> trials_;
  std::map<int64_t, int64_t> stopped_;
};

// Relative difference below which the median rule takes two values as equal.
constexpr double kTieTolerance = 1e-9;

class MedianStopper : public EarlyStopper {
 public:
  explicit MedianStopper(const SweepSpec& spec)
      : spec_(spec), options_(spec.early_terminate->median) {}

  void Observe(int64_t trial, double value) override {
    if (!std::isfinite(value)) return;
    const double x = Oriented(spec_, value);
    Progress& p = trials_[trial];
    ++p.count;
    p.best = p.count == 1 ? x : std::min(p.best, x);
    p.last = x;
    if (static_cast<int64_t>(steps_.size()) < p.count) {
      steps_.resize(static_cast<size_t>(p.count));
    }
    OrderedValues& at = steps_[static_cast<size_t>(p.count - 1)];
    at.Insert(x);
    p.entry_id = at.last_id();
  }

  // After the warm-up, the trial's best value so far against the median of
  // the values the other trials logged at the same iteration (as Optuna's
  // MedianPruner: not their best so far, which would judge a trial by
  // another's lucky early value).
  std::optional<StopVerdict> Judge(int64_t trial) override {
    auto it = trials_.find(trial);
    if (it == trials_.end()) return std::nullopt;
    const Progress& p = it->second;
    if (p.count <= options_.warmup_steps) return std::nullopt;
    const OrderedValues& at = steps_[static_cast<size_t>(p.count - 1)];
    const size_t others = at.size() - 1;
    if (others <
        static_cast<size_t>(std::max<int64_t>(1, options_.min_trials))) {
      return std::nullopt;
    }
    const size_t own_rank = at.RankOf(p.last, p.entry_id);
    auto other = [&](size_t i) {
      return at.KthSmallest(i < own_rank ? i : i + 1);
    };
    const double median = others % 2 == 1
                              ? other(others / 2)
                              : (other(others / 2 - 1) + other(others / 2)) / 2;
    // Worse by more than rounding: two runs logging the same accuracy,
    // computed in a different order, differ in the last bits, and that is
    // a tie, not a reason to stop one.
    if (!(p.best > median + kTieTolerance * std::abs(median))) {
      return std::nullopt;
    }
    return StopVerdict{"median", p.count, Oriented(spec_, p.best),
                       Oriented(spec_, median)};
  }

  void Forget(int64_t trial) override { trials_.erase(trial); }
  void CountStop(const std::string& rule, int64_t band) override {
    (void)rule;
    (void)band;
    ++stopped_;
  }

  Value Describe() const override {
    Value out = Value::object();
    out["rule"] = "median";
    out["warmup_steps"] = options_.warmup_steps;
    out["min_trials"] = options_.min_trials;
    out["steps_seen"] = steps_.size();
    out["stopped"] = stopped_;
    return out;
  }

 private:
  struct Progress {
    int64_t count = 0;
    double best = 0;
    double last = 0;  // Its value at iteration `count`, in steps_.
    uint64_t entry_id = 0;
  };

  const SweepSpec& spec_;
  const MedianStopSpec options_;
  std::vector<OrderedValues> steps_;
  absl::flat_hash_map<int64_t, Progress> trials_;
  int64_t stopped_ = 0;
};

// The fewest values in a row that make a trial diverged: a logger's NaN
// placeholder before a first evaluation is not a divergence.
constexpr int64_t kLeastDivergedValues = 3;

// Stops a running trial whose metric was NaN or an infinity on the bad side
// for `after` values in a row (see the header), and passes everything else
// on to `rule`.
class DivergenceGuard : public EarlyStopper {
 public:
  DivergenceGuard(std::unique_ptr<EarlyStopper> rule, int64_t after,
                  bool maximize)
      : rule_(std::move(rule)),
        after_(std::max<int64_t>(kLeastDivergedValues, after)),
        maximize_(maximize) {}

  void Observe(int64_t trial, double value) override {
    if (std::isfinite(value)) {
      not_finite_.erase(trial);
      rule_->Observe(trial, value);
      return;
    }
    // An infinity on the good side (a PSNR of a perfect reconstruction) is
    // no divergence; it is no iteration of the rule either (spec section 5).
    if (!std::isnan(value) && (value > 0) == maximize_) return;
    Run& run = not_finite_[trial];
    ++run.count;
    run.last = value;
  }

  std::optional<StopVerdict> Judge(int64_t trial) override {
    if (auto it = not_finite_.find(trial);
        it != not_finite_.end() && it->second.count >= after_) {
      return StopVerdict{kDivergedRule, it->second.count, it->second.last,
                         std::numeric_limits<double>::quiet_NaN()};
    }
    return rule_->Judge(trial);
  }

  void MarkJudged(int64_t trial) override { rule_->MarkJudged(trial); }

  void Forget(int64_t trial) override {
    not_finite_.erase(trial);
    rule_->Forget(trial);
  }

  void CountStop(const std::string& rule, int64_t band) override {
    if (rule == kDivergedRule) {
      ++stopped_;
    } else {
      rule_->CountStop(rule, band);
    }
  }

  Value Describe() const override {
    Value out = rule_->Describe();
    Value diverged = Value::object();
    diverged["after"] = after_;
    diverged["stopped"] = stopped_;
    out["diverged"] = std::move(diverged);
    return out;
  }

 private:
  struct Run {
    int64_t count = 0;  // Values in a row that were not finite.
    double last = 0;
  };

  const std::unique_ptr<EarlyStopper> rule_;
  const int64_t after_;
  const bool maximize_;
  absl::flat_hash_map<int64_t, Run> not_finite_;  // Running trials only.
  int64_t stopped_ = 0;
};

// `rule`, stopping diverged trials from the first point it judges a trial
// at (a rule with no band or rung judges none, and stops none).
std::unique_ptr<EarlyStopper> Guarded(std::unique_ptr<EarlyStopper> rule,
                                      int64_t first, const SweepSpec& spec) {
  if (first <= 0) return rule;
  return std::make_unique<DivergenceGuard>(
      std::move(rule), first,
      spec.metric && spec.metric->goal == Goal::kMaximize);
}

}  // namespace

const char* StopUnit(const std::string& rule) {
  return rule == "median" || rule == kDivergedRule ? "iteration"
         : rule == "asha"                          ? "rung"
                                                   : "band";
}

std::string StopVerdict::Reason(const std::string& metric_name) const {
  if (rule == kDivergedRule) {
    return absl::StrCat(rule, ": ", metric_name, " was not finite for ", band,
                        band == 1 ? " value" : " values in a row", " (last ",
                        PythonFloatRepr(value), ")");
  }
  return absl::StrCat(rule, " ", StopUnit(rule), " ", band, ": ", metric_name,
                      " ", PythonFloatRepr(value), " is worse than ",
                      rule == "median" ? "the median " : "the threshold ",
                      PythonFloatRepr(threshold));
}

std::vector<int64_t> HyperbandBands(const HyperbandSpec& spec) {
  if (spec.max_iter) {
    std::vector<int64_t> bands;
    double b = static_cast<double>(*spec.max_iter);
    for (int64_t i = 0; i < spec.s.value_or(0) && i < kMaxBands; ++i) {
      b /= spec.eta;
      if (b < 1) break;
      bands.push_back(static_cast<int64_t>(std::floor(b)));
    }
    std::sort(bands.begin(), bands.end());
    bands.erase(std::unique(bands.begin(), bands.end()), bands.end());
    return bands;
  }
  return GeometricSeries(static_cast<double>(spec.min_iter.value_or(1)),
                         spec.eta, kMaxBandIterations);
}

std::vector<int64_t> AshaRungs(const AshaSpec& spec) {
  const int64_t limit =
      spec.max_resource > 0 ? spec.max_resource - 1 : kMaxBandIterations;
  return GeometricSeries(static_cast<double>(spec.min_resource),
                         spec.reduction_factor, limit);
}

std::unique_ptr<EarlyStopper> MakeEarlyStopper(const SweepSpec& spec) {
  if (!spec.early_terminate || !spec.metric) return nullptr;
  switch (spec.early_terminate->type) {
    case EarlyTerminateSpec::Type::kHyperband: {
      std::vector<int64_t> bands =
          HyperbandBands(spec.early_terminate->hyperband);
      const int64_t first = bands.empty() ? 0 : bands.front();
      return Guarded(std::make_unique<HyperbandStopper>(spec, std::move(bands)),
                     first, spec);
    }
    case EarlyTerminateSpec::Type::kAsha: {
      std::vector<int64_t> rungs = AshaRungs(spec.early_terminate->asha);
      const int64_t first = rungs.empty() ? 0 : rungs.front();
      return Guarded(std::make_unique<AshaStopper>(spec, std::move(rungs)),
                     first, spec);
    }
    case EarlyTerminateSpec::Type::kMedian: {
      const int64_t warmup = spec.early_terminate->median.warmup_steps;
      return Guarded(
          std::make_unique<MedianStopper>(spec),
          warmup < kMaxBandIterations ? warmup + 1 : kMaxBandIterations, spec);
    }
  }
  return nullptr;
}

}  // namespace sweep
