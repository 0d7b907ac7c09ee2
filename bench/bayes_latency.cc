// Bayesian-search suggestion latency (BENCHMARKS.md section 2): the time of
// one Suggest against n finished trials and 32 pending ones, on a space of 10
// mixed parameters (uniform, log-uniform, integer, quantized, categorical;
// 13 encoded dimensions), for n = 100, 500, 2000. Two figures per n:
//   cold: a fresh searcher (hyperparameter fit and full factorization);
//   warm: a searcher that served the previous call, when one more trial has
//         finished since (the steady state of a running sweep): the median of
//         5 such calls;
//   refit: the call at which the hyperparameters are refitted, at or after n.
// With 32 pending the searcher makes a Thompson draw or EI by the parity of
// the trials seen, so each of those figures is the slower of 32 and 33
// pending.
// Wall time and the thread's CPU time are both printed: on a shared machine
// the CPU time is the steadier figure. With --dump-history, also writes each
// history as JSON for search_quality_peer.py --latency (Optuna TPE on the
// same trials). Prints one JSON object per (n, figure).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "bench/search_quality_functions.h"
#include "nlohmann/json.hpp"
#include "search/bayes_model.h"
#include "search/bayes_search.h"
#include "search/distribution.h"
#include "search/spec.h"

namespace sweep::bench {
namespace {

constexpr int kPending = 32;
constexpr int kWarmCalls = 5;

SweepSpec MixedSpec() {
  SweepSpec spec;
  spec.method = Method::kBayes;
  ParameterSpec activation;
  activation.name = "activation";
  activation.path = {"activation"};
  activation.distribution = Distribution::kCategorical;
  activation.values = {"relu", "gelu", "tanh", "silu"};
  ParameterSpec momentum = Ranged("momentum", Distribution::kQUniform, 0, 1);
  momentum.q = 0.05;
  spec.parameters = {activation,
                     Ranged("batch", Distribution::kIntUniform, 16, 512),
                     Ranged("dropout", Distribution::kUniform, 0, 0.8),
                     Ranged("layers", Distribution::kIntUniform, 1, 100),
                     Ranged("lr", Distribution::kLogUniformValues, 1e-5, 1e-1),
                     momentum,
                     Ranged("warmup", Distribution::kUniform, 0, 1),
                     Ranged("wd", Distribution::kLogUniformValues, 1e-6, 1e-2),
                     Ranged("width", Distribution::kUniform, 0, 1),
                     Ranged("x", Distribution::kUniform, 0, 1)};
  MetricSpec metric;
  metric.name = "loss";
  spec.metric = metric;
  spec.extension.seed = 1;
  return spec;
}

double Loss(const Point& p) {
  const double lr = std::log10(p[4].get<double>());
  return std::pow(lr + 3, 2) + std::pow(p[2].get<double>() - 0.3, 2) +
         0.001 * std::abs(p[3].get<double>() - 40) +
         std::sin(6 * p[8].get<double>()) * p[6].get<double>() +
         (p[0] == "gelu" ? 0.0 : 0.2) + 0.1 * p[5].get<double>();
}

std::vector<TrialRecord> History(const SweepSpec& spec, int n,
                                 RandomEngine& rng) {
  std::vector<TrialRecord> trials;
  for (int i = 0; i < n; ++i) {
    TrialRecord t;
    t.id = i + 1;
    t.state = TrialState::kFinished;
    t.point = SamplePoint(spec, rng);
    t.objective = Loss(t.point);
    trials.push_back(std::move(t));
  }
  return trials;
}

double ThreadSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall_ms = 0;
  double cpu_ms = 0;
};

Timing TimeSuggest(const BayesSearcher& searcher, const SweepSpec& spec,
                   const std::vector<TrialRecord>& finished,
                   const std::vector<Point>& pending) {
  RandomEngine rng(finished.size());
  const double cpu = ThreadSeconds();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::optional<Suggestion>> s =
      searcher.Suggest(SearchContext{spec, finished, pending}, rng);
  Timing t;
  t.wall_ms = 1e3 * std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  t.cpu_ms = 1e3 * (ThreadSeconds() - cpu);
  if (!s.ok() || !s->has_value()) {
    std::cerr << "suggestion failed: " << s.status() << "\n";
    std::exit(1);
  }
  return t;
}

nlohmann::json HistoryJson(const SweepSpec& spec,
                           const std::vector<TrialRecord>& finished,
                           const std::vector<Point>& pending) {
  nlohmann::json parameters = nlohmann::json::array();
  for (const ParameterSpec& p : spec.parameters) {
    if (p.distribution == Distribution::kCategorical) {
      parameters.push_back(
          {{"name", p.name}, {"kind", "categorical"}, {"values", p.values}});
    } else if (p.distribution == Distribution::kIntUniform) {
      parameters.push_back(
          {{"name", p.name}, {"kind", "int"}, {"min", p.min}, {"max", p.max}});
    } else {
      // Optuna has no quantized log form to match: q_uniform is a float.
      parameters.push_back(
          {{"name", p.name},
           {"kind", "float"},
           {"min", p.min},
           {"max", p.max},
           {"log", p.distribution == Distribution::kLogUniformValues}});
    }
  }
  const auto params = [&](const Point& point) {
    nlohmann::json out;
    for (std::size_t i = 0; i < point.size(); ++i) {
      out[spec.parameters[i].name] = point[i];
    }
    return out;
  };
  nlohmann::json trials = nlohmann::json::array();
  for (const TrialRecord& t : finished) {
    trials.push_back({{"params", params(t.point)}, {"value", *t.objective}});
  }
  nlohmann::json running = nlohmann::json::array();
  for (const Point& p : pending) running.push_back(params(p));
  return {
      {"parameters", parameters}, {"finished", trials}, {"pending", running}};
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) {
  using namespace sweep;         // NOLINT: a benchmark's main.
  using namespace sweep::bench;  // NOLINT
  CLI::App app{"Bayesian search: suggestion latency"};
  std::vector<int> sizes = {100, 500, 2000};
  std::string dump_prefix;
  app.add_option("--n", sizes, "finished trials");
  app.add_option("--dump-history", dump_prefix,
                 "write PREFIX<n>.json for the Optuna peer");
  CLI11_PARSE(app, argc, argv);

  const SweepSpec spec = MixedSpec();
  for (const int n : sizes) {
    int n_refit = n;
    while (FitCheckpoint(n_refit) != n_refit) ++n_refit;
    RandomEngine rng(n);
    const std::vector<TrialRecord> all =
        History(spec, n_refit + kPending + 1, rng);
    const std::vector<TrialRecord> finished(all.begin(), all.begin() + n);
    const auto pending_of = [&all](int first, int count) {
      std::vector<Point> pending;
      for (int i = first; i < first + count; ++i)
        pending.push_back(all[i].point);
      return pending;
    };
    if (!dump_prefix.empty()) {
      std::ofstream(absl::StrCat(dump_prefix, n, ".json"))
          << HistoryJson(spec, finished, pending_of(n, kPending)).dump();
    }
    // With trials pending, the searcher alternates between a Thompson draw
    // and EI by the parity of the trials seen: each figure with pending
    // trials is the slower of kPending and kPending + 1 pending.
    const std::vector<int> pending_counts = {kPending, kPending + 1};
    const auto slower = [](const Timing& a, const Timing& b) {
      return Timing{std::max(a.wall_ms, b.wall_ms),
                    std::max(a.cpu_ms, b.cpu_ms)};
    };
    const auto print = [&](const char* method, const Timing& t, size_t pending,
                           nlohmann::json extra) {
      nlohmann::json line = {{"n", n},
                             {"pending", pending},
                             {"method", method},
                             {"wall_ms", t.wall_ms},
                             {"cpu_ms", t.cpu_ms}};
      if (pending > 0) line["pending_counts"] = pending_counts;
      if (extra.is_object()) line.update(extra);
      std::cout << line.dump() << std::endl;
    };

    Timing cold;
    for (const int count : pending_counts) {
      cold = slower(cold, TimeSuggest(BayesSearcher(), spec, finished,
                                      pending_of(n, count)));
    }
    print("bayes_cold", cold, kPending, nlohmann::json::object());

    // Warm calls with pending trials, and without any (expected improvement,
    // as in a sequential sweep): the median of kWarmCalls calls.
    const auto warm = [&](const std::vector<Point>& in_flight) {
      const BayesSearcher searcher;
      std::vector<TrialRecord> growing(finished.begin(),
                                       finished.end() - kWarmCalls);
      TimeSuggest(searcher, spec, growing, in_flight);  // Fills the memo.
      std::vector<double> wall;
      std::vector<double> cpu;
      for (int i = n - kWarmCalls; i < n; ++i) {
        growing.push_back(finished[i]);
        const Timing t = TimeSuggest(searcher, spec, growing, in_flight);
        wall.push_back(t.wall_ms);
        cpu.push_back(t.cpu_ms);
      }
      std::sort(wall.begin(), wall.end());
      std::sort(cpu.begin(), cpu.end());
      return Timing{wall[kWarmCalls / 2], cpu[kWarmCalls / 2]};
    };
    Timing warm_pending;
    for (const int count : pending_counts) {
      warm_pending = slower(warm_pending, warm(pending_of(n, count)));
    }
    print("bayes_warm", warm_pending, kPending, nlohmann::json::object());
    print("bayes_warm_sequential", warm({}), 0, nlohmann::json::object());

    // The call at n_refit, after one at n_refit - 1 filled the memo.
    const std::vector<TrialRecord> before(all.begin(),
                                          all.begin() + n_refit - 1);
    const std::vector<TrialRecord> at(all.begin(), all.begin() + n_refit);
    Timing refit;
    for (const int count : pending_counts) {
      const std::vector<Point> refit_pending = pending_of(n_refit, count);
      const BayesSearcher refitting;
      TimeSuggest(refitting, spec, before, refit_pending);
      refit = slower(refit, TimeSuggest(refitting, spec, at, refit_pending));
    }
    print("bayes_refit", refit, kPending, {{"n_refit", n_refit}});
  }
  return 0;
}
