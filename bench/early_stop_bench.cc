// The early-termination benchmark (BENCHMARKS.md section 4), our side: replays
// precomputed learning curves (bench/learning_curves.py) through our rules
// (search/early_stopping.h), built from sweep YAML by ParseSweepDefinition as
// the controller builds them, and prints, per workload and method, the epochs
// spent until a trial first finishes at least as well as the full-budget
// random search's best. bench/run_early_stop_bench.sh runs it with the
// Optuna peer (bench/early_stop_peer.py) and prints the joint table.
//
// One setting per rule, the same on every workload (not tuned):
//   hyperband  W&B's documented example: {type: hyperband, min_iter: 3},
//              eta 3, strict (bands 3, 9, 27, ...).
//   asha       {type: asha, min_resource: 1, max_resource: <epochs>,
//              reduction_factor: 3}: the ladder of Optuna's HyperbandPruner
//              defaults (rungs 1, 3, 9 for 27 epochs).
//   median     {type: median}: our defaults, warmup_steps 5, min_trials 3.
// Plus a clairvoyant rule (early_stop_oracle.h) as the floor.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/early_stop_curves.h"
#include "bench/early_stop_oracle.h"
#include "bench/early_stop_replay.h"
#include "nlohmann/json.hpp"
#include "search/early_stopping.h"
#include "search/spec_parser.h"

namespace sweep::bench {
namespace {

using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Method {
  std::string name;
  std::string setting;  // For the table.
  // The sweep YAML lines that set the rule up; empty for "none" and the
  // clairvoyant rule.
  std::string yaml;
};

std::vector<Method> Methods(const CurveWorkload& w) {
  return {
      {"none", "-", ""},
      {"hyperband", "min_iter 3, eta 3",
       "early_terminate: {type: hyperband, min_iter: 3, eta: 3}"},
      {"asha", absl::StrCat("min 1, max ", w.epochs, ", factor 3"),
       absl::StrCat("sweep:\n  early_terminate: {type: asha, min_resource: 1, "
                    "max_resource: ",
                    w.epochs, ", reduction_factor: 3}")},
      {"median", "warmup 5, min_trials 3",
       "sweep:\n  early_terminate: {type: median, warmup_steps: 5, "
       "min_trials: 3}"},
      {"clairvoyant", "stops losers after epoch 1", ""},
  };
}

// The sweep definition a user would write for this workload and rule.
std::string SweepYaml(const CurveWorkload& w, const Method& method) {
  return absl::StrCat(
      "program: train.py\nmethod: random\nmetric: {name: ", w.metric,
      ", goal: ", w.maximize ? "maximize" : "minimize",
      "}\nparameters:\n  x: {min: 0.0, max: 1.0}\n", method.yaml, "\n");
}

json OutcomeJson(size_t ordering, const ReplayOutcome& o) {
  auto optional = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  return {{"ordering", ordering},
          {"target", o.target},
          {"epochs_to_target", optional(o.epochs_to_target)},
          {"ticks_to_target", optional(o.ticks_to_target)},
          {"best_final", optional(o.best_final)},
          {"epochs_spent", o.epochs_spent},
          {"trials_started", o.trials_started},
          {"trials_finished", o.trials_finished},
          {"trials_stopped", o.trials_stopped}};
}

// The median, +inf counting as larger than everything.
double Median(std::vector<double> v) {
  if (v.empty()) return kInf;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// `v` with `decimals` decimals, "-" when infinite.
std::string Figure(double v, int decimals) {
  return std::isfinite(v) ? absl::StrFormat("%.*f", decimals, v)
                          : std::string("-");
}

// Replays every ordering through one method; nullopt when its YAML does not
// parse (a bug here, reported).
std::optional<std::vector<ReplayOutcome>> RunMethod(const CurveWorkload& w,
                                                    const Method& method,
                                                    size_t orderings) {
  const ParsedDefinition parsed =
      ParseSweepDefinition(SweepYaml(w, method), method.name + ".yaml");
  if (!parsed.ok()) {
    std::cerr << parsed.Format() << "\n";
    return std::nullopt;
  }
  std::vector<ReplayOutcome> outcomes;
  for (size_t k = 0; k < orderings; ++k) {
    std::unique_ptr<EarlyStopper> stopper =
        method.name == "clairvoyant" ? MakeClairvoyantStopper(w, w.orderings[k])
                                     : MakeEarlyStopper(*parsed.spec);
    if (method.name != "none" && stopper == nullptr) return std::nullopt;
    outcomes.push_back(ReplayCurves(w, w.orderings[k], stopper.get()));
  }
  return outcomes;
}

void PrintRow(const Method& method, const std::vector<ReplayOutcome>& runs,
              const std::vector<ReplayOutcome>& none) {
  std::vector<double> epochs, ratios, best, trials;
  int reached = 0;
  for (size_t k = 0; k < runs.size(); ++k) {
    const auto& e = runs[k].epochs_to_target;
    epochs.push_back(e ? static_cast<double>(*e) : kInf);
    ratios.push_back(e ? static_cast<double>(*e) /
                             static_cast<double>(*none[k].epochs_to_target)
                       : kInf);
    best.push_back(runs[k].best_final.value_or(kInf));
    trials.push_back(static_cast<double>(runs[k].trials_started));
    reached += e ? 1 : 0;
  }
  std::printf("  %-11s %-26s %6s %6s %4d/%-3zu %7s %6s\n", method.name.c_str(),
              method.setting.c_str(), Figure(Median(epochs), 0).c_str(),
              Figure(Median(ratios), 2).c_str(), reached, runs.size(),
              Figure(Median(best), 4).c_str(),
              Figure(Median(trials), 0).c_str());
}

struct Options {
  std::vector<std::string> paths;
  size_t orderings = 0;  // 0: all.
  int64_t workers = 0;   // 0: the file's.
  std::string json_out;
};

// Runs every method on one workload: prints its rows, returns its JSON.
std::optional<json> RunWorkload(CurveWorkload& w, const Options& options) {
  if (options.workers > 0) w.workers = options.workers;
  const size_t orderings =
      options.orderings == 0 ? w.orderings.size()
                             : std::min(options.orderings, w.orderings.size());
  std::printf(
      "%s (%zu curves x %lld epochs, random search %lld trials = %lld "
      "epochs, workers %lld, %zu orderings)\n  %-11s %-26s %6s %6s %8s %7s "
      "%6s\n",
      w.name.c_str(), w.curves.size(), static_cast<long long>(w.epochs),
      static_cast<long long>(w.random_search_trials),
      static_cast<long long>(w.random_search_trials * w.epochs),
      static_cast<long long>(w.workers), orderings, "method", "setting",
      "epochs", "ratio", "reached", "best", "trials");
  json methods = json::array();
  std::vector<ReplayOutcome> none;
  for (const Method& method : Methods(w)) {
    std::optional<std::vector<ReplayOutcome>> runs =
        RunMethod(w, method, orderings);
    if (!runs) {
      std::cerr << "cannot set up " << method.name << "\n";
      return std::nullopt;
    }
    if (method.name == "none") none = *runs;
    PrintRow(method, *runs, none);
    json runs_json = json::array();
    for (size_t k = 0; k < runs->size(); ++k) {
      runs_json.push_back(OutcomeJson(k, (*runs)[k]));
    }
    methods.push_back({{"method", method.name},
                       {"setting", method.setting},
                       {"yaml", method.yaml},
                       {"runs", runs_json}});
  }
  return json{
      {"workload", w.name},   {"description", w.description},
      {"epochs", w.epochs},   {"random_search_trials", w.random_search_trials},
      {"workers", w.workers}, {"methods", methods}};
}

int Run(const Options& options) {
  json out = {{"replayer", "sweep"}, {"workloads", json::array()}};
  for (const std::string& path : options.paths) {
    absl::StatusOr<CurveWorkload> loaded = LoadCurveWorkload(path);
    if (!loaded.ok()) {
      std::cerr << loaded.status().message() << "\n";
      return 1;
    }
    std::optional<json> workload = RunWorkload(*loaded, options);
    if (!workload) return 1;
    out["workloads"].push_back(*std::move(workload));
  }
  if (!options.json_out.empty()) {
    std::ofstream file(options.json_out);
    file << out.dump(1) << "\n";
    if (!file) {
      std::cerr << "cannot write " << options.json_out << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) {
  CLI::App app{
      "Early-termination benchmark (BENCHMARKS.md section 4): replays "
      "learning curves through our rules. Columns: median epochs spent to "
      "reach the random search's best final value, median ratio to no "
      "stopping, orderings where it was reached, median best final value "
      "within the budget, median trials started."};
  sweep::bench::Options options;
  app.add_option("curves", options.paths, "workload files (learning_curves.py)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--orderings", options.orderings,
                 "use the first K orderings of each file (0: all)");
  app.add_option("--workers", options.workers,
                 "trials running at a time (0: the file's)");
  app.add_option("--json-out", options.json_out, "also write every run here");
  CLI11_PARSE(app, argc, argv);
  return sweep::bench::Run(options);
}
