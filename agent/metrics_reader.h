// Metrics a training program reports: JSON lines appended to a file the agent
// names (what the Python helper and the W&B shim write), or, when a sweep
// opts in, lines on stdout: `name=value` tokens, JSON objects or Python dicts.
#ifndef SWEEP_AGENT_METRICS_READER_H_
#define SWEEP_AGENT_METRICS_READER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/followed_file.h"
#include "search/spec.h"

namespace sweep {

// Metric values by name, sorted by name, names unique.
using MetricValues = std::vector<std::pair<std::string, double>>;

// One logged point of a trial.
struct MetricPoint {
  int64_t step = 0;
  // When the agent read the line (the caller's clock), in ms.
  int64_t time_ms = 0;
  MetricValues values;
};

struct MetricsReaderOptions {
  // At most this many bytes are read per ReadNew call, so that a runaway
  // program cannot stall the agent's loop.
  size_t max_bytes_per_read = size_t{1} << 20;
  // Longer lines are dropped and counted as malformed.
  size_t max_line_bytes = size_t{1} << 20;
};

// Follows a JSON-lines metrics file as the program appends to it.
//
// Each line is a JSON object, as Python's json.dumps writes it (NaN,
// Infinity and -Infinity accepted). Numbers become metric values (ints and
// floats; booleans, strings, lists and nulls are skipped); nested objects
// flatten with '/' ({"val": {"loss": 1}} gives "val/loss"). Top-level keys
// starting with '_' are W&B bookkeeping and skipped, except "_step", a
// non-negative integer that sets the point's step. Without "_step" a point's
// step is one past the previous point's (0, 1, 2, ... when no line has one,
// as W&B counts). A line without any metric value gives no point.
//
// Bad input is never fatal: lines that are not a JSON object, are longer than
// max_line_bytes, hold invalid UTF-8 or a bad "_step" are counted in
// malformed_lines(). A file that shrinks below what was read, or is replaced
// by another file, is read again from its start and counted in restarts();
// the lines it starts with that are those read before (a program that
// rewrites its whole history each epoch) are not taken again, up to the
// first that differs (the first kMaxRememberedLines lines are remembered,
// as hashes). (A file truncated and then regrown past the old offset between
// two reads is indistinguishable from an append.)
//
// Thread-compatible.
class MetricsFileReader {
 public:
  // Lines remembered to tell a rewritten history from new lines.
  static constexpr size_t kMaxRememberedLines = 100'000;

  explicit MetricsFileReader(std::string path,
                             MetricsReaderOptions options = {});

  // The points of the complete lines appended since the last call, reading
  // at most options.max_bytes_per_read bytes; a partial last line waits for
  // its newline. A file that does not exist yet gives no points. Errors:
  // FailedPrecondition when the path is not a regular file, else the errno of
  // a failed open or read (state is unchanged; call again later).
  absl::StatusOr<std::vector<MetricPoint>> ReadNew(int64_t now_ms);

  // For when the program has exited: reads everything left and takes a final
  // line that lacks its newline.
  absl::StatusOr<std::vector<MetricPoint>> Drain(int64_t now_ms);

  int64_t malformed_lines() const { return malformed_lines_; }
  // Why the last malformed line was refused, with its line number ("line 7:
  // not a JSON object"); empty when none was.
  const std::string& last_malformed_reason() const {
    return last_malformed_reason_;
  }
  int64_t restarts() const { return restarts_; }
  // Bytes of the file read so far.
  uint64_t offset() const { return file_.offset(); }

 private:
  // Reads one chunk into `out`; sets *bytes_read to its size.
  absl::Status ReadChunk(int64_t now_ms, std::vector<MetricPoint>* out,
                         size_t* bytes_read);
  void RestartFromBeginning();
  void ConsumeBytes(absl::string_view bytes, int64_t now_ms,
                    std::vector<MetricPoint>* out);
  void HandleLine(absl::string_view line, int64_t now_ms,
                  std::vector<MetricPoint>* out);
  void CountMalformed(absl::string_view reason);

  FollowedFile file_;
  const MetricsReaderOptions options_;

  // The bytes of the current line that have no newline yet.
  std::string partial_line_;
  // True while dropping the rest of a line that grew past max_line_bytes.
  bool discarding_long_line_ = false;
  int64_t line_number_ = 0;
  int64_t next_step_ = 0;
  int64_t malformed_lines_ = 0;
  std::string last_malformed_reason_;
  int64_t restarts_ = 0;
  // Hashes of the non-empty lines taken since the file's start, in order.
  std::vector<size_t> line_hashes_;
  // After a restart: lines of the new start matched so far against
  // line_hashes_; replaying_ until one differs.
  size_t replayed_ = 0;
  bool replaying_ = false;
};

// `line` without terminal escape sequences (CSI, OSC and two-byte ones): the
// colours and styles of rich, loguru, colorama or Keras's progress bar
// ("\x1b[32mloss=0.9\x1b[0m", "\x1b[1mloss\x1b[0m=0.8"), which would otherwise
// hide metric values, or show as "?[32m" in a log tail.
std::string WithoutTerminalEscapes(absl::string_view line);

// The metrics on one stdout line in the opt-in stdout mode. A line that is a
// JSON object (what `print(json.dumps(metrics))` writes) gives its numbers as
// a metrics-file line would (nested objects flattened with '/', keys starting
// with '_' skipped); a line that is a one-level Python dict as repr() prints
// it (Hugging Face Trainer's {'loss': 0.69, 'epoch': 1.0}) gives its numbers
// under keys that are metric names. Any other line gives every
// whitespace-separated token `name=value`, and every pair of tokens `name:`
// `value` (as Keras prints "- loss: 0.2984 - accuracy: 0.9143"), whose name
// matches [A-Za-z_][A-Za-z0-9_./-]* and whose value, less one trailing ',' or
// ';', parses in full as a number ("0.25", "1e-05", "nan", "inf").
// "epoch 3: loss=0.1, acc=0.9" gives acc and loss; "loss=1,234" gives
// nothing rather than a wrong 1. A name given twice keeps its last value.
// An object may follow other text ("...5.00it/s]{'eval_loss': 0.5}", where a
// progress bar on stderr had no line end). A backspace erases the character
// before it, as on a terminal (Keras's bar erases each batch's drawing so).
// nullopt when the line has no metric. Thread-safe.
std::optional<MetricValues> ParseStdoutMetricLine(absl::string_view line);

}  // namespace sweep

#endif  // SWEEP_AGENT_METRICS_READER_H_
