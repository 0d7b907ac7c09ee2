#include "agent/followed_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/unique_fd.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

constexpr size_t kCheckBytes = 64;

absl::Status ReadError(const std::string& what, const std::string& path,
                       int error) {
  return absl::ErrnoToStatus(
      error, absl::StrCat("cannot read ", what, " '", path, "'"));
}

}  // namespace

FollowedFile::FollowedFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)) {}

void FollowedFile::Restart() {
  offset_ = 0;
  head_.clear();
  tail_.clear();
}

absl::StatusOr<FollowedFile::Chunk> FollowedFile::Read(size_t max_bytes) {
  Chunk chunk;
  // O_NONBLOCK so that a FIFO at the path cannot hang the caller.
  UniqueFd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid() && errno == ENOENT) return chunk;
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) != 0) {
    return ReadError(what_, path_, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(what_, " '", path_, "' is not a regular file"));
  }
  const Identity identity{st.st_dev, st.st_ino};
  const bool replaced =
      identity_.has_value() && (identity_->device != identity.device ||
                                identity_->inode != identity.inode);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // The first and the last bytes read, still there? (A rewrite that kept
  // both, changing only the middle, goes unseen; so does a file truncated
  // and regrown past the old offset with the same bytes there.)
  const auto same_bytes = [&](uint64_t at, const std::string& expected,
                              bool* same) -> absl::Status {
    std::string bytes(expected.size(), '\0');
    ssize_t n;
    do {
      n = pread(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(at));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ReadError(what_, path_, errno);
    *same = static_cast<size_t>(n) == expected.size() && bytes == expected;
    return absl::OkStatus();
  };
  bool rewritten = false;
  if (!replaced && size >= offset_ && !tail_.empty()) {
    bool same_tail = true;
    bool same_head = true;
    RETURN_IF_ERROR(same_bytes(offset_ - tail_.size(), tail_, &same_tail));
    if (same_tail && offset_ > head_.size()) {
      RETURN_IF_ERROR(same_bytes(0, head_, &same_head));
    }
    rewritten = !same_tail || !same_head;
  }
  chunk.restarted = replaced || rewritten || size < offset_;
  const uint64_t from = chunk.restarted ? 0 : offset_;
  chunk.bytes.resize(std::min<uint64_t>(size - from, max_bytes));
  ssize_t n;
  do {
    n = pread(fd.get(), chunk.bytes.data(), chunk.bytes.size(),
              static_cast<off_t>(from));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ReadError(what_, path_, errno);
  chunk.bytes.resize(static_cast<size_t>(n));
  identity_ = identity;
  if (chunk.restarted) Restart();
  offset_ += chunk.bytes.size();
  const std::string& bytes = chunk.bytes;
  if (head_.size() < kCheckBytes) {
    head_.append(bytes, 0, kCheckBytes - head_.size());
  }
  if (bytes.size() >= kCheckBytes) {
    tail_.assign(bytes, bytes.size() - kCheckBytes, kCheckBytes);
  } else {
    tail_.append(bytes);
    if (tail_.size() > kCheckBytes) tail_.erase(0, tail_.size() - kCheckBytes);
  }
  return chunk;
}

}  // namespace sweep
