// A file a program writes while the agent reads it: what was appended since
// the last read, and whether the file was truncated, rewritten or replaced
// meanwhile (then it is read again from its start).
#ifndef SWEEP_AGENT_FOLLOWED_FILE_H_
#define SWEEP_AGENT_FOLLOWED_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace sweep {

// Thread-compatible.
class FollowedFile {
 public:
  // `what` names the file in errors ("metrics file").
  FollowedFile(std::string path, std::string what);

  struct Chunk {
    std::string bytes;
    // The file shrank below what was read, no longer holds the first or
    // the last bytes read, or is another file: `bytes` are from its start.
    bool restarted = false;
  };

  // At most `max_bytes` of what follows the last read. A file that does not
  // exist yet gives nothing. Errors: FailedPrecondition when the path is not
  // a regular file (a FIFO never blocks the caller), else the errno of a
  // failed open or read (nothing changes; call again later).
  absl::StatusOr<Chunk> Read(size_t max_bytes);

  // Bytes read so far (since the last restart).
  uint64_t offset() const { return offset_; }

 private:
  struct Identity {
    dev_t device;
    ino_t inode;
  };

  void Restart();

  const std::string path_;
  const std::string what_;
  std::optional<Identity> identity_;
  uint64_t offset_ = 0;
  // The first and the last bytes read (up to 64 each), checked before each
  // read: a file rewritten in place (open(path, "w") each epoch) no longer
  // has them where they were.
  std::string head_;
  std::string tail_;
};

}  // namespace sweep

#endif  // SWEEP_AGENT_FOLLOWED_FILE_H_
