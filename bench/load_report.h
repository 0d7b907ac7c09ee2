// The controller load benchmark's figures: as JSON (for --json-out and
// summarize_controller_bench.py) and as text on stdout.
#ifndef SWEEP_BENCH_LOAD_REPORT_H_
#define SWEEP_BENCH_LOAD_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/load_driver.h"
#include "nlohmann/json.hpp"

namespace sweep::bench {

// What a server child did during one run: RSS and CPU at every sample.
struct ServerSamples {
  int64_t rss_idle_kib = 0;                         // Before any load.
  std::vector<std::pair<double, int64_t>> rss_kib;  // (seconds, KiB)
  std::vector<double> cpu_seconds;                  // Used so far.
};

nlohmann::json ResultJson(const LoadResult& result);
// `samples` must hold at least one sample; `seconds` is the window's length.
nlohmann::json SamplesJson(const ServerSamples& samples, double seconds);

// One run's figures; `server` is SamplesJson() of its server. Trials are
// shown when `agents` (not for the empty-call floor).
void PrintResult(const std::string& title, const LoadResult& result,
                 const nlohmann::json& server, bool agents);
// One line per run of `runs` (the --json-out "runs" array).
void PrintSummary(const nlohmann::json& runs);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_LOAD_REPORT_H_
