// The controller's logic: sweeps, trials, leases and agents, apart from the
// transport (ARCHITECTURE.md; Ray's GCS managers). Every method that changes
// state updates the in-memory state under the sweep's lock (so a concurrent
// AcquireTrial sees every handed-out point) and, still under that lock,
// queues the change on the store's group commit, so that the store applies a
// sweep's changes in the order they were made (rows are written whole: a
// later snapshot must never be overwritten by an earlier one). It calls
// `done` only once the change is committed: a reply sent from `done`
// acknowledges committed state.
//
// Memory holds what decisions need: per sweep its spec, the searcher's view
// of each ended trial (state, point, value) and the running trials in full.
// Metric histories, logs and summaries of ended trials live in the store and
// are read from it on request.
//
// If a store write fails (a full disk), the manager refuses every later
// change with Unavailable until it is restarted, so memory never runs ahead
// of what can be recovered. Thread-safe.
#ifndef SWEEP_CONTROLLER_SWEEP_MANAGER_H_
#define SWEEP_CONTROLLER_SWEEP_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/clock.h"
#include "controller/store.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

struct RunningTrial;

struct ManagerOptions {
  int64_t lease_timeout_ms = 30'000;
  int64_t heartbeat_interval_ms = 5'000;
  // How long an agent is told to wait when there is nothing to run now.
  int64_t retry_after_ms = 2'000;
  // How often expired leases are looked for (by the reaper thread, when
  // started).
  int64_t reap_interval_ms = 500;
};

class SweepManager {
 public:
  using Done = std::function<void(const absl::Status&)>;

  // Recovers every sweep, trial and agent from `store`. Running trials get a
  // fresh lease (their agents carry on through a controller restart). Both
  // pointers must outlive the manager.
  static absl::StatusOr<std::unique_ptr<SweepManager>> Create(
      Store* store, const Clock* clock, const ManagerOptions& options);
  ~SweepManager();

  // Starts the thread that expires leases every reap_interval_ms; tests call
  // ExpireLeases() themselves instead.
  void StartReaper();

  // The store it writes to (for a Store::CommitHere around a call).
  Store* store() const { return store_; }

  // SweepService.
  void CreateSweep(const v1::CreateSweepRequest& request,
                   v1::CreateSweepResponse* response, Done done);
  absl::Status GetSweep(const v1::GetSweepRequest& request,
                        v1::Sweep* response);
  absl::Status ListSweeps(v1::ListSweepsResponse* response);
  void UpdateSweepState(const v1::UpdateSweepStateRequest& request,
                        v1::Sweep* response, Done done);
  absl::Status ListTrials(const v1::ListTrialsRequest& request,
                          v1::ListTrialsResponse* response);
  absl::Status GetTrial(const v1::GetTrialRequest& request,
                        v1::Trial* response);
  absl::Status GetBestTrial(const v1::GetBestTrialRequest& request,
                            v1::Trial* response);

  // AgentService.
  void RegisterAgent(const v1::RegisterAgentRequest& request,
                     v1::RegisterAgentResponse* response, Done done);
  void AcquireTrial(const v1::AcquireTrialRequest& request,
                    v1::AcquireTrialResponse* response, Done done);
  absl::Status Heartbeat(const v1::HeartbeatRequest& request,
                         v1::HeartbeatResponse* response);
  void ReportMetrics(const v1::ReportMetricsRequest& request,
                     v1::ReportMetricsResponse* response, Done done);
  void FinishTrial(const v1::FinishTrialRequest& request,
                   v1::FinishTrialResponse* response, Done done);

  // Marks running trials whose lease ran out as crashed (a lost grid point
  // goes back to the queue). Returns how many it expired. While a store
  // operation has been under way for kStoreStallMs or more (a stalled
  // disk), it expires none and extends the leases by the stall instead: the
  // calls waiting on the store may hold every thread that would hear the
  // agents' heartbeats (and their trials' ends could not be committed).
  int ExpireLeases();
  static constexpr int64_t kStoreStallMs = 1'000;
  // Moves every running trial's lease deadline `ms` later: the time the
  // controller could not hear heartbeats (the reaper calls it after a
  // stall or a clock jump).
  void ExtendLeases(int64_t ms);

  class SweepEntry;
  struct AgentEntry;

 private:
  SweepManager(Store* store, const Clock* clock, const ManagerOptions& options);
  absl::Status Recover();
  absl::Status RecoverTrials(SweepEntry& entry, int64_t now);
  // How many agents of each sweep were heard from within a lease.
  absl::flat_hash_map<std::string, int64_t> LiveAgents() const;
  // Replays a stored trial's metric into the sweep's stopping rule.
  absl::Status RecoverStopping(SweepEntry& entry, const TrialRow& row);
  // Ends a running trial its agent finished; fills the reply and the rows to
  // commit. Requires entry.mu.
  void EndFinishedTrial(SweepEntry& entry, RunningTrial& trial,
                        const v1::FinishTrialRequest& request,
                        v1::FinishTrialResponse* response, Mutation& mutation);

  // entry.EndTrial, and when every candidate for the best has failed, the
  // best found again from the store. Requires entry.mu.
  TrialRow EndTrial(SweepEntry& entry, int64_t number, int state,
                    const std::string& reason, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  void RescanBest(SweepEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  // After trials ended: the sweep's state as their ends leave it (a grid
  // covered, a target reached by a trial that then failed); a changed row
  // goes into `mutation`.
  void SettleState(SweepEntry& entry, Mutation& mutation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  // After a restart: the trial that finished the sweep by reaching its
  // target, when it still runs (it may yet fail; see ReconsiderTarget).
  void RecoverTargetTrial(SweepEntry& entry);

  // The sweep, or NotFound naming the id.
  absl::StatusOr<SweepEntry*> FindSweep(const std::string& id);
  // Notes when the agent was last heard from (0: it left), and its pid scope
  // when none is known (after a restart), and gives a copy of its row;
  // NotFound naming the id for an unknown agent.
  absl::StatusOr<AgentRow> HeardFrom(const std::string& id, int64_t heard_ms,
                                     const std::string& pid_scope);
  std::string NewSweepId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Queues `mutation`; `done` gets the commit's status. A failure poisons the
  // manager (see the class comment).
  void Commit(Mutation mutation, Done done);
  absl::Status CheckWritable() const;

  Store* const store_;
  const Clock* const clock_;
  const ManagerOptions options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<SweepEntry>> sweeps_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<AgentEntry>> agents_
      ABSL_GUARDED_BY(mu_);
  // Agent name -> id, for agents that registered with a stable name.
  absl::flat_hash_map<std::string, std::string> agent_names_
      ABSL_GUARDED_BY(mu_);

  std::atomic<bool> store_failed_{false};
  // Why, once store_failed_ is set (then constant).
  absl::Mutex store_failure_mu_;
  std::string store_failure_ ABSL_GUARDED_BY(store_failure_mu_);
  // CheckWritable's message with the failure, for Sweep.controller_problem;
  // empty while the store works.
  std::string ControllerProblem();
  // Until when a store stall's time was added to the leases.
  std::atomic<int64_t> stall_extended_to_ms_{0};
  absl::Mutex reaper_mu_;
  bool stopping_ ABSL_GUARDED_BY(reaper_mu_) = false;
  std::thread reaper_;
};

// The gRPC status for an absl::Status, used by the service adapters.
int GrpcCode(const absl::Status& status);

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_SWEEP_MANAGER_H_
