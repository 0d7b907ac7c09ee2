// The end of a trial's log, as the agent reports it when a trial ends.
// Thread-safe (each call opens the file itself).
#ifndef SWEEP_AGENT_LOG_TAIL_H_
#define SWEEP_AGENT_LOG_TAIL_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep {

// The last `max_lines` lines of the file at `path`, reading at most its last
// `max_bytes` bytes. When the byte limit cuts a line, that partial first line
// is dropped (unless it is the only line, whose end is then kept). The result
// is valid UTF-8 (see ToValidUtf8), so it can go into a protobuf string.
// NotFound when the file does not exist; other I/O errors as their errno.
absl::StatusOr<std::string> ReadLogTail(const std::string& path,
                                        size_t max_lines, size_t max_bytes);

// The same of `text` (the end of some output), whose first line, when
// `text` starts mid-line, is dropped unless it is the only one.
std::string LogTailOf(absl::string_view text, size_t max_lines,
                      bool starts_mid_line);

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included)
// replaced by U+FFFD.
std::string ToValidUtf8(absl::string_view text);

// The last non-blank line of `text` (a log tail) that says something about
// the program, for a one-line message on a terminal: lines of W&B's own
// chatter ("wandb: ..." but "wandb: ERROR ...", which the W&B shim prints
// too) are passed over; surrounding whitespace stripped, control characters
// shown as '?', and cut to `max_bytes` at a UTF-8 character boundary, with
// "..." appended when cut. Empty when no line is left.
std::string LastLine(absl::string_view text, size_t max_bytes = 300);

}  // namespace sweep

#endif  // SWEEP_AGENT_LOG_TAIL_H_
