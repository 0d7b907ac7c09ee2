#include "bench/call_loop.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sweep::bench {

const char* MethodName(Method method) {
  switch (method) {
    case Method::kRegisterAgent:
      return "RegisterAgent";
    case Method::kAcquireTrial:
      return "AcquireTrial";
    case Method::kReportMetrics:
      return "ReportMetrics";
    case Method::kFinishTrial:
      return "FinishTrial";
    case Method::kEmptyCall:
      return "EmptyCall";
  }
  return "?";
}

void RunRecorder::RecordCall(Method method, Clock::time_point start,
                             const grpc::Status& status) {
  const Clock::duration latency = Clock::now() - start;
  if (!status.ok()) {
    RecordError(absl::StrCat(MethodName(method), ": code ",
                             static_cast<int>(status.error_code()), " ",
                             status.error_message()));
    return;
  }
  if (!measuring_.load(std::memory_order_relaxed)) return;
  all_.Record(latency);
  by_method_[static_cast<int>(method)].Record(latency);
}

void RunRecorder::RecordError(const std::string& message) {
  if (errors_.fetch_add(1) == 0) {
    absl::MutexLock lock(&mu_);
    first_error_ = message;
  }
}

std::string RunRecorder::first_error() const {
  absl::MutexLock lock(&mu_);
  return first_error_;
}

void RunRecorder::RecordTrial(bool stopped) {
  if (!measuring_.load(std::memory_order_relaxed)) return;
  trials_.fetch_add(1, std::memory_order_relaxed);
  if (stopped) stopped_trials_.fetch_add(1, std::memory_order_relaxed);
}

void RunRecorder::RecordReady() {
  if (ready_.fetch_add(1) + 1 == loops_) all_ready_.Notify();
}

void RunRecorder::RecordLoopEnded() {
  if (running_.fetch_sub(1) == 1) all_ended_.Notify();
}

void CallLoop::Issue(Method method, const Starter& start,
                     std::function<void()> next) {
  std::optional<grpc::ClientContext>& context = contexts_[next_context_];
  next_context_ ^= 1;
  context.emplace();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  const RunRecorder::Clock::time_point started = RunRecorder::Clock::now();
  start(&*context,
        [this, method, started, next = std::move(next)](grpc::Status status) {
          recorder_->RecordCall(method, started, status);
          if (!status.ok() || recorder_->stopping()) return End();
          if (think_ > absl::ZeroDuration())
            return AfterThinking(std::move(next));
          next();
        });
}

void CallLoop::AfterThinking(std::function<void()> next) {
  After(think_, std::move(next));
}

void CallLoop::AfterPhase(std::function<void()> next) {
  if (think_ <= absl::ZeroDuration()) return next();
  After(think_ * phase_, std::move(next));
}

void CallLoop::After(absl::Duration delay, std::function<void()> next) {
  std::optional<grpc::Alarm>& alarm = alarms_[next_alarm_];
  next_alarm_ ^= 1;
  alarm.emplace();
  alarm->Set(absl::ToChronoTime(absl::Now() + delay),
             [this, next = std::move(next)](bool fired) {
               if (!fired || recorder_->stopping()) return End();
               next();
             });
}

void CallLoop::Fail(const std::string& message) {
  recorder_->RecordError(message);
  End();
}

void CallLoop::MarkReady() {
  if (ready_) return;
  ready_ = true;
  recorder_->RecordReady();
}

void CallLoop::End() {
  MarkReady();
  recorder_->RecordLoopEnded();
}

}  // namespace sweep::bench
