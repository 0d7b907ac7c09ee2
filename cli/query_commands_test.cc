// The query, control and export commands against a fake controller served on
// a loopback port: what they print, which calls they make, and how they
// follow pages.
#include "cli/query_commands.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/export_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/value.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// Serves one sweep with `trial_count` trials, in pages of at most two so
// that paging is exercised. Thread-safe.
class FakeSweepService final : public v1::SweepService::Service {
 public:
  explicit FakeSweepService(int trial_count) {
    sweep_.set_id("abc123de");
    sweep_.set_method("random");
    sweep_.set_state(v1::SWEEP_STATE_RUNNING);
    sweep_.set_metric_name("loss");
    sweep_.set_goal("minimize");
    sweep_.mutable_counts()->set_total(trial_count);
    for (int i = 1; i <= trial_count; ++i) {
      v1::Trial& trial = trials_.emplace_back();
      trial.set_sweep_id("abc123de");
      trial.set_number(i);
      trial.set_state(v1::TRIAL_STATE_FINISHED);
      trial.set_config_json("{\"lr\": 0." + std::to_string(i) + "}");
      trial.set_best_value(1.0 / i);
    }
  }

  grpc::Status CreateSweep(grpc::ServerContext*,
                           const v1::CreateSweepRequest* request,
                           v1::CreateSweepResponse* response) override {
    absl::MutexLock lock(&mu_);
    last_create_ = *request;
    if (request->definition_yaml().find("bad") != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          request->file_name() + ":1:1: method: bad\n" +
                              request->file_name() + ":2:1: metric: bad");
    }
    *response->mutable_sweep() = sweep_;
    response->add_warnings(request->file_name() +
                           ":3:1: warning: early_terminate: ignored");
    return grpc::Status::OK;
  }

  grpc::Status GetSweep(grpc::ServerContext*,
                        const v1::GetSweepRequest* request,
                        v1::Sweep* response) override {
    if (request->sweep_id() != sweep_.id())
      return NotFound(request->sweep_id());
    *response = sweep_;
    return grpc::Status::OK;
  }

  grpc::Status ListSweeps(grpc::ServerContext*, const v1::ListSweepsRequest*,
                          v1::ListSweepsResponse* response) override {
    *response->add_sweeps() = sweep_;
    return grpc::Status::OK;
  }

  grpc::Status UpdateSweepState(grpc::ServerContext*,
                                const v1::UpdateSweepStateRequest* request,
                                v1::Sweep* response) override {
    if (request->sweep_id() != sweep_.id())
      return NotFound(request->sweep_id());
    *response = sweep_;
    if (request->action() == v1::SWEEP_ACTION_PAUSE) {
      response->set_state(v1::SWEEP_STATE_PAUSED);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListTrials(grpc::ServerContext*,
                          const v1::ListTrialsRequest* request,
                          v1::ListTrialsResponse* response) override {
    if (request->sweep_id() != sweep_.id())
      return NotFound(request->sweep_id());
    {
      absl::MutexLock lock(&mu_);
      list_after_numbers_.push_back(request->after_number());
    }
    const int page = std::min(request->page_size(), 2);
    for (const v1::Trial& trial : trials_) {
      if (trial.number() <= request->after_number()) continue;
      if (response->trials_size() == page) {
        response->set_next_after_number(response->trials(page - 1).number());
        break;
      }
      *response->add_trials() = trial;
    }
    return grpc::Status::OK;
  }

  std::vector<int64_t> list_after_numbers() {
    absl::MutexLock lock(&mu_);
    return list_after_numbers_;
  }
  v1::CreateSweepRequest last_create() {
    absl::MutexLock lock(&mu_);
    return last_create_;
  }

 private:
  static grpc::Status NotFound(const std::string& id) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no sweep with id " + id);
  }

  // Constant after construction.
  v1::Sweep sweep_;
  std::vector<v1::Trial> trials_;

  absl::Mutex mu_;
  std::vector<int64_t> list_after_numbers_ ABSL_GUARDED_BY(mu_);
  v1::CreateSweepRequest last_create_ ABSL_GUARDED_BY(mu_);
};

class QueryCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    client_ =
        std::make_unique<ControllerClient>("127.0.0.1:" + std::to_string(port));
  }
  void TearDown() override { server_->Shutdown(); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
  }

  FakeSweepService service_{5};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerClient> client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr char kValidDefinition[] =
    "program: train.py\nmethod: random\nparameters:\n  x: {values: [1]}\n";

TEST_F(QueryCommandsTest, CreatePrintsTheAgentCommandAndWarnings) {
  CreateOptions options;
  options.file = WriteFile("good.yaml", kValidDefinition);
  ASSERT_EQ(RunCreate(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Created sweep abc123de (random)\nRun an agent with:\n"
            "  sweep agent abc123de --controller " +
                client_->address() + "\n");
  EXPECT_EQ(err_.str(),
            options.file + ":3:1: warning: early_terminate: ignored\n");
  EXPECT_EQ(service_.last_create().file_name(), options.file);
  EXPECT_EQ(service_.last_create().definition_yaml(), kValidDefinition);
}

// The controller's validator has the last word (it may be another version).
TEST_F(QueryCommandsTest, CreateRefusedByTheControllerPrintsEveryDiagnostic) {
  CreateOptions options;
  options.file =
      WriteFile("bad.yaml", absl::StrCat(kValidDefinition, "name: bad\n"));
  EXPECT_EQ(RunCreate(options, *client_, out_, err_), 1);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), options.file + ":1:1: method: bad\n" + options.file +
                            ":2:1: metric: bad\nsweep: " + options.file +
                            " is not a valid sweep definition (`sweep "
                            "validate " +
                            options.file + "` checks it offline)\n");
}

// Every error of the file, with no controller involved (none may be up).
TEST_F(QueryCommandsTest, CreateOfAnInvalidFileNeverCallsTheController) {
  CreateOptions options;
  options.file = WriteFile("invalid.yaml", "method: grd\nprogram: t.py\n");
  EXPECT_EQ(RunCreate(options, *client_, out_, err_), 1);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(),
            options.file +
                ":1:1: parameters: is required: a mapping of at least one "
                "parameter\n" +
                options.file +
                ":1:9: method: must be grid, random or bayes, got 'grd' (did "
                "you mean 'grid'?)\n"
                "sweep: " +
                options.file +
                " is not a valid sweep definition (`sweep validate " +
                options.file + "` checks it offline)\n");
  EXPECT_THAT(service_.last_create().file_name(), IsEmpty());
}

TEST_F(QueryCommandsTest, CreateOfAMissingFileNeverCallsTheController) {
  CreateOptions options;
  options.file = "/nonexistent/sweep.yaml";
  EXPECT_EQ(RunCreate(options, *client_, out_, err_), 1);
  EXPECT_EQ(err_.str(),
            "sweep: /nonexistent/sweep.yaml: cannot read: No such file or "
            "directory\n");
  EXPECT_THAT(service_.last_create().file_name(), IsEmpty());
}

TEST_F(QueryCommandsTest, TrialsAllFollowsEveryPage) {
  TrialsOptions options;
  options.sweep_id = "abc123de";
  options.all = true;
  ASSERT_EQ(RunTrials(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(service_.list_after_numbers(), ElementsAre(0, 2, 4));
  EXPECT_THAT(
      out_.str(),
      StartsWith(
          "#  STATE     BEST loss  CONFIG (differing)  HOST  DURATION\n"));
  EXPECT_THAT(out_.str(),
              HasSubstr("\n5  finished        0.2  lr=0.5              -"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("Showing")));
}

TEST_F(QueryCommandsTest, TrialsLimitStopsEarlyAndSaysHowToSeeMore) {
  TrialsOptions options;
  options.sweep_id = "abc123de";
  options.limit = 3;
  ASSERT_EQ(RunTrials(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\n3  finished   0.333333  lr=0.3  "));
  EXPECT_THAT(out_.str(), Not(HasSubstr("lr=0.4")));
  EXPECT_THAT(out_.str(), HasSubstr("Showing 3 of 5 trials; --all"));
}

TEST_F(QueryCommandsTest, TrialsJsonIsOneListTrialsResponse) {
  TrialsOptions options;
  options.sweep_id = "abc123de";
  options.all = true;
  options.json = true;
  ASSERT_EQ(RunTrials(options, *client_, out_, err_), 0) << err_.str();
  const Value json = Value::parse(out_.str());
  EXPECT_EQ(json.at("trials").size(), 5u);
  EXPECT_EQ(json.at("trials")[0].at("config").at("lr"), 0.1);
  EXPECT_EQ(json.at("trials")[0].at("state"), "finished");
  EXPECT_EQ(json.at("next_after_number"), 0);
}

TEST_F(QueryCommandsTest, AnUnknownSweepIsOneLine) {
  StatusOptions options;
  options.sweep_id = "nope";
  EXPECT_EQ(RunStatus(options, *client_, out_, err_), 1);
  EXPECT_EQ(err_.str(), "sweep: no sweep with id nope\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(QueryCommandsTest, StatusShowsTheLastTrials) {
  StatusOptions options;
  options.sweep_id = "abc123de";
  options.recent_trials = 2;
  ASSERT_EQ(RunStatus(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(service_.list_after_numbers(), ElementsAre(3));
  EXPECT_THAT(out_.str(), HasSubstr("Recent trials:\n"));
  EXPECT_THAT(out_.str(), HasSubstr("lr=0.4"));
  EXPECT_THAT(out_.str(), HasSubstr("lr=0.5"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("lr=0.3")));
}

TEST_F(QueryCommandsTest, StatusWithoutRecentTrialsListsNone) {
  StatusOptions options;
  options.sweep_id = "abc123de";
  options.recent_trials = 0;
  ASSERT_EQ(RunStatus(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(service_.list_after_numbers(), IsEmpty());
  EXPECT_THAT(out_.str(), Not(HasSubstr("Recent trials")));
}

TEST_F(QueryCommandsTest, TrialsJsonHasEveryTrialUnlessLimited) {
  TrialsOptions options;
  options.sweep_id = "abc123de";
  options.json = true;
  options.limit = 2;  // The default of a table, not asked for.
  ASSERT_EQ(RunTrials(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(Value::parse(out_.str()).at("trials").size(), 5u);
  out_.str("");
  options.limit_given = true;
  ASSERT_EQ(RunTrials(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(Value::parse(out_.str()).at("trials").size(), 2u);
}

TEST_F(QueryCommandsTest, ATrialNumberWhereTheSweepIdGoesGetsAHint) {
  TrialsOptions options;
  options.sweep_id = "5";
  EXPECT_EQ(RunTrials(options, *client_, out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no sweep with id 5"));
  EXPECT_THAT(err_.str(),
              HasSubstr("trial 5 of a sweep is `sweep trials SWEEP_ID 5`"));
}

TEST_F(QueryCommandsTest, ReadingCommandsWithoutAnIdShowTheNewestSweep) {
  StatusOptions status;
  status.recent_trials = 0;
  ASSERT_EQ(RunStatus(status, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("Sweep abc123de"));
  TrialsOptions trials;
  ASSERT_EQ(RunTrials(trials, *client_, out_, err_), 0) << err_.str();
  EXPECT_THAT(service_.list_after_numbers(), ElementsAre(0, 2, 4));
  out_.str("");
  ExportOptions exported;
  exported.format = "json";
  ASSERT_EQ(RunExport(exported, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(Value::parse(out_.str()).size(), 5u);
}

TEST_F(QueryCommandsTest, PausePrintsTheNewState) {
  StateChangeOptions options;
  options.sweep_id = "abc123de";
  options.action = v1::SWEEP_ACTION_PAUSE;
  ASSERT_EQ(RunStateChange(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Sweep abc123de is now paused.\n");
}

TEST_F(QueryCommandsTest, ListJsonUsesProtoFieldNames) {
  ListOptions options;
  options.json = true;
  ASSERT_EQ(RunList(options, *client_, out_, err_), 0) << err_.str();
  const Value json = Value::parse(out_.str());
  EXPECT_EQ(json.at("sweeps")[0].at("metric_name"), "loss");
}

TEST_F(QueryCommandsTest, ExportWritesEveryTrialToTheFile) {
  ExportOptions options;
  options.sweep_id = "abc123de";
  options.output = ::testing::TempDir() + "trials.csv";
  ASSERT_EQ(RunExport(options, *client_, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Exported 5 trials of sweep abc123de to " + options.output + "\n");
  std::ifstream file(options.output);
  std::stringstream csv;
  csv << file.rdbuf();
  EXPECT_THAT(csv.str(), StartsWith("number,state,best_value,"));
  EXPECT_THAT(csv.str(), HasSubstr("\n5,finished,0.2,"));
}

TEST(QueryCommandsUnreachableTest, OneLineOnStderr) {
  ControllerClient client("127.0.0.1:1", absl::Seconds(5));
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunList(ListOptions(), client, out, err),
            kExitControllerUnavailable);
  EXPECT_THAT(out.str(), IsEmpty());
  EXPECT_EQ(err.str(),
            "sweep: cannot reach the controller at 127.0.0.1:1 (connection "
            "refused); start one with `sweep server` or set --controller / "
            "SWEEP_CONTROLLER\n");
}

}  // namespace
}  // namespace sweep
