#include "search/searcher.h"

#include <memory>

#include "search/bayes_search.h"
#include "search/grid_search.h"
#include "search/random_search.h"

namespace sweep {

std::unique_ptr<Searcher> MakeSearcher(const SweepSpec& spec) {
  switch (spec.method) {
    case Method::kGrid:
      return std::make_unique<GridSearcher>();
    case Method::kRandom:
      return std::make_unique<RandomSearcher>();
    case Method::kBayes:
      return std::make_unique<BayesSearcher>();
  }
  return std::make_unique<RandomSearcher>();  // Unreachable: every Method.
}

}  // namespace sweep
