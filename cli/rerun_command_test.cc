#include "cli/rerun_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Sweep SweepWith(const std::string& definition_yaml) {
  v1::Sweep sweep;
  sweep.set_id("abc123de");
  sweep.set_definition_yaml(definition_yaml);
  return sweep;
}

v1::Trial TrialWith(const std::string& config_json) {
  v1::Trial trial;
  trial.set_number(3);
  trial.set_config_json(config_json);
  return trial;
}

TEST(ShellQuoteTest, QuotesOnlyWhatTheShellWouldChange) {
  EXPECT_EQ(ShellQuote("--lr=0.001"), "--lr=0.001");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
  // Control characters: bash's $'...', which a terminal shows as text.
  EXPECT_EQ(ShellQuote("--p=\x1b]0;PWNED\x07\r'x\\"),
            "$'--p=\\x1b]0;PWNED\\x07\\x0d\\'x\\\\'");
  // A C1 control and a right-to-left override too, byte by byte.
  EXPECT_EQ(ShellQuote("a\xc2\x9b"
                       "b\xe2\x80\xae"
                       "c"),
            "$'a\\xc2\\x9bb\\xe2\\x80\\xaec'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST(RerunCommandTest, ExpandsTheDefaultCommandWithTheConfig) {
  const absl::StatusOr<RerunCommand> rerun = MakeRerunCommand(
      SweepWith("program: train.py\nmethod: grid\nparameters:\n"
                "  lr:\n    values: [0.1, 0.2]\n"
                "  name:\n    value: a b\n"),
      TrialWith(R"({"lr": 0.2, "name": "a b"})"));
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_THAT(rerun->command_line, StartsWith("/usr/bin/env python"));
  EXPECT_THAT(rerun->command_line, EndsWith(" train.py --lr=0.2 '--name=a b'"));
  EXPECT_FALSE(rerun->reads_args_json_file);
  EXPECT_THAT(rerun->environment,
              StartsWith("SWEEP_PARAMS_JSON='{\"lr\":0.2,"));
  EXPECT_THAT(rerun->environment, EndsWith("${PYTHONPATH:+:$PYTHONPATH}"));
}

TEST(RerunCommandTest, UsesTheAgentsInterpreterWhenGiven) {
  const absl::StatusOr<RerunCommand> rerun = MakeRerunCommand(
      SweepWith("program: train.py\nmethod: grid\nparameters:\n"
                "  lr:\n    values: [0.1, 0.2]\n"),
      TrialWith(R"({"lr": 0.2})"), "/opt/venv/bin/python3");
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(rerun->command_line,
            "/usr/bin/env /opt/venv/bin/python3 train.py --lr=0.2");
}

TEST(RerunCommandTest, SaysWhenTheCommandReadsTheParamsFile) {
  const absl::StatusOr<RerunCommand> rerun = MakeRerunCommand(
      SweepWith("program: train.py\nmethod: grid\nparameters:\n"
                "  lr:\n    value: 0.1\n"
                "command:\n  - python3\n  - ${program}\n  - --config\n"
                "  - ${args_json_file}\n"),
      TrialWith(R"({"lr": 0.1})"));
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(rerun->command_line, "python3 train.py --config params.json");
  EXPECT_TRUE(rerun->reads_args_json_file);
}

TEST(RerunCommandTest, ExplainsWhatIsMissing) {
  EXPECT_THAT(MakeRerunCommand(SweepWith("method: [oops"), TrialWith("{}"))
                  .status()
                  .message(),
              HasSubstr("definition does not parse"));
  EXPECT_THAT(
      MakeRerunCommand(SweepWith("program: t.py\nmethod: grid\nparameters:\n"
                                 "  lr:\n    value: 0.1\n"),
                       TrialWith("not json"))
          .status()
          .message(),
      HasSubstr("config is not a JSON object"));
}

}  // namespace
}  // namespace sweep
