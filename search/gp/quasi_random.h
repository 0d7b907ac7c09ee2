// Scrambled Halton points: a low-discrepancy sequence in [0, 1)^d whose
// coordinates are randomized by a seed (random digit permutations), for the
// initial design and the acquisition's starting candidates. Halton rather than
// Sobol because it needs no table of direction numbers, so any dimension (a
// one-hot categorical adds one per category) works. Immutable; thread-safe.
#ifndef SWEEP_SEARCH_GP_QUASI_RANDOM_H_
#define SWEEP_SEARCH_GP_QUASI_RANDOM_H_

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace sweep::gp {

class ScrambledHalton {
 public:
  // Dimension j uses the j-th prime as its base; the permutation of every
  // digit of every dimension is drawn from `seed` (a fixed, portable
  // generator: the same seed gives the same points everywhere).
  ScrambledHalton(int dimensions, uint64_t seed);

  int dimensions() const { return static_cast<int>(bases_.size()); }

  // The index-th point. Consecutive indices fill the cube evenly.
  Eigen::VectorXd Point(uint64_t index) const;

  // Points first, first + 1, ..., as rows.
  Eigen::MatrixXd Points(uint64_t first, int count) const;

 private:
  std::vector<int> bases_;
  // permutations_[j][k] permutes the digit values of base bases_[j] at the
  // k-th digit after the radix point.
  std::vector<std::vector<std::vector<int>>> permutations_;
};

// A seed for ScrambledHalton mixing several 64-bit values (splitmix64).
uint64_t MixSeed(uint64_t a, uint64_t b);

}  // namespace sweep::gp

#endif  // SWEEP_SEARCH_GP_QUASI_RANDOM_H_
