#include "search/gp/quasi_random.h"

#include <cmath>
#include <utility>

namespace sweep::gp {
namespace {

// Digits are generated until base^-digits is below this resolution.
constexpr double kResolution = 1e-15;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int> FirstPrimes(int count) {
  std::vector<int> primes;
  for (int candidate = 2; static_cast<int>(primes.size()) < count;
       ++candidate) {
    bool prime = true;
    for (const int p : primes) {
      if (p * p > candidate) break;
      if (candidate % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(candidate);
  }
  return primes;
}

}  // namespace

uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t state = a;
  const uint64_t mixed = SplitMix64(state) ^ b;
  state = mixed;
  return SplitMix64(state);
}

ScrambledHalton::ScrambledHalton(int dimensions, uint64_t seed)
    : bases_(FirstPrimes(dimensions)) {
  uint64_t state = seed;
  permutations_.resize(bases_.size());
  for (std::size_t j = 0; j < bases_.size(); ++j) {
    const int base = bases_[j];
    const int digits = static_cast<int>(std::ceil(
        -std::log(kResolution) / std::log(static_cast<double>(base))));
    for (int k = 0; k < digits; ++k) {
      std::vector<int> permutation(base);
      for (int v = 0; v < base; ++v) permutation[v] = v;
      for (int v = base - 1; v > 0; --v) {  // Fisher-Yates.
        const auto w =
            static_cast<int>(SplitMix64(state) % static_cast<uint64_t>(v + 1));
        std::swap(permutation[v], permutation[w]);
      }
      permutations_[j].push_back(std::move(permutation));
    }
  }
}

Eigen::VectorXd ScrambledHalton::Point(uint64_t index) const {
  Eigen::VectorXd point(dimensions());
  for (int j = 0; j < dimensions(); ++j) {
    const auto base = static_cast<uint64_t>(bases_[j]);
    const double inverse_base = 1.0 / static_cast<double>(base);
    double scale = inverse_base;
    double u = 0;
    uint64_t rest = index;
    // Every digit position is permuted, the leading zeros of the index too:
    // that is what makes each coordinate uniform.
    for (const std::vector<int>& permutation : permutations_[j]) {
      u += permutation[rest % base] * scale;
      rest /= base;
      scale *= inverse_base;
    }
    point[j] = std::fmin(u, 1.0 - 1e-16);
  }
  return point;
}

Eigen::MatrixXd ScrambledHalton::Points(uint64_t first, int count) const {
  Eigen::MatrixXd points(count, dimensions());
  for (int i = 0; i < count; ++i) points.row(i) = Point(first + i).transpose();
  return points;
}

}  // namespace sweep::gp
