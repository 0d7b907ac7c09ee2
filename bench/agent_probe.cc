// The program the agent benchmark runs as a trial (and its peers launch): it
// appends one JSON line with the wall-clock microsecond it started at and its
// pid to $SWEEP_METRICS_FILE, then, by --mode:
//   spawn  exits 0 at once;
//   run    appends {"loss": 1} every 50 ms until it is stopped (60 s at most);
//   sleep  sleeps quietly until it is stopped (60 s at most).
// Native, so that what is measured is the launch, not an interpreter's
// start-up.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

long long NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Append(const char* path, const std::string& line) {
  FILE* out = std::fopen(path, "a");
  if (out == nullptr) return false;
  std::fputs(line.c_str(), out);
  return std::fclose(out) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const long long start = NowMicros();
  std::string mode = "spawn";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mode=", 7) == 0) mode = argv[i] + 7;
  }
  const char* metrics = std::getenv("SWEEP_METRICS_FILE");
  if (metrics == nullptr) {
    std::fprintf(stderr, "agent_probe: SWEEP_METRICS_FILE is not set\n");
    return 2;
  }
  if (!Append(metrics, "{\"start_us\": " + std::to_string(start) +
                           ", \"pid\": " + std::to_string(getpid()) + "}\n")) {
    std::perror("agent_probe: cannot write the metrics file");
    return 2;
  }
  if (mode == "spawn") return 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (mode == "run") Append(metrics, "{\"loss\": 1}\n");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(mode == "run" ? 50 : 1000));
  }
  return 1;  // Never stopped: the benchmark notices the missing stop.
}
