#include "agent/log_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/unique_fd.h"

namespace sweep {
namespace {

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0
// when its first byte does not start one (RFC 3629, Table 3-7 of Unicode).
size_t WellFormedSequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // Overlong.
    if (lead == 0xED) second_max = 0x9F;  // Surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // Overlong.
    if (lead == 0xF4) second_max = 0x8F;  // Past U+10FFFF.
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

absl::Status ErrnoStatus(int error, const std::string& path) {
  return absl::ErrnoToStatus(error,
                             absl::StrCat("cannot read log '", path, "'"));
}

// Reads up to `length` bytes at `offset`; fewer only at end of file.
absl::StatusOr<std::string> ReadRange(int fd, off_t offset, size_t length,
                                      const std::string& path) {
  std::string data(length, '\0');
  size_t filled = 0;
  while (filled < length) {
    ssize_t n = pread(fd, data.data() + filled, length - filled,
                      offset + static_cast<off_t>(filled));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, path);
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  data.resize(filled);
  return data;
}

// The last `max_lines` lines of `text`; a final newline ends the last line
// rather than starting an empty one.
absl::string_view LastLines(absl::string_view text, size_t max_lines) {
  if (max_lines == 0) return {};
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t start = end;
  for (size_t lines = 0; lines < max_lines; ++lines) {
    size_t newline =
        start == 0 ? absl::string_view::npos : text.rfind('\n', start - 1);
    if (newline == absl::string_view::npos) return text;
    start = newline;
  }
  return text.substr(start + 1);
}

}  // namespace

std::string ToValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t length = WellFormedSequenceLength(text);
    if (length == 0) {
      out.append(kReplacementCharacter);
      length = 1;
    } else {
      out.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return out;
}

absl::StatusOr<std::string> ReadLogTail(const std::string& path,
                                        size_t max_lines, size_t max_bytes) {
  // O_NONBLOCK so that a FIFO at `path` cannot hang the agent.
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return ErrnoStatus(errno, path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, path);
  const size_t size = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0;
  const size_t start = size > max_bytes ? size - max_bytes : 0;
  absl::StatusOr<std::string> data =
      ReadRange(fd.get(), static_cast<off_t>(start), size - start, path);
  if (!data.ok()) return data.status();
  return LogTailOf(*data, max_lines, /*starts_mid_line=*/start > 0);
}

std::string LogTailOf(absl::string_view text, size_t max_lines,
                      bool starts_mid_line) {
  if (starts_mid_line) {
    size_t newline = text.find('\n');
    if (newline != absl::string_view::npos && newline + 1 < text.size()) {
      text.remove_prefix(newline + 1);
    }
  }
  return ToValidUtf8(LastLines(text, max_lines));
}

std::string LastLine(absl::string_view text, size_t max_bytes) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    absl::string_view line = absl::StripAsciiWhitespace(*it);
    if (line.empty()) continue;
    if (absl::StartsWith(line, "wandb: ") &&
        !absl::StartsWith(line, "wandb: ERROR")) {
      continue;
    }
    const bool cut = line.size() > max_bytes;
    if (cut) {
      size_t end = max_bytes;
      // Back to the start of the character the limit falls in.
      while (end > 0 &&
             (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) {
        --end;
      }
      line = line.substr(0, end);
    }
    std::string out(line);
    for (char& c : out) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) c = '?';
    }
    if (cut) out += "...";
    return out;
  }
  return "";
}

}  // namespace sweep
