// UniqueFd: sole owner of a POSIX file descriptor. Thread-compatible.
#ifndef SWEEP_AGENT_UNIQUE_FD_H_
#define SWEEP_AGENT_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace sweep {

// Closes its descriptor when destroyed or reset; -1 holds none.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace sweep

#endif  // SWEEP_AGENT_UNIQUE_FD_H_
