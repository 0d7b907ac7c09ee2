#include "controller/sweep_manager.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "controller/sweep_entry.h"
#include "controller/trial_rows.h"
#include "search/spec_parser.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

constexpr size_t kMaxLogTailBytes = 64 << 10;
// The longest reason a state change may carry.
constexpr size_t kMaxStateReasonBytes = 1000;
constexpr int kMaxPointsPerReport = 10'000;
// Distinct metric names a trial's summary keeps (see ReportMetrics).
constexpr size_t kMaxSummaryNames = 10'000;
constexpr int kMaxSlots = 1024;
// The most history points one reply carries (a point of ten metrics is
// about 200 bytes there): a trial logging every batch of a long run holds
// millions, which would not fit in a message.
constexpr int64_t kMaxHistoryPointsPerReply = 100'000;
// And so many bytes of them: a point may hold hundreds of metrics.
constexpr int64_t kMaxHistoryBytesPerReply = int64_t{64} << 20;

// Where a page of history stopped, "sequence.index" of its last point: the
// next page starts after it without walking the points before.
std::string HistoryPageToken(const std::pair<int64_t, int64_t>& last) {
  return absl::StrCat(last.first, ".", last.second);
}

std::optional<std::pair<int64_t, int64_t>> ParseHistoryPageToken(
    absl::string_view token) {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  std::pair<int64_t, int64_t> last;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &last.first) ||
      !absl::SimpleAtoi(parts[1], &last.second) || last.first < 1 ||
      last.second < 0) {
    return std::nullopt;
  }
  return last;
}

std::string RandomToken(std::mt19937_64& rng, int length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < length; ++i) out.push_back(kAlphabet[rng() % 36]);
  return out;
}

std::mt19937_64& TokenRng() {
  static std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// Why a done sweep ended, for its agents: "sweep ID is canceled: REASON".
std::string EndReason(const SweepManager::SweepEntry& entry)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu) {
  return absl::StrCat(
      "sweep ", entry.row.id, " is ",
      entry.row.state == v1::SWEEP_STATE_CANCELED ? "canceled" : "finished",
      ": ", entry.row.state_reason);
}

std::string TrialName(const std::string& sweep_id, int64_t number) {
  return absl::StrCat("trial ", number, " of sweep ", sweep_id);
}

absl::Status CheckReport(const v1::ReportMetricsRequest& request) {
  if (request.sequence() <= 0) {
    return absl::InvalidArgumentError(
        "sequence must be 1 or more (1 for the first report of a trial)");
  }
  if (request.points_size() > kMaxPointsPerReport) {
    return absl::InvalidArgumentError(
        absl::StrCat("a report holds at most ", kMaxPointsPerReport,
                     " points, got ", request.points_size()));
  }
  if (request.malformed_lines() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed_lines must be 0 or more, got ", request.malformed_lines()));
  }
  for (const v1::MetricPoint& point : request.points()) {
    for (const auto& [key, value] : point.values()) {
      if (key.empty() || key.size() > kMaxMetricNameBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric names must be 1 to ", kMaxMetricNameBytes,
                         " bytes long, got one of ", key.size(), " bytes"));
      }
      // They reach tables, terminals and CSV headers.
      if (HasControlCharacter(key)) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric name ", absl::CHexEscape(key),
                         " holds a control character"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFinish(const v1::FinishTrialRequest& request) {
  if (!v1::FinishOutcome_IsValid(request.outcome())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown outcome ", request.outcome()));
  }
  if (request.signal() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal must be 0 or more, got ", request.signal()));
  }
  return absl::OkStatus();
}

int FinishedState(const v1::FinishTrialRequest& request) {
  switch (request.outcome()) {
    case v1::FINISH_OUTCOME_STOPPED:
      return v1::TRIAL_STATE_STOPPED;
    case v1::FINISH_OUTCOME_KILLED:
      return v1::TRIAL_STATE_KILLED;
    case v1::FINISH_OUTCOME_FAILED_TO_START:
      return v1::TRIAL_STATE_FAILED;
    case v1::FINISH_OUTCOME_INTERRUPTED:
      return v1::TRIAL_STATE_CRASHED;
    default:
      return request.exit_code() == 0 && request.signal() == 0
                 ? v1::TRIAL_STATE_FINISHED
                 : v1::TRIAL_STATE_FAILED;
  }
}

std::string FinishReason(const v1::FinishTrialRequest& request, int state) {
  if (!request.message().empty()) return request.message();
  if (request.signal() != 0) {
    return absl::StrCat("ended by signal ", request.signal());
  }
  if (state == v1::TRIAL_STATE_FAILED) {
    return absl::StrCat("exited with status ", request.exit_code());
  }
  return "";
}

absl::Status NoAgent(const std::string& id) {
  return absl::NotFoundError(absl::StrCat(
      "no agent with id '", id, "' (register again with RegisterAgent)"));
}

}  // namespace

int GrpcCode(const absl::Status& status) {
  // absl's canonical codes have the same numbers as gRPC's.
  return static_cast<int>(status.code());
}

SweepManager::SweepManager(Store* store, const Clock* clock,
                           const ManagerOptions& options)
    : store_(store), clock_(clock), options_(options) {}

SweepManager::~SweepManager() {
  {
    absl::MutexLock lock(&reaper_mu_);
    stopping_ = true;
  }
  if (reaper_.joinable()) reaper_.join();
}

absl::StatusOr<std::unique_ptr<SweepManager>> SweepManager::Create(
    Store* store, const Clock* clock, const ManagerOptions& options) {
  std::unique_ptr<SweepManager> manager(
      new SweepManager(store, clock, options));
  RETURN_IF_ERROR(manager->Recover());
  return manager;
}

absl::Status SweepManager::Recover() {
  ASSIGN_OR_RETURN(std::vector<SweepRow> sweeps, store_->LoadSweeps());
  const int64_t now = clock_->NowMs();
  absl::MutexLock lock(&mu_);
  for (SweepRow& sweep_row : sweeps) {
    ParsedDefinition parsed = ParseSweepDefinition(
        sweep_row.definition_yaml,
        sweep_row.file_name.empty() ? "sweep.yaml" : sweep_row.file_name,
        /*stored=*/true);
    if (!parsed.ok()) {
      return absl::DataLossError(absl::StrCat(
          "stored sweep ", sweep_row.id,
          " no longer parses (was it written by another version?):\n",
          parsed.Format()));
    }
    auto entry = std::make_unique<SweepEntry>(std::move(sweep_row),
                                              std::move(*parsed.spec));
    RETURN_IF_ERROR(RecoverTrials(*entry, now));
    RecoverTargetTrial(*entry);
    const std::string id = entry->row.id;
    sweeps_.emplace(id, std::move(entry));
  }
  ASSIGN_OR_RETURN(std::vector<AgentRow> agents, store_->LoadAgents());
  for (AgentRow& agent : agents) {
    if (!agent.name.empty()) {
      agent_names_[absl::StrCat(agent.sweep_id, "/", agent.name)] = agent.id;
    }
    auto entry = std::make_unique<AgentEntry>();
    entry->row = std::move(agent);
    // As their trials get a fresh lease: a name is free only after a
    // lease of silence since this restart, not at once.
    entry->last_heard_ms = now;
    const std::string id = entry->row.id;
    agents_.emplace(id, std::move(entry));
  }
  return absl::OkStatus();
}

void SweepManager::RecoverTargetTrial(SweepEntry& entry) {
  absl::MutexLock lock(&entry.mu);
  // The reason FinishByTarget gave: "trial N reached the metric target".
  absl::string_view reason = entry.row.state_reason;
  int64_t number = 0;
  if (entry.row.state != v1::SWEEP_STATE_FINISHED ||
      !absl::ConsumePrefix(&reason, "trial ") ||
      !absl::StrContains(reason, " reached the metric target") ||
      !absl::SimpleAtoi(reason.substr(0, reason.find(' ')), &number)) {
    return;
  }
  // Still running, it may yet fail; it was running or paused before (a
  // stopped sweep's reason is lost with the restart, as it goes on).
  if (entry.running.contains(number)) {
    entry.target_trial = number;
    entry.state_before_target = v1::SWEEP_STATE_RUNNING;
    entry.reason_before_target.clear();
  }
}

namespace {

// The order that kills a running trial of a canceled sweep.
v1::TrialOrder CancelOrder(const std::string& sweep_id, int64_t number) {
  v1::TrialOrder order;
  order.set_sweep_id(sweep_id);
  order.set_number(number);
  order.set_action(v1::ORDER_ACTION_KILL);
  order.set_reason("the sweep was canceled");
  return order;
}

}  // namespace

absl::Status SweepManager::RecoverStopping(SweepEntry& entry,
                                           const TrialRow& row) {
  if (!entry.stopper) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<double> series,
                   store_->LoadMetricSeries(row.sweep_id, row.number,
                                            entry.spec.metric->name));
  for (double value : series) entry.stopper->Observe(row.number, value);
  // Each of those values was judged when it was reported (a stop it led to
  // is in the row's stop_json): none is judged again against trials that
  // came later.
  entry.stopper->MarkJudged(row.number);
  if (row.state == v1::TRIAL_STATE_STOPPED) {
    if (auto stop = StoppedAt(row.stop_json)) {
      entry.stopper->CountStop(stop->first, stop->second);
    }
  }
  if (row.state != v1::TRIAL_STATE_RUNNING) entry.stopper->Forget(row.number);
  return absl::OkStatus();
}

absl::Status SweepManager::RecoverTrials(SweepEntry& sweep, int64_t now) {
  SweepEntry* entry = &sweep;
  absl::MutexLock sweep_lock(&entry->mu);
  {
    int64_t after = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<TrialRow> rows,
                       store_->LoadTrials(entry->row.id, after, 5000));
      if (rows.empty()) break;
      after = rows.back().number;
      for (TrialRow& row : rows) {
        std::optional<Point> point = PointOfRow(row, entry->spec);
        if (!point) {
          return absl::DataLossError(
              absl::StrCat("stored ", TrialName(row.sweep_id, row.number),
                           " has a configuration that does not fit its sweep"));
        }
        entry->counts.set_total(entry->counts.total() + 1);
        entry->counts.set_running(entry->counts.running() + 1);
        if (row.best_value && row.state != v1::TRIAL_STATE_FAILED &&
            row.state != v1::TRIAL_STATE_CRASHED &&
            row.state != v1::TRIAL_STATE_KILLED) {
          entry->OfferBest(row.number, *row.best_value);
        }
        RETURN_IF_ERROR(RecoverStopping(*entry, row));
        if (row.state == v1::TRIAL_STATE_RUNNING) {
          RunningTrial trial;
          trial.summary = SummaryFromJson(row.summary_json);
          trial.row = std::move(row);
          trial.point = std::move(*point);
          // A fresh lease: agents carry on through a controller restart.
          trial.lease_expires_ms = now + options_.lease_timeout_ms;
          if (!trial.row.stop_json.empty()) {
            // A stop decided before the restart still stands.
            const nlohmann::json stop = nlohmann::json::parse(
                trial.row.stop_json, nullptr, /*allow_exceptions=*/false);
            v1::TrialOrder order;
            order.set_sweep_id(trial.row.sweep_id);
            order.set_number(trial.row.number);
            order.set_action(v1::ORDER_ACTION_STOP);
            order.set_reason(
                absl::StrCat(stop.is_object() ? stop.value("rule", "") : "",
                             " stopped it before the controller restarted"));
            trial.order = order;
          }
          if (entry->row.state == v1::SWEEP_STATE_CANCELED) {
            // Canceled before the restart, before its agent heard of it.
            trial.order = CancelOrder(entry->row.id, trial.row.number);
          }
          entry->AddRunning(std::move(trial));
        } else {
          if (entry->keeps_ended) {
            TrialRecord record;
            record.id = row.number;
            record.state = SearchStateOf(row.state);
            record.point = std::move(*point);
            record.objective = SearchObjective(row);
            record.attempt = row.attempt;
            entry->ended.push_back(std::move(record));
          }
          entry->CountEnded(row.state);
        }
      }
    }
  }
  return absl::OkStatus();
}

void SweepManager::StartReaper() {
  reaper_ = std::thread([this] {
    // A pass later than this after the one before means nothing was served
    // meanwhile (the process was stopped, the machine paused or swapping) or
    // the clock jumped: the agents' heartbeats of that time could not be
    // heard, so their leases do not run out for it.
    const int64_t on_time = options_.reap_interval_ms +
                            std::max<int64_t>(options_.reap_interval_ms, 1'000);
    int64_t last_pass = clock_->NowMs();
    absl::MutexLock lock(&reaper_mu_);
    while (!stopping_) {
      // Wakes early when the manager is being destroyed.
      reaper_mu_.AwaitWithTimeout(
          absl::Condition(
              +[](bool* stopping) { return *stopping; }, &stopping_),
          absl::Milliseconds(options_.reap_interval_ms));
      if (stopping_) break;
      reaper_mu_.Unlock();
      const int64_t now = clock_->NowMs();
      if (now - last_pass > on_time) {
        const int64_t late = now - last_pass - on_time;
        ExtendLeases(late);
        // A store operation under way across the gap is not a stall of
        // its own: that time is extended once.
        stall_extended_to_ms_.store(now);
        std::cerr << "sweep server: no lease was checked for "
                  << (now - last_pass) / 1000.0
                  << " s (the controller was stopped or stalled, or the "
                     "clock jumped); running trials' leases are extended by "
                  << late / 1000.0 << " s" << std::endl;
      }
      ExpireLeases();
      // After its commits: a slow store is not a stalled controller.
      last_pass = clock_->NowMs();
      reaper_mu_.Lock();
    }
  });
}

void SweepManager::ExtendLeases(int64_t ms) {
  std::vector<SweepEntry*> entries;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : sweeps_) entries.push_back(entry.get());
  }
  for (SweepEntry* entry : entries) {
    absl::MutexLock lock(&entry->mu);
    for (auto& [number, trial] : entry->running) trial.lease_expires_ms += ms;
  }
}

absl::Status SweepManager::CheckWritable() const {
  if (store_failed_.load()) {
    return absl::UnavailableError(
        "the controller's store failed a write (see its log); fix the cause "
        "(e.g. free disk space) and restart the controller");
  }
  return absl::OkStatus();
}

void SweepManager::Commit(Mutation mutation, Done done) {
  store_->Write(std::move(mutation),
                [this, done = std::move(done)](const absl::Status& status) {
                  if (!status.ok() && !store_failed_.load()) {
                    absl::MutexLock lock(&store_failure_mu_);
                    if (store_failure_.empty()) {
                      store_failure_ = std::string(absl::StripPrefix(
                          status.message(), "store write failed: "));
                    }
                  }
                  if (!status.ok() && !store_failed_.exchange(true)) {
                    // Once: what CheckWritable's answer points to.
                    std::cerr << "sweep server: the store failed a write: "
                              << status.message()
                              << "; changes are refused until the cause is "
                                 "fixed and the controller restarted"
                              << std::endl;
                  }
                  done(status);
                });
}

absl::StatusOr<SweepManager::SweepEntry*> SweepManager::FindSweep(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = sweeps_.find(id);
  if (it == sweeps_.end() || it->second->uncommitted) {
    // Quoted whole, a 100 KB id would not fit in the reply's metadata.
    return absl::NotFoundError(absl::StrCat(
        "no sweep with id '",
        absl::CHexEscape(id.size() > 64 ? absl::StrCat(id.substr(0, 64), "...")
                                        : id),
        "'"));
  }
  return it->second.get();
}

namespace {
// Longer RegisterAgentRequest and HeartbeatRequest pid scopes are ignored.
constexpr size_t kMaxPidScopeBytes = 256;
}  // namespace

absl::StatusOr<AgentRow> SweepManager::HeardFrom(const std::string& id,
                                                 int64_t heard_ms,
                                                 const std::string& pid_scope) {
  // One lookup under mu_: a takeover may erase the entry once it is
  // released.
  absl::MutexLock lock(&mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return NoAgent(id);
  it->second->last_heard_ms = heard_ms;
  it->second->heard = true;
  // Recovered from the store, which does not keep it.
  if (it->second->pid_scope.empty() && pid_scope.size() <= kMaxPidScopeBytes) {
    it->second->pid_scope = pid_scope;
  }
  return it->second->row;
}

std::string SweepManager::NewSweepId() {
  while (true) {
    std::string id = RandomToken(TokenRng(), 8);
    if (!sweeps_.contains(id)) return id;
  }
}

// ---------------------------------------------------------------------------
// SweepService.

void SweepManager::CreateSweep(const v1::CreateSweepRequest& request,
                               v1::CreateSweepResponse* response, Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  const std::string file_name =
      request.file_name().empty() ? "sweep.yaml" : request.file_name();
  ParsedDefinition parsed =
      ParseSweepDefinition(request.definition_yaml(), file_name);
  std::vector<std::string> errors;
  for (const Diagnostic& d : parsed.diagnostics) {
    if (d.severity == Diagnostic::Severity::kWarning) {
      response->add_warnings(d.ToString());
    } else {
      errors.push_back(d.ToString());
    }
  }
  if (!parsed.ok()) {
    return done(absl::InvalidArgumentError(absl::StrJoin(errors, "\n")));
  }
  SweepRow row;
  row.definition_yaml = request.definition_yaml();
  row.file_name = file_name;
  row.name = parsed.spec->name.value_or("");
  row.state = v1::SWEEP_STATE_PENDING;
  row.created_ms = clock_->NowMs();
  Mutation mutation;
  absl::MutexLock lock(&mu_);
  row.id = NewSweepId();
  auto entry =
      std::make_unique<SweepEntry>(std::move(row), std::move(*parsed.spec));
  const std::string id = entry->row.id;
  {
    absl::MutexLock sweep_lock(&entry->mu);
    entry->ToProto(response->mutable_sweep());
    mutation.sweeps.push_back(entry->row);
  }
  sweeps_.emplace(id, std::move(entry));
  // Queued under mu_, so before any later change to the sweep. One whose
  // creation failed to commit must not be listed: it would be gone after a
  // restart. (The store never runs a callback inside Write().)
  Commit(std::move(mutation),
         [this, id, done = std::move(done)](const absl::Status& status) {
           if (!status.ok()) {
             absl::MutexLock lock(&mu_);
             auto it = sweeps_.find(id);
             if (it != sweeps_.end()) it->second->uncommitted = true;
           }
           done(status);
         });
}

absl::flat_hash_map<std::string, int64_t> SweepManager::LiveAgents() const {
  const int64_t now = clock_->NowMs();
  absl::flat_hash_map<std::string, int64_t> live;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, agent] : agents_) {
    const int64_t heard = agent->last_heard_ms.load();
    if (agent->heard && heard > 0 && now - heard < options_.lease_timeout_ms) {
      ++live[agent->row.sweep_id];
    }
  }
  return live;
}

std::string SweepManager::ControllerProblem() {
  if (!store_failed_.load()) return "";
  absl::MutexLock lock(&store_failure_mu_);
  return absl::StrCat("its store failed a write (", store_failure_,
                      "): it refuses every change until the cause is fixed "
                      "(e.g. disk space freed) and it is restarted");
}

namespace {
// Sets `sweep`'s live agents from LiveAgents()'s count.
void SetLiveAgents(const absl::flat_hash_map<std::string, int64_t>& live,
                   v1::Sweep* sweep) {
  if (auto it = live.find(sweep->id()); it != live.end()) {
    sweep->set_agents(it->second);
  }
}
}  // namespace

absl::Status SweepManager::GetSweep(const v1::GetSweepRequest& request,
                                    v1::Sweep* response) {
  ASSIGN_OR_RETURN(SweepEntry * entry, FindSweep(request.sweep_id()));
  const auto live = LiveAgents();
  absl::MutexLock lock(&entry->mu);
  entry->ToProto(response);
  SetLiveAgents(live, response);
  response->set_controller_problem(ControllerProblem());
  return absl::OkStatus();
}

absl::Status SweepManager::ListSweeps(v1::ListSweepsResponse* response) {
  std::vector<SweepEntry*> entries;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : sweeps_) {
      if (!entry->uncommitted) entries.push_back(entry.get());
    }
  }
  const auto live = LiveAgents();
  const std::string problem = ControllerProblem();
  response->set_controller_problem(problem);
  for (SweepEntry* entry : entries) {
    absl::MutexLock lock(&entry->mu);
    v1::Sweep* sweep = response->add_sweeps();
    entry->ToProto(sweep);
    SetLiveAgents(live, sweep);
    sweep->set_controller_problem(problem);
  }
  std::sort(response->mutable_sweeps()->begin(),
            response->mutable_sweeps()->end(),
            [](const v1::Sweep& a, const v1::Sweep& b) {
              if (a.created_ms() != b.created_ms()) {
                return a.created_ms() > b.created_ms();
              }
              return a.id() < b.id();
            });
  return absl::OkStatus();
}

void SweepManager::UpdateSweepState(const v1::UpdateSweepStateRequest& request,
                                    v1::Sweep* response, Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  if (request.reason().size() > kMaxStateReasonBytes ||
      HasControlCharacter(request.reason())) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("reason: at most ", kMaxStateReasonBytes,
                     " bytes and no control characters")));
  }
  auto reason_or = [&request](const char* otherwise) {
    return request.reason().empty() ? std::string(otherwise) : request.reason();
  };
  absl::StatusOr<SweepEntry*> found = FindSweep(request.sweep_id());
  if (!found.ok()) return done(found.status());
  SweepEntry* entry = *found;
  const auto live = LiveAgents();
  Mutation mutation;
  {
    absl::MutexLock lock(&entry->mu);
    const int state = entry->row.state;
    const bool done_state = entry->IsDone();
    switch (request.action()) {
      case v1::SWEEP_ACTION_PAUSE:
        if (state == v1::SWEEP_STATE_PAUSED) break;
        if (done_state) {
          return done(absl::FailedPreconditionError(absl::StrCat(
              "sweep ", entry->row.id, " is ",
              state == v1::SWEEP_STATE_CANCELED ? "canceled" : "finished",
              "; there is nothing to pause")));
        }
        entry->SetState(v1::SWEEP_STATE_PAUSED, reason_or("paused by a user"));
        break;
      case v1::SWEEP_ACTION_RESUME:
        if (state == v1::SWEEP_STATE_RUNNING ||
            state == v1::SWEEP_STATE_PENDING) {
          break;
        }
        if (done_state) {
          return done(absl::FailedPreconditionError(absl::StrCat(
              "sweep ", entry->row.id, " is ",
              state == v1::SWEEP_STATE_CANCELED ? "canceled" : "finished", " (",
              entry->row.state_reason,
              ") and cannot be resumed; create a new sweep")));
        }
        entry->SetState(entry->counts.total() > 0 ? v1::SWEEP_STATE_RUNNING
                                                  : v1::SWEEP_STATE_PENDING,
                        "");
        break;
      case v1::SWEEP_ACTION_STOP:
        if (state == v1::SWEEP_STATE_CANCELED) {
          return done(absl::FailedPreconditionError(absl::StrCat(
              "sweep ", entry->row.id, " is canceled (",
              entry->row.state_reason, "); there is nothing to stop")));
        }
        // A stop is final: a trial that reached the target and then fails
        // no longer takes the sweep back to running.
        entry->target_trial = 0;
        if (done_state) break;  // Stopping again, or a sweep that ended.
        entry->SetState(v1::SWEEP_STATE_FINISHED,
                        reason_or("stopped by a user; running trials finish"));
        break;
      case v1::SWEEP_ACTION_CANCEL:
        if (state == v1::SWEEP_STATE_CANCELED) break;
        // A finished sweep may still have trials running (after a stop, or
        // a reached run_cap): cancel kills them. With none, there is nothing
        // to cancel, and its end (why it finished) is kept.
        if (done_state && entry->running.empty()) {
          return done(absl::FailedPreconditionError(absl::StrCat(
              "sweep ", entry->row.id, " is finished (",
              entry->row.state_reason,
              ") with no trial running; there is nothing to cancel")));
        }
        entry->target_trial = 0;
        entry->SetState(
            v1::SWEEP_STATE_CANCELED,
            reason_or("canceled by a user; running trials are killed"));
        for (auto& [number, trial] : entry->running) {
          trial.order = CancelOrder(entry->row.id, number);
        }
        break;
      default:
        return done(absl::InvalidArgumentError(
            "action must be PAUSE, RESUME, STOP or CANCEL"));
    }
    entry->ToProto(response);
    SetLiveAgents(live, response);
    mutation.sweeps.push_back(entry->row);
    Commit(std::move(mutation), std::move(done));
  }
}

absl::Status SweepManager::ListTrials(const v1::ListTrialsRequest& request,
                                      v1::ListTrialsResponse* response) {
  ASSIGN_OR_RETURN(SweepEntry * entry, FindSweep(request.sweep_id()));
  (void)entry;
  if (request.page_size() < 0 || request.page_size() > 10'000) {
    return absl::InvalidArgumentError("page_size must be 0 to 10,000");
  }
  const int64_t limit = request.page_size() == 0 ? 1000 : request.page_size();
  ASSIGN_OR_RETURN(std::vector<TrialRow> rows,
                   store_->LoadTrials(request.sweep_id(),
                                      request.after_number(), limit + 1));
  bool more = static_cast<int64_t>(rows.size()) > limit;
  if (more) rows.pop_back();
  int64_t points_left = kMaxHistoryPointsPerReply;
  int64_t bytes_left = kMaxHistoryBytesPerReply;
  for (const TrialRow& row : rows) {
    // A page with histories ends before a trial whose points would not fit,
    // unless it is the page's first (whose history may be cut: fewer points
    // than its metric_points; GetTrial pages through the rest).
    const bool first = response->trials_size() == 0;
    if (request.include_history() && !first &&
        (row.metric_points > points_left || bytes_left <= 0)) {
      more = true;
      break;
    }
    v1::Trial* trial = response->add_trials();
    TrialToProto(row, trial);
    if (request.include_history()) {
      // A later trial's history is what its row counted (a running trial
      // may have more by now): whole, as its metric_points says.
      HistoryRange range;
      range.limit =
          first ? points_left : std::min(points_left, row.metric_points);
      range.max_bytes = bytes_left;
      ASSIGN_OR_RETURN(
          HistoryPage history,
          store_->LoadHistoryPage(row.sweep_id, row.number, range));
      const int64_t loaded = static_cast<int64_t>(history.points.size());
      if (history.cut && !first && loaded < row.metric_points) {
        response->mutable_trials()->RemoveLast();  // Too many bytes.
        more = true;
        break;
      }
      if (history.cut && first) {
        trial->set_history_next_page_token(HistoryPageToken(history.last));
      }
      points_left -= loaded;
      bytes_left -= history.bytes;
      for (const MetricPointRow& p : history.points) {
        PointToProto(p, trial->add_history());
      }
    }
  }
  response->set_next_after_number(
      more ? response->trials(response->trials_size() - 1).number() : 0);
  return absl::OkStatus();
}

absl::Status SweepManager::GetTrial(const v1::GetTrialRequest& request,
                                    v1::Trial* response) {
  ASSIGN_OR_RETURN(SweepEntry * entry, FindSweep(request.sweep_id()));
  (void)entry;
  if (request.history_offset() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("history_offset must not be negative (it is ",
                     request.history_offset(), ")"));
  }
  if (request.history_limit() < 0 ||
      request.history_limit() > kMaxHistoryPointsPerReply) {
    return absl::InvalidArgumentError(
        absl::StrCat("history_limit must be 0 to 100,000 (it is ",
                     request.history_limit(), ")"));
  }
  absl::StatusOr<TrialRow> row =
      store_->LoadTrial(request.sweep_id(), request.number());
  if (absl::IsNotFound(row.status())) {
    return absl::NotFoundError(
        absl::StrCat("no ", TrialName(request.sweep_id(), request.number())));
  }
  RETURN_IF_ERROR(row.status());
  TrialToProto(*row, response);
  if (request.include_history()) {
    HistoryRange range;
    if (!request.history_page_token().empty()) {
      range.after = ParseHistoryPageToken(request.history_page_token());
      if (!range.after) {
        return absl::InvalidArgumentError(
            absl::StrCat("history_page_token '",
                         absl::CHexEscape(request.history_page_token()),
                         "' is not one a reply gave"));
      }
    }
    range.offset = request.history_offset();
    range.limit = request.history_limit() == 0 ? kMaxHistoryPointsPerReply
                                               : request.history_limit();
    range.max_bytes = kMaxHistoryBytesPerReply;
    ASSIGN_OR_RETURN(
        HistoryPage history,
        store_->LoadHistoryPage(row->sweep_id, row->number, range));
    for (const MetricPointRow& p : history.points) {
      PointToProto(p, response->add_history());
    }
    if (history.cut) {
      response->set_history_next_page_token(HistoryPageToken(history.last));
    }
  }
  return absl::OkStatus();
}

absl::Status SweepManager::GetBestTrial(const v1::GetBestTrialRequest& request,
                                        v1::Trial* response) {
  ASSIGN_OR_RETURN(SweepEntry * entry, FindSweep(request.sweep_id()));
  int64_t best = 0;
  int64_t ended_badly = 0;
  int64_t total = 0;
  {
    absl::MutexLock lock(&entry->mu);
    if (!entry->spec.metric) {
      return absl::NotFoundError(absl::StrCat(
          "sweep ", request.sweep_id(), " has no metric, so no best trial"));
    }
    best = entry->best_trial;
    ended_badly = entry->counts.failed() + entry->counts.crashed() +
                  entry->counts.killed();
    total = entry->counts.total();
  }
  if (best == 0 && total == 0) {
    return absl::NotFoundError(absl::StrCat(
        "sweep ", request.sweep_id(), " has no trial yet, so no best trial"));
  }
  if (best == 0) {
    return absl::NotFoundError(absl::StrCat(
        "no trial of sweep ", request.sweep_id(),
        ended_badly > 0
            ? absl::StrCat(" that finished, was stopped or runs has a value "
                           "of its metric (",
                           ended_badly,
                           " failed, crashed or were killed; a best is never "
                           "one of those)")
            : " has logged a finite value of its metric yet (NaN and "
              "infinities are kept in its record, never the best)"));
  }
  v1::GetTrialRequest get;
  get.set_sweep_id(request.sweep_id());
  get.set_number(best);
  return GetTrial(get, response);
}

// ---------------------------------------------------------------------------
// AgentService.

void SweepManager::RegisterAgent(const v1::RegisterAgentRequest& request,
                                 v1::RegisterAgentResponse* response,
                                 Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  if (request.slots() < 1 || request.slots() > kMaxSlots) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "slots must be 1 to ", kMaxSlots, ", got ", request.slots())));
  }
  if (request.gpus_size() > kMaxSlots) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "at most ", kMaxSlots, " GPUs, got ", request.gpus_size())));
  }
  absl::flat_hash_set<std::string> gpu_ids;
  for (const std::string& gpu : request.gpus()) {
    if (gpu.empty() || !gpu_ids.insert(gpu).second) {
      return done(absl::InvalidArgumentError(
          gpu.empty() ? std::string("an empty GPU id")
                      : absl::StrCat("GPU ", absl::CHexEscape(gpu),
                                     " is listed twice")));
    }
  }
  absl::StatusOr<SweepEntry*> found = FindSweep(request.sweep_id());
  if (!found.ok()) return done(found.status());
  SweepEntry* entry = *found;
  const int64_t now = clock_->NowMs();

  AgentRow agent;
  agent.name = request.name();
  agent.sweep_id = request.sweep_id();
  agent.host = request.host();
  agent.slots = request.slots();
  nlohmann::json gpus = nlohmann::json::array();
  for (const std::string& gpu : request.gpus()) gpus.push_back(gpu);
  agent.gpus_json = gpus.dump();
  agent.pid = request.pid();
  agent.registered_ms = now;
  std::string previous_id;
  int64_t previous_heard_ms = 0;  // When its predecessor was last heard.
  {
    absl::MutexLock lock(&mu_);
    // A named agent's id starts with its name (what `sweep trials` and
    // exports show), made safe for tables and CSV; it stays unique.
    std::string shown;
    for (const char c : agent.name) {
      if (shown.size() == 32) break;
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '_' || c == '-') {
        shown += c;
      }
    }
    do {
      agent.id = shown.empty()
                     ? absl::StrCat("a-", RandomToken(TokenRng(), 10))
                     : absl::StrCat(shown, "-", RandomToken(TokenRng(), 6));
    } while (agents_.contains(agent.id));
    if (!agent.name.empty()) {
      // Names are per sweep: the same name in another sweep is another agent.
      const std::string key = absl::StrCat(agent.sweep_id, "/", agent.name);
      auto it = agent_names_.find(key);
      if (it != agent_names_.end()) {
        // Taking over a name marks its holder's trials crashed: only once
        // the holder is silent (restarted, or dead), never from a second
        // agent given the same name while the first still runs.
        auto holder = agents_.find(it->second);
        const int64_t heard =
            holder == agents_.end() ? 0 : holder->second->last_heard_ms.load();
        const AgentRow* held_row =
            holder == agents_.end() ? nullptr : &holder->second->row;
        const bool same_host = held_row != nullptr && !agent.host.empty() &&
                               held_row->host == agent.host;
        const bool same_process =
            same_host && agent.pid > 0 && held_row->pid == agent.pid;
        // Its successor on its host saw it end (the OOM killer, a crash).
        // The same scope (boot, pid namespace, host): the pid names the
        // same process to both.
        const bool holder_ended =
            same_host && request.predecessor_pid() > 0 &&
            held_row->pid == request.predecessor_pid() &&
            !request.pid_scope().empty() &&
            holder->second->pid_scope == request.pid_scope();
        if (heard > 0 && now - heard < options_.lease_timeout_ms &&
            !same_process && !holder_ended) {
          const AgentRow& held = *held_row;
          return done(absl::AlreadyExistsError(absl::StrFormat(
              "an agent named '%s' is running for this sweep (pid %d on %s, "
              "heard from %.1f s ago): give each agent its own --name; a "
              "restarted agent takes the name over once its predecessor has "
              "been silent for %.0f s",
              agent.name, held.pid, held.host, (now - heard) / 1000.0,
              options_.lease_timeout_ms / 1000.0)));
        }
        previous_id = it->second;
        previous_heard_ms = heard;
      }
      agent_names_[key] = agent.id;
    }
    if (!previous_id.empty()) agents_.erase(previous_id);
    auto agent_entry = std::make_unique<AgentEntry>();
    agent_entry->row = agent;
    agent_entry->last_heard_ms = now;
    agent_entry->heard = true;
    if (request.pid_scope().size() <= kMaxPidScopeBytes) {
      agent_entry->pid_scope = request.pid_scope();
    }
    agents_.emplace(agent.id, std::move(agent_entry));
  }
  response->set_agent_id(agent.id);
  response->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  response->set_lease_timeout_ms(options_.lease_timeout_ms);
  Mutation mutation;
  mutation.agents.push_back(agent);
  if (!previous_id.empty()) {
    // A restarted agent: whatever its previous life ran is lost.
    absl::MutexLock lock(&entry->mu);
    std::vector<int64_t> lost;
    for (const auto& [number, trial] : entry->running) {
      if (trial.row.agent_id == previous_id) lost.push_back(number);
    }
    // They ended when their agent was last heard of (as trials whose lease
    // ran out do): its last heartbeat or the trial's own last report (each
    // renews its lease), not when it came back; not before they began (one
    // handed out after the last heartbeat).
    const int64_t last_heard_ms =
        previous_heard_ms > 0 ? previous_heard_ms : now;
    for (int64_t number : lost) {
      const RunningTrial& trial = entry->running.at(number);
      const int64_t ended_ms =
          std::clamp(std::max(last_heard_ms, trial.lease_expires_ms -
                                                 options_.lease_timeout_ms),
                     trial.row.created_ms, now);
      mutation.trials.push_back(
          EndTrial(*entry, number, v1::TRIAL_STATE_CRASHED,
                   "its agent restarted and lost the program", ended_ms));
      response->add_lost_trials(number);
    }
    SettleState(*entry, mutation);
    return Commit(std::move(mutation), std::move(done));
  }
  Commit(std::move(mutation), std::move(done));
}

void SweepManager::AcquireTrial(const v1::AcquireTrialRequest& request,
                                v1::AcquireTrialResponse* response, Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  const int64_t now = clock_->NowMs();
  // Alive, and counted so at once after a restart (not a heartbeat later).
  // One lookup under mu_, a copy of its row: a takeover may erase the entry
  // once mu_ is released.
  absl::StatusOr<AgentRow> agent = HeardFrom(request.agent_id(), now, "");
  if (!agent.ok()) return done(agent.status());
  const AgentRow& agent_row = *agent;
  absl::StatusOr<SweepEntry*> found = FindSweep(agent_row.sweep_id);
  if (!found.ok()) return done(found.status());
  SweepEntry* entry = *found;
  Mutation mutation;
  {
    absl::MutexLock lock(&entry->mu);
    if (entry->IsDone()) {
      response->set_exit_reason(EndReason(*entry));
      return done(absl::OkStatus());
    }
    if (entry->row.state == v1::SWEEP_STATE_PAUSED) {
      response->set_retry_after_ms(options_.retry_after_ms);
      response->set_message("the sweep is paused");
      return done(absl::OkStatus());
    }
    std::vector<Point> pending;
    pending.reserve(entry->running.size());
    for (const auto& [number, trial] : entry->running) {
      pending.push_back(trial.point);
    }
    const int64_t number = entry->row.next_trial_number;
    RandomEngine rng = SuggestionEngine(*entry->spec.extension.seed, number);
    const SearchContext context{entry->spec, entry->ended, pending};
    absl::StatusOr<std::optional<Suggestion>> next =
        entry->searcher->Suggest(context, rng);
    if (!next.ok()) return done(next.status());
    if (!next->has_value()) {
      if (entry->FinishIfGridCovered()) {
        response->set_exit_reason(
            absl::StrCat("sweep ", entry->row.id,
                         " is finished: ", entry->row.state_reason));
        mutation.sweeps.push_back(entry->row);
      } else {
        response->set_retry_after_ms(options_.retry_after_ms);
        response->set_message(
            "every configuration is taken by a running trial; a lost one "
            "will be handed out again");
        return done(absl::OkStatus());
      }
    } else {
      Suggestion& suggestion = **next;
      RunningTrial trial;
      TrialRow& row = trial.row;
      row.sweep_id = entry->row.id;
      row.number = number;
      row.state = v1::TRIAL_STATE_RUNNING;
      row.config_json = NestPoint(entry->spec, suggestion.point).dump();
      row.point_json = Value(suggestion.point).dump();
      row.agent_id = agent_row.id;
      row.host = agent_row.host;
      row.lease_id = RandomToken(TokenRng(), 16);
      row.created_ms = now;
      row.summary_json = "{}";
      if (suggestion.prediction) {
        row.prediction_json = PredictionToJson(
            suggestion.prediction->mean, suggestion.prediction->stddev,
            suggestion.prediction->acquisition);
      }
      trial.point = std::move(suggestion.point);
      trial.lease_expires_ms = now + options_.lease_timeout_ms;

      v1::TrialAssignment* assignment = response->mutable_trial();
      assignment->set_sweep_id(row.sweep_id);
      assignment->set_number(number);
      assignment->set_lease_id(row.lease_id);
      assignment->set_config_json(row.config_json);
      for (const std::string& token : entry->spec.command) {
        assignment->add_command(token);
      }
      assignment->set_program(entry->spec.program.value_or(""));
      assignment->set_project(entry->spec.project.value_or(""));
      assignment->set_entity(entry->spec.entity.value_or(""));
      if (entry->spec.metric) {
        assignment->set_metric_name(entry->spec.metric->name);
      }
      assignment->set_lease_timeout_ms(options_.lease_timeout_ms);

      mutation.trials.push_back(row);
      entry->AddRunning(std::move(trial));
      entry->row.next_trial_number = number + 1;
      entry->counts.set_total(entry->counts.total() + 1);
      entry->counts.set_running(entry->counts.running() + 1);
      if (entry->row.state == v1::SWEEP_STATE_PENDING) {
        entry->SetState(v1::SWEEP_STATE_RUNNING, "");
      }
      entry->SettleRunCap();
      mutation.sweeps.push_back(entry->row);
    }
    Commit(std::move(mutation), std::move(done));
  }
}

absl::Status SweepManager::Heartbeat(const v1::HeartbeatRequest& request,
                                     v1::HeartbeatResponse* response) {
  const int64_t now = clock_->NowMs();
  // A leaving agent has delivered everything: its name is free now.
  ASSIGN_OR_RETURN(const AgentRow agent,
                   HeardFrom(request.agent_id(), request.leaving() ? 0 : now,
                             request.pid_scope()));
  ASSIGN_OR_RETURN(SweepEntry * entry, FindSweep(agent.sweep_id));
  absl::MutexLock lock(&entry->mu);
  absl::flat_hash_set<int64_t> held;
  for (const v1::TrialLease& lease : request.leases()) {
    if (lease.sweep_id() == entry->row.id) held.insert(lease.number());
  }
  // A trial handed to this agent that two of its heartbeats in a row do not
  // list, two heartbeat intervals after it was created (its reply leaves
  // once its suggestion is made and committed, which may take a while),
  // never reached it:
  // its lease ends now, and the reaper ends it (crashed; a grid point goes
  // back) instead of holding a run_cap place for a whole lease.
  const auto by_agent = entry->running_by_agent.find(request.agent_id());
  const absl::btree_set<int64_t> none;
  const absl::btree_set<int64_t>& numbers =
      by_agent == entry->running_by_agent.end() || request.leaving()
          ? none
          : by_agent->second;
  for (const int64_t number : numbers) {
    RunningTrial& trial = entry->running.at(number);
    if (held.contains(number) ||
        now - trial.row.created_ms < 2 * options_.heartbeat_interval_ms) {
      trial.unheld_heartbeats = 0;
      continue;
    }
    if (++trial.unheld_heartbeats >= 2) {
      trial.lease_expires_ms = std::min(trial.lease_expires_ms, now - 1);
    }
  }
  for (const v1::TrialLease& lease : request.leases()) {
    auto it = lease.sweep_id() == entry->row.id
                  ? entry->running.find(lease.number())
                  : entry->running.end();
    if (it == entry->running.end() ||
        it->second.row.lease_id != lease.lease_id()) {
      *response->add_revoked() = lease;
      continue;
    }
    it->second.lease_expires_ms = now + options_.lease_timeout_ms;
    // Thresholds move as other trials log: judge again. (The stop reason
    // lands in the store with the trial's next report or its finish.)
    entry->MaybeStop(it->second);
    if (it->second.order) *response->add_orders() = *it->second.order;
  }
  response->set_lease_timeout_ms(options_.lease_timeout_ms);
  response->set_sweep_done(entry->IsDone());
  if (entry->IsDone()) response->set_sweep_done_reason(EndReason(*entry));
  return absl::OkStatus();
}

void SweepManager::ReportMetrics(const v1::ReportMetricsRequest& request,
                                 v1::ReportMetricsResponse* response,
                                 Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  if (absl::Status s = CheckReport(request); !s.ok()) return done(s);
  absl::StatusOr<SweepEntry*> found = FindSweep(request.sweep_id());
  if (!found.ok()) return done(found.status());
  SweepEntry* entry = *found;
  Mutation mutation;
  {
    absl::MutexLock lock(&entry->mu);
    auto it = entry->running.find(request.number());
    if (it == entry->running.end() ||
        it->second.row.lease_id != request.lease_id()) {
      return done(absl::FailedPreconditionError(absl::StrCat(
          TrialName(request.sweep_id(), request.number()),
          " is not running under this lease; its metrics are not stored")));
    }
    RunningTrial& trial = it->second;
    TrialRow& row = trial.row;
    if (request.sequence() <= row.last_sequence) {
      // A retry of a report already taken: store nothing, but acknowledge
      // only once the original is committed. The store commits in queue
      // order, so an empty write queued now completes after it; should the
      // original have failed, the manager is poisoned by then.
      response->set_stored_through_sequence(row.last_sequence);
      if (trial.order) *response->mutable_order() = *trial.order;
      return Commit(Mutation{}, [this, done = std::move(done)](
                                    const absl::Status& status) {
        done(status.ok() && store_failed_.load()
                 ? absl::UnavailableError(
                       "the controller's store failed the original write of "
                       "this report")
                 : status);
      });
    }
    trial.lease_expires_ms = clock_->NowMs() + options_.lease_timeout_ms;
    const std::string* metric =
        entry->spec.metric ? &entry->spec.metric->name : nullptr;
    for (const v1::MetricPoint& point : request.points()) {
      for (const auto& [key, value] : point.values()) {
        // The summary, rewritten with each report, keeps the first
        // kMaxSummaryNames names (and the sweep's metric): a program
        // logging a new name each step (f"loss_{step}") would make every
        // report cost more than the last. The history keeps every value.
        if (auto it = trial.summary.find(key); it != trial.summary.end()) {
          it->second = value;
        } else if (trial.summary.size() < kMaxSummaryNames ||
                   (metric != nullptr && key == *metric)) {
          trial.summary.emplace(key, value);
        }
        if (metric == nullptr || key != *metric) continue;
        if (entry->stopper) {
          // Non-finite values too: they stop a diverged trial.
          entry->stopper->Observe(row.number, value);
          // Judged value by value: a report carrying several iterations
          // (a program logging fast, or a backlog after an outage) has
          // each band or rung it crosses judged, as if each came alone.
          entry->MaybeStop(trial);
        }
        if (!std::isfinite(value)) continue;
        if (!row.best_value ||
            IsBetter(entry->spec.metric->goal, value, *row.best_value)) {
          row.best_value = value;
        }
      }
    }
    row.last_sequence = request.sequence();
    row.metric_points += request.points_size();
    // Saturated: a client's count cannot wrap the total around.
    row.malformed_lines +=
        std::min(request.malformed_lines(),
                 std::numeric_limits<int64_t>::max() - row.malformed_lines);
    row.summary_json = SummaryToJson(trial.summary);
    if (row.best_value) {
      entry->OfferBest(row.number, *row.best_value);
      const MetricSpec& spec_metric = *entry->spec.metric;
      if (spec_metric.target && !entry->IsDone() &&
          !IsBetter(spec_metric.goal, *spec_metric.target, *row.best_value)) {
        entry->FinishByTarget(row.number, *row.best_value);
        mutation.sweeps.push_back(entry->row);
      }
    }
    entry->MaybeStop(trial);
    response->set_stored_through_sequence(row.last_sequence);
    if (trial.order) *response->mutable_order() = *trial.order;
    mutation.trials.push_back(row);
    MetricAppend append;
    append.sweep_id = row.sweep_id;
    append.number = row.number;
    append.sequence = request.sequence();
    append.points = PointsFromProto(request.points());
    mutation.metrics.push_back(std::move(append));
    Commit(std::move(mutation), std::move(done));
  }
}

void SweepManager::FinishTrial(const v1::FinishTrialRequest& request,
                               v1::FinishTrialResponse* response, Done done) {
  if (absl::Status s = CheckWritable(); !s.ok()) return done(s);
  if (absl::Status s = CheckFinish(request); !s.ok()) return done(s);
  absl::StatusOr<SweepEntry*> found = FindSweep(request.sweep_id());
  if (!found.ok()) return done(found.status());
  SweepEntry* entry = *found;
  Mutation mutation;
  bool holds_lease = false;
  {
    absl::MutexLock lock(&entry->mu);
    auto it = entry->running.find(request.number());
    holds_lease = it != entry->running.end() &&
                  it->second.row.lease_id == request.lease_id();
    if (holds_lease) {
      EndFinishedTrial(*entry, it->second, request, response, mutation);
      return Commit(std::move(mutation), std::move(done));
    }
  }
  // A repeated finish (its reply was lost) is acknowledged again.
  absl::StatusOr<TrialRow> stored =
      store_->LoadTrial(request.sweep_id(), request.number());
  if (stored.ok() && stored->state != v1::TRIAL_STATE_RUNNING &&
      stored->lease_id == request.lease_id()) {
    response->set_state(static_cast<v1::TrialState>(stored->state));
    return done(absl::OkStatus());
  }
  done(absl::FailedPreconditionError(
      absl::StrCat(TrialName(request.sweep_id(), request.number()),
                   " is not running under this lease")));
}

void SweepManager::EndFinishedTrial(SweepEntry& sweep, RunningTrial& trial,
                                    const v1::FinishTrialRequest& request,
                                    v1::FinishTrialResponse* response,
                                    Mutation& mutation) {
  SweepEntry* entry = &sweep;
  {
    int state = FinishedState(request);
    // A client that says its program exited by itself is believed: an
    // order it never acted on (decided, say, from a heartbeat sent while
    // the trial's finish was still on its way) does not turn a failure into
    // a stop. Without an outcome, a failure after an order is the order's.
    if (state == v1::TRIAL_STATE_FAILED && trial.order &&
        request.outcome() != v1::FINISH_OUTCOME_EXITED) {
      // Ended by the order it was given, not by a fault of its own.
      state = trial.order->action() == v1::ORDER_ACTION_STOP
                  ? v1::TRIAL_STATE_STOPPED
                  : v1::TRIAL_STATE_KILLED;
    }
    trial.row.exit_code = request.exit_code();
    trial.row.signal = request.signal();
    const std::string& tail = request.log_tail();
    trial.row.log_tail = tail.size() > kMaxLogTailBytes
                             ? tail.substr(tail.size() - kMaxLogTailBytes)
                             : tail;
    std::string reason = FinishReason(request, state);
    if (state != v1::TRIAL_STATE_STOPPED) {
      // It ended otherwise than by a stop order: no decision took effect.
      trial.row.stop_json.clear();
    }
    if (trial.order &&
        (state == v1::TRIAL_STATE_STOPPED || state == v1::TRIAL_STATE_KILLED)) {
      // Why it was stopped or killed, not the signal that carried it out.
      reason = trial.order->reason();
    }
    if (state == v1::TRIAL_STATE_STOPPED && entry->stopper) {
      if (auto stop = StoppedAt(trial.row.stop_json)) {
        entry->stopper->CountStop(stop->first, stop->second);
      }
    }
    // When its program ended, as its agent saw it (a finish delivered after
    // an outage arrives late), within what this controller can vouch for.
    const int64_t now = clock_->NowMs();
    const int64_t ended =
        request.ended_ms() > 0
            ? std::clamp(request.ended_ms(), trial.row.created_ms, now)
            : now;
    mutation.trials.push_back(
        EndTrial(*entry, request.number(), state, reason, ended));
    response->set_state(static_cast<v1::TrialState>(state));
    SettleState(*entry, mutation);
  }
}

TrialRow SweepManager::EndTrial(SweepEntry& entry, int64_t number, int state,
                                const std::string& reason, int64_t now_ms) {
  TrialRow row = entry.EndTrial(number, state, reason, now_ms);
  if (entry.best_needs_rescan) RescanBest(entry);
  return row;
}

void SweepManager::SettleState(SweepEntry& entry, Mutation& mutation) {
  const bool reconsidered = entry.ReconsiderTarget();
  const bool cap_settled = entry.SettleRunCap();
  if (entry.FinishIfGridCovered() || reconsidered || cap_settled) {
    mutation.sweeps.push_back(entry.row);
  }
}

void SweepManager::RescanBest(SweepEntry& entry) {
  entry.best_needs_rescan = false;
  entry.best_candidates.clear();
  entry.best_candidates_complete = true;
  entry.best_evicted.reset();
  const absl::flat_hash_set<int64_t> bad_ends(entry.recent_bad_ends.begin(),
                                              entry.recent_bad_ends.end());
  int64_t after = 0;
  while (true) {
    absl::StatusOr<std::vector<TrialRow>> rows =
        store_->LoadTrials(entry.row.id, after, 5000);
    if (!rows.ok()) {
      // Known incomplete: the next failure of a candidate tries again.
      entry.best_candidates_complete = false;
      entry.best_needs_rescan = entry.best_candidates.empty();
      break;
    }
    if (rows->empty()) break;
    after = rows->back().number;
    for (const TrialRow& row : *rows) {
      // Trials still running are offered below, with their values in
      // memory; those that ended badly lately may not have that end stored
      // yet. A row still stored as running otherwise ended well, in a
      // change not committed yet.
      if (entry.running.contains(row.number) || bad_ends.contains(row.number)) {
        continue;
      }
      if (row.state != v1::TRIAL_STATE_FINISHED &&
          row.state != v1::TRIAL_STATE_STOPPED &&
          row.state != v1::TRIAL_STATE_RUNNING) {
        continue;
      }
      if (row.best_value) entry.OfferBest(row.number, *row.best_value);
    }
  }
  for (const auto& [number, trial] : entry.running) {
    if (trial.row.best_value) entry.OfferBest(number, *trial.row.best_value);
  }
}

int SweepManager::ExpireLeases() {
  if (!CheckWritable().ok()) return 0;
  const int64_t now = clock_->NowMs();
  if (const int64_t busy_since = store_->BusySinceMs();
      busy_since > 0 && now - busy_since >= kStoreStallMs) {
    const int64_t from = std::max(busy_since, stall_extended_to_ms_.load());
    if (stall_extended_to_ms_.load() < busy_since) {
      std::cerr << "sweep server: a store operation has been under way for "
                << (now - busy_since) / 1000.0
                << " s (a stalled disk?); running trials' leases are "
                   "extended until it ends"
                << std::endl;
    }
    ExtendLeases(std::max<int64_t>(now - from, 0));
    // And the time this call waited for a sweep's lock (held by a call
    // waiting on the store).
    const int64_t after = clock_->NowMs();
    if (after > now) ExtendLeases(after - now);
    stall_extended_to_ms_.store(after);
    return 0;
  }
  std::vector<SweepEntry*> entries;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : sweeps_) entries.push_back(entry.get());
  }
  int expired = 0;
  // Commits not acknowledged yet; shared with their callbacks, which may
  // still be unlocking it when this call returns.
  struct Uncommitted {
    absl::Mutex mu;
    int count ABSL_GUARDED_BY(mu) = 0;
  };
  auto uncommitted = std::make_shared<Uncommitted>();
  for (SweepEntry* entry : entries) {
    absl::MutexLock lock(&entry->mu);
    std::vector<int64_t> lost;
    for (const auto& [number, trial] : entry->running) {
      if (trial.lease_expires_ms < now) lost.push_back(number);
    }
    if (lost.empty()) continue;
    Mutation mutation;
    for (int64_t number : lost) {
      // It ended, as far as anyone knows, when its agent was last heard
      // (its duration is not the lease's length).
      const RunningTrial& trial = entry->running.at(number);
      const int64_t last_heard =
          std::clamp(trial.lease_expires_ms - options_.lease_timeout_ms,
                     trial.row.created_ms, now);
      mutation.trials.push_back(
          trial.unheld_heartbeats >= 2
              ? EndTrial(*entry, number, v1::TRIAL_STATE_CRASHED,
                         "never started: the reply handing it out did not "
                         "reach its agent, whose heartbeats do not list it",
                         trial.row.created_ms)
              : EndTrial(*entry, number, v1::TRIAL_STATE_CRASHED,
                         absl::StrCat("lease expired: no heartbeat for ",
                                      options_.lease_timeout_ms, " ms"),
                         last_heard));
    }
    expired += static_cast<int>(lost.size());
    SettleState(*entry, mutation);
    {
      absl::MutexLock count_lock(&uncommitted->mu);
      ++uncommitted->count;
    }
    Commit(std::move(mutation), [uncommitted](const absl::Status&) {
      absl::MutexLock count_lock(&uncommitted->mu);
      --uncommitted->count;
    });
  }
  {
    absl::MutexLock count_lock(&uncommitted->mu);
    uncommitted->mu.Await(absl::Condition(
        +[](Uncommitted* u)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return u->count == 0; },
        uncommitted.get()));
  }
  // A store that stalled on these commits (or on a read under a sweep's
  // lock) held this thread, which then could not extend the leases for it.
  const int64_t after = clock_->NowMs();
  if (after - now >= kStoreStallMs) {
    ExtendLeases(after - now);
    stall_extended_to_ms_.store(after);
  }
  return expired;
}

}  // namespace sweep
