// LatencyHistogram: call latencies recorded from many threads at once, read
// back as quantiles. Log-linear buckets (64 per power of two of nanoseconds,
// as in HdrHistogram), so a quantile is within 1.6% of the exact one; fixed
// memory whatever the number of samples. Thread-safe: Record() is lock-free
// and may race with the readers, which then see a recent state.
#ifndef SWEEP_BENCH_LATENCY_HISTOGRAM_H_
#define SWEEP_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace sweep::bench {

class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void Record(std::chrono::nanoseconds latency);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The q-quantile (0 < q <= 1) in milliseconds: the middle of the bucket
  // holding the ceil(q * count)-th smallest sample; 0 when empty.
  double QuantileMs(double q) const;
  double MaxMs() const;
  double MeanMs() const;

 private:
  static constexpr int kSubBucketBits = 6;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  // Values below kSubBuckets ns get a bucket each; then every power of two
  // up to 2^63 gets kSubBuckets.
  static constexpr int kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  static int BucketOf(uint64_t nanos);
  // The middle of bucket `index`, in nanoseconds.
  static double BucketMiddle(int index);

  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
  std::atomic<uint64_t> max_nanos_{0};
};

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_LATENCY_HISTOGRAM_H_
