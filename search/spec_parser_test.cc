// Valid sweep definitions: every key and parameter form of the spec's
// sections 1, 2 and 6, inference, defaults and flattening.
#include "search/spec_parser.h"

#include <algorithm>
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

SweepSpec ParseOk(const std::string& text) {
  ParsedDefinition parsed = ParseSweepDefinition(text, "sweep.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.Format();
  return parsed.ok() ? *parsed.spec : SweepSpec{};
}

const ParameterSpec& Param(const SweepSpec& spec, const std::string& name) {
  const int i = spec.FindParameter(name);
  EXPECT_GE(i, 0) << name;
  static const ParameterSpec kMissing;
  return i >= 0 ? spec.parameters[i] : kMissing;
}

std::vector<std::string> Warnings(const std::string& text) {
  std::vector<std::string> out;
  for (const Diagnostic& d :
       ParseSweepDefinition(text, "sweep.yaml").diagnostics) {
    if (d.severity == Diagnostic::Severity::kWarning) {
      out.push_back(d.ToString());
    }
  }
  return out;
}

constexpr char kHeader[] = "method: random\nprogram: train.py\n";

TEST(SpecParserTest, MinimalDefinitionGetsDefaults) {
  const SweepSpec spec = ParseOk(
      "method: grid\nprogram: train.py\nparameters:\n  x: {value: 1}\n");
  EXPECT_EQ(spec.method, Method::kGrid);
  EXPECT_THAT(spec.command,
              ElementsAre("${env}", "${interpreter}", "${program}", "${args}"));
  EXPECT_TRUE(spec.command_is_default);
  EXPECT_EQ(spec.program, "train.py");
  EXPECT_FALSE(spec.metric.has_value());
  EXPECT_FALSE(spec.run_cap.has_value());
}

TEST(SpecParserTest, InfersEachParameterForm) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  c: {value: 0.5}
  cat: {values: [a, b]}
  w: {values: [a, b], probabilities: [0.25, 0.75]}
  i: {min: 1, max: 10}
  f: {min: 1.0, max: 10}
  g: {min: 0, max: 0.5}
)");
  EXPECT_EQ(Param(spec, "c").distribution, Distribution::kConstant);
  EXPECT_EQ(Param(spec, "c").value, Value(0.5));
  EXPECT_EQ(Param(spec, "cat").distribution, Distribution::kCategorical);
  EXPECT_EQ(Param(spec, "w").distribution,
            Distribution::kCategoricalWithProbabilities);
  EXPECT_THAT(Param(spec, "w").probabilities, ElementsAre(0.25, 0.75));
  EXPECT_EQ(Param(spec, "i").distribution, Distribution::kIntUniform);
  EXPECT_EQ(Param(spec, "i").min, 1);
  EXPECT_EQ(Param(spec, "i").max, 10);
  // `1.0` is a float, so the pair is a float range.
  EXPECT_EQ(Param(spec, "f").distribution, Distribution::kUniform);
  EXPECT_EQ(Param(spec, "g").distribution, Distribution::kUniform);
}

TEST(SpecParserTest, ExplicitDistributionWins) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  x: {distribution: uniform, min: 1, max: 10}
  y: {distribution: categorical, values: [1, 2]}
)");
  EXPECT_EQ(Param(spec, "x").distribution, Distribution::kUniform);
  EXPECT_EQ(Param(spec, "y").distribution, Distribution::kCategorical);
}

TEST(SpecParserTest, EveryDistributionWithDefaults) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  a01: {distribution: int_uniform, min: -3, max: 3}
  a02: {distribution: uniform, min: -1.5, max: 2}
  a03: {distribution: q_uniform, min: 0, max: 10}
  a04: {distribution: q_uniform, min: 0, max: 10, q: 2}
  a05: {distribution: log_uniform, min: -9.2, max: -2.3}
  a06: {distribution: log_uniform_values, min: 1e-4, max: 0.1}
  a07: {distribution: q_log_uniform, min: 0, max: 5, q: 1}
  a08: {distribution: q_log_uniform_values, min: 1, max: 1024, q: 8}
  a09: {distribution: inv_log_uniform, min: 1, max: 5}
  a10: {distribution: inv_log_uniform_values, min: 0.01, max: 1}
  a11: {distribution: normal}
  a12: {distribution: q_normal, mu: 10, sigma: 2, q: 0.5}
  a13: {distribution: log_normal, mu: 1, sigma: 0.5}
  a14: {distribution: q_log_normal, q: 1.0}
  a15: {distribution: beta, a: 2, b: 5}
  a16: {distribution: q_beta, q: 0.1}
  a17: {distribution: constant, value: [1, 2]}
  a18: {distribution: categorical_w_probabilities, values: [x, y], probabilities: [0.5, 0.5]}
)");
  ASSERT_EQ(spec.parameters.size(), 18u);
  EXPECT_EQ(Param(spec, "a03").q, 1.0);
  EXPECT_FALSE(Param(spec, "a03").q_is_integer);  // Default q is the float 1.0.
  EXPECT_EQ(Param(spec, "a04").q, 2.0);
  EXPECT_TRUE(Param(spec, "a04").q_is_integer);
  EXPECT_DOUBLE_EQ(Param(spec, "a06").min, 1e-4);
  EXPECT_EQ(Param(spec, "a11").mu, 0.0);
  EXPECT_EQ(Param(spec, "a11").sigma, 1.0);
  EXPECT_EQ(Param(spec, "a12").mu, 10.0);
  EXPECT_FALSE(Param(spec, "a14").q_is_integer);
  EXPECT_EQ(Param(spec, "a15").a, 2.0);
  EXPECT_EQ(Param(spec, "a16").a, 1.0);
  EXPECT_EQ(Param(spec, "a16").b, 1.0);
  EXPECT_EQ(Param(spec, "a17").value, Value::parse("[1, 2]"));
  using D = Distribution;
  const Distribution expected[] = {
      D::kIntUniform,    D::kUniform,
      D::kQUniform,      D::kQUniform,
      D::kLogUniform,    D::kLogUniformValues,
      D::kQLogUniform,   D::kQLogUniformValues,
      D::kInvLogUniform, D::kInvLogUniformValues,
      D::kNormal,        D::kQNormal,
      D::kLogNormal,     D::kQLogNormal,
      D::kBeta,          D::kQBeta,
      D::kConstant,      D::kCategoricalWithProbabilities};
  for (int i = 0; i < 18; ++i) {
    EXPECT_EQ(spec.parameters[i].distribution, expected[i])
        << spec.parameters[i].name;
  }
}

// Tags the reader does not act on: a warning names each, where PyYAML would
// decode or refuse the value; the standard ones are read quietly.
TEST(SpecParserTest, IgnoredTagsAreWarnedAbout) {
  const std::vector<std::string> warnings =
      Warnings(std::string(kHeader) + R"(parameters:
  a: {value: !!binary aGVsbG8=}
  b: {value: !!python/object:os.system "id"}
  c: {values: [!!str 1, !!int "2", !!float 3]}
)");
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_THAT(warnings[0], HasSubstr("sweep.yaml:4:14: warning: the tag "
                                     "tag:yaml.org,2002:binary is ignored"));
  EXPECT_THAT(warnings[1],
              HasSubstr("sweep.yaml:5:14: warning: the tag "
                        "tag:yaml.org,2002:python/object:os.system"));
}

// An integer PyYAML reads as a Python int but 64 bits cannot hold is read
// as a string, with a warning at its line; those that fit, quoted ones and
// uint64's range are read quietly.
TEST(SpecParserTest, IntegersWiderThan64BitsAreWarnedAbout) {
  const std::vector<std::string> warnings =
      Warnings(std::string(kHeader) + R"(parameters:
  a: {value: 99999999999999999999}
  b: {values: [1, -9_223_372_036_854_775_809, "99999999999999999999"]}
  c: {value: 18446744073709551615}
  d: {value: 0999999999999999999999}
)");
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_THAT(
      warnings[0],
      HasSubstr("sweep.yaml:4:14: warning: 99999999999999999999 is an "
                "integer wider than 64 bits: it is read as the string"));
  EXPECT_THAT(warnings[1],
              HasSubstr("sweep.yaml:5:19: warning: "
                        "-9_223_372_036_854_775_809 is an integer"));
}

// A tagged node used through many aliases: a few warnings, not one a use.
TEST(SpecParserTest, TagWarningsAreFewWhateverTheAliases) {
  std::string text = std::string(kHeader) +
                     "x-base: &tagged !!binary aGVsbG8=\nparameters:\n  x:\n"
                     "    values: [";
  for (int i = 0; i < 1000; ++i)
    text += (i ? ", " : "") + std::string("*tagged");
  text += "]\n";
  const std::vector<std::string> warnings = Warnings(text);
  const auto tags = std::count_if(
      warnings.begin(), warnings.end(), [](const std::string& warning) {
        return warning.find("the tag") != std::string::npos;
      });
  EXPECT_GT(tags, 0);
  EXPECT_LE(tags, 20);
}

TEST(SpecParserTest, DeprecatedExponentFormsWarnWithTheValuesForm) {
  const std::vector<std::string> warnings =
      Warnings(std::string(kHeader) + R"(parameters:
  lr: {distribution: log_uniform, min: -9.21, max: -2.3}
  q: {distribution: q_log_uniform, min: 0, max: 3}
  inv: {distribution: inv_log_uniform, min: 0, max: 2}
)");
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_THAT(warnings[0],
              HasSubstr("sweep.yaml:4:40: warning: parameters.lr"));
  EXPECT_THAT(warnings[0], HasSubstr("use log_uniform_values with min: "
                                     "0.000100034, max: 0.100259"));
  EXPECT_THAT(warnings[1], HasSubstr("use q_log_uniform_values with min: 1, "
                                     "max: 20.0855"));
  EXPECT_THAT(warnings[2], HasSubstr("parameters.inv"));
  EXPECT_THAT(warnings[2], HasSubstr("use inv_log_uniform_values with min: "
                                     "0.135335, max: 1"));
}

TEST(SpecParserTest, NestedParametersFlattenSortedDepthFirst) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  zeta: {value: 1}
  optimizer:
    parameters:
      name: {values: [adam, sgd]}
      beta:
        parameters:
          two: {value: 0.999}
          one: {value: 0.9}
  epochs: {value: 3}
  other:
    parameters:
      name: {value: x}
)");
  std::vector<std::string> names;
  for (const ParameterSpec& p : spec.parameters) names.push_back(p.name);
  EXPECT_THAT(names,
              ElementsAre("epochs", "optimizer.beta.one", "optimizer.beta.two",
                          "optimizer.name", "other.name", "zeta"));
  EXPECT_THAT(Param(spec, "optimizer.beta.one").path,
              ElementsAre("optimizer", "beta", "one"));
  Point point;
  for (const ParameterSpec& p : spec.parameters) {
    point.push_back(p.distribution == Distribution::kConstant ? p.value
                                                              : p.values[0]);
  }
  EXPECT_EQ(NestPoint(spec, point),
            Value::parse(R"({"epochs": 3, "optimizer": {"beta": {"one": 0.9,
                "two": 0.999}, "name": "adam"}, "other": {"name": "x"},
                "zeta": 1})"));
}

TEST(SpecParserTest, ScalarsAreTypedAsPyYamlDoesWithFloatExponents) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  v:
    values: [yes, no, on, Off, ~, null, "1", 1, 1.0, 1e-5, 0x10, 010, 0o17, abc, 1_000, 1:30, -1:00:01]
)");
  const std::vector<Value>& v = Param(spec, "v").values;
  ASSERT_EQ(v.size(), 17u);
  EXPECT_EQ(v[0], Value(true));
  EXPECT_EQ(v[1], Value(false));
  EXPECT_EQ(v[2], Value(true));
  EXPECT_EQ(v[3], Value(false));
  EXPECT_TRUE(v[4].is_null());
  EXPECT_TRUE(v[5].is_null());
  EXPECT_EQ(v[6], Value("1"));
  EXPECT_TRUE(v[7].is_number_integer());
  EXPECT_TRUE(v[8].is_number_float());
  EXPECT_TRUE(v[9].is_number_float());
  EXPECT_DOUBLE_EQ(v[9].get<double>(), 1e-5);
  EXPECT_EQ(v[10], Value(16));
  EXPECT_EQ(v[11], Value(8));
  EXPECT_EQ(v[12], Value("0o17"));  // YAML 1.2's octal; PyYAML's string.
  EXPECT_EQ(v[13], Value("abc"));
  EXPECT_EQ(v[14], Value(1000));
  EXPECT_EQ(v[15], Value(90));  // YAML 1.1's base 60, as PyYAML reads it.
  EXPECT_EQ(v[16], Value(-3601));
}

TEST(SpecParserTest, RepeatedValuesAreKeptAndWarned) {
  const std::string text = std::string(kHeader) +
                           "parameters:\n  x: {values: [3000000, 3000000.0, "
                           "true, 1, [1], 1]}\n";
  const SweepSpec spec = ParseOk(text);
  EXPECT_EQ(Param(spec, "x").values.size(), 6u);
  const std::vector<std::string> warnings = Warnings(text);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0],
              HasSubstr("values[1] (3000000.0) repeats values[0]"));
  EXPECT_THAT(warnings[1], HasSubstr("values[5] (1) repeats values[3]"));
}

TEST(SpecParserTest, MetricEarlyTerminateAndCaps) {
  const SweepSpec spec = ParseOk(R"(method: bayes
program: train.py
name: my sweep
description: tries things
project: proj
entity: team
run_cap: 50
metric:
  name: val/acc
  goal: maximize
  target: 0.99
  impute: best
  impute_while_running: latest
early_terminate:
  type: hyperband
  min_iter: 3
parameters:
  x: {min: 0.0, max: 1.0}
)");
  ASSERT_TRUE(spec.metric.has_value());
  EXPECT_EQ(spec.metric->name, "val/acc");
  EXPECT_EQ(spec.metric->goal, Goal::kMaximize);
  EXPECT_EQ(spec.metric->target, 0.99);
  EXPECT_EQ(spec.metric->impute, Impute::kBest);
  EXPECT_EQ(spec.metric->impute_while_running, Impute::kLatest);
  ASSERT_TRUE(spec.early_terminate.has_value());
  EXPECT_EQ(spec.early_terminate->type, EarlyTerminateSpec::Type::kHyperband);
  EXPECT_EQ(spec.early_terminate->hyperband.min_iter, 3);
  EXPECT_EQ(spec.early_terminate->hyperband.eta, 3.0);
  EXPECT_TRUE(spec.early_terminate->hyperband.strict);
  EXPECT_EQ(spec.run_cap, 50);
  EXPECT_EQ(spec.name, "my sweep");
  EXPECT_EQ(spec.description, "tries things");
  EXPECT_EQ(spec.project, "proj");
  EXPECT_EQ(spec.entity, "team");
}

TEST(SpecParserTest, MetricDefaults) {
  const SweepSpec spec = ParseOk(std::string(kHeader) +
                                 "metric: {name: loss}\nparameters:\n  x: "
                                 "{value: 1}\n");
  EXPECT_EQ(spec.metric->goal, Goal::kMinimize);
  EXPECT_EQ(spec.metric->impute, Impute::kWorst);
  EXPECT_FALSE(spec.metric->impute_while_running.has_value());
  EXPECT_FALSE(spec.metric->target.has_value());
}

TEST(SpecParserTest, HyperbandMaxIterForm) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(metric: {name: loss}
early_terminate: {type: hyperband, max_iter: 81, s: 3, eta: 3, strict: false}
parameters:
  x: {value: 1}
)");
  const HyperbandSpec& hb = spec.early_terminate->hyperband;
  EXPECT_EQ(hb.max_iter, 81);
  EXPECT_EQ(hb.s, 3);
  EXPECT_FALSE(hb.strict);
}

TEST(SpecParserTest, HyperbandWithoutABandIsWarned) {
  const std::string text = std::string(kHeader) + R"(metric: {name: loss}
early_terminate: {type: hyperband, max_iter: 2, s: 3}
parameters:
  x: {value: 1}
)";
  EXPECT_THAT(
      Warnings(text),
      ElementsAre(HasSubstr(
          "sweep.yaml:4:1: warning: early_terminate: max_iter 2 / eta 3 is "
          "below 1 iteration: hyperband has no band")));
  EXPECT_THAT(Warnings(std::string(kHeader) + R"(metric: {name: loss}
early_terminate: {type: hyperband, max_iter: 3, s: 3}
parameters:
  x: {value: 1}
)"),
              IsEmpty());
}

TEST(SpecParserTest, ExtensionKeyHoldsSeedRetriesAndStoppers) {
  const SweepSpec spec = ParseOk(R"(method: grid
program: train.py
metric: {name: loss}
parameters:
  x: {values: [1, 2]}
sweep:
  seed: 42
  retry_failed: 2
  early_terminate: {type: asha, min_resource: 1, max_resource: 27, reduction_factor: 3}
)");
  EXPECT_EQ(spec.extension.seed, 42u);
  EXPECT_EQ(spec.extension.retry_failed, 2);
  EXPECT_EQ(spec.early_terminate->type, EarlyTerminateSpec::Type::kAsha);
  EXPECT_EQ(spec.early_terminate->asha.max_resource, 27);

  // Without a grid, retry_failed does nothing: said where it is.
  const std::vector<std::string> warnings = Warnings(R"(method: random
program: train.py
parameters:
  x: {values: [1, 2]}
sweep:
  seed: 42
  retry_failed: 2
)");
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_THAT(warnings[0],
              HasSubstr("sweep.yaml:7:3: warning: sweep.retry_failed: has an "
                        "effect only with method grid"));

  const SweepSpec median = ParseOk(R"(method: random
program: train.py
metric: {name: loss}
parameters:
  x: {min: 0.0, max: 1.0}
sweep:
  early_terminate: {type: median, warmup_steps: 2}
)");
  EXPECT_EQ(median.early_terminate->type, EarlyTerminateSpec::Type::kMedian);
  EXPECT_EQ(median.early_terminate->median.warmup_steps, 2);
  EXPECT_EQ(median.early_terminate->median.min_trials, 3);
}

TEST(SpecParserTest, CustomCommandWithEveryMacro) {
  const SweepSpec spec = ParseOk(R"(method: random
program: train.py
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - --data=${envvar:HOME}/data
  - ${args_no_boolean_flags}
  - ${args_json_file}
  - ${args_json}
  - ${args_no_hyphens}
  - ${args_no_equals}
  - ${args_append_hydra}
  - ${args_override_hydra}
  - ${args}
  - 10
parameters:
  x: {value: 1}
)");
  EXPECT_FALSE(spec.command_is_default);
  EXPECT_EQ(spec.command.size(), 13u);
  EXPECT_EQ(spec.command[3], "--data=${envvar:HOME}/data");
  EXPECT_EQ(spec.command[12], "10");
}

TEST(SpecParserTest, CommandWithoutProgramMacroNeedsNoProgram) {
  const SweepSpec spec = ParseOk(R"(method: random
command: [./run.sh, "${args}"]
parameters:
  x: {value: 1}
)");
  EXPECT_FALSE(spec.program.has_value());
}

TEST(SpecParserTest, WandbCloudKeysAreIgnoredWithAWarning) {
  const std::vector<std::string> warnings =
      Warnings(std::string(kHeader) +
               "controller: {type: local}\nparameters:\n  x: {value: 1}\n");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("sweep.yaml:3:1: warning: controller"));
}

TEST(SpecParserTest, EveryKeyOfWandbsSchemaIsKnown) {
  const std::string text = std::string(kHeader) + R"(apiVersion: v1
kind: sweep
scheduler: {engine: wandb}
metric: {name: loss, impute_while_running: "false"}
parameters:
  x: {value: 1}
)";
  const SweepSpec spec = ParseOk(text);
  EXPECT_FALSE(spec.metric->impute_while_running.has_value());
  const std::vector<std::string> warnings = Warnings(text);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("sweep.yaml:5:1: warning: scheduler"));
  // The normalized definition is valid under W&B's schema, where
  // impute_while_running is a string, and parses back the same.
  const Value normalized = NormalizedDefinition(spec);
  EXPECT_EQ(normalized["metric"]["impute_while_running"], "false");
  EXPECT_EQ(NormalizedDefinition(ParseOk(normalized.dump())), normalized);
}

TEST(SpecParserTest, WholeNumbersWrittenAsFloatsAreIntegers) {
  // As W&B's JSON Schema validation takes them.
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(run_cap: 10.0
metric: {name: loss}
early_terminate: {type: hyperband, max_iter: 81.0, s: 3.0, eta: 3}
parameters:
  x: {value: 1}
)");
  EXPECT_EQ(spec.run_cap, 10);
  EXPECT_EQ(spec.early_terminate->hyperband.max_iter, 81);
  EXPECT_EQ(spec.early_terminate->hyperband.s, 3);
}

TEST(SpecParserTest, DuplicateKeysWarnAndTheLastWins) {
  const std::string text =
      "method: grid\nmethod: random\nprogram: p.py\nparameters:\n  x: {value: "
      "1}\n";
  EXPECT_EQ(ParseOk(text).method, Method::kRandom);
  const std::vector<std::string> warnings = Warnings(text);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("sweep.yaml:2:1: warning: duplicate key "
                                     "'method' (line 1)"));
}

// YAML 1.1 merge keys, as PyYAML (and so W&B) reads them.
TEST(SpecParserTest, MergeKeysAddTheKeysAMappingDoesNotSet) {
  const SweepSpec spec = ParseOk(std::string(kHeader) + R"(parameters:
  a: &defs {distribution: uniform, min: 0.0, max: 1.0}
  b:
    <<: *defs
    max: 2.0
  c:
    <<: [{min: 1, max: 4}, {min: 2, max: 8, distribution: int_uniform}]
  d:
    value:
      <<: {x: 1, y: 2}
      y: 5
)");
  EXPECT_EQ(Param(spec, "b").distribution, Distribution::kUniform);
  EXPECT_EQ(Param(spec, "b").min, 0.0);
  EXPECT_EQ(Param(spec, "b").max, 2.0);
  // The first mapping of the list with a key wins.
  EXPECT_EQ(Param(spec, "c").distribution, Distribution::kIntUniform);
  EXPECT_EQ(Param(spec, "c").min, 1.0);
  EXPECT_EQ(Param(spec, "c").max, 4.0);
  EXPECT_EQ(Param(spec, "d").value, Value::parse(R"({"x": 1, "y": 5})"));
  // As PyYAML: within a merged mapping and between two merges, the last.
  const SweepSpec last = ParseOk(std::string(kHeader) + R"(parameters:
  e: {value: {<<: {x: 1, x: 2}}}
  f: {value: {<<: {x: 1}, <<: {x: 2}, y: 3}}
)");
  EXPECT_EQ(Param(last, "e").value, Value::parse(R"({"x": 2})"));
  EXPECT_EQ(Param(last, "f").value, Value::parse(R"({"x": 2, "y": 3})"));
}

TEST(SpecParserTest, NormalizedDefinitionLoadsBackUnchanged) {
  const SweepSpec spec = ParseOk(R"(method: bayes
program: train.py
metric: {name: loss, target: 0.1}
early_terminate: {type: hyperband, min_iter: 2, eta: 2}
run_cap: 9
sweep: {seed: 7}
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  bs: {values: [16, 32, 64]}
  layers: {min: 1, max: 4}
  w: {values: [a, b], probabilities: [0.1, 0.9]}
  q: {distribution: q_uniform, min: 0, max: 1, q: 0.25}
  opt:
    parameters:
      m: {distribution: normal, mu: 0.9, sigma: 0.01}
      flag: {value: true}
)");
  // JSON is YAML, so the normalized definition parses back.
  const std::string normalized = NormalizedDefinition(spec).dump();
  const SweepSpec again = ParseOk(normalized);
  EXPECT_EQ(NormalizedDefinition(again), NormalizedDefinition(spec))
      << normalized;
  EXPECT_EQ(again.parameters.size(), spec.parameters.size());
  EXPECT_EQ(NormalizedDefinition(spec)["parameters"]["layers"]["distribution"],
            "int_uniform");
  EXPECT_EQ(NormalizedDefinition(spec)["metric"]["goal"], "minimize");
  EXPECT_EQ(NormalizedDefinition(spec)["early_terminate"]["strict"], true);
}

}  // namespace
}  // namespace sweep
