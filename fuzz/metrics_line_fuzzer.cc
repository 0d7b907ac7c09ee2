// libFuzzer target: any bytes as a training program's output. The agent
// reads whatever the program writes, so neither ParseStdoutMetricLine nor
// MetricsFileReader may crash, hang or leak on any input.
//
// The input is parsed as one stdout line, and written as a metrics file that
// several readers follow: one reading it whole, one in small chunks, one
// while it is being appended to in two writes, and one with a tiny line limit.
// The first three must agree exactly (chunking and timing of reads are
// invisible by contract); the target aborts when they do not.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/metrics_reader.h"

namespace sweep {
namespace {

// Bounds the number of reads per input (each opens the file).
constexpr size_t kMaxChunkedReads = 64;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "metrics_line_fuzzer: %s\n", what.c_str());
  std::abort();
}

// The metrics file of this process, in a private temporary directory that
// is removed at exit (fuzzers often run as several processes at once).
class ScratchFile {
 public:
  static const ScratchFile& Get() {
    static const ScratchFile* const file = new ScratchFile();
    return *file;
  }
  const std::string& path() const { return path_; }

  void Write(absl::string_view bytes, bool append) const {
    const int flags =
        O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    const int fd = open(path_.c_str(), flags, 0600);
    if (fd < 0) Fail(absl::StrCat("cannot open ", path_));
    while (!bytes.empty()) {
      const ssize_t n = write(fd, bytes.data(), bytes.size());
      if (n <= 0) Fail(absl::StrCat("cannot write ", path_));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    close(fd);
  }

 private:
  ScratchFile() {
    dir_ = absl::StrCat(Directory(), "/sweep_metrics_fuzzer.XXXXXX");
    if (mkdtemp(dir_.data()) == nullptr) Fail("cannot create a temp dir");
    path_ = dir_ + "/metrics.jsonl";
    std::atexit([] {
      unlink(Get().path_.c_str());
      rmdir(Get().dir_.c_str());
    });
  }

  // $TMPDIR, else memory-backed /dev/shm (several times faster than a disk
  // for a file rewritten on every input), else /tmp.
  static std::string Directory() {
    const char* tmp = std::getenv("TMPDIR");
    if (tmp != nullptr && *tmp != '\0') return tmp;
    if (access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
    return "/tmp";
  }

  std::string dir_;
  std::string path_;
};

// What a reader made of the whole file.
struct Outcome {
  std::vector<MetricPoint> points;
  int64_t malformed_lines = 0;
  std::string last_malformed_reason;
  int64_t restarts = 0;
};

void Take(absl::StatusOr<std::vector<MetricPoint>> points, Outcome* outcome) {
  if (!points.ok())
    Fail(absl::StrCat("read failed: ", points.status().ToString()));
  outcome->points.insert(outcome->points.end(), points->begin(), points->end());
}

void Finish(MetricsFileReader& reader, Outcome* outcome) {
  Take(reader.Drain(0), outcome);
  outcome->malformed_lines = reader.malformed_lines();
  outcome->last_malformed_reason = reader.last_malformed_reason();
  outcome->restarts = reader.restarts();
}

bool SameDouble(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

bool SamePoints(const std::vector<MetricPoint>& a,
                const std::vector<MetricPoint>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].step != b[i].step || a[i].values.size() != b[i].values.size()) {
      return false;
    }
    for (size_t j = 0; j < a[i].values.size(); ++j) {
      if (a[i].values[j].first != b[i].values[j].first ||
          !SameDouble(a[i].values[j].second, b[i].values[j].second)) {
        return false;
      }
    }
  }
  return true;
}

void CheckSame(const Outcome& expected, const Outcome& actual,
               const char* reader) {
  if (!SamePoints(expected.points, actual.points) ||
      expected.malformed_lines != actual.malformed_lines ||
      expected.last_malformed_reason != actual.last_malformed_reason ||
      expected.restarts != actual.restarts) {
    Fail(absl::StrCat(reader, " reader disagrees with the whole-file reader: ",
                      actual.points.size(), " vs ", expected.points.size(),
                      " points, ", actual.malformed_lines, " vs ",
                      expected.malformed_lines, " malformed ('",
                      actual.last_malformed_reason, "' vs '",
                      expected.last_malformed_reason, "')"));
  }
}

// Names sorted and unique, as documented.
void CheckStdoutLine(absl::string_view line) {
  const std::optional<MetricValues> values = ParseStdoutMetricLine(line);
  if (!values.has_value()) return;
  if (values->empty()) Fail("ParseStdoutMetricLine gave an empty result");
  for (size_t i = 1; i < values->size(); ++i) {
    if (!((*values)[i - 1].first < (*values)[i].first)) {
      Fail("ParseStdoutMetricLine names are not sorted and unique");
    }
  }
}

void CheckFileReaders(absl::string_view bytes) {
  const ScratchFile& file = ScratchFile::Get();
  // The input's first bytes also pick the chunk size, split point and line
  // limit, so that the fuzzer can steer them.
  const size_t seed = bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]);
  const size_t seed2 = bytes.size() < 2 ? 0 : static_cast<uint8_t>(bytes[1]);

  file.Write(bytes, /*append=*/false);
  Outcome whole;
  {
    MetricsFileReader reader(file.path());
    Finish(reader, &whole);
  }
  if (whole.restarts != 0) Fail("restarted on an unchanged file");

  const size_t chunk =
      std::max<size_t>(1 + seed % 64, bytes.size() / kMaxChunkedReads + 1);
  Outcome chunked;
  {
    MetricsReaderOptions options;
    options.max_bytes_per_read = chunk;
    MetricsFileReader reader(file.path(), options);
    // Enough reads to reach the end; Finish then takes the last line.
    for (size_t i = 0; i <= bytes.size() / chunk; ++i) {
      Take(reader.ReadNew(0), &chunked);
    }
    Finish(reader, &chunked);
  }
  CheckSame(whole, chunked, "chunked");

  const size_t split = bytes.size() * seed / 256;
  Outcome appended;
  {
    file.Write(bytes.substr(0, split), /*append=*/false);
    MetricsFileReader reader(file.path());
    Take(reader.ReadNew(0), &appended);
    file.Write(bytes.substr(split), /*append=*/true);
    Finish(reader, &appended);
  }
  CheckSame(whole, appended, "appending");

  // Long lines are dropped; nothing to compare, only to survive.
  MetricsReaderOptions tiny;
  tiny.max_bytes_per_read = chunk;
  tiny.max_line_bytes = 1 + seed2 % 128;
  MetricsFileReader reader(file.path(), tiny);
  Outcome limited;
  Take(reader.ReadNew(0), &limited);
  Finish(reader, &limited);
}

}  // namespace
}  // namespace sweep

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  sweep::CheckStdoutLine(bytes);
  sweep::CheckFileReaders(bytes);
  return 0;
}
