#include "search/gp/quasi_random.h"

#include <gtest/gtest.h>

#include <vector>

namespace sweep::gp {
namespace {

TEST(ScrambledHaltonTest, PointsLieInTheCubeAndDependOnTheSeed) {
  const ScrambledHalton a(12, 1);
  const ScrambledHalton b(12, 1);
  const ScrambledHalton c(12, 2);
  const Eigen::MatrixXd pa = a.Points(0, 200);
  EXPECT_TRUE(pa == b.Points(0, 200));
  EXPECT_FALSE(pa == c.Points(0, 200));
  EXPECT_GE(pa.minCoeff(), 0.0);
  EXPECT_LT(pa.maxCoeff(), 1.0);
}

TEST(ScrambledHaltonTest, EveryCoordinateIsStratified) {
  // Digit scrambling keeps the net property: the first base^k points put one
  // point in each of the base^k equal cells of every coordinate.
  const ScrambledHalton halton(3, 99);
  const int bases[] = {2, 3, 5};
  const int cells[] = {64, 81, 125};
  for (int j = 0; j < 3; ++j) {
    const Eigen::MatrixXd points = halton.Points(0, cells[j]);
    std::vector<int> count(cells[j], 0);
    for (int i = 0; i < cells[j]; ++i) {
      ++count[static_cast<int>(points(i, j) * cells[j])];
    }
    for (int c = 0; c < cells[j]; ++c) {
      EXPECT_EQ(count[c], 1) << "base " << bases[j] << " cell " << c;
    }
  }
}

TEST(MixSeedTest, DifferentInputsGiveDifferentSeeds) {
  EXPECT_NE(MixSeed(1, 2), MixSeed(2, 1));
  EXPECT_NE(MixSeed(0, 0), MixSeed(0, 1));
  EXPECT_EQ(MixSeed(5, 6), MixSeed(5, 6));
}

}  // namespace
}  // namespace sweep::gp
