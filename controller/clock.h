// The controller's view of time, injected so that lease expiry is tested
// without waiting. Implementations are thread-safe.
#ifndef SWEEP_CONTROLLER_CLOCK_H_
#define SWEEP_CONTROLLER_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sweep {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

class RealClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void AdvanceMs(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_CLOCK_H_
