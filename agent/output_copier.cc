#include "agent/output_copier.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sweep {
namespace {

// What the pipe holds before a program that outpaces the copy waits: room
// for a burst while the disk is slow. Best effort: a user over the kernel's
// pipe-user-pages-soft limit gets the default 64 KiB.
constexpr int kPipeBytes = 256 << 10;
constexpr size_t kReadBytes = 64 << 10;

absl::Status Failed(int error, const std::string& what) {
  return absl::ErrnoToStatus(error, what);
}

}  // namespace

void RaiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, rlim_t{1} << 20);
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = wanted;
  setrlimit(RLIMIT_NOFILE, &limit);
}

absl::StatusOr<std::unique_ptr<OutputCopier>> OutputCopier::Create(
    const std::string& log_path) {
  // O_NONBLOCK: a FIFO planted there cannot hang the agent (ENXIO).
  UniqueFd log(
      open(log_path.c_str(),
           O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
           0644));
  if (!log.valid()) {
    return Failed(errno,
                  absl::StrCat("cannot open the output log '", log_path, "'"));
  }
  struct stat st;
  if (fstat(log.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the output log '", log_path, "' is not a regular file"));
  }
  fcntl(log.get(), F_SETFL, O_APPEND);  // Blocking again.
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) {
    return Failed(errno, "cannot make a pipe for the output");
  }
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  // Only the agent's end: the program's writes block as on any pipe.
  if (fcntl(read_end.get(), F_SETFL, O_NONBLOCK) != 0) {
    return Failed(errno, "cannot set up the output pipe");
  }
  fcntl(write_end.get(), F_SETPIPE_SZ, kPipeBytes);
  UniqueFd wake(eventfd(0, EFD_CLOEXEC));
  if (!wake.valid()) {
    return Failed(errno, "cannot make an eventfd");
  }
  return std::unique_ptr<OutputCopier>(
      new OutputCopier(std::move(log), std::move(read_end),
                       std::move(write_end), std::move(wake)));
}

OutputCopier::OutputCopier(UniqueFd log, UniqueFd read_end, UniqueFd write_end,
                           UniqueFd wake)
    : log_(std::move(log)),
      read_end_(std::move(read_end)),
      write_end_(std::move(write_end)),
      wake_(std::move(wake)),
      buffer_(kReadBytes) {}

OutputCopier::~OutputCopier() { Finish(); }

void OutputCopier::Start() {
  write_end_.Reset();
  if (!thread_.joinable()) thread_ = std::thread(&OutputCopier::Copy, this);
}

void OutputCopier::Finish() {
  if (thread_.joinable()) {
    finishing_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    while (write(wake_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  write_end_.Reset();
  read_end_.Reset();
}

void OutputCopier::Copy() {
  pollfd fds[2] = {{read_end_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  while (true) {
    // Read before the copy: a Finish seen here comes after the program's
    // last write, which the copy then takes.
    const bool finishing = finishing_.load(std::memory_order_acquire);
    if (!CopyAvailable(finishing) || finishing) return;
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
  }
}

bool OutputCopier::CopyAvailable(bool finishing) {
  // At most what the pipe holds a pass, so that Finish is seen soon; at the
  // end, that is all: a writer that outlived the program and writes as fast
  // as the copy goes does not keep it going.
  uint64_t left = kPipeBytes;
  if (finishing) {
    const int size = fcntl(read_end_.get(), F_GETPIPE_SZ);
    if (size > 0) left = static_cast<uint64_t>(size);
  }
  while (left > 0) {
    const ssize_t n = read(read_end_.get(), buffer_.data(), buffer_.size());
    if (n > 0) {
      Append(buffer_.data(), static_cast<size_t>(n));
      left -= std::min<uint64_t>(left, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: empty for now. End of file, or an error: nothing more to copy.
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

void OutputCopier::Append(const char* data, size_t size) {
  bool wrote = false;
  while (size > 0) {
    const ssize_t n = write(log_.get(), data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      wrote = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A full disk: the output is dropped, never held, so that the program
    // goes on; what was lost is counted.
    absl::MutexLock lock(&mu_);
    if (write_error_.empty()) {
      write_error_ = n < 0 ? std::strerror(errno) : "nothing written";
    }
    lost_bytes_ += size;
    if (wrote) lost_tail_.clear();  // What came before it is in the log.
    const size_t keep = std::min(size, kLostTailBytes);
    lost_tail_.append(data + size - keep, keep);
    if (lost_tail_.size() > kLostTailBytes) {
      lost_tail_.erase(0, lost_tail_.size() - kLostTailBytes);
    }
    return;
  }
  if (wrote) {
    absl::MutexLock lock(&mu_);
    lost_tail_.clear();  // Written: the log's end is the latest again.
  }
}

std::string OutputCopier::lost_tail() const {
  absl::MutexLock lock(&mu_);
  return lost_tail_;
}

uint64_t OutputCopier::lost_bytes() const {
  absl::MutexLock lock(&mu_);
  return lost_bytes_;
}

std::string OutputCopier::write_error() const {
  absl::MutexLock lock(&mu_);
  return write_error_;
}

}  // namespace sweep
