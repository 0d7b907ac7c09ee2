#include "agent/agent.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/controller_channel.h"
#include "agent/controller_connection.h"
#include "agent/followed_file.h"
#include "agent/log_tail.h"
#include "agent/metrics_reader.h"
#include "agent/orphan_guard.h"
#include "agent/output_copier.h"
#include "agent/process.h"
#include "agent/program_lookup.h"
#include "agent/trial_files.h"
#include "nlohmann/json.hpp"
#include "search/command_template.h"

namespace sweep {
namespace {

// What the agent adds when it gives up after failures: how the last failed
// trial ended (`how`: its exit status or why it could not start) and its last
// line of output, and, for a W&B script run without the shim, the flag that
// runs it.
std::string FailureHint(int64_t trial, absl::string_view how,
                        absl::string_view line, bool wandb_shim) {
  if (how.empty()) return "";
  std::string hint = absl::StrCat("; trial ", trial, " ended with ", how);
  if (!line.empty()) absl::StrAppend(&hint, ", its last line: ", line);
  if (!wandb_shim && absl::StrContains(line, "No module named 'wandb'")) {
    absl::StrAppend(&hint,
                    " (the program imports wandb: add --wandb-shim to run it "
                    "against this sweep with Sweep's W&B shim)");
  }
  return hint;
}

// Whether a program ended the way a shutdown ends it: by SIGTERM, SIGINT or
// SIGHUP, or by exiting with the status a shell or a handler gives for one
// of them (128 + the signal).
bool EndedByShutdownSignal(const ProcessExit& exit) {
  // Not SIGKILL: a job scheduler sends it only after SIGTERM, to the agent
  // too; alone it is most likely the OOM killer, a failure of the program.
  const auto shutdown = [](int signal) {
    return signal == SIGTERM || signal == SIGINT || signal == SIGHUP;
  };
  if (exit.kind == ProcessExit::Kind::kSignaled) return shutdown(exit.code);
  return exit.kind == ProcessExit::Kind::kExited && exit.code > 128 &&
         shutdown(exit.code - 128);
}

using SteadyClock = std::chrono::steady_clock;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The environment variable that marks a launch's processes.
constexpr char kRunTagVariable[] = "SWEEP_RUN_TAG";
// How often a trial waiting for its GPUs looks again, and how long past the
// kill grace it waits for an earlier trial's processes to let them go.
constexpr std::chrono::milliseconds kGpuPoll(100);
constexpr std::chrono::seconds kGpuWaitMargin(30);

// A value of it no other launch on this machine has: the sweep first (see
// WaitForGpus), this process, the trial, and a random part (pids are
// reused).
std::string RunTag(const std::string& sweep_id, int64_t number) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* bits = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%s-%d-%d-%016x", sweep_id, getpid(), number,
                         absl::Uniform<uint64_t>(*bits));
}

std::string HostName() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

// A regular file of at most 4 KiB, whole; nullopt when it cannot be read
// (never waits on a FIFO, never follows a link).
std::optional<std::string> ReadSmallFile(const std::string& path) {
  const int fd =
      open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st;
  char buffer[4096];
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    n = read(fd, buffer, sizeof buffer);
  }
  close(fd);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<size_t>(n));
}

// What makes a pid name one process on this machine: the boot, the pid
// namespace and the host name ("" when they cannot be read).
std::string PidScope() {
  std::string boot;
  if (std::optional<std::string> id =
          ReadSmallFile("/proc/sys/kernel/random/boot_id")) {
    boot = std::string(absl::StripAsciiWhitespace(*id));
  }
  char ns[128] = {0};
  const ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (boot.empty() || n <= 0) return "";
  return absl::StrCat(boot, "/", absl::string_view(ns, n), "/", HostName());
}

// Where a named agent notes which process it is, so that its successor
// (the same --name started again here after it was killed) can tell the
// controller that it has ended and take the name over at once.
std::string IdentityFile(const AgentOptions& options) {
  std::string safe;
  for (const char c : options.name) {
    safe += absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                    c == '_' || c == '-'
                ? c
                : '_';
  }
  return absl::StrCat(options.workdir, "/", options.sweep_id, "/.agent-",
                      safe.substr(0, 64));
}

// The pid of the agent that last held options.name here, when it has ended
// (no such process, or another one under its pid); 0 when it runs, is
// unknown, or ran in another boot, pid namespace or host.
int64_t EndedPredecessor(const AgentOptions& options,
                         const std::string& scope) {
  if (options.name.empty() || scope.empty()) return 0;
  const std::optional<std::string> text = ReadSmallFile(IdentityFile(options));
  if (!text) return 0;
  const std::vector<std::string> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ');
  int64_t pid = 0;
  uint64_t start = 0;
  if (fields.size() != 3 || fields[2] != scope ||
      !absl::SimpleAtoi(fields[0], &pid) ||
      !absl::SimpleAtoi(fields[1], &start) || pid <= 1 || pid == getpid()) {
    return 0;
  }
  return ProcessEnded(static_cast<pid_t>(pid), start) ? pid : 0;
}

// Notes this process in IdentityFile; a failure only costs a successor the
// wait.
void NoteIdentity(const AgentOptions& options, const std::string& scope) {
  const std::optional<unsigned long long> start = ProcessStartTime(getpid());
  if (options.name.empty() || scope.empty() || !start) return;
  const std::string path = IdentityFile(options);
  if (!MakeDirectories(absl::StrCat(options.workdir, "/", options.sweep_id))
           .ok()) {
    return;
  }
  WriteFile(path, absl::StrCat(getpid(), " ", *start, " ", scope, "\n"))
      .IgnoreError();
}

// How often a trial's loop looks for its program's end right after telling
// it to stop, and for how long (then every poll_interval).
constexpr std::chrono::milliseconds kFastPoll(1);
constexpr std::chrono::milliseconds kFastPollFor(200);
// After this long without a new metric line, a trial's loop polls every
// kQuietPoll instead of every AgentOptions::poll_interval.
constexpr std::chrono::seconds kQuietAfter(2);
constexpr std::chrono::milliseconds kQuietPoll(100);

// What the agent knows of one trial it runs; shared by its worker, the
// heartbeat and the sender.
struct TrialRun {
  v1::TrialAssignment assignment;
  // An order from the controller (STOP or KILL), or 0.
  std::atomic<int> order{0};
  // The controller no longer honours the lease: stop the program.
  std::atomic<bool> revoked{false};
  std::string order_reason;  // Guarded by Agent::Impl::mu_.
  // Its finish was delivered (or dropped): the controller knows how it
  // ended. Guarded by Agent::Impl::mu_.
  bool finish_settled = false;
  // Its program has ended (its output may still be read and sent). Guarded
  // by Agent::Impl::mu_.
  bool program_ended = false;
};

// The options with the trials' directory made absolute: the paths a trial
// gets (SWEEP_PARAMS_FILE, SWEEP_METRICS_FILE, WANDB_SWEEP_PARAM_PATH) must
// still name its files after the program changes directory (Hydra before
// 1.2 does so by default).
AgentOptions WithAbsoluteWorkdir(AgentOptions options) {
  std::error_code error;
  const std::filesystem::path absolute =
      std::filesystem::absolute(options.workdir, error);
  if (!error) {
    options.workdir = absolute.lexically_normal().string();
    if (options.workdir.size() > 1 && options.workdir.back() == '/') {
      options.workdir.pop_back();
    }
  }
  return options;
}

// A report's size is kept near this, well under the controller's 4 MiB
// limit on a message; a single point beyond kMaxPointBytes cannot be sent.
constexpr size_t kMaxReportBytes = 1 << 20;
constexpr size_t kMaxPointBytes = 3 << 20;

// About the bytes a point takes in a report (each value: its name, a double
// and the map entry's framing).
size_t PointBytes(const MetricPoint& point) {
  size_t bytes = 24;
  for (const auto& [name, value] : point.values) bytes += name.size() + 14;
  return bytes;
}

size_t BatchBytes(const std::vector<MetricPoint>& batch) {
  size_t bytes = 0;
  for (const MetricPoint& point : batch) bytes += PointBytes(point);
  return bytes;
}

// The metric names a trial logged, to say so when the sweep's metric was
// never among them (a misspelt name, or a logger's prefix: "epoch/val_loss").
class LoggedNames {
 public:
  explicit LoggedNames(std::string metric) : metric_(std::move(metric)) {}

  void Add(const std::vector<MetricPoint>& points, size_t from) {
    for (size_t i = from; i < points.size(); ++i) {
      for (const auto& [name, value] : points[i].values) {
        if (name == metric_) {
          metric_seen_ = true;
        } else if (names_.size() < kKept) {
          names_.insert(name);
        } else if (!names_.contains(name)) {
          more_ = true;
        }
      }
    }
  }

  // Empty when the sweep has no metric or the trial logged it; else what to
  // say.
  std::string Missing() const {
    if (metric_.empty() || metric_seen_) return "";
    if (names_.empty()) {
      return absl::StrCat("it logged no metric, not even ", metric_,
                          ", the sweep's metric");
    }
    return absl::StrCat("it never logged ", metric_,
                        ", the sweep's metric; it logged ",
                        absl::StrJoin(names_, ", "), more_ ? ", ..." : "");
  }

 private:
  static constexpr size_t kKept = 5;
  std::string metric_;
  bool metric_seen_ = false;
  absl::btree_set<std::string> names_;
  bool more_ = false;
};

// Whether `output` shows `metric` with a number, as a program printing its
// metrics does ("loss=0.3", "val_loss: 0.3", {"loss": 0.3}): what
// --stdout-metrics would have read.
bool PrintsMetric(absl::string_view output, absl::string_view metric) {
  if (metric.empty()) return false;
  const auto word = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           c == '/' || c == '.';
  };
  for (size_t at = output.find(metric); at != absl::string_view::npos;
       at = output.find(metric, at + 1)) {
    if (at > 0 && word(output[at - 1])) continue;
    absl::string_view rest = output.substr(at + metric.size());
    if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) {
      rest.remove_prefix(1);
    }
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (rest.empty() || (rest[0] != '=' && rest[0] != ':')) continue;
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(1));
    if (!rest.empty() &&
        (absl::ascii_isdigit(static_cast<unsigned char>(rest[0])) ||
         rest[0] == '-' || rest[0] == '.')) {
      return true;
    }
  }
  return false;
}

// A report or a finish waiting to be delivered, in order.
struct OutboxItem {
  std::shared_ptr<TrialRun> trial;
  std::optional<v1::ReportMetricsRequest> report;
  std::optional<v1::FinishTrialRequest> finish;
  int64_t points = 0;
};

}  // namespace

class Agent::Impl {
 public:
  explicit Impl(AgentOptions options)
      : options_(WithAbsoluteWorkdir(std::move(options))),
        connection_(options_.controller, RetryPolicy{}, options_.token) {}

  AgentResult Run();
  std::string Shutdown(int level);

 private:
  // One line: control characters from parameter values, program output or
  // the controller (a newline, an escape sequence) are written as \xNN, so
  // that they can neither act on the terminal nor forge a line of the log.
  void Log(const std::string& line) {
    if (options_.quiet) return;
    std::string safe;
    safe.reserve(line.size());
    for (const char c : line) {
      const auto byte = static_cast<unsigned char>(c);
      if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
        absl::StrAppendFormat(&safe, "\\x%02x", byte);
      } else {
        safe.push_back(c);
      }
    }
    std::cerr << AgentLogPrefix() << safe << std::endl;
  }
  // A retry's line: the first of an outage at once, then one every
  // kRetryLogEvery with how many were left out (until a call gets through), so
  // that an agent waiting for a controller that is down (or a wrong address)
  // does not fill its log with a line a second.
  // `outage`: the controller could not be reached (its end is said); else
  // it answered "not now" (a --name still held).
  void LogRetry(const std::string& line, bool outage = true) {
    static constexpr auto kRetryLogEvery = std::chrono::seconds(30);
    const auto now = SteadyClock::now();
    int64_t skipped;
    {
      absl::MutexLock lock(&retry_log_mu_);
      retry_is_outage_ = outage;
      if (last_retry_log_ != SteadyClock::time_point() &&
          now - last_retry_log_ < kRetryLogEvery) {
        ++retry_lines_skipped_;
        return;
      }
      last_retry_log_ = now;
      skipped = std::exchange(retry_lines_skipped_, 0);
    }
    Log(skipped == 0
            ? line
            : absl::StrCat(line, " (", skipped, " more retries in the last ",
                           kRetryLogEvery.count(), " s)"));
  }
  // A call got through: an outage that was logged is over, and the next one
  // is logged at once.
  void RetrySucceeded() {
    bool outage;
    {
      absl::MutexLock lock(&retry_log_mu_);
      if (last_retry_log_ == SteadyClock::time_point()) return;
      last_retry_log_ = SteadyClock::time_point();
      retry_lines_skipped_ = 0;
      outage = std::exchange(retry_is_outage_, false);
    }
    if (outage) Log("the controller answers again");
  }
  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return shutdown_level_ >= 1 || done_;
  }
  // When a trial's loop (RunTrial) must wake before its next poll: a
  // kill-level shutdown while its program has not been killed yet, or,
  // while it has not been told to stop, an order, a lost lease or a
  // terminating shutdown. Evaluated with mu_ held.
  struct WakeForTrial {
    Impl* self;
    const TrialRun* run;
    bool watch_orders;  // The program has not been told to stop yet.
    bool watch_kill;    // Nor to die.
    bool Ready() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return (watch_kill && self->shutdown_level_ >= 3) ||
             (watch_orders &&
              (run->order != 0 || run->revoked || self->shutdown_level_ >= 2));
    }
  };

  // Registers; with `stale_id`, registers again only if this agent's id is
  // still that one (the controller said NotFound for it): the threads that
  // noticed at once register once between them, not once each.
  absl::Status Register(const std::string& stale_id = "");
  // Why this agent cannot run the sweep's program, if it cannot: a script
  // (${interpreter} ${program}) missing from the working directory would
  // fail every trial this agent took.
  std::optional<std::string> MissingProgram();
  void WorkerLoop();
  void HeartbeatLoop();
  void SenderLoop();
  // Returns a trial to run, or nullopt when the worker should end.
  std::optional<v1::TrialAssignment> AcquireNext();
  // Runs one trial to its end and queues its finish; returns it.
  std::shared_ptr<TrialRun> RunTrial(const v1::TrialAssignment& assignment);
  // Waits while a process of an earlier trial of the sweep (this agent's
  // predecessor's, whose guard is still ending it, or another agent's on
  // this machine) has any of `gpus` in its CUDA_VISIBLE_DEVICES; at most the
  // kill grace and kGpuWaitMargin, then says so and goes on.
  // False when the agent is shutting down or the trial was ordered to
  // stop or lost its lease meanwhile: it is not started.
  bool WaitForGpus(const std::string& sweep_id, int64_t number,
                   const std::vector<std::string>& gpus, const TrialRun& run);
  void Enqueue(OutboxItem item);
  bool Deliver(OutboxItem& item);
  // What to say when a call failed in a way no retry changes: the
  // controller was restarted with TLS or without it, and the agent started
  // the other way (TlsSetupFailure).
  std::optional<std::string> UnworkableConnection(const grpc::Status& status) {
    std::optional<std::string> why =
        TlsSetupFailure(status, connection_.address());
    if (!why) return std::nullopt;
    return absl::StrCat("cannot talk to the controller at ",
                        connection_.address(), ": ", *why);
  }
  void MarkDone(int exit_code, const std::string& reason) {
    absl::MutexLock lock(&mu_);
    MarkDoneLocked(exit_code, reason);
  }
  void MarkDoneLocked(int exit_code, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!done_) {
      done_ = true;
      exit_code_ = exit_code;
      reason_ = reason;
    }
  }

  AgentOptions options_;
  ControllerConnection connection_;
  std::atomic<bool> abandon_retries_{false};  // Level 3: stop retrying.
  // Level 3: what is queued gets one attempt each, until then.
  static constexpr std::chrono::seconds kLastDeliveryTime{3};
  std::chrono::system_clock::time_point last_delivery_by_ ABSL_GUARDED_BY(mu_);
  // Any shutdown level: stop registering and asking for trials.
  std::atomic<bool> stop_acquiring_{false};
  absl::Mutex register_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  absl::Mutex retry_log_mu_;  // LogRetry's, taken under mu_ or alone.
  SteadyClock::time_point last_retry_log_ ABSL_GUARDED_BY(retry_log_mu_);
  int64_t retry_lines_skipped_ ABSL_GUARDED_BY(retry_log_mu_) = 0;
  bool retry_is_outage_ ABSL_GUARDED_BY(retry_log_mu_) = false;

  absl::Mutex mu_;
  int shutdown_level_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int exit_code_ ABSL_GUARDED_BY(mu_) = 0;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  std::string agent_id_ ABSL_GUARDED_BY(mu_);
  int64_t heartbeat_interval_ms_ ABSL_GUARDED_BY(mu_) = 5000;
  int64_t trials_taken_ ABSL_GUARDED_BY(mu_) = 0;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Why a trial's files could not be written, once that happened.
  std::string unwritable_workdir_ ABSL_GUARDED_BY(mu_);
  // Why this node cannot run the sweep's command, once a trial found out.
  std::string cannot_run_command_ ABSL_GUARDED_BY(mu_);
  // The last failed trial: its number, how it ended, its last line of output.
  struct Failure {
    int64_t trial = 0;
    std::string how;
    std::string line;
  };
  Failure last_failure_ ABSL_GUARDED_BY(mu_);
  // Why the controller last had no trial for this agent, once logged.
  std::string waiting_because_ ABSL_GUARDED_BY(mu_);
  // Set to 0 once the workers have ended and the outbox is delivered (or
  // given up): heartbeats run until then.
  int workers_running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> free_gpus_ ABSL_GUARDED_BY(mu_);
  // A GPU id's position in options_.gpus.
  size_t GpuRank(const std::string& gpu) const {
    return static_cast<size_t>(
        std::find(options_.gpus.begin(), options_.gpus.end(), gpu) -
        options_.gpus.begin());
  }
  absl::flat_hash_map<int64_t, std::shared_ptr<TrialRun>> running_
      ABSL_GUARDED_BY(mu_);
  std::deque<OutboxItem> outbox_ ABSL_GUARDED_BY(mu_);
  int64_t buffered_points_ ABSL_GUARDED_BY(mu_) = 0;
  int acquiring_ ABSL_GUARDED_BY(mu_) = 0;  // AcquireTrial calls under way.
  bool sender_may_exit_ ABSL_GUARDED_BY(mu_) = false;
  // The sender has returned: nothing more will be delivered.
  bool sender_gone_ ABSL_GUARDED_BY(mu_) = false;
  // Counts heartbeats that said the sweep is done: workers waiting to ask
  // for a trial ask at once.
  int64_t ask_now_ ABSL_GUARDED_BY(mu_) = 0;
  // No trial of this agent runs and every end it had is delivered.
  bool OwnTrialsSettled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // acquiring_: another worker's ask may bring a trial (the caller's own
    // ask is over).
    return running_.empty() && acquiring_ == 0 &&
           std::none_of(
               outbox_.begin(), outbox_.end(),
               [](const OutboxItem& item) { return item.finish.has_value(); });
  }
};

std::string Agent::Impl::Shutdown(int level) {
  absl::MutexLock lock(&mu_);
  // Programs still running, and trials being asked for (which may start
  // one).
  size_t running = static_cast<size_t>(acquiring_);
  for (const auto& [number, run] : running_) running += !run->program_ended;
  const std::string trials = absl::StrCat(
      running, running == 1 ? " running trial" : " running trials");
  // Reports queued for trials that have ended (their programs are gone).
  const size_t undelivered = outbox_.size();
  const std::string reports =
      absl::StrCat(undelivered, undelivered == 1 ? " report" : " reports",
                   " of ended trials");
  // With no program left to end, a second signal gives up on what is
  // left to deliver, as a third would.
  if (level == 2 && running == 0) level = 3;
  if (level > shutdown_level_) shutdown_level_ = level;
  if (level >= 1) stop_acquiring_ = true;
  if (level >= 3 && !abandon_retries_) {
    // One more attempt for each queued report and finish (so that a killed
    // trial is recorded as such, not lost when its lease runs out), within
    // a few seconds: a controller that does not answer does not hold the
    // agent up.
    last_delivery_by_ = std::chrono::system_clock::now() + kLastDeliveryTime;
    connection_.CapDeadlines(last_delivery_by_);
    abandon_retries_ = true;
  }
  if (level == 1) {
    if (running > 0) {
      return absl::StrCat("finishing ", trials,
                          ", taking no new ones (signal again to terminate "
                          "them)");
    }
    if (undelivered > 0) {
      return absl::StrCat("taking no new trials; delivering ", reports,
                          " to the controller (signal again to give up)");
    }
    return "taking no new trials";
  }
  if (level == 2) {
    return absl::StrCat("terminating ", trials, " (signal again to kill them)");
  }
  return absl::StrCat(running > 0 ? absl::StrCat("killing ", trials, "; ") : "",
                      "a last attempt to deliver what is queued (at most ",
                      absl::ToInt64Seconds(absl::FromChrono(kLastDeliveryTime)),
                      " s)");
}

std::optional<std::string> Agent::Impl::MissingProgram() {
  // An --interpreter may be a wrapper that runs the program elsewhere (a
  // container, another directory): then the agent cannot tell.
  if (!options_.check_program) return std::nullopt;
  v1::GetSweepRequest request;
  request.set_sweep_id(options_.sweep_id);
  v1::Sweep sweep;
  const absl::Status got =
      connection_.CallOnce([&](grpc::ClientContext* context) {
        return connection_.sweeps().GetSweep(context, request, &sweep);
      });
  if (!got.ok()) return std::nullopt;  // The trials will tell.
  const nlohmann::json normalized = nlohmann::json::parse(
      sweep.normalized_json(), nullptr, /*allow_exceptions=*/false);
  if (!normalized.is_object() || !normalized.contains("program") ||
      !normalized["program"].is_string() ||
      !normalized.value("command", nlohmann::json()).is_array()) {
    return std::nullopt;
  }
  const nlohmann::json& command = normalized["command"];
  bool runs_a_script = false;
  for (size_t i = 1; i < command.size(); ++i) {
    runs_a_script |=
        command[i] == "${program}" && command[i - 1] == "${interpreter}";
  }
  const std::string program = normalized["program"];
  std::error_code error;
  if (!runs_a_script || std::filesystem::path(program).is_absolute() ||
      std::filesystem::exists(program, error)) {
    return std::nullopt;
  }
  return absl::StrCat(
      "the sweep's program ", program, " is not in ",
      std::filesystem::current_path(error).string(),
      ", where this agent would run it (agents run it from their working "
      "directory, as W&B's do): start the agent in the project's directory");
}

absl::Status Agent::Impl::Register(const std::string& stale_id) {
  absl::MutexLock register_lock(&register_mu_);
  if (!stale_id.empty()) {
    absl::MutexLock lock(&mu_);
    if (agent_id_ != stale_id) return absl::OkStatus();  // Done already.
  }
  v1::RegisterAgentRequest request;
  request.set_sweep_id(options_.sweep_id);
  request.set_name(options_.name);
  request.set_host(HostName());
  request.set_slots(options_.slots);
  for (const std::string& gpu : options_.gpus) request.add_gpus(gpu);
  request.set_pid(getpid());
  const std::string scope = PidScope();
  request.set_pid_scope(scope);
  v1::RegisterAgentResponse response;
  absl::Status status;
  while (true) {
    // Again at each attempt: a holder waited for may end meanwhile.
    if (stale_id.empty()) {
      request.set_predecessor_pid(EndedPredecessor(options_, scope));
    }
    status = connection_.CallWithRetry(
        [&](grpc::ClientContext* context) {
          return connection_.agents().RegisterAgent(context, request,
                                                    &response);
        },
        &stop_acquiring_,
        [this](const grpc::Status& s, std::chrono::milliseconds wait) {
          LogRetry(absl::StrCat("cannot reach the controller at ",
                                connection_.address(), " (", s.error_message(),
                                "); retrying in ", wait.count(), " ms"));
        },
        // A TLS setup that cannot work (an untrusted or expired certificate,
        // another host's, plaintext against TLS), or a server that is no
        // controller at all, is not waited out.
        [this](const grpc::Status& s) {
          std::optional<std::string> why =
              TlsSetupFailure(s, connection_.address());
          return why ? why : NotAControllerFailure(s);
        });
    // Our --name is held by an agent the controller still hears from: a
    // second agent given the same name (which must not take over its
    // trials), or this agent's predecessor, killed less than a lease ago.
    // Waiting settles both: the predecessor falls silent.
    if (!absl::IsAlreadyExists(status)) break;
    LogRetry(absl::StrCat("waiting: ", status.message()), /*outage=*/false);
    for (int i = 0; i < 20 && !stop_acquiring_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stop_acquiring_.load()) {
      return absl::CancelledError("stopped while waiting for the name");
    }
  }
  if (!status.ok()) return status;
  RetrySucceeded();
  if (stale_id.empty()) NoteIdentity(options_, scope);
  absl::MutexLock lock(&mu_);
  agent_id_ = response.agent_id();
  heartbeat_interval_ms_ =
      std::max<int64_t>(100, std::min(response.heartbeat_interval_ms(),
                                      response.lease_timeout_ms() / 3));
  for (int64_t lost : response.lost_trials()) {
    Log(absl::StrCat("trial ", lost,
                     " of this agent's previous run was marked crashed"));
  }
  return absl::OkStatus();
}

AgentResult Agent::Impl::Run() {
  // Before registering: a refused agent must not hold its --name.
  if (std::optional<std::string> missing = MissingProgram()) {
    return {2, *std::move(missing), 0};
  }
  if (absl::Status s = Register(); !s.ok()) {
    const std::string why =
        absl::StrCat("cannot register with the controller at ",
                     options_.controller, ": ", s.message());
    // A signal stopped it while it waited for the controller: an agent
    // stopped, not one that failed (128 + the signal, as after a drain).
    absl::MutexLock lock(&mu_);
    if (absl::IsCancelled(s) && shutdown_level_ > 0) return {0, why, true, 0};
    return {1, why, false, 0};
  }
  {
    absl::MutexLock lock(&mu_);
    Log(absl::StrCat(
        "registered as ", agent_id_, " for sweep ", options_.sweep_id, " (",
        options_.slots, options_.slots == 1 ? " slot" : " slots",
        options_.gpus.empty()
            ? ""
            : absl::StrCat(", GPUs ", absl::StrJoin(options_.gpus, ",")),
        ")"));
    free_gpus_ = options_.gpus;
    workers_running_ = options_.slots;
  }
  std::thread sender([this] { SenderLoop(); });
  std::thread heartbeat([this] { HeartbeatLoop(); });
  std::vector<std::thread> workers;
  for (int i = 0; i < options_.slots; ++i) {
    workers.emplace_back([this] { WorkerLoop(); });
  }
  for (std::thread& w : workers) w.join();
  {
    absl::MutexLock lock(&mu_);
    sender_may_exit_ = true;
  }
  sender.join();
  // Heartbeats go on while the last reports and finishes are delivered.
  {
    absl::MutexLock lock(&mu_);
    workers_running_ = 0;
  }
  heartbeat.join();
  {
    // Says it is gone: its name is free, and it no longer counts among the
    // sweep's live agents. One attempt, no retry: both follow after a lease
    // anyway. (Killed, its deadline is the shutdown's.)
    v1::HeartbeatRequest leaving;
    {
      absl::MutexLock lock(&mu_);
      leaving.set_agent_id(agent_id_);
    }
    leaving.set_leaving(true);
    v1::HeartbeatResponse ignored;
    connection_
        .CallOnce([&](grpc::ClientContext* context) {
          return connection_.agents().Heartbeat(context, leaving, &ignored);
        })
        .IgnoreError();
  }
  absl::MutexLock lock(&mu_);
  AgentResult result;
  result.trials_run = trials_taken_;
  result.exit_code = exit_code_;
  result.reason = reason_;
  if (result.reason.empty()) {
    result.interrupted = shutdown_level_ > 0;
    result.reason = result.interrupted ? "stopped by a signal" : "done";
  }
  if (!outbox_.empty()) {
    result.reason +=
        absl::StrCat("; ", outbox_.size(), " reports were not delivered");
  }
  return result;
}

std::optional<v1::TrialAssignment> Agent::Impl::AcquireNext() {
  while (true) {
    std::string agent_id;
    int64_t asked_at = 0;  // A "done" heard during the ask wakes the wait.
    {
      absl::MutexLock lock(&mu_);
      asked_at = ask_now_;
      if (shutdown_level_ >= 1 || done_) return std::nullopt;
      if (options_.count > 0 && trials_taken_ >= options_.count) {
        return std::nullopt;
      }
      ++trials_taken_;  // Reserved; given back when no trial comes.
      ++acquiring_;
      agent_id = agent_id_;
    }
    v1::AcquireTrialRequest request;
    request.set_agent_id(agent_id);
    v1::AcquireTrialResponse response;
    std::optional<std::string> unworkable;
    const absl::Status status = connection_.CallWithRetry(
        [&](grpc::ClientContext* context) {
          return connection_.agents().AcquireTrial(context, request, &response);
        },
        &stop_acquiring_,
        [this](const grpc::Status& s, std::chrono::milliseconds wait) {
          LogRetry(absl::StrCat("controller unavailable (", s.error_message(),
                                "); asking again in ", wait.count(), " ms"));
        },
        [&](const grpc::Status& s) {
          unworkable = UnworkableConnection(s);
          return unworkable;
        });
    if (status.ok()) RetrySucceeded();
    if (status.ok() && response.has_trial()) {
      absl::MutexLock lock(&mu_);
      waiting_because_.clear();
      // Still counted as acquiring until RunTrial puts it in running_.
      return response.trial();
    }
    {
      absl::MutexLock lock(&mu_);
      --trials_taken_;
      --acquiring_;
    }
    if (!status.ok()) {
      if (absl::IsNotFound(status)) {
        // The controller forgot this agent (e.g. its data dir was replaced).
        Log(absl::StrCat(status.message(), "; registering again"));
        if (Register(agent_id).ok()) continue;
      }
      if (unworkable) {
        MarkDone(1, *unworkable);
      } else if (!absl::IsCancelled(status)) {
        MarkDone(1, absl::StrCat("the controller refused a trial: ",
                                 status.message()));
      }
      return std::nullopt;
    }
    if (response.outcome_case() == v1::AcquireTrialResponse::kExitReason) {
      absl::MutexLock lock(&mu_);
      // A trial of this agent's that is still running, or whose end is not
      // recorded yet, may reopen the sweep (the one that reached its
      // metric.target failing): ask again once each has ended and its end
      // is recorded.
      if (!OwnTrialsSettled() && !sender_gone_) {
        if (waiting_because_ != response.exit_reason()) {
          waiting_because_ = response.exit_reason();
          Log(absl::StrCat(response.exit_reason(),
                           "; asking again once this agent's running trials "
                           "have ended (one may yet reopen the sweep)"));
        }
        mu_.Await(absl::Condition(
            +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return self->OwnTrialsSettled() || self->sender_gone_ ||
                     self->shutdown_level_ >= 1 || self->done_;
            },
            this));
        continue;
      }
      MarkDoneLocked(0, response.exit_reason());
      return std::nullopt;
    }
    // Nothing now: wait, waking early on shutdown. Why (a paused sweep, a
    // grid whose last points are running) is logged once, not at every ask.
    absl::MutexLock lock(&mu_);
    const std::string why = response.message().empty()
                                ? std::string("no trial to run yet")
                                : response.message();
    if (why != waiting_because_) {
      waiting_because_ = why;
      Log(absl::StrCat(
          why, "; waiting (asking again every ",
          absl::StrFormat(
              "%.1f",
              std::max<int64_t>(50, response.retry_after_ms()) / 1000.0),
          " s)"));
    }
    struct WakeToAsk {
      const Impl* self;
      int64_t asked_at;
      bool Ready() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return self->shutdown_level_ >= 1 || self->done_ ||
               self->ask_now_ != asked_at;
      }
    } wake{this, asked_at};
    mu_.AwaitWithTimeout(
        absl::Condition(&wake, &WakeToAsk::Ready),
        absl::Milliseconds(std::max<int64_t>(50, response.retry_after_ms())));
  }
}

void Agent::Impl::WorkerLoop() {
  while (std::optional<v1::TrialAssignment> trial = AcquireNext()) {
    const std::shared_ptr<TrialRun> run = RunTrial(*trial);
    absl::MutexLock lock(&mu_);
    // The next ask waits for this trial's finish to be recorded: otherwise
    // the searcher sees it as still running (a sequential Bayesian sweep
    // would never see its latest result), a reached metric.target or a
    // covered grid is noticed one trial late.
    struct Settled {
      const Impl* self;
      const TrialRun* run;
      bool Ready() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return run->finish_settled || self->sender_gone_;
      }
    } settled{this, run.get()};
    mu_.Await(absl::Condition(&settled, &Settled::Ready));
    if (!unwritable_workdir_.empty() && !done_) {
      // The next trials would fail the same way (and each lost trial brings
      // its grid point nearer to being given up).
      done_ = true;
      exit_code_ = 2;
      reason_ = absl::StrCat("cannot write the trials' files under ",
                             options_.workdir, ": ", unwritable_workdir_);
    }
    if (!cannot_run_command_.empty() && !done_) {
      done_ = true;
      exit_code_ = 2;
      reason_ = absl::StrCat("this node cannot run the sweep's command: ",
                             cannot_run_command_);
    }
    if (options_.max_consecutive_failures > 0 &&
        consecutive_failures_ >= options_.max_consecutive_failures && !done_) {
      done_ = true;
      exit_code_ = 2;
      reason_ =
          absl::StrCat(consecutive_failures_, " trials failed in a row (limit ",
                       options_.max_consecutive_failures,
                       ", --max-consecutive-failures); see their logs under ",
                       options_.workdir,
                       FailureHint(last_failure_.trial, last_failure_.how,
                                   last_failure_.line, options_.wandb_shim));
    }
  }
}

void Agent::Impl::Enqueue(OutboxItem item) {
  absl::MutexLock lock(&mu_);
  buffered_points_ += item.points;
  outbox_.push_back(std::move(item));
}

bool Agent::Impl::Deliver(OutboxItem& item) {
  const auto on_retry = [this](const grpc::Status& s,
                               std::chrono::milliseconds wait) {
    LogRetry(absl::StrCat("controller unavailable (", s.error_message(),
                          "); metrics wait, retrying in ", wait.count(),
                          " ms"));
  };
  std::optional<std::string> unworkable;
  const auto give_up = [&](const grpc::Status& s) {
    unworkable = UnworkableConnection(s);
    return unworkable;
  };
  absl::Status status;
  if (item.report) {
    v1::ReportMetricsResponse response;
    status = connection_.CallWithRetry(
        [&](grpc::ClientContext* context) {
          return connection_.agents().ReportMetrics(context, *item.report,
                                                    &response);
        },
        &abandon_retries_, on_retry, give_up);
    if (status.ok() && response.has_order() &&
        response.order().action() != v1::ORDER_ACTION_UNSPECIFIED) {
      absl::MutexLock lock(&mu_);
      item.trial->order_reason = response.order().reason();
      item.trial->order = response.order().action();
    }
  } else {
    v1::FinishTrialResponse response;
    status = connection_.CallWithRetry(
        [&](grpc::ClientContext* context) {
          return connection_.agents().FinishTrial(context, *item.finish,
                                                  &response);
        },
        &abandon_retries_, on_retry, give_up);
  }
  if (unworkable) {
    // No retry can get through: the agent gives up, and its programs stop
    // (their leases cannot be renewed either).
    MarkDone(1, *unworkable);
    absl::MutexLock lock(&mu_);
    for (auto& [number, trial] : running_) trial->revoked = true;
    return false;
  }
  if (absl::IsCancelled(status)) return false;
  if (status.ok()) RetrySucceeded();
  if (item.report &&
      (absl::IsInvalidArgument(status) || absl::IsResourceExhausted(status))) {
    // This report is refused, not the trial: its points are dropped and the
    // rest (later reports, the finish) still go.
    Log(absl::StrCat("trial ", item.trial->assignment.number(),
                     ": the controller refused a report of ",
                     item.report->points_size(), " points (", status.message(),
                     "); they are dropped"));
    return true;
  }
  if (!status.ok()) {
    // The trial is no longer ours (lost lease, canceled): its program is
    // stopped and the rest of its reports are dropped.
    Log(absl::StrCat("trial ", item.trial->assignment.number(), ": ",
                     status.message()));
    absl::MutexLock lock(&mu_);  // Wakes the trial's loop (RunTrial).
    item.trial->revoked = true;
  }
  return true;
}

void Agent::Impl::SenderLoop() {
  while (true) {
    OutboxItem item;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !self->outbox_.empty() || self->sender_may_exit_;
      };
      if (abandon_retries_) {
        // Killed: the workers queue their trials' last reports and finishes
        // at once; what comes by the deadline gets its one attempt.
        mu_.AwaitWithDeadline(absl::Condition(ready, this),
                              absl::FromChrono(last_delivery_by_));
      } else {
        mu_.Await(absl::Condition(
            +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !self->outbox_.empty() || self->sender_may_exit_ ||
                     self->abandon_retries_.load();
            },
            this));
        if (abandon_retries_) continue;
      }
      if (outbox_.empty() ||
          (abandon_retries_ &&
           std::chrono::system_clock::now() >= last_delivery_by_)) {
        sender_gone_ = true;
        return;
      }
      item = outbox_.front();
    }
    const bool delivered = item.trial->revoked ? true : Deliver(item);
    absl::MutexLock lock(&mu_);
    if (!delivered) {
      sender_gone_ = true;
      return;
    }
    buffered_points_ -= item.points;
    if (item.finish) item.trial->finish_settled = true;
    outbox_.pop_front();
  }
}

void Agent::Impl::HeartbeatLoop() {
  while (true) {
    // Someone killed the guard: without it, this agent's death would leave
    // its programs running.
    if (options_.orphan_guard != nullptr) {
      if (std::optional<std::string> revived =
              options_.orphan_guard->Revive()) {
        Log(*revived);
      }
    }
    v1::HeartbeatRequest request;
    int64_t interval_ms;
    {
      absl::MutexLock lock(&mu_);
      interval_ms = heartbeat_interval_ms_;
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return self->workers_running_ == 0;
                               },
                               this),
                           absl::Milliseconds(interval_ms));
      if (workers_running_ == 0) return;
      request.set_agent_id(agent_id_);
      static const std::string* const scope = new std::string(PidScope());
      request.set_pid_scope(*scope);
      // A trial's lease is renewed until its finish is delivered, not only
      // while its program runs: when the controller was away, the reports
      // and finish of a program that ended meanwhile are still queued, and
      // the lease must outlast their delivery.
      absl::flat_hash_set<int64_t> leased;
      const auto add_lease = [&](const TrialRun& trial) {
        const int64_t number = trial.assignment.number();
        if (!leased.insert(number).second) return;
        v1::TrialLease* lease = request.add_leases();
        lease->set_sweep_id(trial.assignment.sweep_id());
        lease->set_number(number);
        lease->set_lease_id(trial.assignment.lease_id());
      };
      for (const auto& [number, trial] : running_) add_lease(*trial);
      for (const OutboxItem& item : outbox_) add_lease(*item.trial);
    }
    v1::HeartbeatResponse response;
    const absl::Status status =
        connection_.CallOnce([&](grpc::ClientContext* context) {
          return connection_.agents().Heartbeat(context, request, &response);
        });
    if (!status.ok()) {
      if (std::optional<std::string> unworkable = UnworkableConnection(
              grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                           std::string(status.message())))) {
        MarkDone(1, *unworkable);
        absl::MutexLock lock(&mu_);
        for (auto& [number, trial] : running_) trial->revoked = true;
        continue;
      }
      // While the controller is away, with the other retries' lines (once,
      // then every 30 s), not a line every heartbeat.
      if (IsRetryable(status)) {
        LogRetry(absl::StrCat("controller unavailable (", status.message(),
                              "); heartbeats go on every ", interval_ms,
                              " ms"));
      } else {
        Log(absl::StrCat("heartbeat failed: ", status.message()));
      }
      // The controller lost this agent (e.g. its data dir was replaced):
      // register again; the leases are renewed by the next heartbeat.
      if (absl::IsNotFound(status)) {
        Register(request.agent_id()).IgnoreError();
      }
      continue;
    }
    absl::MutexLock lock(&mu_);
    for (const v1::TrialOrder& order : response.orders()) {
      auto it = running_.find(order.number());
      if (it == running_.end()) continue;
      it->second->order_reason = order.reason();
      it->second->order = order.action();
    }
    for (const v1::TrialLease& lease : response.revoked()) {
      auto it = running_.find(lease.number());
      if (it == running_.end() || it->second->revoked) continue;
      it->second->revoked = true;
      Log(absl::StrCat(
          "trial ", lease.number(),
          ": the controller no longer holds it for this agent (its lease "
          "lapsed while the agent was not heard from: suspended, cut off or "
          "too slow; the trial is crashed, and a grid point is handed out "
          "again); "
          "stopping its program, whose results are not reported"));
    }
    if (response.sweep_done()) {
      // Workers waiting to ask again ask now, and hear why from the answer:
      // the sweep may yet be reopened (the trial that reached its target
      // failing), which an agent that ended here would never learn.
      ++ask_now_;
    }
  }
}

// Watches one running trial: metrics, orders, shutdown levels, exit.
class TrialWatch {
 public:
  TrialWatch(const AgentOptions& options, std::shared_ptr<TrialRun> run,
             const TrialFiles& files)
      : options_(options),
        run_(std::move(run)),
        metrics_(files.metrics),
        log_(files.log, "program output") {}

  // Appends new points to `batch`.
  void ReadMetrics(bool drain, std::vector<MetricPoint>& batch) {
    const int64_t now = WallMs();
    absl::StatusOr<std::vector<MetricPoint>> points =
        drain ? metrics_.Drain(now) : metrics_.ReadNew(now);
    if (points.ok()) {
      if (!points->empty()) metrics_file_used_ = true;
      for (MetricPoint& p : *points) batch.push_back(std::move(p));
    }
    // Stdout is read only while the program has not logged through the
    // metrics file: one that logs through sweep_client or the W&B shim and
    // also prints its dicts (as Hugging Face's Trainer does) would have each
    // value counted twice, and a stopping rule would see twice the
    // iterations. Once it has, the log is not parsed at all.
    if (options_.stdout_metrics && !metrics_file_used_) {
      absl::StatusOr<std::vector<MetricPoint>> printed =
          ReadStdoutMetrics(drain, now);
      if (printed.ok()) {
        for (MetricPoint& p : *printed) batch.push_back(std::move(p));
      }
    }
  }

  int64_t malformed() const { return metrics_.malformed_lines(); }
  // Why the last of them was ignored ("line 7: not a JSON object").
  const std::string& last_malformed_reason() const {
    return metrics_.last_malformed_reason();
  }
  // How far the metrics file and the log have been read: it moves while
  // there is something left to read.
  uint64_t consumed() const { return metrics_.offset() + log_.offset(); }

 private:
  absl::StatusOr<std::vector<MetricPoint>> ReadStdoutMetrics(bool drain,
                                                             int64_t now) {
    std::vector<MetricPoint> points;
    // While the program runs, at most 1 MiB a call, so that a chatty program
    // cannot stall the agent's loop; once it has ended, all of what is left
    // (its last lines are often the ones that matter).
    bool at_end = false;
    size_t read_now = 0;
    constexpr size_t kChunk = size_t{1} << 20;
    while (drain || read_now < kChunk) {
      absl::StatusOr<FollowedFile::Chunk> chunk =
          log_.Read(drain ? kChunk : kChunk - read_now);
      // The points of the chunks already read are kept (their bytes will
      // not be read again).
      if (!chunk.ok()) {
        if (points.empty()) return chunk.status();
        break;
      }
      if (chunk->restarted) {
        // Replaced or truncated (by hand: only the agent writes it): what
        // follows is read from the start.
        pending_.clear();
        skipping_long_line_ = false;
      }
      if (chunk->bytes.empty()) {
        at_end = true;
        break;
      }
      pending_.append(chunk->bytes);
      read_now += chunk->bytes.size();
      TakeLines(now, points);
    }
    // The last line, unless the read stopped in the middle of the file.
    if (drain && at_end && !pending_.empty()) {
      if (!skipping_long_line_) TakeLine(pending_, now, points);
      pending_.clear();
    }
    return points;
  }

  // Takes each whole line of pending_. A carriage return ends a line too: a
  // progress bar (tqdm) redraws itself with one, and each drawing is its own
  // line of values.
  void TakeLines(int64_t now, std::vector<MetricPoint>& points) {
    size_t start = 0;
    while (true) {
      const size_t end = pending_.find_first_of("\n\r", start);
      if (end == std::string::npos) break;
      if (!skipping_long_line_) {
        TakeLine(absl::string_view(pending_).substr(start, end - start), now,
                 points);
      }
      skipping_long_line_ = false;
      start = end + 1;
    }
    pending_.erase(0, start);
    // A "line" this long is no metric line: not kept waiting for its end,
    // which is skipped too when it comes.
    if (pending_.size() > kMaxPendingLine) {
      pending_.clear();
      skipping_long_line_ = true;
    }
  }
  static constexpr size_t kMaxPendingLine = size_t{1} << 20;

  void TakeLine(absl::string_view line, int64_t now,
                std::vector<MetricPoint>& points) {
    std::optional<MetricValues> values = ParseStdoutMetricLine(line);
    if (!values) return;
    MetricPoint point;
    point.step = stdout_step_++;
    point.time_ms = now;
    point.values = std::move(*values);
    points.push_back(std::move(point));
  }

  const AgentOptions& options_;
  std::shared_ptr<TrialRun> run_;
  MetricsFileReader metrics_;
  FollowedFile log_;  // The program's stdout and stderr, as copied.
  bool metrics_file_used_ = false;
  bool skipping_long_line_ = false;
  std::string pending_;
  int64_t stdout_step_ = 0;
};

bool Agent::Impl::WaitForGpus(const std::string& sweep_id, int64_t number,
                              const std::vector<std::string>& gpus,
                              const TrialRun& run) {
  const auto deadline =
      SteadyClock::now() + options_.kill_grace + kGpuWaitMargin;
  // Only this sweep's trials: its agents were given this machine's GPUs.
  // Another sweep's agent on the same ids may be on other GPUs (a
  // container's, a scheduler's renumbering), and waiting for its long
  // trials would stall this one.
  const std::string sweep_prefix = absl::StrCat(sweep_id, "-");
  const std::string own_cgroup = ProcessCgroup(getpid());
  bool said = false;
  for (;;) {
    std::string holder;
    for (const TaggedProcess& p :
         FindTaggedProcesses(kRunTagVariable, "CUDA_VISIBLE_DEVICES")) {
      if (!absl::StartsWith(p.tag, sweep_prefix)) continue;
      // GPU ids are those of a cgroup's devices: a Slurm job's or a
      // container's GPU 0 is not another's.
      if (p.cgroup != own_cgroup) continue;
      for (absl::string_view gpu : absl::StrSplit(p.also, ',')) {
        gpu = absl::StripAsciiWhitespace(gpu);
        if (std::find(gpus.begin(), gpus.end(), gpu) != gpus.end()) {
          holder = absl::StrCat("GPU ", gpu, " is still used by pid ", p.pid,
                                " of an earlier trial (", kRunTagVariable, "=",
                                p.tag, ")");
          break;
        }
      }
      if (!holder.empty()) break;
    }
    if (holder.empty()) {
      if (said) Log(absl::StrCat("trial ", number, ": its GPUs are free"));
      return true;
    }
    int level;
    {
      absl::MutexLock lock(&mu_);
      level = shutdown_level_;
    }
    if (level >= 1 || run.order != 0 || run.revoked) return false;
    if (SteadyClock::now() >= deadline) {
      Log(absl::StrCat("trial ", number, " starts though ", holder,
                       ": a program that outlived its agent, or another "
                       "agent of the sweep on this machine with the same "
                       "GPUs"));
      return true;
    }
    if (!said) {
      Log(absl::StrCat("trial ", number, " waits: ", holder));
      said = true;
    }
    absl::SleepFor(absl::FromChrono(kGpuPoll));
  }
}

std::shared_ptr<TrialRun> Agent::Impl::RunTrial(
    const v1::TrialAssignment& assignment) {
  auto run = std::make_shared<TrialRun>();
  run->assignment = assignment;
  const int64_t number = assignment.number();
  auto started = SteadyClock::now();
  std::vector<std::string> gpus;
  {
    absl::MutexLock lock(&mu_);
    running_[number] = run;
    --acquiring_;  // AcquireNext's, now running.
    // The lowest free ids, in order: a trial gets "0,1" or "2,3", as the
    // user listed them, whatever order earlier trials gave them back in.
    std::sort(free_gpus_.begin(), free_gpus_.end(),
              [this](const std::string& a, const std::string& b) {
                return GpuRank(a) < GpuRank(b);
              });
    for (int i = 0; i < options_.gpus_per_trial && !free_gpus_.empty(); ++i) {
      gpus.push_back(free_gpus_.front());
      free_gpus_.erase(free_gpus_.begin());
    }
  }
  const bool gpus_ready =
      gpus.empty() || WaitForGpus(assignment.sweep_id(), number, gpus, *run);
  // Its time starts once it may run.
  started = SteadyClock::now();
  v1::FinishTrialRequest finish;
  finish.set_sweep_id(assignment.sweep_id());
  finish.set_number(number);
  finish.set_lease_id(assignment.lease_id());
  int64_t sequence = 0;
  bool failed = false;
  // For a failure's report: how the trial ended, its last line of output.
  std::string how_it_ended;
  std::string last_line;

  const Value config = Value::parse(assignment.config_json(), nullptr,
                                    /*allow_exceptions=*/false);
  absl::StatusOr<TrialFiles> files =
      config.is_object()
          ? PrepareTrialFiles(options_.workdir, assignment.sweep_id(), number,
                              config)
          : absl::InvalidArgumentError(
                "the trial's configuration is not a "
                "JSON object");
  absl::StatusOr<std::vector<std::string>> argv;
  // The command needs what this node lacks: an environment variable that
  // ${envvar:...} reads, or the program it starts (a launcher such as
  // torchrun not installed here). As with trial files the node cannot
  // write, that is the node's failure, not the configuration's.
  bool node_lacks_command = false;
  // Output its log could not take (a full disk), said; and whether the
  // trial failed with it (the node's failure, then).
  std::string unwritable_output;
  bool failed_on_output = false;
  std::unique_ptr<OutputCopier> copier;  // The program's stdout and stderr.
  std::unique_ptr<TrialProcess> process;
  if (files.ok() && !gpus_ready) {
    argv = absl::CancelledError(
        "not started: its agent was shutting down, or it was stopped or "
        "lost, while it waited for its GPUs");
  } else if (files.ok()) {
    CommandEnvironment command_env;
    command_env.interpreter = options_.interpreter;
    command_env.args_json_file = files->params_json;
    command_env.getenv =
        [](absl::string_view name) -> std::optional<std::string> {
      // The controller's token stays the agent's: not in argv either.
      if (name == kTokenEnvironmentVariable) return std::nullopt;
      const char* value = std::getenv(std::string(name).c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
    const std::vector<std::string> command(assignment.command().begin(),
                                           assignment.command().end());
    argv =
        ExpandCommandTokens(command, assignment.program(), config, command_env);
    node_lacks_command = absl::IsFailedPrecondition(argv.status());
    if (argv.ok()) {
      const std::string run_tag = RunTag(assignment.sweep_id(), number);
      std::vector<std::pair<std::string, std::string>> overrides = {
          {"SWEEP_ID", assignment.sweep_id()},
          {"SWEEP_TRIAL_ID", absl::StrCat(number)},
          {"SWEEP_PARAMS_FILE", files->params_json},
          {"SWEEP_METRICS_FILE", files->metrics},
          {"WANDB_SWEEP_ID", assignment.sweep_id()},
          {"WANDB_RUN_ID", absl::StrCat(assignment.sweep_id(), "-", number)},
          {"WANDB_SWEEP_PARAM_PATH", files->params_yaml},
          {"PYTHONUNBUFFERED", "1"},
          // Marks every process of this launch, wherever it goes (see
          // ProcessLaunchSpec::tag).
          {kRunTagVariable, run_tag},
      };
      if (!options_.gpus.empty()) {
        overrides.push_back({"CUDA_VISIBLE_DEVICES", absl::StrJoin(gpus, ",")});
      }
      // As W&B's agent: the sweep's project and entity are its runs'
      // (SWEEP_*: they are the sweep's, not the user's shell's, so the
      // shim puts them over wandb.init()'s).
      if (!assignment.project().empty()) {
        overrides.push_back({"WANDB_PROJECT", assignment.project()});
        overrides.push_back({"SWEEP_PROJECT", assignment.project()});
      }
      if (!assignment.entity().empty()) {
        overrides.push_back({"WANDB_ENTITY", assignment.entity()});
        overrides.push_back({"SWEEP_ENTITY", assignment.entity()});
      }
      if (!options_.python_client_dir.empty()) {
        std::string path = options_.python_client_dir;
        if (options_.wandb_shim) {
          // The shim's `wandb` goes before any real W&B install.
          path = absl::StrCat(options_.python_client_dir, "/shim:", path);
        }
        if (const char* existing = std::getenv("PYTHONPATH");
            existing && *existing) {
          absl::StrAppend(&path, ":", existing);
        }
        overrides.push_back({"PYTHONPATH", path});
      }
      ProcessLaunchSpec spec;
      spec.argv = *argv;
      // The controller's token is the agent's, not its programs'.
      std::vector<std::string> environment = CurrentEnvironment();
      environment.erase(
          std::remove_if(environment.begin(), environment.end(),
                         [](const std::string& entry) {
                           return absl::StartsWith(
                               entry,
                               absl::StrCat(kTokenEnvironmentVariable, "="));
                         }),
          environment.end());
      spec.env = MergeEnvironment(environment, overrides);
      spec.tag = absl::StrCat(kRunTagVariable, "=", run_tag);
      spec.end_grace = options_.kill_grace;
      absl::StatusOr<std::unique_ptr<OutputCopier>> made_copier =
          OutputCopier::Create(files->log);
      if (!made_copier.ok()) {
        // The node's failure (no descriptors left, a full disk), as with
        // the trial's other files: not the sweep's.
        files = made_copier.status();
      } else {
        copier = std::move(*made_copier);
        spec.output_fd = copier->write_end();
        absl::StatusOr<std::unique_ptr<TrialProcess>> started_process =
            TrialProcess::Start(spec);
        copier->Start();
        if (started_process.ok()) {
          process = std::move(*started_process);
          if (options_.orphan_guard != nullptr) {
            options_.orphan_guard->Watch(process->pid(), copier->read_end(),
                                         copier->log(), spec.tag);
          }
        } else {
          argv = started_process.status();
          // Not found here; a file that is there but cannot run (no +x, a
          // bad #! line) is the same on every node: the sweep's.
          node_lacks_command = absl::IsNotFound(argv.status());
        }
      }
    }
  }
  if (!files.ok() || !argv.ok()) {
    const absl::Status why = !files.ok() ? files.status() : argv.status();
    Log(absl::StrCat("trial ", number, " could not start: ", why.message()));
    // Files this node could not write (a full or read-only disk) or a
    // command it lacks are the node's failure, not the configuration's: the
    // trial is crashed, so a grid point goes back to the queue for another
    // agent, and this agent takes no more. Any other command that cannot
    // run is the sweep's.
    const bool node_failure = !files.ok() || node_lacks_command || !gpus_ready;
    finish.set_outcome(node_failure ? v1::FINISH_OUTCOME_INTERRUPTED
                                    : v1::FINISH_OUTCOME_FAILED_TO_START);
    finish.set_exit_code(127);
    finish.set_message(node_failure
                           ? absl::StrCat("could not start on ", HostName(),
                                          ": ", why.message())
                           : std::string(why.message()));
    failed = true;
    how_it_ended = "could not start";
    last_line = LastLine(why.message());
  } else {
    Log(absl::StrCat(
        "trial ", number, " started: ",
        absl::StrJoin(*argv, " ", [](std::string* out, const std::string& arg) {
          out->append(ShellQuote(arg));
        })));
    TrialWatch watch(options_, run, *files);
    LoggedNames logged(assignment.metric_name());
    std::vector<MetricPoint> batch;
    int64_t reported_malformed = 0;
    auto batch_started = SteadyClock::now();
    int64_t dropped_points = 0;  // Too big to send; counted as malformed.
    // Queues a report of batch[begin, end) (possibly no point: it then
    // carries only the count of malformed lines).
    auto enqueue_report = [&](size_t begin, size_t end) {
      OutboxItem item;
      item.trial = run;
      item.points = static_cast<int64_t>(end - begin);
      v1::ReportMetricsRequest report;
      report.set_sweep_id(assignment.sweep_id());
      report.set_number(number);
      report.set_lease_id(assignment.lease_id());
      report.set_sequence(++sequence);
      report.set_malformed_lines(watch.malformed() + dropped_points -
                                 reported_malformed);
      reported_malformed = watch.malformed() + dropped_points;
      for (size_t i = begin; i < end; ++i) {
        const MetricPoint& p = batch[i];
        v1::MetricPoint* out = report.add_points();
        out->set_step(p.step);
        out->set_time_ms(p.time_ms);
        for (const auto& [key, value] : p.values) {
          (*out->mutable_values())[key] = value;
        }
      }
      item.report = std::move(report);
      Enqueue(std::move(item));
    };
    auto send_batch = [&](bool force) {
      const bool unreported_malformed =
          watch.malformed() + dropped_points > reported_malformed;
      if (batch.empty() && !(force && unreported_malformed)) return;
      const int per_report = std::max(1, options_.batch_points);
      const bool full = static_cast<int>(batch.size()) >= per_report ||
                        BatchBytes(batch) >= kMaxReportBytes;
      const bool old =
          SteadyClock::now() - batch_started >= options_.batch_delay;
      if (!force && !full && !old) return;
      // Reports of at most batch_points points and about kMaxReportBytes
      // each (the controller refuses messages over 4 MiB; wide points, such
      // as a gradient norm per layer, reach that in a few hundred points).
      size_t begin = 0;
      while (begin < batch.size()) {
        size_t end = begin;
        size_t bytes = 0;
        while (end < batch.size() &&
               static_cast<int>(end - begin) < per_report) {
          const size_t point_bytes = PointBytes(batch[end]);
          if (end > begin && bytes + point_bytes > kMaxReportBytes) break;
          bytes += point_bytes;
          ++end;
        }
        if (bytes > kMaxPointBytes) {  // One point, alone too big.
          Log(absl::StrCat("trial ", number, ": a point of ",
                           batch[begin].values.size(),
                           " metrics is too big to report; dropped"));
          ++dropped_points;
          begin = end;
          continue;
        }
        enqueue_report(begin, end);
        begin = end;
      }
      // At the end, what was dropped or malformed since the last report
      // still reaches the trial's record.
      if (force && watch.malformed() + dropped_points > reported_malformed) {
        enqueue_report(0, 0);
      }
      batch.clear();
    };
    std::optional<ProcessExit> exit;
    SteadyClock::time_point exit_seen;  // When the program's exit was seen.
    SteadyClock::time_point process_stop_time;  // When the stop was sent.
    SteadyClock::time_point last_metric = SteadyClock::now();
    while (!exit) {
      const auto now = SteadyClock::now();
      exit = process->Tick(now);
      if (exit) {
        // The trial's end: reading what the program left (a fast one can
        // leave millions of lines) may take a while yet. It ended when the
        // program did, before any grace its leftover processes had.
        exit_seen = process->exited_at().value_or(now);
        finish.set_ended_ms(
            WallMs() - std::chrono::duration_cast<std::chrono::milliseconds>(
                           now - exit_seen)
                           .count());
        absl::MutexLock lock(&mu_);
        run->program_ended = true;
        break;
      }
      bool room;
      int level;
      {
        absl::MutexLock lock(&mu_);
        room = buffered_points_ < options_.max_buffered_points;
        level = shutdown_level_;
      }
      if (room) {
        const size_t before = batch.size();
        watch.ReadMetrics(false, batch);
        logged.Add(batch, before);
        if (batch.size() > before) last_metric = now;
        if (before == 0 && !batch.empty()) batch_started = now;
        send_batch(false);
      }
      if (level >= 3) {
        process->Kill().IgnoreError();
      } else if (!process->stop_requested() &&
                 (run->order != 0 || run->revoked || level >= 2)) {
        process->RequestStop(now, options_.kill_grace).IgnoreError();
      }
      // Until the next poll, or at once on a kill-level shutdown or (before
      // the stop is sent) an order or a lost lease. While a stopped program
      // winds down, polls often, so that its end is seen within a
      // millisecond or so instead of a whole poll interval.
      const bool stopping = process->stop_requested();
      if (stopping && process_stop_time == SteadyClock::time_point()) {
        process_stop_time = now;
      }
      const auto since_stop = now - process_stop_time;
      WakeForTrial wake{this, run.get(), !stopping, !process->kill_sent()};
      absl::MutexLock lock(&mu_);
      // A program that has logged nothing for a while is polled less often
      // (an idle agent costs well under 1% of a core); its first new line
      // brings the usual pace back.
      const auto poll = stopping && since_stop < kFastPollFor ? kFastPoll
                        : now - last_metric > kQuietAfter
                            ? std::max<std::chrono::milliseconds>(
                                  kQuietPoll, options_.poll_interval)
                            : options_.poll_interval;
      mu_.AwaitWithTimeout(absl::Condition(&wake, &WakeForTrial::Ready),
                           absl::FromChrono(poll));
    }
    // All the program wrote is in the pipe by now (its group is gone).
    copier->Finish();
    const uint64_t lost_output = copier->lost_bytes();
    if (lost_output > 0) {
      unwritable_output = absl::StrCat(lost_output,
                                       " bytes of output could not be written "
                                       "to ",
                                       files->log, ": ", copier->write_error());
      Log(absl::StrCat("trial ", number, ": ", unwritable_output));
    }
    if (options_.orphan_guard != nullptr) {
      options_.orphan_guard->Forget(process->pid());
    }
    // What the program logged since the last poll (a fast one can leave
    // millions of lines): in chunks, each sent once there is room for it, as
    // while it ran, so that the agent's memory stays bounded. Then the rest,
    // a last line without its newline.
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return self->buffered_points_ <
                         self->options_.max_buffered_points ||
                     self->shutdown_level_ >= 3;
            },
            this));
      }
      {
        absl::MutexLock lock(&mu_);
        if (shutdown_level_ >= 3) break;  // Nothing more will be sent.
      }
      const uint64_t consumed = watch.consumed();
      const size_t before = batch.size();
      watch.ReadMetrics(false, batch);
      logged.Add(batch, before);
      send_batch(true);
      if (watch.consumed() == consumed) break;
    }
    const size_t before_last = batch.size();
    bool killed;
    {
      absl::MutexLock lock(&mu_);
      killed = shutdown_level_ >= 3;
    }
    // Killed, the finish must not wait behind a backlog: what is left of
    // it is read as in a poll, at most a chunk.
    watch.ReadMetrics(/*drain=*/!killed, batch);
    logged.Add(batch, before_last);
    send_batch(true);
    // Output the log could not take (a full disk) ends with the program's
    // last words: its tail is the end of what was lost.
    const std::string lost_tail = copier->lost_tail();
    absl::StatusOr<std::string> tail =
        lost_tail.empty()
            ? ReadLogTail(files->log, 40, 16 << 10)
            : LogTailOf(lost_tail, 40,
                        lost_tail.size() >= OutputCopier::kLostTailBytes);
    if (tail.ok()) {
      finish.set_log_tail(*tail);
      last_line = LastLine(*tail);
    }
    finish.set_exit_code(exit->kind == ProcessExit::Kind::kExited ? exit->code
                                                                  : -1);
    finish.set_signal(exit->kind == ProcessExit::Kind::kSignaled ? exit->code
                                                                 : 0);
    int level;
    {
      absl::MutexLock lock(&mu_);
      if (EndedByShutdownSignal(*exit) && shutdown_level_ == 0 &&
          !process->stop_requested() && run->order == 0 && !run->revoked) {
        // Ended by a signal this agent did not send: a job scheduler
        // (scancel, systemd, a preempted node) signals every process of the
        // job at once, and the program may be seen to die before this
        // agent's own signal arrives.
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](int* seen_level) { return *seen_level > 0; },
                &shutdown_level_),
            absl::Seconds(1));
      }
      level = shutdown_level_;
    }
    if (run->order == v1::ORDER_ACTION_STOP) {
      finish.set_outcome(v1::FINISH_OUTCOME_STOPPED);
    } else if (run->order == v1::ORDER_ACTION_KILL) {
      finish.set_outcome(v1::FINISH_OUTCOME_KILLED);
    } else if (!exit->success() && level >= 1 &&
               (EndedByShutdownSignal(*exit) ||
                (level >= 2 &&
                 (process->stop_requested() || process->kill_sent())))) {
      // The node is going away, not the program failing: the trial is lost
      // (crashed), and a grid point goes back to the queue.
      finish.set_outcome(v1::FINISH_OUTCOME_INTERRUPTED);
      finish.set_message(absl::StrCat("interrupted: its agent was shut down (",
                                      exit->ToString(), ")"));
    } else if (!exit->success() && !lost_tail.empty() && !run->revoked &&
               !process->stop_requested()) {
      // Its log was failing as it ended (a full disk): the node's failure,
      // as with the trial's other files, whatever the program made of it.
      // Not for output lost earlier (a disk that filled and freed up again
      // before a bug of the program's own), nor for a trial stopped here.
      failed_on_output = true;
      finish.set_outcome(v1::FINISH_OUTCOME_INTERRUPTED);
      finish.set_message(absl::StrCat(
          "the node's failure: ", unwritable_output, " (", exit->ToString(),
          last_line.empty() ? "" : absl::StrCat("; its last line: ", last_line),
          ")"));
    } else {
      finish.set_outcome(v1::FINISH_OUTCOME_EXITED);
      failed = !exit->success();
      how_it_ended = exit->ToString();
      // Why it failed, in the trial's record ('sweep trials' shows it):
      // most programs say so in their last line.
      if (failed) {
        // A W&B script run without the shim: where wandb is not installed
        // it fails at once, and every trial would. The remedy goes before
        // the last line, which a table cuts from its start.
        const std::string how =
            !options_.wandb_shim &&
                    absl::StrContains(last_line, "No module named 'wandb'")
                ? absl::StrCat(how_it_ended,
                               " (it imports wandb: add --wandb-shim)")
                : how_it_ended;
        finish.set_message(
            last_line.empty()
                ? how
                : absl::StrCat(how, "; its last line: ", last_line));
      } else if (!options_.stdout_metrics && !logged.Missing().empty() &&
                 tail.ok() && PrintsMetric(*tail, assignment.metric_name())) {
        // Printed, not logged: the likely fix, in the record.
        finish.set_message("its output prints it: add --stdout-metrics");
      } else if (watch.malformed() > 0) {
        // What was not taken, in the record: a metric logged as a string
        // would otherwise look never logged.
        finish.set_message(
            absl::StrCat("ignored ", watch.last_malformed_reason(),
                         watch.malformed() > 1
                             ? absl::StrCat(" (and ", watch.malformed() - 1,
                                            " more metric lines)")
                             : ""));
      }
    }
    // Until the program's end, not until its output was read and sent.
    const double seconds =
        std::chrono::duration<double>(exit_seen - started).count();
    Log(absl::StrCat(
        "trial ", number, " ended: ", exit->ToString(), " after ",
        absl::StrFormat("%.1f", seconds), " s",
        run->order != 0
            ? absl::StrCat(" (", run->order == 1 ? "stopped" : "killed", ")")
        : run->revoked ? " (its lease was lost: not reported)"
                       : ""));
    if (!failed && run->order == 0 && !logged.Missing().empty()) {
      Log(absl::StrCat("trial ", number, ": ", logged.Missing(),
                       " (the search learns nothing from this trial)"));
    }
  }
  OutboxItem done_item;
  done_item.trial = run;
  // Its end as seen here (when its program ended, or now for one that
  // never started): its delivery may wait out an outage.
  if (finish.ended_ms() == 0) finish.set_ended_ms(WallMs());
  done_item.finish = std::move(finish);
  Enqueue(std::move(done_item));
  absl::MutexLock lock(&mu_);
  running_.erase(number);
  for (std::string& gpu : gpus) free_gpus_.push_back(std::move(gpu));
  consecutive_failures_ = failed ? consecutive_failures_ + 1 : 0;
  if (!files.ok()) unwritable_workdir_ = std::string(files.status().message());
  if (failed_on_output) {
    unwritable_workdir_ =
        absl::StrCat("trial ", number, ": ", unwritable_output);
  }
  if (files.ok() && node_lacks_command && !argv.ok()) {
    cannot_run_command_ = std::string(argv.status().message());
  }
  if (failed) {
    last_failure_ = {number, std::move(how_it_ended), std::move(last_line)};
  }
  return run;
}

std::string AgentLogPrefix() {
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone()),
      " sweep agent: ");
}

Agent::Agent(AgentOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Agent::~Agent() = default;
AgentResult Agent::Run() { return impl_->Run(); }
std::string Agent::Shutdown(int level) { return impl_->Shutdown(level); }

}  // namespace sweep
