// Command building per the spec's section 6, including W&B's own vector.
#include "search/command_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A spec whose parameters are constants a=True, b=False, c=1, d=None (W&B's
// own test), with the given command tokens.
SweepSpec WandbVectorSpec(const std::vector<std::string>& command) {
  std::string text = "method: grid\nprogram: train.py\ncommand:\n";
  for (const std::string& token : command) text += "  - '" + token + "'\n";
  text +=
      "parameters:\n  a: {value: true}\n  b: {value: false}\n  c: {value: "
      "1}\n  d: {value: null}\n";
  ParsedDefinition parsed = ParseSweepDefinition(text, "t.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.Format();
  return parsed.ok() ? *parsed.spec : SweepSpec{};
}

Point ConstantsOf(const SweepSpec& spec) {
  Point point;
  for (const ParameterSpec& p : spec.parameters) point.push_back(p.value);
  return point;
}

std::vector<std::string> Expand(const std::vector<std::string>& command,
                                CommandEnvironment env = {}) {
  const SweepSpec spec = WandbVectorSpec(command);
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandCommand(spec, ConstantsOf(spec), env);
  EXPECT_TRUE(argv.ok()) << argv.status();
  return argv.ok() ? *argv : std::vector<std::string>{};
}

TEST(CommandTemplateTest, WandbVector) {
  EXPECT_THAT(Expand({"${args}"}),
              ElementsAre("--a=True", "--b=False", "--c=1", "--d=None"));
  EXPECT_THAT(Expand({"${args_no_boolean_flags}"}),
              ElementsAre("--a", "--c=1", "--d=None"));
  EXPECT_THAT(Expand({"${args_json}"}),
              ElementsAre(R"({"a": true, "b": false, "c": 1, "d": null})"));
}

TEST(CommandTemplateTest, EveryListMacro) {
  CommandEnvironment env;
  env.interpreter = "python3";
  env.args_json_file = "/tmp/trial/params.json";
  EXPECT_THAT(Expand({"${env}", "${interpreter}", "${program}"}, env),
              ElementsAre("/usr/bin/env", "python3", "train.py"));
  EXPECT_THAT(Expand({"${args_no_hyphens}"}),
              ElementsAre("a=True", "b=False", "c=1", "d=None"));
  EXPECT_THAT(
      Expand({"${args_no_equals}"}),
      ElementsAre("--a", "True", "--b", "False", "--c", "1", "--d", "None"));
  EXPECT_THAT(Expand({"${args_append_hydra}"}),
              ElementsAre("+a=True", "+b=False", "+c=1", "+d=None"));
  EXPECT_THAT(Expand({"${args_override_hydra}"}),
              ElementsAre("++a=True", "++b=False", "++c=1", "++d=None"));
  EXPECT_THAT(Expand({"${args_json_file}"}, env),
              ElementsAre("/tmp/trial/params.json"));
}

TEST(CommandTemplateTest, EnvVarsInsideTokens) {
  CommandEnvironment env;
  env.getenv = [](absl::string_view name) -> std::optional<std::string> {
    if (name == "DATA") return std::string("/data");
    return std::nullopt;
  };
  EXPECT_THAT(Expand({"--in=${envvar:DATA}/x", "${envvar:DATA}"}, env),
              ElementsAre("--in=/data/x", "/data"));
  const SweepSpec spec = WandbVectorSpec({"${envvar:MISSING}"});
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandCommand(spec, ConstantsOf(spec), env);
  ASSERT_FALSE(argv.ok());
  EXPECT_THAT(argv.status().message(), HasSubstr("MISSING is not set"));
}

TEST(CommandTemplateTest, ValuesFullOfShellMetacharactersStayOneToken) {
  ParsedDefinition parsed = ParseSweepDefinition(
      "method: grid\nprogram: p.py\nparameters:\n  s: {value: \"$(rm -rf /); "
      "echo 'x' | cat > y\"}\n  opt:\n    parameters:\n      lr: {value: "
      "0.001}\n      eps: {value: 1e-08}\n",
      "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.Format();
  Point point;
  for (const ParameterSpec& p : parsed.spec->parameters) {
    point.push_back(p.value);
  }
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandCommand(*parsed.spec, point, {});
  ASSERT_TRUE(argv.ok());
  EXPECT_THAT(*argv, ElementsAre("/usr/bin/env", "python", "p.py",
                                 "--opt={'eps': 1e-08, 'lr': 0.001}",
                                 "--s=$(rm -rf /); echo 'x' | cat > y"));
}

TEST(CommandTemplateTest, CheckCommandToken) {
  std::string error;
  EXPECT_TRUE(CheckCommandToken("plain", &error));
  EXPECT_TRUE(CheckCommandToken("${args}", &error));
  EXPECT_TRUE(CheckCommandToken("a${envvar:X_1}b${envvar:Y}", &error));
  EXPECT_FALSE(CheckCommandToken("${nope}", &error));
  EXPECT_THAT(error, HasSubstr("unknown macro ${nope}"));
  EXPECT_FALSE(CheckCommandToken("x${program}", &error));
  EXPECT_FALSE(CheckCommandToken("${args", &error));
  EXPECT_THAT(error, HasSubstr("unterminated"));
}

}  // namespace
}  // namespace sweep
