#include "controller/store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// Rows and how to compare them exactly (doubles by their bits, so NaN == NaN
// and -0.0 != 0.0).

uint64_t Bits(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

double FromBits(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::optional<uint64_t> Bits(const std::optional<double>& v) {
  if (!v.has_value()) return std::nullopt;
  return Bits(*v);
}

auto Fields(const SweepRow& r) {
  return std::make_tuple(r.id, r.name, r.definition_yaml, r.file_name, r.state,
                         r.state_reason, r.created_ms, r.next_trial_number);
}

auto Fields(const AgentRow& r) {
  return std::make_tuple(r.id, r.name, r.sweep_id, r.host, r.slots, r.gpus_json,
                         r.pid, r.registered_ms);
}

auto Fields(const TrialRow& r) {
  return std::make_tuple(
      r.sweep_id, r.number, r.state, r.config_json, r.point_json, r.agent_id,
      r.host, r.lease_id, r.created_ms, r.ended_ms, r.exit_code, r.signal,
      r.log_tail, r.last_sequence, r.summary_json, Bits(r.best_value),
      r.prediction_json, r.stop_json, r.end_reason, r.metric_points,
      r.malformed_lines, r.attempt);
}

using PointFields =
    std::tuple<int64_t, int64_t, std::vector<std::pair<std::string, uint64_t>>>;

std::vector<PointFields> Fields(const std::vector<MetricPointRow>& points) {
  std::vector<PointFields> fields;
  for (const MetricPointRow& point : points) {
    std::vector<std::pair<std::string, uint64_t>> values;
    for (const auto& [key, value] : point.values) {
      values.emplace_back(key, Bits(value));
    }
    fields.emplace_back(point.step, point.time_ms, std::move(values));
  }
  return fields;
}

std::vector<uint64_t> Fields(const std::vector<double>& series) {
  std::vector<uint64_t> bits;
  for (double v : series) bits.push_back(Bits(v));
  return bits;
}

template <typename Row>
void ExpectSameRows(const std::vector<Row>& actual,
                    const std::vector<Row>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(Fields(actual[i]), Fields(expected[i])) << "row " << i;
  }
}

SweepRow MakeSweep(const std::string& id, int64_t created_ms) {
  SweepRow row;
  row.id = id;
  row.name = "sweep " + id;
  row.definition_yaml = "method: random\nparameters:\n  lr: {min: 0, max: 1}\n";
  row.file_name = "sweep.yaml";
  row.state = 2;
  row.state_reason = "running since " + std::to_string(created_ms);
  row.created_ms = created_ms;
  row.next_trial_number = 7;
  return row;
}

AgentRow MakeAgent(const std::string& id, int64_t registered_ms) {
  AgentRow row;
  row.id = id;
  row.name = "host-a:0-1";
  row.sweep_id = "s1";
  row.host = "host-a";
  row.slots = 2;
  row.gpus_json = R"(["0","1"])";
  row.pid = 4242;
  row.registered_ms = registered_ms;
  return row;
}

// Every field set to something other than its default.
TrialRow MakeTrial(const std::string& sweep_id, int64_t number) {
  TrialRow row;
  row.sweep_id = sweep_id;
  row.number = number;
  row.state = 2;
  row.config_json = R"({"lr":0.1,"model":{"layers":3}})";
  row.point_json = R"([0.1,3])";
  row.agent_id = "agent-1";
  row.host = "host-a";
  row.lease_id = "lease-" + std::to_string(number);
  row.created_ms = 1000 + number;
  row.ended_ms = 2000 + number;
  row.exit_code = 3;
  row.signal = 15;
  row.log_tail = std::string("line 1\nbinary \xff\xfe and a NUL: \0 end", 33);
  row.last_sequence = 12;
  row.summary_json = R"({"loss":0.25})";
  row.best_value = 0.125;
  row.prediction_json = R"({"mean":0.2,"stddev":0.1,"acquisition":1.5})";
  row.stop_json = R"({"rule":"hyperband","band":9})";
  row.end_reason = "stopped by hyperband";
  row.metric_points = 40;
  row.malformed_lines = 2;
  row.attempt = 1;
  return row;
}

Mutation TrialMutation(const TrialRow& row) {
  Mutation mutation;
  mutation.trials.push_back(row);
  return mutation;
}

MetricAppend MakeAppend(const std::string& sweep_id, int64_t number,
                        int64_t sequence, std::vector<MetricPointRow> points) {
  MetricAppend append;
  append.sweep_id = sweep_id;
  append.number = number;
  append.sequence = sequence;
  append.points = std::move(points);
  return append;
}

Mutation MetricMutation(MetricAppend append) {
  Mutation mutation;
  mutation.metrics.push_back(std::move(append));
  return mutation;
}

// ---------------------------------------------------------------------------
// Fixture and helpers.

// Collects the statuses that asynchronous writes report.
class DoneRecorder {
 public:
  Store::Done Callback() {
    return [this](const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      statuses_.push_back(status);
    };
  }

  // Waits (a minute at most) until `count` callbacks ran; returns their
  // statuses in the order they ran.
  std::vector<absl::Status> WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] {
      mu_.AssertReaderHeld();
      return statuses_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60));
    return statuses_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs `sql` on `path` directly, bypassing the store.
void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The first column of the first row of `sql` on `path`, bypassing the store.
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string text = "(no row)";
  sqlite3_stmt* query = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &query, nullptr) == SQLITE_OK &&
      sqlite3_step(query) == SQLITE_ROW) {
    text = reinterpret_cast<const char*>(sqlite3_column_text(query, 0));
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return text;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "store_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    root_ = pattern;
    data_dir_ = root_ + "/data";
    db_path_ = data_dir_ + "/sweep.db";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Opens the store in data_dir_; null (and a test failure) when it fails.
  std::unique_ptr<Store> OpenStore(const StoreOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(data_dir_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string root_;
  std::string data_dir_;
  std::string db_path_;
};

// ---------------------------------------------------------------------------
// Rows.

TEST_F(StoreTest, RoundTripsEveryRowAndField) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  TrialRow without_best = MakeTrial("s1", 2);
  without_best.best_value = std::nullopt;
  TrialRow infinite_best = MakeTrial("s1", 3);
  infinite_best.best_value = -kInf;
  const double signed_nan = FromBits(0xfff8000000000123);
  const std::vector<MetricPointRow> points = {
      {0,
       5000,
       {{"acc", std::nan("")},
        {"big", kInf},
        {"loss", 0.5},
        {"max", std::numeric_limits<double>::max()},
        {"nan2", signed_nan},
        {"small", -kInf},
        {"tiny", std::numeric_limits<double>::denorm_min()},
        {"zero", -0.0}}},
      {1, 5001, {{"loss", 0.25}}},
  };
  Mutation mutation;
  mutation.sweeps = {MakeSweep("s1", 10)};
  mutation.agents = {MakeAgent("a1", 20)};
  mutation.trials = {MakeTrial("s1", 1), without_best, infinite_best};
  mutation.metrics = {MakeAppend("s1", 1, 1, points)};
  ASSERT_TRUE(store->WriteSync(mutation).ok());

  absl::StatusOr<std::vector<SweepRow>> sweeps = store->LoadSweeps();
  ASSERT_TRUE(sweeps.ok()) << sweeps.status();
  ExpectSameRows(*sweeps, mutation.sweeps);
  absl::StatusOr<std::vector<AgentRow>> agents = store->LoadAgents();
  ASSERT_TRUE(agents.ok()) << agents.status();
  ExpectSameRows(*agents, mutation.agents);
  absl::StatusOr<std::vector<TrialRow>> trials = store->LoadTrials("s1", 0, 10);
  ASSERT_TRUE(trials.ok()) << trials.status();
  ExpectSameRows(*trials, mutation.trials);
  absl::StatusOr<TrialRow> trial = store->LoadTrial("s1", 2);
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(Fields(*trial), Fields(without_best));

  absl::StatusOr<std::vector<MetricPointRow>> history =
      store->LoadHistory("s1", 1);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(Fields(*history), Fields(points));
  absl::StatusOr<std::vector<double>> nan2 =
      store->LoadMetricSeries("s1", 1, "nan2");
  ASSERT_TRUE(nan2.ok()) << nan2.status();
  EXPECT_THAT(Fields(*nan2), ElementsAre(Bits(signed_nan)));
  absl::StatusOr<std::vector<double>> loss =
      store->LoadMetricSeries("s1", 1, "loss");
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_THAT(*loss, ElementsAre(0.5, 0.25));
}

TEST_F(StoreTest, UpsertReplacesWholeRow) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->WriteSync(TrialMutation(MakeTrial("s1", 1))).ok());
  TrialRow replacement;
  replacement.sweep_id = "s1";
  replacement.number = 1;
  replacement.state = 4;
  replacement.end_reason = "lease expired";
  ASSERT_TRUE(store->WriteSync(TrialMutation(replacement)).ok());

  absl::StatusOr<std::vector<TrialRow>> trials = store->LoadTrials("s1", 0, 10);
  ASSERT_TRUE(trials.ok()) << trials.status();
  ExpectSameRows(*trials, {replacement});
}

TEST_F(StoreTest, StoresEachReportOnceInLoggingOrder) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::vector<MetricPointRow> second = {{2, 3, {{"loss", 0.3}}}};
  const std::vector<MetricPointRow> first = {{0, 1, {{"loss", 0.9}}},
                                             {1, 2, {{"loss", 0.5}}}};
  const std::vector<MetricPointRow> retry = {{0, 9, {{"loss", 99.0}}},
                                             {1, 9, {{"loss", 99.0}}}};
  // Reports arrive out of order, and one is retried with other values.
  ASSERT_TRUE(
      store->WriteSync(MetricMutation(MakeAppend("s", 1, 2, second))).ok());
  ASSERT_TRUE(
      store->WriteSync(MetricMutation(MakeAppend("s", 1, 1, first))).ok());
  ASSERT_TRUE(
      store->WriteSync(MetricMutation(MakeAppend("s", 1, 1, retry))).ok());

  absl::StatusOr<std::vector<double>> loss =
      store->LoadMetricSeries("s", 1, "loss");
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_THAT(*loss, ElementsAre(0.9, 0.5, 0.3));
  absl::StatusOr<std::vector<MetricPointRow>> history =
      store->LoadHistory("s", 1);
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<MetricPointRow> expected = first;
  expected.push_back(second[0]);
  EXPECT_EQ(Fields(*history), Fields(expected));
  absl::StatusOr<std::vector<MetricPointRow>> other =
      store->LoadHistory("s", 2);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_THAT(*other, IsEmpty());
}

TEST_F(StoreTest, LoadHistoryPagesByPointAcrossReports) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  // Three reports of three points; points hold one or two values.
  std::vector<MetricPointRow> all;
  for (int64_t sequence = 1; sequence <= 3; ++sequence) {
    std::vector<MetricPointRow> report;
    for (int64_t i = 0; i < 3; ++i) {
      const int64_t step = (sequence - 1) * 3 + i;
      MetricPointRow point{step, 100 + step, {{"loss", 1.0 / (step + 1)}}};
      if (step % 2 == 0) point.values.emplace_back("acc", step * 0.1);
      std::sort(point.values.begin(), point.values.end());
      report.push_back(point);
      all.push_back(point);
    }
    ASSERT_TRUE(store
                    ->WriteSync(MetricMutation(
                        MakeAppend("s", 1, sequence, std::move(report))))
                    .ok());
  }
  auto slice = [&](size_t from, size_t count) {
    const size_t end = std::min(all.size(), from + count);
    return Fields(std::vector<MetricPointRow>(
        all.begin() + std::min(from, all.size()), all.begin() + end));
  };
  auto load = [&](const HistoryRange& range) {
    absl::StatusOr<HistoryPage> page = store->LoadHistoryPage("s", 1, range);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *std::move(page) : HistoryPage{};
  };
  for (int64_t offset : {0, 1, 2, 3, 4, 8, 9, 12}) {
    for (int64_t limit : {1, 2, 3, 4, 100}) {
      HistoryRange range;
      range.offset = offset;
      range.limit = limit;
      const HistoryPage page = load(range);
      EXPECT_EQ(Fields(page.points), slice(offset, limit))
          << "offset " << offset << ", limit " << limit;
      EXPECT_EQ(page.cut, offset + limit < 9)
          << "offset " << offset << ", limit " << limit;
      // The next page, from where this one stopped.
      if (page.points.empty()) continue;
      HistoryRange next;
      next.after = page.last;
      next.limit = 2;
      EXPECT_EQ(Fields(load(next).points), slice(offset + limit, 2))
          << "after offset " << offset << ", limit " << limit;
      next.offset = 1;  // And an offset from there.
      EXPECT_EQ(Fields(load(next).points), slice(offset + limit + 1, 2))
          << "after offset " << offset << ", limit " << limit;
    }
  }
  HistoryRange none;
  none.limit = 0;
  EXPECT_THAT(load(none).points, IsEmpty());

  // A byte budget: 16 a point, 16 and the name's length a value. Points 0
  // and 1 take 16 + 20 + 19 and 16 + 20 bytes; at least one point comes.
  for (const auto& [max_bytes, points] :
       std::vector<std::pair<int64_t, size_t>>{
           {1, 1}, {55, 1}, {56, 2}, {91, 2}, {92, 3}}) {
    HistoryRange range;
    range.max_bytes = max_bytes;
    const HistoryPage page = load(range);
    EXPECT_EQ(Fields(page.points), slice(0, points)) << max_bytes;
    EXPECT_TRUE(page.cut) << max_bytes;
  }
  const HistoryPage whole = load(HistoryRange{});
  EXPECT_EQ(whole.points.size(), 9u);
  EXPECT_FALSE(whole.cut);
}

TEST_F(StoreTest, LoadTrialsPagesByNumberWithinOneSweep) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  Mutation mutation;
  for (int64_t number = 25; number >= 1; --number) {
    mutation.trials.push_back(MakeTrial("s1", number));
    mutation.trials.push_back(MakeTrial("s2", number));
  }
  ASSERT_TRUE(store->WriteSync(mutation).ok());

  std::vector<int64_t> numbers;
  std::vector<size_t> page_sizes;
  int64_t after = 0;
  for (;;) {
    absl::StatusOr<std::vector<TrialRow>> page =
        store->LoadTrials("s1", after, 10);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    page_sizes.push_back(page->size());
    for (const TrialRow& trial : *page) {
      EXPECT_EQ(trial.sweep_id, "s1");
      numbers.push_back(trial.number);
    }
    after = page->back().number;
  }
  EXPECT_THAT(page_sizes, ElementsAre(10, 10, 5));
  ASSERT_THAT(numbers, SizeIs(25));
  for (size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(numbers[i], i + 1);

  EXPECT_THAT(*store->LoadTrials("s1", 0, 0), IsEmpty());
  EXPECT_EQ(store->LoadTrials("s1", 0, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<TrialRow> missing = store->LoadTrial("s1", 26);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("s1 has no trial 26"));
}

TEST_F(StoreTest, ReopenRecoversEverything) {
  Mutation mutation;
  mutation.sweeps = {MakeSweep("s2", 30), MakeSweep("s1", 10)};
  mutation.agents = {MakeAgent("a2", 40), MakeAgent("a1", 20)};
  mutation.trials = {MakeTrial("s1", 1), MakeTrial("s1", 2)};
  const std::vector<MetricPointRow> points = {
      {0, 1, {{"loss", 0.5}, {"nan", std::nan("")}}}};
  mutation.metrics = {MakeAppend("s1", 2, 1, points)};
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->WriteSync(mutation).ok());
  }
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->stats().commits, 0);

  ExpectSameRows(*store->LoadSweeps(),
                 {mutation.sweeps[1], mutation.sweeps[0]});
  ExpectSameRows(*store->LoadAgents(),
                 {mutation.agents[1], mutation.agents[0]});
  ExpectSameRows(*store->LoadTrials("s1", 0, 100), mutation.trials);
  EXPECT_EQ(Fields(*store->LoadHistory("s1", 2)), Fields(points));
}

// ---------------------------------------------------------------------------
// Group commit.

TEST_F(StoreTest, ConcurrentWritesAreGroupCommitted) {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 500;
  // The writer is held before its first commit until every other write is
  // queued, so those must share the next commit.
  absl::Notification first_taken, all_queued;
  StoreOptions options;
  options.before_commit_for_testing = [&](const Mutation&) {
    if (!first_taken.HasBeenNotified()) {
      first_taken.Notify();
      all_queued.WaitForNotification();
    }
  };
  std::unique_ptr<Store> store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  DoneRecorder recorder;
  store->Write(TrialMutation(MakeTrial("gate", 1)), nullptr);
  first_taken.WaitForNotification();
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        store->Write(
            TrialMutation(MakeTrial("s", t * kWritesPerThread + i + 1)),
            recorder.Callback());
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  all_queued.Notify();

  const std::vector<absl::Status> statuses =
      recorder.WaitFor(kThreads * kWritesPerThread);
  ASSERT_THAT(statuses, SizeIs(kThreads * kWritesPerThread));
  for (const absl::Status& status : statuses)
    ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<std::vector<TrialRow>> trials =
      store->LoadTrials("s", 0, 10000);
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_THAT(*trials, SizeIs(kThreads * kWritesPerThread));
  for (size_t i = 0; i < trials->size(); ++i) {
    EXPECT_EQ((*trials)[i].number, static_cast<int64_t>(i + 1));
  }
  const Store::Stats stats = store->stats();
  EXPECT_EQ(stats.writes, kThreads * kWritesPerThread + 1);
  EXPECT_LE(stats.commits, 2);
}

TEST_F(StoreTest, ConcurrentWriteSyncCallersAndReadersSeeCommittedState) {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 50;
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        const int64_t number = t * kWritesPerThread + i + 1;
        Mutation mutation = TrialMutation(MakeTrial("s", number));
        mutation.metrics.push_back(
            MakeAppend("s", number, 1, {{0, 0, {{"loss", 1.0 * number}}}}));
        EXPECT_TRUE(store->WriteSync(std::move(mutation)).ok());
      }
    });
  }
  // Trial rows only ever get added, so each read sees at least as many.
  threads.emplace_back([&] {
    size_t seen = 0;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<std::vector<TrialRow>> trials =
          store->LoadTrials("s", 0, 10000);
      ASSERT_TRUE(trials.ok()) << trials.status();
      EXPECT_GE(trials->size(), seen);
      seen = trials->size();
    }
  });
  for (std::thread& thread : threads) thread.join();

  absl::StatusOr<std::vector<TrialRow>> trials =
      store->LoadTrials("s", 0, 10000);
  ASSERT_TRUE(trials.ok()) << trials.status();
  EXPECT_THAT(*trials, SizeIs(kThreads * kWritesPerThread));
  EXPECT_THAT(*store->LoadMetricSeries("s", 77, "loss"), ElementsAre(77.0));
  const Store::Stats stats = store->stats();
  EXPECT_EQ(stats.writes, kThreads * kWritesPerThread);
  EXPECT_LE(stats.commits, stats.writes);
}

TEST_F(StoreTest, CommitHereCommitsOnItsThreadWhenTheOutermostEnds) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::thread::id here = std::this_thread::get_id();
  std::vector<std::thread::id> ran_on;  // Only this thread touches it.
  auto record = [&](const absl::Status& status) {
    EXPECT_TRUE(status.ok()) << status;
    ran_on.push_back(std::this_thread::get_id());
  };
  {
    const Store::CommitHere outer(store.get());
    store->Write(TrialMutation(MakeTrial("s", 1)), record);
    {
      const Store::CommitHere inner(store.get());
      store->Write(TrialMutation(MakeTrial("s", 2)), record);
    }
    // The inner scope left them to the outer one; no other thread took
    // them (the writer thread is not woken for them).
    EXPECT_THAT(*store->LoadTrials("s", 0, 10), SizeIs(0));
  }
  // Committed, and their callbacks run, on this thread by the time the
  // outer scope ended.
  EXPECT_THAT(ran_on, ElementsAre(here, here));
  EXPECT_THAT(*store->LoadTrials("s", 0, 10), SizeIs(2));
  {
    const Store::CommitHere commit_here(store.get());
    // A synchronous write is the writer thread's: waiting here for this
    // thread to commit it would never end.
    EXPECT_TRUE(store->WriteSync(TrialMutation(MakeTrial("s", 3))).ok());
  }
  EXPECT_THAT(*store->LoadTrials("s", 0, 10), SizeIs(3));
}

TEST_F(StoreTest, CommitHereLeavesItsWritesToACommitUnderWay) {
  // The writer thread is held inside a commit while another thread queues
  // in a CommitHere: that thread does not wait, and the writer commits its
  // write next.
  absl::Notification holding, release;
  StoreOptions options;
  options.before_commit_for_testing = [&](const Mutation& mutation) {
    if (!mutation.trials.empty() && mutation.trials[0].sweep_id == "gate") {
      holding.Notify();
      release.WaitForNotification();
    }
  };
  std::unique_ptr<Store> store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  DoneRecorder recorder;
  store->Write(TrialMutation(MakeTrial("gate", 1)), recorder.Callback());
  holding.WaitForNotification();
  std::thread::id ran_on;
  std::thread handler([&] {
    const Store::CommitHere commit_here(store.get());
    store->Write(TrialMutation(MakeTrial("s", 1)),
                 [&](const absl::Status& status) {
                   EXPECT_TRUE(status.ok()) << status;
                   ran_on = std::this_thread::get_id();
                   recorder.Callback()(status);
                 });
  });
  const std::thread::id handler_id = handler.get_id();
  handler.join();  // Returned while the commit under way is held.
  release.Notify();
  ASSERT_THAT(recorder.WaitFor(2), SizeIs(2));
  EXPECT_NE(ran_on, handler_id);
  EXPECT_THAT(*store->LoadTrials("s", 0, 10), SizeIs(1));
}

TEST_F(StoreTest, ACommitHereHandsALongQueueToTheWriterThread) {
  // While the handler's thread commits, each batch has another handler
  // queue one more write: after a few batches it hands the rest to the
  // writer thread instead of committing for ever.
  std::unique_ptr<Store> store;
  DoneRecorder recorder;
  absl::Mutex mu;
  std::vector<std::thread::id> committed_on;
  int queued = 1;
  constexpr int kWrites = 6;
  auto queue_another = [&] {
    std::thread other([&] {
      const Store::CommitHere commit_here(store.get());
      store->Write(TrialMutation(MakeTrial("s", ++queued)),
                   recorder.Callback());
    });
    other.join();  // Returns at once: a commit is under way.
  };
  StoreOptions options;
  options.before_commit_for_testing = [&](const Mutation&) {
    {
      absl::MutexLock lock(&mu);
      committed_on.push_back(std::this_thread::get_id());
    }
    if (queued < kWrites) queue_another();
  };
  store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  std::thread::id handler_id;
  std::thread handler([&] {
    handler_id = std::this_thread::get_id();
    const Store::CommitHere commit_here(store.get());
    store->Write(TrialMutation(MakeTrial("s", 1)), recorder.Callback());
  });
  handler.join();
  const std::vector<absl::Status> statuses = recorder.WaitFor(kWrites);
  ASSERT_THAT(statuses, SizeIs(kWrites));
  absl::MutexLock lock(&mu);
  ASSERT_THAT(committed_on, SizeIs(kWrites));
  EXPECT_EQ(committed_on.front(), handler_id);
  EXPECT_NE(committed_on.back(), handler_id);
}

TEST_F(StoreTest, DestructorCommitsQueuedWrites) {
  constexpr int kWrites = 200;
  DoneRecorder recorder;
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (int i = 1; i <= kWrites; ++i) {
      store->Write(TrialMutation(MakeTrial("s", i)), recorder.Callback());
    }
  }
  const std::vector<absl::Status> statuses = recorder.WaitFor(0);
  ASSERT_THAT(statuses, SizeIs(kWrites));
  for (const absl::Status& status : statuses) EXPECT_TRUE(status.ok());
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(*store->LoadTrials("s", 0, 1000), SizeIs(kWrites));
}

// ---------------------------------------------------------------------------
// Failures.

TEST_F(StoreTest, FullDiskFailsTheWriteAndKeepsCommittedData) {
  TrialRow huge = MakeTrial("s", 2);
  huge.log_tail.assign(1 << 20, 'x');
  {
    StoreOptions options;
    options.max_page_count = 40;
    std::unique_ptr<Store> store = OpenStore(options);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->WriteSync(TrialMutation(MakeTrial("s", 1))).ok());

    const absl::Status full = store->WriteSync(TrialMutation(huge));
    EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(full.message(),
                AllOf(HasSubstr("store write failed"), HasSubstr("full")));
    // The store goes on working once there is room.
    EXPECT_TRUE(store->WriteSync(TrialMutation(MakeTrial("s", 3))).ok());
  }
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ExpectSameRows(*store->LoadTrials("s", 0, 10),
                 {MakeTrial("s", 1), MakeTrial("s", 3)});
}

TEST_F(StoreTest, FailedWriteDoesNotFailItsBatchmates) {
  StoreOptions options;
  options.max_page_count = 40;
  std::unique_ptr<Store> store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  TrialRow huge = MakeTrial("s", 2);
  huge.log_tail.assign(1 << 20, 'x');
  // Holds the writer so that the next three writes share one batch.
  absl::Notification all_queued;
  store->Write(TrialMutation(MakeTrial("gate", 1)),
               [&](const absl::Status&) { all_queued.WaitForNotification(); });
  DoneRecorder recorder;
  store->Write(TrialMutation(MakeTrial("s", 1)), recorder.Callback());
  store->Write(TrialMutation(huge), recorder.Callback());
  store->Write(TrialMutation(MakeTrial("s", 3)), recorder.Callback());
  all_queued.Notify();

  const std::vector<absl::Status> statuses = recorder.WaitFor(3);
  ASSERT_THAT(statuses, SizeIs(3));
  EXPECT_TRUE(statuses[0].ok()) << statuses[0];
  EXPECT_EQ(statuses[1].code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(statuses[2].ok()) << statuses[2];
  ExpectSameRows(*store->LoadTrials("s", 0, 10),
                 {MakeTrial("s", 1), MakeTrial("s", 3)});
  EXPECT_EQ(store->stats().writes, 3);
}

// ---------------------------------------------------------------------------
// Opening.

TEST_F(StoreTest, CreatesMissingDataDirsForTheOwnerOnly) {
  data_dir_ = root_ + "/a/b/c";
  ASSERT_NE(OpenStore(), nullptr);
  for (const std::string& dir :
       {root_ + "/a", root_ + "/a/b", root_ + "/a/b/c"}) {
    struct stat info;
    ASSERT_EQ(stat(dir.c_str(), &info), 0) << dir;
    EXPECT_EQ(info.st_mode & 0777, 0700u) << dir;
  }
}

TEST_F(StoreTest, RefusesADataDirThatIsAFile) {
  WriteFile(root_ + "/file", "not a directory");
  for (const std::string& dir : {root_ + "/file", root_ + "/file/sub"}) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir);
    EXPECT_FALSE(store.ok());
    EXPECT_THAT(store.status().message(), HasSubstr("data dir " + dir + ": "));
  }
  EXPECT_EQ(ReadFile(root_ + "/file"), "not a directory");
}

TEST_F(StoreTest, RefusesAFileThatIsNotADatabaseAndLeavesItAlone) {
  std::filesystem::create_directories(data_dir_);
  std::string garbage;
  for (int i = 0; i < 1000; ++i) garbage += "this is not a database ";
  WriteFile(db_path_, garbage);

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(),
              HasSubstr("data dir " + data_dir_ + ": sweep.db is corrupt: "));
  EXPECT_EQ(ReadFile(db_path_), garbage);
}

// SQLite would take an empty or missing sweep.db for a new database and
// delete the write-ahead log beside it, committed changes and all.
TEST_F(StoreTest, RefusesAWriteAheadLogWithoutItsDatabaseAndKeepsIt) {
  std::filesystem::create_directories(data_dir_);
  std::string frames(4120, 'w');
  for (const bool empty_db : {true, false}) {
    std::filesystem::remove(db_path_);
    if (empty_db) WriteFile(db_path_, "");
    WriteFile(db_path_ + "-wal", frames);
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(
        store.status().message(),
        HasSubstr(absl::StrCat("sweep.db is ", empty_db ? "empty" : "missing",
                               " but sweep.db-wal beside it holds "
                               "4120 bytes")));
    EXPECT_EQ(ReadFile(db_path_ + "-wal"), frames);
  }
}

// An empty sweep.db is no database a controller left (an empty backup, a
// copy onto a full disk): not taken for a new one.
TEST_F(StoreTest, RefusesAnEmptyDatabaseAndLeavesItAlone) {
  std::filesystem::create_directories(data_dir_);
  WriteFile(db_path_, "");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr("data dir " + data_dir_ + ": sweep.db is empty"));
  EXPECT_EQ(std::filesystem::file_size(db_path_), 0u);
  EXPECT_FALSE(std::filesystem::exists(db_path_ + "-wal"));
}

// A second store on a data dir whose sweep.lock was removed (an operator
// taking it for a stale lock) is refused by the lock on sweep.db itself.
TEST_F(StoreTest, RefusesADatabaseAnotherStoreHoldsWithoutItsLockFile) {
  absl::StatusOr<std::unique_ptr<Store>> first = Store::Open(data_dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(std::filesystem::remove(data_dir_ + "/sweep.lock"));
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(data_dir_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr("sweep.db is in use by another sweep controller"));
  // The refused one leaves no sweep.lock naming it.
  EXPECT_FALSE(std::filesystem::exists(data_dir_ + "/sweep.lock"));
  // The first goes on writing; once it is gone, the data dir opens again.
  Mutation mutation;
  mutation.sweeps = {MakeSweep("abc12345", 10)};
  ASSERT_TRUE((*first)->WriteSync(std::move(mutation)).ok());
  first->reset();
  absl::StatusOr<std::unique_ptr<Store>> again = Store::Open(data_dir_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->LoadSweeps()->size(), 1u);
}

TEST_F(StoreTest, RefusesADamagedDatabaseAndLeavesItAlone) {
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    Mutation mutation;
    for (int number = 1; number <= 20; ++number) {
      mutation.trials.push_back(MakeTrial("s", number));
      mutation.trials.back().log_tail.assign(8192, 'x');
    }
    ASSERT_TRUE(store->WriteSync(mutation).ok());
  }
  // Keep the first page (header and schema); garble every page after it.
  std::string bytes = ReadFile(db_path_);
  ASSERT_GT(bytes.size(), 8192u);
  for (size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i);
  WriteFile(db_path_, bytes);

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(
      store.status().message(),
      AllOf(HasSubstr("data dir " + data_dir_ + ": sweep.db is corrupt: "),
            HasSubstr("btreeInitPage"), Not(HasSubstr("\n"))));
  EXPECT_EQ(ReadFile(db_path_), bytes);
}

TEST_F(StoreTest, ACorruptionReadThroughAWalSaysTheWalMayBeAtFault) {
  // Another copy of the store, written while open: its log holds pages.
  const std::string other = root_ + "/other";
  std::unique_ptr<Store> writing;
  {
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(other);
    ASSERT_TRUE(opened.ok()) << opened.status();
    writing = *std::move(opened);
    Mutation mutation;
    for (int number = 1; number <= 40; ++number) {
      mutation.trials.push_back(MakeTrial("o", number));
      mutation.trials.back().log_tail.assign(8192, 'y');
    }
    ASSERT_TRUE(writing->WriteSync(mutation).ok());
    // Checkpointed, then changed again: its log holds only some pages.
    ExecSql(other + "/sweep.db", "PRAGMA wal_checkpoint(TRUNCATE)");
    TrialRow first = mutation.trials.front();
    first.log_tail.assign(9000, 'z');
    ASSERT_TRUE(writing->WriteSync(TrialMutation(first)).ok());
  }
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    Mutation mutation;
    for (int number = 1; number <= 5; ++number) {
      mutation.trials.push_back(MakeTrial("s", number));
      mutation.trials.back().log_tail.assign(20000, 'x');
    }
    ASSERT_TRUE(store->WriteSync(mutation).ok());
  }
  const std::string bytes = ReadFile(db_path_);
  WriteFile(db_path_ + "-wal", ReadFile(other + "/sweep.db-wal"));
  writing.reset();

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss)
      << store.status();
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("sweep.db is corrupt: "),
                    HasSubstr("read with sweep.db-wal beside it"),
                    HasSubstr("sweep.db itself may be sound")));
  EXPECT_EQ(ReadFile(db_path_), bytes);
}

TEST_F(StoreTest, RefusesANewerSchemaVersion) {
  ASSERT_NE(OpenStore(), nullptr);
  ExecSql(db_path_, "UPDATE meta SET value = 2 WHERE key = 'schema_version'");

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("data dir " + data_dir_ + ": sweep.db"),
                    HasSubstr("schema version 2, newer")));
  EXPECT_EQ(QueryText(db_path_,
                      "SELECT value FROM meta WHERE key = 'schema_version'"),
            "2");
}

TEST_F(StoreTest, RefusesSomeOtherProgramsDatabase) {
  std::filesystem::create_directories(data_dir_);
  ExecSql(db_path_, "CREATE TABLE accounts (id INTEGER PRIMARY KEY)");

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr("sweep.db is not a sweep database"));
}

}  // namespace
}  // namespace sweep
