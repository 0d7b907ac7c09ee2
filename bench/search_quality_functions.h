// The test problems of the search-quality benchmark (BENCHMARKS.md section
// 3), as sweep parameter spaces with a known optimum. search_quality_peer.py
// defines the same problems for Optuna; keep the two in step.
#ifndef SWEEP_BENCH_SEARCH_QUALITY_FUNCTIONS_H_
#define SWEEP_BENCH_SEARCH_QUALITY_FUNCTIONS_H_

#include <functional>
#include <string>
#include <vector>

#include "search/spec.h"

namespace sweep::bench {

struct TestProblem {
  std::string name;
  std::vector<ParameterSpec> parameters;
  // The value at a configuration (aligned with `parameters`), minimized.
  std::function<double(const Point&)> objective;
  double optimum = 0;  // The known minimum: regret is value - optimum.
};

// Branin (2d), Hartmann6, Rosenbrock4 on [-5, 10], Ackley5 on
// [-32.768, 32.768], and "mixed": a synthetic training-run loss over a
// log-scaled learning rate and weight decay, integer batch size (as its log2)
// and depth, a uniform dropout and a categorical optimizer (see the .cc).
std::vector<TestProblem> TestProblems();

// Problems no search setting was chosen on, run only when named (a check
// that what works on the ones above is not fitted to them): Levy (10d),
// Styblinski-Tang (8d), Branin hidden in 20 dimensions of which 18 do not
// matter, and a space of categories and integers only (see the .cc).
std::vector<TestProblem> HeldOutProblems();

// A parameter `name` of `distribution` over [min, max].
ParameterSpec Ranged(std::string name, Distribution distribution, double min,
                     double max);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_SEARCH_QUALITY_FUNCTIONS_H_
