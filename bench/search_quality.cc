// The search-quality benchmark (BENCHMARKS.md section 3), our side: simple
// regret after 50 and 100 trials of bayes and random search on the problems
// of search_quality_functions.h, per seed, sequentially and with 8 workers
// (each suggestion made while the 7 other trials in flight are pending; the
// oldest trial finishes first). Suggestions are made as the controller makes
// them: spec.extension.seed set to the run's seed, and one engine per
// suggestion seeded by (seed, trial number). Prints one JSON object per run;
// bench/run_search_bench.sh runs it with the Optuna peer
// (search_quality_peer.py) and prints the table.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/search_quality_functions.h"
#include "nlohmann/json.hpp"
#include "search/searcher.h"
#include "search/spec.h"

namespace sweep::bench {
namespace {

struct RunConfig {
  const TestProblem* problem;
  std::string method;
  int workers;
  uint64_t seed;
};

SweepSpec SpecFor(const TestProblem& problem, const std::string& method,
                  uint64_t seed) {
  SweepSpec spec;
  spec.method = method == "bayes" ? Method::kBayes : Method::kRandom;
  spec.parameters = problem.parameters;
  MetricSpec metric;
  metric.name = "loss";
  spec.metric = metric;
  spec.extension.seed = seed;
  return spec;
}

// The values of `budget` trials in the order they were suggested.
std::vector<double> Run(const RunConfig& config, int budget, double* seconds) {
  const SweepSpec spec = SpecFor(*config.problem, config.method, config.seed);
  const std::unique_ptr<Searcher> searcher = MakeSearcher(spec);
  std::vector<TrialRecord> finished;
  std::deque<Point> in_flight;
  std::vector<Point> suggested;
  double suggest_seconds = 0;
  const auto finish_oldest = [&] {
    TrialRecord trial;
    trial.id = static_cast<int64_t>(finished.size()) + 1;
    trial.state = TrialState::kFinished;
    trial.point = in_flight.front();
    trial.objective = config.problem->objective(trial.point);
    finished.push_back(std::move(trial));
    in_flight.pop_front();
  };
  while (static_cast<int>(suggested.size()) < budget) {
    if (static_cast<int>(in_flight.size()) >= config.workers) finish_oldest();
    const std::vector<Point> pending(in_flight.begin(), in_flight.end());
    std::seed_seq seq{config.seed, static_cast<uint64_t>(suggested.size())};
    RandomEngine rng(seq);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::optional<Suggestion>> next =
        searcher->Suggest(SearchContext{spec, finished, pending}, rng);
    suggest_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!next.ok() || !next->has_value()) {
      std::cerr << "suggestion failed: " << next.status() << "\n";
      std::exit(1);
    }
    suggested.push_back((*next)->point);
    in_flight.push_back((*next)->point);
  }
  std::vector<double> values;
  for (const Point& point : suggested) {
    values.push_back(config.problem->objective(point));
  }
  *seconds = suggest_seconds;
  return values;
}

double RegretAfter(const std::vector<double>& values, int trials,
                   double optimum) {
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < trials && i < static_cast<int>(values.size()); ++i) {
    best = std::min(best, values[i]);
  }
  return best - optimum;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) {
  using sweep::bench::RunConfig;
  CLI::App app{"Search quality: simple regret of bayes and random search"};
  int seeds = 20;
  int budget = 100;
  int jobs = 1;
  std::vector<std::string> methods = {"bayes", "random"};
  std::vector<std::string> functions;
  std::vector<int> worker_counts = {1, 8};
  app.add_option("--seeds", seeds, "seeds per (problem, method, workers)");
  app.add_option("--budget", budget, "trials per run");
  app.add_option("--jobs", jobs, "runs in parallel");
  app.add_option("--methods", methods, "bayes and/or random");
  app.add_option("--functions", functions,
                 "problems (default: the five of BENCHMARKS.md; also levy10, "
                 "styblinski8, branin20, discrete)");
  app.add_option("--workers", worker_counts, "trials in flight: 1 and/or 8");
  bool with_values = false;
  app.add_flag("--values", with_values,
               "also print each run's values in the order they came");
  CLI11_PARSE(app, argc, argv);

  std::vector<sweep::bench::TestProblem> problems =
      sweep::bench::TestProblems();
  if (!functions.empty()) {
    for (auto& problem : sweep::bench::HeldOutProblems()) {
      problems.push_back(std::move(problem));
    }
  }
  for (const std::string& name : functions) {
    if (std::none_of(problems.begin(), problems.end(),
                     [&](const auto& p) { return p.name == name; })) {
      std::cerr << "search_quality_bench: no problem named " << name << "\n";
      return 2;
    }
  }
  std::vector<RunConfig> configs;
  for (const auto& problem : problems) {
    if (!functions.empty() && std::find(functions.begin(), functions.end(),
                                        problem.name) == functions.end()) {
      continue;
    }
    for (const int workers : worker_counts) {
      for (const std::string& method : methods) {
        for (int seed = 0; seed < seeds; ++seed) {
          configs.push_back(
              {&problem, method, workers, static_cast<uint64_t>(seed)});
        }
      }
    }
  }
  std::mutex mu;
  std::size_t next = 0;
  const auto worker = [&] {
    while (true) {
      std::size_t index;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next == configs.size()) return;
        index = next++;
      }
      const RunConfig& config = configs[index];
      double seconds = 0;
      const std::vector<double> values =
          sweep::bench::Run(config, budget, &seconds);
      const double optimum = config.problem->optimum;
      nlohmann::json line = {
          {"function", config.problem->name},
          {"method", config.method},
          {"workers", config.workers},
          {"seed", config.seed},
          {"regret50", sweep::bench::RegretAfter(values, 50, optimum)},
          {"regret100", sweep::bench::RegretAfter(values, budget, optimum)},
          {"seconds", seconds}};
      if (with_values) line["values"] = values;
      std::lock_guard<std::mutex> lock(mu);
      std::cout << line.dump() << std::endl;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(jobs, 1); ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  return 0;
}
