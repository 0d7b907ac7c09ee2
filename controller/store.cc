#include "controller/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/types/span.h"
#include "search/status_macros.h"

namespace sweep {
namespace {

constexpr int64_t kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;
constexpr char kDatabaseFile[] = "sweep.db";
// A write-ahead log longer than its header holds frames.
constexpr off_t kWalHeaderBytes = 32;

// ---------------------------------------------------------------------------
// Errors.

absl::StatusCode CodeForSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

// The status for `rc`, carrying the connection's message for it.
absl::Status SqliteError(sqlite3* db, int rc) {
  return absl::Status(CodeForSqlite(rc), sqlite3_errmsg(db));
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// ---------------------------------------------------------------------------
// Connections and statements.

// Doubles SQLite's REAL column cannot hold exactly (NaN becomes NULL, -0.0
// becomes 0) are stored as their IEEE-754 bits in a companion column.
bool NeedsBits(double v) {
  return !std::isfinite(v) || (v == 0 && std::signbit(v));
}

int64_t ToBits(double v) {
  int64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

double FromBits(int64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// A cached statement in use: binds parameters left to right and resets the
// statement when it goes out of scope, so the cache can hand it out again.
// Text is bound without a copy, so bound strings must outlive the object.
class ScopedStatement {
 public:
  explicit ScopedStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedStatement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;

  ScopedStatement& Text(const std::string& s) {
    return Check(sqlite3_bind_text64(stmt_, next_param_++, s.data(), s.size(),
                                     SQLITE_STATIC, SQLITE_UTF8));
  }
  ScopedStatement& Int(int64_t v) {
    return Check(sqlite3_bind_int64(stmt_, next_param_++, v));
  }
  // Binds two parameters: the REAL value and its bits (see NeedsBits).
  ScopedStatement& Double(double v) {
    if (NeedsBits(v)) return Null().Int(ToBits(v));
    return Check(sqlite3_bind_double(stmt_, next_param_++, v)).Null();
  }
  ScopedStatement& OptionalDouble(const std::optional<double>& v) {
    return v.has_value() ? Double(*v) : Null().Null();
  }

  // SQLITE_ROW, SQLITE_DONE, or an error code (a failed bind's first).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }
  // Steps a statement that returns no rows.
  absl::Status Run() {
    const int rc = Step();
    return rc == SQLITE_DONE ? absl::OkStatus() : Error(rc);
  }
  absl::Status Error(int rc) const {
    return SqliteError(sqlite3_db_handle(stmt_), rc);
  }

  // Readers of the current row.
  std::string TextAt(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text),
                       sqlite3_column_bytes(stmt_, column));
  }
  int64_t IntAt(int column) const {
    return sqlite3_column_int64(stmt_, column);
  }
  // Reads what Double() bound: columns `column` and `column` + 1.
  std::optional<double> OptionalDoubleAt(int column) const {
    if (sqlite3_column_type(stmt_, column + 1) != SQLITE_NULL) {
      return FromBits(sqlite3_column_int64(stmt_, column + 1));
    }
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, column);
  }
  double DoubleAt(int column) const {
    return OptionalDoubleAt(column).value_or(std::nan(""));
  }

 private:
  ScopedStatement& Null() {
    return Check(sqlite3_bind_null(stmt_, next_param_++));
  }
  ScopedStatement& Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3_stmt* const stmt_;
  int next_param_ = 1;
  int bind_rc_ = SQLITE_OK;
};

// Steps `query` to its end, calling `on_row` at each row.
template <typename OnRow>
absl::Status ForEachRow(ScopedStatement& query, OnRow on_row) {
  for (;;) {
    const int rc = query.Step();
    if (rc == SQLITE_DONE) return absl::OkStatus();
    if (rc != SQLITE_ROW) return query.Error(rc);
    on_row();
  }
}

// One SQLite connection and its statements, each prepared once and reused.
// Thread-compatible: its owner serializes all use.
class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, int flags) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    // The handle exists (and must be closed) even when opening failed.
    auto connection = std::unique_ptr<Connection>(new Connection(db));
    if (db == nullptr) return absl::ResourceExhaustedError("out of memory");
    if (rc != SQLITE_OK) return SqliteError(db, rc);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    return connection;
  }

  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The statement for `sql` (one statement), prepared on first use.
  absl::StatusOr<sqlite3_stmt*> Statement(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc);
    statements_.emplace(sql, stmt);
    return stmt;
  }

  // Runs a cached statement that takes no parameters and returns no rows.
  absl::Status Run(const char* sql) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Statement(sql));
    return ScopedStatement(stmt).Run();
  }

  // The rows of a one-column query without parameters (pragmas, checks).
  absl::StatusOr<std::vector<std::string>> Column(const char* sql) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Statement(sql));
    ScopedStatement query(stmt);
    std::vector<std::string> rows;
    RETURN_IF_ERROR(
        ForEachRow(query, [&] { rows.push_back(query.TextAt(0)); }));
    return rows;
  }

  // Runs `sql` (any number of statements, results discarded), uncached.
  absl::Status Exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : SqliteError(db_, rc);
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // SQLite opens a file it may not write read-only, without an error.
  bool ReadOnly() const { return sqlite3_db_readonly(db_, "main") == 1; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* const db_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

// ---------------------------------------------------------------------------
// Opening: the directory, the integrity and version checks, the schema.

// Creates `path` and its missing parents with mode 0700, like mkdir -p.
absl::Status MakeDirectories(const std::string& path) {
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string prefix = path.substr(0, end);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", prefix));
    }
    if (end == std::string::npos) break;
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::ErrnoToStatus(errno, "cannot stat");
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError("not a directory");
  }
  return absl::OkStatus();
}

// An exclusive lock on DATA_DIR/sweep.lock for as long as it lives: two
// controllers on one data dir would each hand out the same trials and
// overwrite each other's rows. flock, so the lock goes with the process
// however it ends (a SIGKILLed controller does not leave it behind).
class DataDirLock {
 public:
  static absl::StatusOr<std::unique_ptr<DataDirLock>> Take(
      const std::string& data_dir) {
    const std::string path = absl::StrCat(data_dir, "/sweep.lock");
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
    }
    std::unique_ptr<DataDirLock> lock(new DataDirLock(fd, path));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) {
        return absl::ErrnoToStatus(errno, absl::StrCat("cannot lock ", path));
      }
      char pid[32] = {};
      const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      const std::string holder =
          n > 0 ? absl::StrCat(" (pid ", absl::StripAsciiWhitespace(pid), ")")
                : "";
      return absl::FailedPreconditionError(absl::StrCat(
          "it is in use by another sweep controller", holder,
          "; stop that one first, or give this one another --data-dir"));
    }
    const std::string mine = absl::StrCat(getpid(), "\n");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, mine.data(), mine.size(), 0) !=
                                     static_cast<ssize_t>(mine.size())) {
      // The pid is only for the message above; the lock is what counts.
    }
    return lock;
  }

  // Locks the database file itself too: a controller started after
  // sweep.lock was removed (taken for a stale lock) must not write it
  // beside the one running. flock, which SQLite's own (fcntl) locks do not
  // see; the descriptor stays open until this lock goes, after the
  // database's connections (closing it earlier would drop their fcntl
  // locks).
  absl::Status LockDatabase(const std::string& path) {
    db_fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (db_fd_ < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
    }
    if (flock(db_fd_, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
    if (errno != EWOULDBLOCK) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot lock ", path));
    }
    // The sweep.lock this one made names it, soon gone: leave none.
    struct stat ours, named;
    if (fstat(fd_, &ours) == 0 && stat(path_.c_str(), &named) == 0 &&
        ours.st_ino == named.st_ino && ours.st_dev == named.st_dev) {
      unlink(path_.c_str());
    }
    return absl::FailedPreconditionError(
        "sweep.db is in use by another sweep controller (this data dir's "
        "sweep.lock was removed while it ran); stop that one first");
  }

  ~DataDirLock() {
    if (db_fd_ >= 0) close(db_fd_);
    close(fd_);
  }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  DataDirLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  const int fd_;
  const std::string path_;  // Of sweep.lock.
  int db_fd_ = -1;
};

// Refuses a file that is not a database or fails SQLite's quick check.
// Reads only: a damaged file is left exactly as it was.
absl::Status CheckIntegrity(Connection& db) {
  absl::StatusOr<std::vector<std::string>> problems =
      db.Column("PRAGMA quick_check(5)");
  if (!problems.ok()) {
    if (problems.status().code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(
          absl::StrCat("sweep.db is corrupt: ", problems.status().message()));
    }
    return WithPrefix(problems.status(), "cannot read sweep.db: ");
  }
  if (*problems == std::vector<std::string>{"ok"}) return absl::OkStatus();
  // Rows may hold several lines; keep the message on one.
  return absl::DataLossError(absl::StrCat(
      "sweep.db is corrupt: ",
      absl::StrReplaceAll(absl::StrJoin(*problems, "; "), {{"\n", "; "}})));
}

// True when the database is empty (new); an error unless it holds this
// version's schema.
absl::StatusOr<bool> CheckSchemaVersion(Connection& db) {
  ASSIGN_OR_RETURN(const std::vector<std::string> tables,
                   db.Column("SELECT name FROM sqlite_schema "
                             "WHERE type = 'table' ORDER BY name"));
  if (tables.empty()) return true;
  if (std::find(tables.begin(), tables.end(), "meta") == tables.end()) {
    return absl::FailedPreconditionError(
        "sweep.db is not a sweep database: it has tables but no meta table");
  }
  ASSIGN_OR_RETURN(
      const std::vector<std::string> versions,
      db.Column("SELECT value FROM meta WHERE key = 'schema_version'"));
  int64_t version = 0;
  if (versions.size() != 1 || !absl::SimpleAtoi(versions[0], &version)) {
    return absl::FailedPreconditionError(
        "sweep.db has no valid schema_version in its meta table");
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep.db has schema version ", version,
                     ", newer than this build of sweep supports (",
                     kSchemaVersion, "); run a newer sweep"));
  }
  if (version != kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep.db has unknown schema version ", version));
  }
  return false;
}

absl::Status ConfigureWriter(Connection& db, const StoreOptions& options) {
  if (db.ReadOnly()) {
    // Else the controller would start, and fail its first write.
    return absl::FailedPreconditionError(
        "sweep.db can only be read (its permissions, its owner, or a "
        "read-only mount): the controller must write its state there");
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> mode,
                   db.Column("PRAGMA journal_mode = WAL"));
  if (mode != std::vector<std::string>{"wal"}) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep.db cannot use write-ahead logging (journal mode is ",
        absl::StrJoin(mode, ","), ")"));
  }
  RETURN_IF_ERROR(db.Exec(options.synchronous_full
                              ? "PRAGMA synchronous = FULL"
                              : "PRAGMA synchronous = NORMAL"));
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = OFF"));
  if (options.max_page_count > 0) {
    RETURN_IF_ERROR(
        db.Exec(absl::StrCat("PRAGMA max_page_count = ", options.max_page_count)
                    .c_str()));
  }
  return absl::OkStatus();
}

// Doubles are stored as (REAL, bits INTEGER) pairs; see NeedsBits. Metric rows
// are small and read by key range, hence WITHOUT ROWID; trial rows carry log
// tails of up to 64 KiB, which a rowid table stores better.
constexpr char kCreateSchema[] = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  definition_yaml TEXT NOT NULL,
  file_name TEXT NOT NULL,
  state INTEGER NOT NULL,
  state_reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  next_trial_number INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  sweep_id TEXT NOT NULL,
  host TEXT NOT NULL,
  slots INTEGER NOT NULL,
  gpus_json TEXT NOT NULL,
  pid INTEGER NOT NULL,
  registered_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
  sweep_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  state INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  point_json TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  host TEXT NOT NULL,
  lease_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  exit_code INTEGER NOT NULL,
  signal INTEGER NOT NULL,
  log_tail TEXT NOT NULL,
  last_sequence INTEGER NOT NULL,
  summary_json TEXT NOT NULL,
  best_value REAL,
  best_value_bits INTEGER,
  prediction_json TEXT NOT NULL,
  stop_json TEXT NOT NULL,
  end_reason TEXT NOT NULL,
  metric_points INTEGER NOT NULL,
  malformed_lines INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, number));
CREATE TABLE IF NOT EXISTS metrics (
  sweep_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  point_index INTEGER NOT NULL,
  key TEXT NOT NULL,
  step INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  value REAL,
  value_bits INTEGER,
  PRIMARY KEY (sweep_id, number, sequence, point_index, key)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', 1);
COMMIT;
)sql";

absl::Status CreateSchema(Connection& db) {
  absl::Status status = db.Exec(kCreateSchema);
  if (!status.ok() && db.InTransaction()) db.Exec("ROLLBACK").IgnoreError();
  return WithPrefix(status, "cannot create the schema in sweep.db: ");
}

// Readies the write connection: checks what is there before changing
// anything, then configures it and creates the schema of a new database.
absl::Status PrepareDatabase(Connection& db, const StoreOptions& options) {
  RETURN_IF_ERROR(CheckIntegrity(db));
  ASSIGN_OR_RETURN(const bool is_new, CheckSchemaVersion(db));
  RETURN_IF_ERROR(ConfigureWriter(db, options));
  if (is_new) RETURN_IF_ERROR(CreateSchema(db));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Rows. Each writer binds in the column order of its INSERT; each reader reads
// in the column order of its SELECT. Writers update an existing row in place
// (ON CONFLICT DO UPDATE): INSERT OR REPLACE would delete it and insert it
// again under a new rowid, dirtying more pages on every report and acquire.

absl::Status UpsertSweep(Connection& db, const SweepRow& row) {
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      db.Statement("INSERT INTO sweeps (id, name, definition_yaml, "
                   "file_name, state, state_reason, created_ms, "
                   "next_trial_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                   "definition_yaml = excluded.definition_yaml, "
                   "file_name = excluded.file_name, state = excluded.state, "
                   "state_reason = excluded.state_reason, "
                   "created_ms = excluded.created_ms, "
                   "next_trial_number = excluded.next_trial_number"));
  ScopedStatement upsert(stmt);
  upsert.Text(row.id).Text(row.name).Text(row.definition_yaml);
  upsert.Text(row.file_name).Int(row.state).Text(row.state_reason);
  upsert.Int(row.created_ms).Int(row.next_trial_number);
  return upsert.Run();
}

constexpr char kSelectSweeps[] =
    "SELECT id, name, definition_yaml, file_name, state, state_reason, "
    "created_ms, next_trial_number FROM sweeps ORDER BY created_ms, id";

SweepRow ReadSweep(const ScopedStatement& query) {
  SweepRow row;
  row.id = query.TextAt(0);
  row.name = query.TextAt(1);
  row.definition_yaml = query.TextAt(2);
  row.file_name = query.TextAt(3);
  row.state = static_cast<int>(query.IntAt(4));
  row.state_reason = query.TextAt(5);
  row.created_ms = query.IntAt(6);
  row.next_trial_number = query.IntAt(7);
  return row;
}

absl::Status UpsertAgent(Connection& db, const AgentRow& row) {
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      db.Statement("INSERT INTO agents (id, name, sweep_id, host, "
                   "slots, gpus_json, pid, registered_ms) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                   "SET name = excluded.name, sweep_id = excluded.sweep_id, "
                   "host = excluded.host, slots = excluded.slots, "
                   "gpus_json = excluded.gpus_json, pid = excluded.pid, "
                   "registered_ms = excluded.registered_ms"));
  ScopedStatement upsert(stmt);
  upsert.Text(row.id).Text(row.name).Text(row.sweep_id).Text(row.host);
  upsert.Int(row.slots).Text(row.gpus_json).Int(row.pid);
  upsert.Int(row.registered_ms);
  return upsert.Run();
}

constexpr char kSelectAgents[] =
    "SELECT id, name, sweep_id, host, slots, gpus_json, pid, registered_ms "
    "FROM agents ORDER BY registered_ms, id";

AgentRow ReadAgent(const ScopedStatement& query) {
  AgentRow row;
  row.id = query.TextAt(0);
  row.name = query.TextAt(1);
  row.sweep_id = query.TextAt(2);
  row.host = query.TextAt(3);
  row.slots = static_cast<int>(query.IntAt(4));
  row.gpus_json = query.TextAt(5);
  row.pid = query.IntAt(6);
  row.registered_ms = query.IntAt(7);
  return row;
}

absl::Status UpsertTrial(Connection& db, const TrialRow& row) {
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      db.Statement(
          "INSERT INTO trials (sweep_id, number, state, "
          "config_json, point_json, agent_id, host, lease_id, created_ms, "
          "ended_ms, exit_code, signal, log_tail, last_sequence, "
          "summary_json, best_value, best_value_bits, prediction_json, "
          "stop_json, end_reason, metric_points, malformed_lines, attempt) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
          "?, ?, ?) ON CONFLICT (sweep_id, number) DO UPDATE SET "
          "state = excluded.state, config_json = excluded.config_json, "
          "point_json = excluded.point_json, agent_id = excluded.agent_id, "
          "host = excluded.host, lease_id = excluded.lease_id, "
          "created_ms = excluded.created_ms, ended_ms = excluded.ended_ms, "
          "exit_code = excluded.exit_code, signal = excluded.signal, "
          "log_tail = excluded.log_tail, "
          "last_sequence = excluded.last_sequence, "
          "summary_json = excluded.summary_json, "
          "best_value = excluded.best_value, "
          "best_value_bits = excluded.best_value_bits, "
          "prediction_json = excluded.prediction_json, "
          "stop_json = excluded.stop_json, end_reason = excluded.end_reason, "
          "metric_points = excluded.metric_points, "
          "malformed_lines = excluded.malformed_lines, "
          "attempt = excluded.attempt"));
  ScopedStatement upsert(stmt);
  upsert.Text(row.sweep_id).Int(row.number).Int(row.state);
  upsert.Text(row.config_json).Text(row.point_json).Text(row.agent_id);
  upsert.Text(row.host).Text(row.lease_id).Int(row.created_ms);
  upsert.Int(row.ended_ms).Int(row.exit_code).Int(row.signal);
  upsert.Text(row.log_tail).Int(row.last_sequence).Text(row.summary_json);
  upsert.OptionalDouble(row.best_value).Text(row.prediction_json);
  upsert.Text(row.stop_json).Text(row.end_reason).Int(row.metric_points);
  upsert.Int(row.malformed_lines).Int(row.attempt);
  return upsert.Run();
}

#define SWEEP_SELECT_TRIALS_                                                  \
  "SELECT sweep_id, number, state, config_json, point_json, agent_id, host, " \
  "lease_id, created_ms, ended_ms, exit_code, signal, log_tail, "             \
  "last_sequence, summary_json, best_value, best_value_bits, "                \
  "prediction_json, stop_json, end_reason, metric_points, malformed_lines, "  \
  "attempt FROM trials "
constexpr char kSelectTrialPage[] = SWEEP_SELECT_TRIALS_
    "WHERE sweep_id = ? AND number > ? ORDER BY number LIMIT ?";
constexpr char kSelectTrial[] =
    SWEEP_SELECT_TRIALS_ "WHERE sweep_id = ? AND number = ?";
#undef SWEEP_SELECT_TRIALS_

TrialRow ReadTrial(const ScopedStatement& query) {
  TrialRow row;
  row.sweep_id = query.TextAt(0);
  row.number = query.IntAt(1);
  row.state = static_cast<int>(query.IntAt(2));
  row.config_json = query.TextAt(3);
  row.point_json = query.TextAt(4);
  row.agent_id = query.TextAt(5);
  row.host = query.TextAt(6);
  row.lease_id = query.TextAt(7);
  row.created_ms = query.IntAt(8);
  row.ended_ms = query.IntAt(9);
  row.exit_code = static_cast<int>(query.IntAt(10));
  row.signal = static_cast<int>(query.IntAt(11));
  row.log_tail = query.TextAt(12);
  row.last_sequence = query.IntAt(13);
  row.summary_json = query.TextAt(14);
  row.best_value = query.OptionalDoubleAt(15);  // And 16, its bits.
  row.prediction_json = query.TextAt(17);
  row.stop_json = query.TextAt(18);
  row.end_reason = query.TextAt(19);
  row.metric_points = query.IntAt(20);
  row.malformed_lines = query.IntAt(21);
  row.attempt = static_cast<int>(query.IntAt(22));
  return row;
}

absl::Status AppendMetrics(Connection& db, const MetricAppend& append) {
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      db.Statement("INSERT OR IGNORE INTO metrics (sweep_id, number, "
                   "sequence, point_index, key, step, time_ms, value, "
                   "value_bits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (size_t index = 0; index < append.points.size(); ++index) {
    const MetricPointRow& point = append.points[index];
    for (const auto& [key, value] : point.values) {
      ScopedStatement insert(stmt);
      insert.Text(append.sweep_id).Int(append.number).Int(append.sequence);
      insert.Int(static_cast<int64_t>(index)).Text(key).Int(point.step);
      insert.Int(point.time_ms).Double(value);
      RETURN_IF_ERROR(insert.Run());
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyMutation(Connection& db, const Mutation& mutation) {
  for (const SweepRow& row : mutation.sweeps) {
    RETURN_IF_ERROR(UpsertSweep(db, row));
  }
  for (const AgentRow& row : mutation.agents) {
    RETURN_IF_ERROR(UpsertAgent(db, row));
  }
  for (const TrialRow& row : mutation.trials) {
    RETURN_IF_ERROR(UpsertTrial(db, row));
  }
  for (const MetricAppend& append : mutation.metrics) {
    RETURN_IF_ERROR(AppendMetrics(db, append));
  }
  return absl::OkStatus();
}

// Whether a failed group commit is worth retrying write by write: yes when
// one write can cause the failure (a full database, a bad row); no when the
// database is busy or failing, where each retry would wait or fail alike.
bool OneWriteMayBeAtFault(const absl::Status& status) {
  return status.code() != absl::StatusCode::kUnavailable &&
         status.code() != absl::StatusCode::kDataLoss;
}

absl::Status ReadFailure(const absl::Status& status) {
  return WithPrefix(status, "store read failed: ");
}

}  // namespace

// ---------------------------------------------------------------------------
// The store.

namespace {
constexpr int kBatchesBeforeHandOff = 2;
// The store whose writes this thread commits itself (see CommitHere).
thread_local const Store::Impl* committer = nullptr;
}  // namespace

// Thread-safe. One thread at a time owns the write connection and commits
// whatever is queued as one transaction: the thread of a CommitHere that
// finds no commit under way, else the one committing, else the writer
// thread. Reads share one read connection, which in WAL mode sees the last
// commit and never blocks the writer.
class Store::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Open(
      const std::string& data_dir, const StoreOptions& options);

  // Starts the writer thread.
  Impl(std::unique_ptr<DataDirLock> lock, std::unique_ptr<Connection> writer_db,
       std::unique_ptr<Connection> reader_db,
       std::function<void(const Mutation&)> before_commit, const Clock* clock)
      : lock_(std::move(lock)),
        clock_(clock != nullptr ? clock : &real_clock_),
        before_commit_(std::move(before_commit)),
        writer_db_(std::move(writer_db)),
        reader_db_(std::move(reader_db)),
        writer_([this] { RunWriter(); }) {}

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    writer_.join();
  }

  // `on_this_thread`: the caller commits it (CommitHere); otherwise the
  // writer thread is woken for it.
  void Write(Mutation mutation, Done done, bool on_this_thread) {
    absl::MutexLock lock(&mu_);
    queue_.push_back({std::move(mutation), std::move(done)});
    if (!on_this_thread) ++for_writer_;
  }

  // Commits what is queued, on the calling thread, unless another thread is
  // committing (which then takes it).
  void CommitQueued() {
    {
      absl::MutexLock lock(&mu_);
      if (committing_ || queue_.empty()) return;
      committing_ = true;
    }
    CommitUntilEmpty(kBatchesBeforeHandOff);
  }

  Stats stats() {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

  int64_t BusySinceMs() const {
    const int64_t commit = commit_started_ms_.load();
    const int64_t read = read_started_ms_.load();
    if (commit == 0 || read == 0) return std::max(commit, read);
    return std::min(commit, read);
  }

  absl::StatusOr<std::vector<SweepRow>> LoadSweeps();
  absl::StatusOr<std::vector<AgentRow>> LoadAgents();
  absl::StatusOr<std::vector<TrialRow>> LoadTrials(const std::string& sweep_id,
                                                   int64_t after_number,
                                                   int64_t limit);
  absl::StatusOr<TrialRow> LoadTrial(const std::string& sweep_id,
                                     int64_t number);
  absl::StatusOr<HistoryPage> LoadHistoryPage(const std::string& sweep_id,
                                              int64_t number,
                                              const HistoryRange& range);
  absl::StatusOr<std::vector<double>> LoadMetricSeries(
      const std::string& sweep_id, int64_t number, const std::string& key);

 private:
  struct PendingWrite {
    Mutation mutation;
    Done done;
  };

  // Commits writes nobody else commits (those queued outside a CommitHere)
  // and, when stopping, what is left.
  void RunWriter();
  // With committing_ taken by the caller: commits everything queued, a
  // batch at a time (each batch's callbacks run before the next batch), then
  // gives committing_ back.
  void CommitUntilEmpty(int max_batches = std::numeric_limits<int>::max());
  void CommitBatch(std::vector<PendingWrite>& batch);
  absl::Status CommitTogether(absl::Span<const PendingWrite> writes);
  // Counts a commit of `writes` (when `status` is OK), then runs their
  // callbacks.
  void Finish(absl::Span<PendingWrite> writes, const absl::Status& status);
  bool WriterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !committing_ && (for_writer_ > 0 || handed_off_ || stopping_);
  }

  // Marks `started` with the time from construction to destruction.
  class BusyMark {
   public:
    BusyMark(std::atomic<int64_t>& started, const Clock& clock)
        : started_(started) {
      started_.store(std::max<int64_t>(clock.NowMs(), 1));
    }
    ~BusyMark() { started_.store(0); }
    BusyMark(const BusyMark&) = delete;
    BusyMark& operator=(const BusyMark&) = delete;

   private:
    std::atomic<int64_t>& started_;
  };

  // First, so that it is released last, once the connections are closed.
  const std::unique_ptr<DataDirLock> lock_;
  const RealClock real_clock_;
  const Clock* const clock_;
  // When the group commit, and the read, under way started (0: none). One
  // thread commits at a time, and reads hold read_mu_.
  std::atomic<int64_t> commit_started_ms_{0};
  std::atomic<int64_t> read_started_ms_{0};

  // Used by the writer thread only.
  const std::function<void(const Mutation&)> before_commit_;
  const std::unique_ptr<Connection> writer_db_;

  absl::Mutex read_mu_;
  const std::unique_ptr<Connection> reader_db_ ABSL_PT_GUARDED_BY(read_mu_);

  absl::Mutex mu_;
  std::vector<PendingWrite> queue_ ABSL_GUARDED_BY(mu_);
  // How many of queue_ no CommitHere will commit.
  size_t for_writer_ ABSL_GUARDED_BY(mu_) = 0;
  // A thread is committing (at most one at a time).
  bool committing_ ABSL_GUARDED_BY(mu_) = false;
  bool handed_off_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Last, so that it starts once everything it uses is built.
  std::thread writer_;
};

absl::StatusOr<std::unique_ptr<Store::Impl>> Store::Impl::Open(
    const std::string& data_dir, const StoreOptions& options) {
  if (data_dir.empty()) return absl::InvalidArgumentError("data dir is empty");
  const std::string context = absl::StrCat("data dir ", data_dir, ": ");
  RETURN_IF_ERROR(WithPrefix(MakeDirectories(data_dir), context));
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Take(data_dir);
  if (!lock.ok()) return WithPrefix(lock.status(), context);
  const std::string path = absl::StrCat(data_dir, "/", kDatabaseFile);
  const std::string cannot_open = context + "cannot open sweep.db: ";
  // SQLite takes a missing or empty database for a new one and deletes the
  // write-ahead log beside it: committed state lost for good.
  struct stat db_stat, wal_stat;
  const bool has_db = stat(path.c_str(), &db_stat) == 0;
  if (stat((path + "-wal").c_str(), &wal_stat) == 0 &&
      wal_stat.st_size > kWalHeaderBytes && (!has_db || db_stat.st_size == 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        context, "sweep.db is ", has_db ? "empty" : "missing", " but ",
        "sweep.db-wal beside it holds ", wal_stat.st_size,
        " bytes of committed changes; refusing to start, which would discard "
        "them: restore sweep.db (the three sweep.db* files are one unit)"));
  }
  if (has_db && db_stat.st_size == 0) {
    // Not one a controller left (a first start that fails before the
    // header is written removes its empty file, below): an empty copy, a
    // truncated restore.
    return absl::FailedPreconditionError(absl::StrCat(
        context,
        "sweep.db is empty (0 bytes), not a store a controller left: "
        "restore it from a backup, or delete it to start with no sweeps"));
  }

  absl::StatusOr<std::unique_ptr<Connection>> writer_db = Connection::Open(
      path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!writer_db.ok()) return WithPrefix(writer_db.status(), cannot_open);
  absl::Status prepared = (*lock)->LockDatabase(path);
  if (prepared.ok()) prepared = PrepareDatabase(**writer_db, options);
  if (prepared.code() == absl::StatusCode::kDataLoss &&
      stat((path + "-wal").c_str(), &wal_stat) == 0 &&
      wal_stat.st_size > kWalHeaderBytes) {
    // SQLite reads the log with the file: one from another copy of the
    // store makes a sound sweep.db look corrupt.
    prepared = absl::DataLossError(absl::StrCat(
        prepared.message(), " (read with sweep.db-wal beside it, ",
        wal_stat.st_size,
        " bytes: if that log came from another copy of the store, sweep.db "
        "itself may be sound; the three sweep.db* files are one unit, to be "
        "restored together)"));
  }
  if (!prepared.ok()) {
    // A new store that failed before its first write (a full disk): its
    // empty file must not be taken for an emptied store next time.
    struct stat now;
    if (!has_db && stat(path.c_str(), &now) == 0 && now.st_size == 0) {
      unlink(path.c_str());
    }
    return WithPrefix(prepared, context);
  }

  absl::StatusOr<std::unique_ptr<Connection>> reader_db =
      Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!reader_db.ok()) return WithPrefix(reader_db.status(), cannot_open);
  RETURN_IF_ERROR(
      WithPrefix((*reader_db)->Exec("PRAGMA query_only = ON"), cannot_open));
  return std::make_unique<Impl>(
      *std::move(lock), *std::move(writer_db), *std::move(reader_db),
      options.before_commit_for_testing, options.clock);
}

void Store::Impl::RunWriter() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Impl::WriterHasWork));
      if (queue_.empty()) return;  // Stopping, and drained.
      committing_ = true;
    }
    CommitUntilEmpty();
  }
}

void Store::Impl::CommitUntilEmpty(int max_batches) {
  for (int i = 0;; ++i) {
    std::vector<PendingWrite> batch;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty() || i == max_batches) {
        if (!queue_.empty()) handed_off_ = true;
        committing_ = false;
        return;
      }
      handed_off_ = false;
      batch.swap(queue_);
      for_writer_ = 0;
    }
    if (before_commit_) {
      const BusyMark busy(commit_started_ms_, *clock_);
      for (const PendingWrite& write : batch) before_commit_(write.mutation);
    }
    CommitBatch(batch);
  }
}

void Store::Impl::CommitBatch(std::vector<PendingWrite>& batch) {
  const absl::Status status = CommitTogether(batch);
  if (status.ok() || batch.size() == 1 || !OneWriteMayBeAtFault(status)) {
    Finish(absl::MakeSpan(batch), status);
    return;
  }
  // One bad write must not fail the others: retry each on its own.
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Span<PendingWrite> single = absl::MakeSpan(batch).subspan(i, 1);
    Finish(single, CommitTogether(single));
  }
}

absl::Status Store::Impl::CommitTogether(
    absl::Span<const PendingWrite> writes) {
  // Cleared before the writes' callbacks run.
  const BusyMark busy(commit_started_ms_, *clock_);
  Connection& db = *writer_db_;
  absl::Status status = db.Run("BEGIN IMMEDIATE");
  for (const PendingWrite& write : writes) {
    if (!status.ok()) break;
    status = ApplyMutation(db, write.mutation);
  }
  if (status.ok()) status = db.Run("COMMIT");
  // SQLite rolls some failures back by itself; roll back the rest.
  if (!status.ok() && db.InTransaction()) db.Run("ROLLBACK").IgnoreError();
  return status;
}

void Store::Impl::Finish(absl::Span<PendingWrite> writes,
                         const absl::Status& status) {
  absl::Status result = status;
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    ++stats_.commits;
    stats_.writes += static_cast<int64_t>(writes.size());
  } else {
    result = absl::UnavailableError(
        absl::StrCat("store write failed: ", status.message()));
  }
  for (PendingWrite& write : writes) {
    if (write.done) write.done(result);
  }
}

absl::StatusOr<std::vector<SweepRow>> Store::Impl::LoadSweeps() {
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, reader_db_->Statement(kSelectSweeps));
  ScopedStatement query(stmt);
  std::vector<SweepRow> rows;
  RETURN_IF_ERROR(ReadFailure(
      ForEachRow(query, [&] { rows.push_back(ReadSweep(query)); })));
  return rows;
}

absl::StatusOr<std::vector<AgentRow>> Store::Impl::LoadAgents() {
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, reader_db_->Statement(kSelectAgents));
  ScopedStatement query(stmt);
  std::vector<AgentRow> rows;
  RETURN_IF_ERROR(ReadFailure(
      ForEachRow(query, [&] { rows.push_back(ReadAgent(query)); })));
  return rows;
}

absl::StatusOr<std::vector<TrialRow>> Store::Impl::LoadTrials(
    const std::string& sweep_id, int64_t after_number, int64_t limit) {
  if (limit < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial page limit ", limit, " is negative"));
  }
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   reader_db_->Statement(kSelectTrialPage));
  ScopedStatement query(stmt);
  query.Text(sweep_id).Int(after_number).Int(limit);
  std::vector<TrialRow> rows;
  RETURN_IF_ERROR(ReadFailure(
      ForEachRow(query, [&] { rows.push_back(ReadTrial(query)); })));
  return rows;
}

absl::StatusOr<TrialRow> Store::Impl::LoadTrial(const std::string& sweep_id,
                                                int64_t number) {
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, reader_db_->Statement(kSelectTrial));
  ScopedStatement query(stmt);
  query.Text(sweep_id).Int(number);
  std::optional<TrialRow> row;
  RETURN_IF_ERROR(
      ReadFailure(ForEachRow(query, [&] { row = ReadTrial(query); })));
  if (!row.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("sweep ", sweep_id, " has no trial ", number));
  }
  return *std::move(row);
}

absl::StatusOr<HistoryPage> Store::Impl::LoadHistoryPage(
    const std::string& sweep_id, int64_t number, const HistoryRange& range) {
  HistoryPage page;
  if (range.limit <= 0) return page;
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  // The page's first point, inclusive: the one after `after` (no point has
  // a negative sequence or index), then `offset` further by a walk of the
  // primary key's points (which holds no values).
  std::pair<int64_t, int64_t> first{-1, -1};
  if (range.after) {
    if (range.after->second == std::numeric_limits<int64_t>::max()) {
      first = {range.after->first + 1, -1};
    } else {
      first = {range.after->first, range.after->second + 1};
    }
  }
  if (range.offset > 0) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     reader_db_->Statement(
                         "SELECT DISTINCT sequence, point_index FROM metrics "
                         "WHERE sweep_id = ? AND number = ? "
                         "AND (sequence, point_index) >= (?, ?) "
                         "ORDER BY sequence, point_index LIMIT 1 OFFSET ?"));
    ScopedStatement query(stmt);
    query.Text(sweep_id)
        .Int(number)
        .Int(first.first)
        .Int(first.second)
        .Int(range.offset);
    bool found = false;
    RETURN_IF_ERROR(ReadFailure(ForEachRow(query, [&] {
      first = {query.IntAt(0), query.IntAt(1)};
      found = true;
    })));
    if (!found) return page;
  }
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      reader_db_->Statement("SELECT sequence, point_index, step, time_ms, "
                            "key, value, value_bits FROM metrics "
                            "WHERE sweep_id = ? AND number = ? "
                            "AND (sequence, point_index) >= (?, ?) "
                            "ORDER BY sequence, point_index, key"));
  ScopedStatement query(stmt);
  query.Text(sweep_id).Int(number).Int(first.first).Int(first.second);
  std::vector<MetricPointRow>& points = page.points;
  // Rows of one point are adjacent; a new (sequence, index) starts a point.
  std::optional<std::pair<int64_t, int64_t>> current;
  int64_t& bytes = page.bytes;
  for (;;) {
    const int rc = query.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return ReadFailure(query.Error(rc));
    const std::pair<int64_t, int64_t> id{query.IntAt(0), query.IntAt(1)};
    if (current != id) {
      if (static_cast<int64_t>(points.size()) == range.limit ||
          bytes >= range.max_bytes) {
        page.cut = true;
        break;
      }
      current = id;
      page.last = id;
      points.push_back({query.IntAt(2), query.IntAt(3), {}});
      bytes += 16;
    }
    points.back().values.emplace_back(query.TextAt(4), query.DoubleAt(5));
    bytes +=
        16 + static_cast<int64_t>(points.back().values.back().first.size());
  }
  return page;
}

absl::StatusOr<std::vector<double>> Store::Impl::LoadMetricSeries(
    const std::string& sweep_id, int64_t number, const std::string& key) {
  absl::MutexLock lock(&read_mu_);
  const BusyMark busy(read_started_ms_, *clock_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      reader_db_->Statement("SELECT value, value_bits FROM metrics "
                            "WHERE sweep_id = ? AND number = ? AND key = ? "
                            "ORDER BY sequence, point_index"));
  ScopedStatement query(stmt);
  query.Text(sweep_id).Int(number).Text(key);
  std::vector<double> values;
  RETURN_IF_ERROR(ReadFailure(
      ForEachRow(query, [&] { values.push_back(query.DoubleAt(0)); })));
  return values;
}

// ---------------------------------------------------------------------------
// Store forwards to Impl.

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& data_dir, const StoreOptions& options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Open(data_dir, options);
  if (!impl.ok() && !absl::IsFailedPrecondition(impl.status())) {
    // SQLite says "disk I/O error" where it could not create a file or
    // grow one: say when the disk is full, the likely cause.
    struct statvfs disk;
    if (!data_dir.empty() && statvfs(data_dir.c_str(), &disk) == 0 &&
        static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize < (1u << 20)) {
      return absl::Status(
          impl.status().code(),
          absl::StrCat(impl.status().message(), " (the file system holding ",
                       data_dir, " is full: ",
                       static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize,
                       " bytes free)"));
    }
  }
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Store>(new Store(*std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

void Store::Write(Mutation mutation, Done done) {
  impl_->Write(std::move(mutation), std::move(done),
               /*on_this_thread=*/committer == impl_.get());
}

absl::Status Store::WriteSync(Mutation mutation) {
  absl::Notification finished;
  absl::Status result;
  // Committed by the writer thread, even in a CommitHere: this thread waits.
  impl_->Write(
      std::move(mutation),
      [&](const absl::Status& status) {
        result = status;
        finished.Notify();
      },
      /*on_this_thread=*/false);
  finished.WaitForNotification();
  return result;
}

Store::CommitHere::CommitHere(Store* store)
    : impl_(store->impl_.get()), outer_(committer) {
  committer = impl_;
}

Store::CommitHere::~CommitHere() {
  committer = outer_;
  if (outer_ != impl_) impl_->CommitQueued();
}

absl::StatusOr<std::vector<SweepRow>> Store::LoadSweeps() {
  return impl_->LoadSweeps();
}

absl::StatusOr<std::vector<AgentRow>> Store::LoadAgents() {
  return impl_->LoadAgents();
}

absl::StatusOr<std::vector<TrialRow>> Store::LoadTrials(
    const std::string& sweep_id, int64_t after_number, int64_t limit) {
  return impl_->LoadTrials(sweep_id, after_number, limit);
}

absl::StatusOr<TrialRow> Store::LoadTrial(const std::string& sweep_id,
                                          int64_t number) {
  return impl_->LoadTrial(sweep_id, number);
}

absl::StatusOr<std::vector<MetricPointRow>> Store::LoadHistory(
    const std::string& sweep_id, int64_t number) {
  ASSIGN_OR_RETURN(HistoryPage page,
                   impl_->LoadHistoryPage(sweep_id, number, HistoryRange{}));
  return std::move(page.points);
}

absl::StatusOr<HistoryPage> Store::LoadHistoryPage(const std::string& sweep_id,
                                                   int64_t number,
                                                   const HistoryRange& range) {
  return impl_->LoadHistoryPage(sweep_id, number, range);
}

absl::StatusOr<std::vector<double>> Store::LoadMetricSeries(
    const std::string& sweep_id, int64_t number, const std::string& key) {
  return impl_->LoadMetricSeries(sweep_id, number, key);
}

Store::Stats Store::stats() { return impl_->stats(); }

int64_t Store::BusySinceMs() const { return impl_->BusySinceMs(); }

}  // namespace sweep
