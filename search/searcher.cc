#include "search/searcher.h"

#include <memory>

#include "search/bayes_search.h"
#include "search/gp/quasi_random.h"
#include "search/grid_search.h"
#include "search/random_search.h"

namespace sweep {

RandomEngine SuggestionEngine(uint64_t seed, int64_t number) {
  return RandomEngine(gp::MixSeed(seed, static_cast<uint64_t>(number)));
}

uint64_t SeedFromSweepId(std::string_view sweep_id) {
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : sweep_id) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  // Nine digits: what a user copies into `sweep: {seed: N}` must parse
  // (seeds are read as signed 64-bit integers) and be easy to copy.
  return gp::MixSeed(hash, 0x5eed) % 1'000'000'000;
}

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
