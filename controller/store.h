// The controller's durable state: an SQLite database (WAL) under the data
// directory. Writes go through a group-commit queue: each Write() is applied
// in a transaction shared with every write queued meanwhile, and its callback
// runs only after that transaction committed, so a reply sent from the
// callback acknowledges committed state. Reads see committed state only.
//
// Thread-safe: Write() and the Load*() methods may be called from any thread.
#ifndef SWEEP_CONTROLLER_STORE_H_
#define SWEEP_CONTROLLER_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/clock.h"

namespace sweep {

struct SweepRow {
  std::string id;
  std::string name;
  std::string definition_yaml;  // As submitted.
  std::string file_name;
  int state = 0;  // sweep.v1.SweepState.
  std::string state_reason;
  int64_t created_ms = 0;
  int64_t next_trial_number = 1;
};

struct TrialRow {
  std::string sweep_id;
  int64_t number = 0;
  int state = 0;            // sweep.v1.TrialState.
  std::string config_json;  // Nested, as the program receives it.
  std::string point_json;   // Flattened values aligned with the spec.
  std::string agent_id;
  std::string host;
  std::string lease_id;
  int64_t created_ms = 0;
  int64_t ended_ms = 0;
  int exit_code = 0;
  int signal = 0;
  std::string log_tail;
  int64_t last_sequence = 0;         // Highest metric report stored.
  std::string summary_json;          // {"key": last value, ...}
  std::optional<double> best_value;  // Of the sweep metric.
  std::string prediction_json;       // {"mean":..,"stddev":..,"acquisition":..}
  std::string stop_json;             // The StopDecision, when stopped.
  std::string end_reason;
  int64_t metric_points = 0;
  int64_t malformed_lines = 0;
  int attempt = 0;
};

struct MetricPointRow {
  int64_t step = 0;
  int64_t time_ms = 0;
  std::vector<std::pair<std::string, double>> values;
};

// Where a page of a trial's history starts, and how much it holds.
struct HistoryRange {
  // The points after this (sequence, index), a page's `last`; from the
  // first point when unset.
  std::optional<std::pair<int64_t, int64_t>> after;
  int64_t offset = 0;  // Then this many more are skipped.
  int64_t limit = std::numeric_limits<int64_t>::max();
  // No more points once they hold this many bytes (names, 16 bytes a value
  // and a point); at least one.
  int64_t max_bytes = std::numeric_limits<int64_t>::max();
};

struct HistoryPage {
  std::vector<MetricPointRow> points;
  bool cut = false;   // Points were left after these.
  int64_t bytes = 0;  // What the points hold, counted as max_bytes counts.
  std::pair<int64_t, int64_t> last{0,
                                   0};  // The last point's (sequence, index).
};

// The points of one metric report. A point's values are read back sorted by
// key; a point without values stores nothing.
struct MetricAppend {
  std::string sweep_id;
  int64_t number = 0;
  int64_t sequence = 0;
  std::vector<MetricPointRow> points;
};

struct AgentRow {
  std::string id;
  std::string name;
  std::string sweep_id;
  std::string host;
  int slots = 1;
  std::string gpus_json;  // ["0","1"]
  int64_t pid = 0;
  int64_t registered_ms = 0;
};

// Rows to upsert (replace whole rows by primary key) and metric points to
// append (a point already stored under the same sweep, trial, sequence and
// index is ignored), applied in this order within one transaction.
struct Mutation {
  std::vector<SweepRow> sweeps;
  std::vector<AgentRow> agents;
  std::vector<TrialRow> trials;
  std::vector<MetricAppend> metrics;
};

struct StoreOptions {
  // FULL: fsync at every group commit (survives power loss). NORMAL: survives
  // a crash of the controller process, not of the machine.
  bool synchronous_full = true;
  // Test-only: caps the database at this many pages (0: no cap) so that a
  // test can make writes fail as on a full disk.
  int64_t max_page_count = 0;
  // Test-only: the writer thread calls this with each write, in the order
  // they are applied, before committing them (so a test can see that order,
  // or hold the writer while it queues more).
  std::function<void(const Mutation&)> before_commit_for_testing;
  // What BusySinceMs() reads (nullptr: the system clock). Must outlive the
  // store.
  const Clock* clock = nullptr;
};

class Store {
 public:
  class Impl;
  using Done = std::function<void(const absl::Status&)>;

  // Opens (creating if needed) `data_dir`/sweep.db. Fails with a message
  // naming the path when the directory cannot be created, the file is not a
  // database, fails its integrity check, or has a schema from a newer
  // version; it never discards data to get going.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& data_dir, const StoreOptions& options = {});

  // Drains the queue (every queued write is committed or failed) and closes.
  ~Store();

  // Queues `mutation`; `done` runs once it committed or failed (Unavailable
  // with the cause, e.g. a full disk; nothing of a failed transaction is
  // kept), on the thread that committed it (see CommitHere), the callbacks
  // of earlier commits first. `done` must not call Write() or WriteSync()
  // (a write queued from it at shutdown would never run), and should be
  // quick: the next commit waits for it. `done` may be empty.
  void Write(Mutation mutation, Done done);
  // Write() and wait (committed by the store's writer thread).
  absl::Status WriteSync(Mutation mutation);

  // While one lives on a thread, the writes that thread queues are not
  // handed to the store's writer thread: when it ends (the outermost, when
  // nested), after the caller released its locks, this thread commits them
  // and runs their callbacks, unless another thread is committing, which
  // then takes them. A gRPC handler so commits its own change and sends its
  // reply, instead of waking a writer thread that wakes another for the
  // reply: on a busy machine each such hand-off cost more than the commit.
  class CommitHere {
   public:
    explicit CommitHere(Store* store);
    ~CommitHere();
    CommitHere(const CommitHere&) = delete;
    CommitHere& operator=(const CommitHere&) = delete;

   private:
    Impl* const impl_;
    const Impl* const outer_;
  };

  // In creation order (created_ms, then id).
  absl::StatusOr<std::vector<SweepRow>> LoadSweeps();
  // In registration order (registered_ms, then id).
  absl::StatusOr<std::vector<AgentRow>> LoadAgents();
  // Trials of a sweep with number > after_number, in number order, at most
  // `limit` of them (InvalidArgument when limit < 0).
  absl::StatusOr<std::vector<TrialRow>> LoadTrials(const std::string& sweep_id,
                                                   int64_t after_number,
                                                   int64_t limit);
  // NotFound when there is no such trial.
  absl::StatusOr<TrialRow> LoadTrial(const std::string& sweep_id,
                                     int64_t number);
  // Every point of a trial, in logging order (sequence, then index).
  absl::StatusOr<std::vector<MetricPointRow>> LoadHistory(
      const std::string& sweep_id, int64_t number);
  // A page of them: see HistoryRange. A page after another starts where it
  // stopped, with no rescan of the points before it.
  absl::StatusOr<HistoryPage> LoadHistoryPage(const std::string& sweep_id,
                                              int64_t number,
                                              const HistoryRange& range);
  // The values of one metric key of a trial in logging order (what the
  // stopping rules need after a restart).
  absl::StatusOr<std::vector<double>> LoadMetricSeries(
      const std::string& sweep_id, int64_t number, const std::string& key);

  // When the oldest store operation now under way (a group commit, a read)
  // started, by StoreOptions::clock; 0 when none is. One under way for long
  // means the disk stalled (a frozen or hung file system): the calls that
  // wait on it hold threads that would serve others.
  int64_t BusySinceMs() const;

  // How many group commits ran and how many writes they carried.
  struct Stats {
    int64_t commits = 0;
    int64_t writes = 0;
  };
  Stats stats();

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_STORE_H_
