// `sweep validate` through the real binary: every example in configs/ is
// valid and reports its grid size; a malformed file reports every error with
// its line and column and exits 1.
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/subprocess.h"

namespace sweep {
namespace {

using ::sweep::testing::ProcessResult;
using ::sweep::testing::RunProcess;
using ::sweep::testing::SourceDir;
using ::sweep::testing::SweepBinary;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::seconds kTimeout(60);

std::vector<std::string> ExampleConfigs() {
  std::vector<std::string> files;
  const std::string dir = SourceDir() + "/configs";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") {
      files.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ValidateEndToEndTest, EveryExampleConfigIsValidAndReportsItsSize) {
  const std::vector<std::string> files = ExampleConfigs();
  ASSERT_GE(files.size(), 8u);
  for (const std::string& file : files) {
    const ProcessResult r = RunProcess(
        {SweepBinary(), "validate", file, "--preview", "3"}, kTimeout);
    EXPECT_EQ(r.exit_code, 0) << file << "\n" << r.err;
    EXPECT_THAT(r.out, HasSubstr("grid points: ")) << file;
    EXPECT_THAT(r.out, HasSubstr("first 3 trials")) << file;
    EXPECT_THAT(r.err, Not(HasSubstr("error"))) << file;
  }
}

TEST(CliEndToEndTest, AnUnknownCommandIsNamedWithTheClosestOne) {
  const ProcessResult r =
      RunProcess({SweepBinary(), "stauts", "abc"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'stauts' (did you mean "
                               "'status'?)"));
  EXPECT_THAT(r.err, HasSubstr("commands: create, validate"));
}

TEST(CliEndToEndTest, UsageErrorsExitTwoAndNameTheOption) {
  ProcessResult r =
      RunProcess({SweepBinary(), "agent", "x", "--count", "-1"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("--count: must be a whole number, 0 or more, got -1"));
  r = RunProcess({SweepBinary(), "pause"}, kTimeout);  // Needs an id.
  EXPECT_EQ(r.exit_code, 2);
  r = RunProcess({SweepBinary()}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("Usage: sweep [OPTIONS] SUBCOMMAND"));
  r = RunProcess({SweepBinary(), "--version"}, kTimeout);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::StartsWith("sweep "));
  r = RunProcess({SweepBinary(), "trials", "abc", "0"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("number: must be a whole number, 1 or more, "
                               "got 0"));
  // A mistyped option, named with the closest the command has.
  r = RunProcess({SweepBinary(), "agent", "abc", "--cout", "3"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("sweep agent: unknown option '--cout' (did "
                               "you mean '--count'?)"));
  // A value that looks like an option is the option's, not the mistake.
  r = RunProcess({SweepBinary(), "agent", "abc", "--name", "--odd", "extra"},
                 kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, Not(HasSubstr("unknown option '--odd'")));
  EXPECT_THAT(r.err, HasSubstr("extra"));
  // An option before the command.
  r = RunProcess({SweepBinary(), "--controller", "x", "ls"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--controller goes after the command"));
}

TEST(CliEndToEndTest, HelpIsACommandToo) {
  ProcessResult r = RunProcess({SweepBinary(), "help"}, kTimeout);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: sweep [OPTIONS] SUBCOMMAND"));
  r = RunProcess({SweepBinary(), "help", "agent"}, kTimeout);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--wandb-shim"));
  r = RunProcess({SweepBinary(), "help", "nope"}, kTimeout);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no command 'nope'"));
}

TEST(ValidateEndToEndTest, GridSizeIsPrinted) {
  const ProcessResult r = RunProcess(
      {SweepBinary(), "validate", SourceDir() + "/configs/grid.yaml"},
      kTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("grid points: 144\n"));
}

TEST(ValidateEndToEndTest, MalformedFileReportsEveryErrorWithLineAndColumn) {
  const std::string file = SourceDir() + "/configs/invalid/broken.yaml";
  const ProcessResult r =
      RunProcess({SweepBinary(), "validate", file}, kTimeout);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(file + ":15:9: metric.goal: must be minimize or "
                                      "maximize, got 'maximise'"));
  EXPECT_THAT(r.err, HasSubstr(file + ":29:10: parameters.lr: max (0.0001) "
                                      "must be greater than min (0.1)"));
  EXPECT_THAT(r.err, HasSubstr("unknown macro ${foo}"));
  EXPECT_THAT(r.err, HasSubstr("invalid (6 errors)"));
}

TEST(ValidateEndToEndTest, JsonOutputIsMachineReadable) {
  const ProcessResult r =
      RunProcess({SweepBinary(), "validate", "--json",
                  SourceDir() + "/configs/invalid/broken.yaml"},
                 kTimeout);
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json report = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << r.out;
  EXPECT_EQ(report["valid"], false);
  ASSERT_EQ(report["errors"].size(), 6u);
  EXPECT_EQ(report["errors"][0]["line"], 15);
  EXPECT_EQ(report["errors"][0]["path"], "metric.goal");

  const ProcessResult ok = RunProcess(
      {SweepBinary(), "validate", "--json", SourceDir() + "/configs/grid.yaml"},
      kTimeout);
  EXPECT_EQ(ok.exit_code, 0);
  const nlohmann::json good = nlohmann::json::parse(ok.out, nullptr, false);
  EXPECT_EQ(good["grid_points"], 144);
  EXPECT_EQ(good["definition"]["method"], "grid");
}

TEST(ValidateEndToEndTest, UnreadableAndHostileFiles) {
  const ProcessResult missing = RunProcess(
      {SweepBinary(), "validate", "/nonexistent/sweep.yaml"}, kTimeout);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/sweep.yaml: cannot read"));

  const std::string big = ::testing::TempDir() + "/big.yaml";
  {
    std::ofstream out(big, std::ios::binary);
    const std::string chunk(1 << 20, 'a');
    for (int i = 0; i < 50; ++i) out << chunk;
  }
  const ProcessResult huge =
      RunProcess({SweepBinary(), "validate", big}, kTimeout);
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_THAT(huge.err, HasSubstr("file is 50.0 MiB"));
  std::remove(big.c_str());
}

}  // namespace
}  // namespace sweep
