#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace sweep::bench {
namespace {

int HighestBit(uint64_t value) { return 63 - __builtin_clzll(value); }

}  // namespace

int LatencyHistogram::BucketOf(uint64_t nanos) {
  if (nanos < kSubBuckets) return static_cast<int>(nanos);
  const int exponent = HighestBit(nanos);  // >= kSubBucketBits.
  const int shift = exponent - kSubBucketBits;
  const int sub_bucket = static_cast<int>(nanos >> shift) - kSubBuckets;
  return (shift + 1) * kSubBuckets + sub_bucket;
}

double LatencyHistogram::BucketMiddle(int index) {
  if (index < kSubBuckets) return index + 0.5;
  const int shift = index / kSubBuckets - 1;
  const double low = std::ldexp(index % kSubBuckets + kSubBuckets, shift);
  return low + std::ldexp(0.5, shift);
}

void LatencyHistogram::Record(std::chrono::nanoseconds latency) {
  const uint64_t nanos =
      latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  buckets_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  uint64_t max = max_nanos_.load(std::memory_order_relaxed);
  while (nanos > max && !max_nanos_.compare_exchange_weak(
                            max, nanos, std::memory_order_relaxed)) {
  }
}

double LatencyHistogram::QuantileMs(double q) const {
  uint64_t total = 0;
  for (const auto& bucket : buckets_) {
    total += bucket.load(std::memory_order_relaxed);
  }
  if (total == 0) return 0;
  const auto rank = static_cast<uint64_t>(
      std::max(1.0, std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return BucketMiddle(i) / 1e6;
  }
  return MaxMs();
}

double LatencyHistogram::MaxMs() const {
  return static_cast<double>(max_nanos_.load(std::memory_order_relaxed)) / 1e6;
}

double LatencyHistogram::MeanMs() const {
  const uint64_t n = count();
  if (n == 0) return 0;
  return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) /
         static_cast<double>(n) / 1e6;
}

}  // namespace sweep::bench
