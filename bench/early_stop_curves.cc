#include "bench/early_stop_curves.h"

#include <cmath>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sweep::bench {
namespace {

using nlohmann::json;

absl::Status CheckWorkload(const CurveWorkload& w) {
  if (w.epochs < 1 || w.workers < 1 || w.random_search_trials < 1) {
    return absl::InvalidArgumentError(
        "epochs, workers and random_search_trials must be positive");
  }
  const auto pool = static_cast<int64_t>(w.curves.size());
  if (pool < w.random_search_trials) {
    return absl::InvalidArgumentError(
        absl::StrCat("the pool has ", pool, " curves, fewer than the ",
                     w.random_search_trials, " random search trials"));
  }
  for (size_t i = 0; i < w.curves.size(); ++i) {
    const LearningCurve& c = w.curves[i];
    bool finite = true;
    for (double v : c.values) finite = finite && std::isfinite(v);
    if (static_cast<int64_t>(c.values.size()) != w.epochs || !finite ||
        c.epoch_ticks < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("curve ", i, ": needs ", w.epochs,
                       " finite values and epoch_ticks >= 1"));
    }
  }
  if (w.orderings.empty()) {
    return absl::InvalidArgumentError("no orderings");
  }
  for (size_t k = 0; k < w.orderings.size(); ++k) {
    std::vector<bool> seen(w.curves.size());
    bool ok = static_cast<int64_t>(w.orderings[k].size()) == pool;
    for (int64_t index : w.orderings[k]) {
      ok = ok && index >= 0 && index < pool && !seen[index];
      if (ok) seen[index] = true;
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("ordering ", k, " is not a permutation of the pool"));
    }
  }
  return absl::OkStatus();
}

CurveWorkload FromJson(const json& doc) {
  CurveWorkload w;
  w.name = doc.at("workload").get<std::string>();
  w.description = doc.value("description", "");
  w.metric = doc.at("metric").get<std::string>();
  w.maximize = doc.at("goal").get<std::string>() == "maximize";
  w.epochs = doc.at("epochs").get<int64_t>();
  w.random_search_trials = doc.at("random_search_trials").get<int64_t>();
  w.workers = doc.at("workers").get<int64_t>();
  w.orderings = doc.at("orderings").get<std::vector<std::vector<int64_t>>>();
  for (const json& c : doc.at("curves")) {
    w.curves.push_back({c.at("values").get<std::vector<double>>(),
                        c.at("epoch_ticks").get<int64_t>()});
  }
  return w;
}

}  // namespace

double RandomSearchBest(const CurveWorkload& w,
                        const std::vector<int64_t>& ordering) {
  double best = w.curves[ordering[0]].values.back();
  for (int64_t i = 1; i < w.random_search_trials; ++i) {
    const double final_value = w.curves[ordering[i]].values.back();
    if (IsBetter(w, final_value, best)) best = final_value;
  }
  return best;
}

absl::StatusOr<CurveWorkload> LoadCurveWorkload(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  CurveWorkload workload;
  try {
    workload = FromJson(json::parse(in));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  absl::Status status = CheckWorkload(workload);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", status.message()));
  }
  return workload;
}

}  // namespace sweep::bench
