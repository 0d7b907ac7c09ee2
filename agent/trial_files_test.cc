#include "agent/trial_files.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "agent/output_copier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

TEST(WandbParamsYamlTest, FloatsAreFloatsToPyYaml) {
  const Value config = Value::parse(
      R"({"lr": 1e-05, "big": 1e16, "x": 0.5, "n": 3, "w": 3.0,
          "tiny": [2.5e-07, {"deep": -1e-300}], "s": "1e-05", "b": true})");
  EXPECT_EQ(WandbParamsYaml(config),
            "wandb_version: 1\n"
            "\"lr\": {\"value\": 1.0e-05}\n"
            "\"big\": {\"value\": 1.0e+16}\n"
            "\"x\": {\"value\": 0.5}\n"
            "\"n\": {\"value\": 3}\n"
            "\"w\": {\"value\": 3.0}\n"
            "\"tiny\": {\"value\": [2.5e-07, {\"deep\": -1.0e-300}]}\n"
            "\"s\": {\"value\": \"1e-05\"}\n"
            "\"b\": {\"value\": true}\n");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A work dir others can write to: links planted in it do not send the
// trial's files elsewhere.
TEST(PrepareTrialFilesTest, LinksPlantedInTheWorkDirAreNotFollowed) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "trial_files_test.XXXXXX")
          .string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path root = pattern;
  const std::string workdir = (root / "work").string();
  const std::filesystem::path victim = root / "victim";
  std::filesystem::create_directories(victim);
  std::filesystem::create_directories(root / "work" / "sw");
  const Value config = Value::parse(R"({"lr": 0.1})");

  // A trial directory that is a link to another directory: refused.
  std::filesystem::create_directory_symlink(victim, root / "work/sw/trial-1");
  absl::StatusOr<TrialFiles> linked =
      PrepareTrialFiles(workdir, "sw", 1, config);
  ASSERT_FALSE(linked.ok());
  EXPECT_THAT(linked.status().message(), ::testing::HasSubstr("trial-1"));
  EXPECT_TRUE(std::filesystem::is_empty(victim));

  // Files of a real trial directory that are links: replaced or removed,
  // not written through; an output log planted after that is refused.
  std::filesystem::create_directories(root / "work/sw/trial-2");
  std::ofstream(victim / "file") << "untouched";
  for (const char* name : {"params.json", "params.json.tmp", "params.yaml.tmp",
                           "metrics.jsonl", "output.log"}) {
    std::filesystem::create_symlink(victim / "file",
                                    root / "work/sw/trial-2" / name);
  }
  absl::StatusOr<TrialFiles> files =
      PrepareTrialFiles(workdir, "sw", 2, config);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(ReadFile(files->params_json), "{\"lr\":0.1}\n");
  EXPECT_FALSE(
      std::filesystem::exists(std::filesystem::symlink_status(files->log)));
  std::filesystem::create_symlink(victim / "file", files->log);
  EXPECT_FALSE(OutputCopier::Create(files->log).ok());
  EXPECT_EQ(ReadFile((victim / "file").string()), "untouched");

  // A FIFO for the output log: refused at once, never waited on.
  std::filesystem::create_directories(root / "work/sw/trial-3");
  ASSERT_EQ(mkfifo((root / "work/sw/trial-3/output.log").c_str(), 0644), 0);
  absl::StatusOr<TrialFiles> fifo = PrepareTrialFiles(workdir, "sw", 3, config);
  ASSERT_TRUE(fifo.ok()) << fifo.status();
  ASSERT_EQ(mkfifo(fifo->log.c_str(), 0644), 0);  // Planted after: refused.
  EXPECT_FALSE(OutputCopier::Create(fifo->log).ok());

  // A log left by an earlier run of this trial number (a restored data
  // dir): gone, not the start of this run's log.
  std::filesystem::create_directories(root / "work/sw/trial-5");
  std::ofstream(root / "work/sw/trial-5/output.log") << "an old run\n";
  absl::StatusOr<TrialFiles> reused =
      PrepareTrialFiles(workdir, "sw", 5, config);
  ASSERT_TRUE(reused.ok()) << reused.status();
  EXPECT_FALSE(std::filesystem::exists(reused->log));

  // A trial directory another user made beforehand (when this test may
  // give one away: as root).
  std::filesystem::create_directories(root / "work/sw/trial-4");
  if (chown((root / "work/sw/trial-4").c_str(), 65534, 65534) == 0) {
    absl::StatusOr<TrialFiles> theirs =
        PrepareTrialFiles(workdir, "sw", 4, config);
    ASSERT_FALSE(theirs.ok());
    EXPECT_THAT(theirs.status().message(),
                ::testing::HasSubstr("owned by another user"));
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace sweep
