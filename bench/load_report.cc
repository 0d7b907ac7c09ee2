#include "bench/load_report.h"

#include <iomanip>
#include <iostream>

namespace sweep::bench {
namespace {

using nlohmann::json;

json StatsJson(const CallStats& stats) {
  return {{"count", stats.count},     {"mean_ms", stats.mean_ms},
          {"p50_ms", stats.p50_ms},   {"p99_ms", stats.p99_ms},
          {"p999_ms", stats.p999_ms}, {"max_ms", stats.max_ms}};
}

void PrintCalls(const std::string& name, const CallStats& stats,
                double seconds) {
  std::cout << "    " << std::left << std::setw(14) << name << std::right
            << std::fixed << std::setprecision(0) << std::setw(9)
            << stats.count / seconds << "/s" << std::setprecision(3)
            << std::setw(9) << stats.p50_ms << std::setw(9) << stats.p99_ms
            << std::setw(9) << stats.p999_ms << std::setw(9) << stats.max_ms
            << "\n";
}

}  // namespace

json ResultJson(const LoadResult& result) {
  json by_method = json::object();
  for (const auto& [name, stats] : result.by_method) {
    by_method[name] = StatsJson(stats);
  }
  json progress = json::array();
  for (const LoadResult::Progress& point : result.progress) {
    progress.push_back({point.seconds, point.calls, point.trials});
  }
  return {{"seconds", result.seconds},
          {"progress", progress},
          {"calls", result.calls},
          {"calls_per_s", result.calls / result.seconds},
          {"trials", result.trials},
          {"trials_per_s", result.trials / result.seconds},
          {"stopped_trials", result.stopped_trials},
          {"errors", result.errors},
          {"first_error", result.first_error},
          {"all", StatsJson(result.all)},
          {"by_method", by_method},
          {"client_cpu_s", result.client_cpu_seconds}};
}

json SamplesJson(const ServerSamples& samples, double seconds) {
  json rss = json::array();
  for (const auto& [at, kib] : samples.rss_kib) rss.push_back({at, kib});
  const int64_t start = samples.rss_kib.front().second;
  const int64_t middle = samples.rss_kib[samples.rss_kib.size() / 2].second;
  const int64_t end = samples.rss_kib.back().second;
  const double cpu = samples.cpu_seconds.back() - samples.cpu_seconds.front();
  return {{"rss_idle_kib", samples.rss_idle_kib},
          {"rss_start_kib", start},
          {"rss_middle_kib", middle},
          {"rss_end_kib", end},
          {"rss_samples", rss},
          {"cpu_s", cpu},
          {"cores", cpu / seconds}};
}

void PrintResult(const std::string& title, const LoadResult& result,
                 const json& server, bool agents) {
  std::cout << "  " << title << ": " << std::fixed;
  if (agents) {
    std::cout << std::setprecision(1) << result.trials / result.seconds
              << " trials/s, ";
  }
  std::cout << std::setprecision(0) << result.calls / result.seconds
            << " calls/s over " << std::setprecision(2) << result.seconds
            << " s";
  if (result.stopped_trials > 0) {
    std::cout << " (" << result.stopped_trials << " trials stopped early)";
  }
  std::cout << "; errors " << result.errors << "\n";
  if (result.progress.size() >= 3) {
    const LoadResult::Progress& first = result.progress.front();
    const LoadResult::Progress& middle =
        result.progress[result.progress.size() / 2];
    const LoadResult::Progress& last = result.progress.back();
    auto rate = [](const LoadResult::Progress& a,
                   const LoadResult::Progress& b) {
      return static_cast<double>(b.calls - a.calls) / (b.seconds - a.seconds);
    };
    std::cout << "    calls/s in the first half " << std::setprecision(0)
              << rate(first, middle) << ", second half " << rate(middle, last)
              << "\n";
  }
  if (result.errors > 0) {
    std::cout << "    first error: " << result.first_error << "\n";
  }
  std::cout << "    call              rate    p50 ms   p99 ms  p99.9 ms"
               "   max ms\n";
  PrintCalls("all", result.all, result.seconds);
  for (const auto& [name, stats] : result.by_method) {
    if (result.by_method.size() > 1) PrintCalls(name, stats, result.seconds);
  }
  std::cout << "    server RSS MiB: idle " << std::setprecision(1)
            << server["rss_idle_kib"].get<double>() / 1024 << ", start "
            << server["rss_start_kib"].get<double>() / 1024 << ", middle "
            << server["rss_middle_kib"].get<double>() / 1024 << ", end "
            << server["rss_end_kib"].get<double>() / 1024 << "; CPU: server "
            << std::setprecision(2) << server["cores"].get<double>()
            << " cores, bench " << result.client_cpu_seconds / result.seconds
            << " cores\n";
}

void PrintSummary(const json& runs) {
  std::cout << "\nsummary (ratio = our RPC/s / floor calls/s at the same "
               "concurrency)\n";
  std::cout << "  agents  trials/s     RPC/s  p50 ms  p99 ms  RSS start->end "
               "MiB  floor calls/s  ratio\n";
  for (const json& run : runs) {
    const json& ours = run["controller"];
    const double floor =
        run.contains("floor") ? run["floor"]["calls_per_s"].get<double>() : 0;
    std::cout << std::fixed << "  " << std::setw(6) << run["agents"].get<int>()
              << std::setprecision(1) << std::setw(10)
              << ours["trials_per_s"].get<double>() << std::setprecision(0)
              << std::setw(10) << ours["calls_per_s"].get<double>()
              << std::setprecision(2) << std::setw(8)
              << ours["all"]["p50_ms"].get<double>() << std::setw(8)
              << ours["all"]["p99_ms"].get<double>() << std::setprecision(1)
              << std::setw(9)
              << ours["server"]["rss_start_kib"].get<double>() / 1024 << " -> "
              << std::left << std::setw(8)
              << ours["server"]["rss_end_kib"].get<double>() / 1024
              << std::right << std::setprecision(0) << std::setw(14) << floor
              << std::setprecision(3) << std::setw(7)
              << (floor > 0 ? ours["calls_per_s"].get<double>() / floor : 0)
              << "\n";
  }
}

}  // namespace sweep::bench
