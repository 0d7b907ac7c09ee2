// A trial program's stdout and stderr, read through a pipe and appended to
// its output.log by a thread of the agent's.
//
// A pipe, not the file itself, so that the program cannot rewrite what it
// wrote: a wrapper's `> /dev/stdout` or an `open("/proc/self/fd/1", "w")`
// reopens the pipe, where it would have truncated the file and then written
// over what stderr appended after it. The copy never waits for anything but
// the disk: a program is never held up by the agent's reading, sending or
// waiting for the controller.
#ifndef SWEEP_AGENT_OUTPUT_COPIER_H_
#define SWEEP_AGENT_OUTPUT_COPIER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/unique_fd.h"

namespace sweep {

// Each running trial holds a few descriptors (its pipe, its log, a wake-up
// eventfd, and the orphan guard's copies): a process running many trials
// calls this first, which raises its soft limit on open files to the hard
// limit (at most 2^20). Programs inherit it, as they would under Docker's
// defaults; none that worked under the lower limit stops working.
void RaiseOpenFileLimit();

// Thread-safe.
class OutputCopier {
 public:
  // Opens (creates, 0644 less the umask) `log_path` for appending, never
  // through a symbolic link, and makes the pipe. Errors name the file.
  static absl::StatusOr<std::unique_ptr<OutputCopier>> Create(
      const std::string& log_path);

  // Stops the copy (as Finish) if it runs.
  ~OutputCopier();

  // The pipe's write end, for the program's stdout and stderr (close on
  // exec: a spawn's dup2 gives the program copies without the flag). Valid
  // until Start.
  int write_end() const { return write_end_.get(); }

  // The pipe's read end (non-blocking) and the log, for the orphan guard,
  // which copies what a program writes after the agent died. Valid until
  // Finish.
  int read_end() const { return read_end_.get(); }
  int log() const { return log_.get(); }

  // Once the program has started (or failed to): closes the agent's write
  // end, so that the copy ends when the program's copies close, and starts
  // copying.
  void Start();

  // The program has ended: copies what the pipe holds now, then stops and
  // closes it. Does not wait for writers that outlived the program (a
  // daemon that left its process group); they see a closed pipe.
  void Finish();

  // Output that could not be written to the log (a full disk), in bytes,
  // and why the first write failed ("" when none did).
  uint64_t lost_bytes() const;
  std::string write_error() const;
  // When the last write failed: the end of what could not be written (at
  // most kLostTailBytes), so that the program's last words are not lost
  // with it; "" otherwise.
  std::string lost_tail() const;
  static constexpr size_t kLostTailBytes = 16 << 10;

 private:
  OutputCopier(UniqueFd log, UniqueFd read_end, UniqueFd write_end,
               UniqueFd wake);

  void Copy();
  // Copies until the pipe is empty (when `finishing`, at most what it can
  // hold): false at its end (every writer closed).
  bool CopyAvailable(bool finishing);
  void Append(const char* data, size_t size);

  UniqueFd log_;
  UniqueFd read_end_;  // Non-blocking.
  UniqueFd write_end_;
  UniqueFd wake_;             // An eventfd: Finish was called.
  std::vector<char> buffer_;  // The copy's.
  std::thread thread_;
  std::atomic<bool> finishing_{false};

  mutable absl::Mutex mu_;
  uint64_t lost_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::string write_error_ ABSL_GUARDED_BY(mu_);
  std::string lost_tail_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sweep

#endif  // SWEEP_AGENT_OUTPUT_COPIER_H_
