#include "bench/early_stop_oracle.h"

#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace sweep::bench {
namespace {

class ClairvoyantStopper : public EarlyStopper {
 public:
  explicit ClairvoyantStopper(std::vector<bool> doomed)
      : doomed_(std::move(doomed)) {}

  void Observe(int64_t trial, double value) override {
    (void)value;
    observed_.insert(trial);
  }

  std::optional<StopVerdict> Judge(int64_t trial) override {
    if (!observed_.contains(trial) || judged_.contains(trial)) {
      return std::nullopt;
    }
    judged_.insert(trial);
    if (!doomed_[static_cast<size_t>(trial)]) return std::nullopt;
    return StopVerdict{"clairvoyant", 1, 0, 0};
  }

  void Forget(int64_t trial) override {
    observed_.erase(trial);
    judged_.erase(trial);
  }
  void CountStop(const std::string& rule, int64_t band) override {
    (void)rule;
    (void)band;
  }
  Value Describe() const override { return Value::object(); }

 private:
  const std::vector<bool> doomed_;  // By trial id.
  absl::flat_hash_set<int64_t> observed_;
  absl::flat_hash_set<int64_t> judged_;
};

}  // namespace

std::unique_ptr<EarlyStopper> MakeClairvoyantStopper(
    const CurveWorkload& workload, const std::vector<int64_t>& ordering) {
  const double target = RandomSearchBest(workload, ordering);
  std::vector<bool> doomed(ordering.size());
  for (size_t i = 0; i < ordering.size(); ++i) {
    doomed[i] =
        IsBetter(workload, target, workload.curves[ordering[i]].values.back());
  }
  return std::make_unique<ClairvoyantStopper>(std::move(doomed));
}

}  // namespace sweep::bench
