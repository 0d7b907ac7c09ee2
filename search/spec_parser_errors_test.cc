// Malformed sweep definitions: each gets a clear error naming the key and
// the line, never a crash or a hang; every error of a file is reported.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::SizeIs;

std::vector<std::string> Errors(const std::string& text) {
  ParsedDefinition parsed = ParseSweepDefinition(text, "sweep.yaml");
  EXPECT_FALSE(parsed.ok()) << "accepted:\n" << text;
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d.ToString());
  }
  return out;
}

constexpr char kHeader[] = "method: random\nprogram: train.py\n";

std::string WithParameters(const std::string& parameters) {
  return std::string(kHeader) + "parameters:\n" + parameters;
}

TEST(SpecParserErrorsTest, MinNotBelowMaxNamesKeyLineAndColumn) {
  EXPECT_THAT(Errors(R"(method: random
program: train.py
parameters:
  lr:
    min: 0.1
    max: 1.0
  momentum: {min: 0.9,
             max: 0.1}
)"),
              Contains("sweep.yaml:8:19: parameters.momentum: max (0.1) must "
                       "be greater than min (0.9)"));
  EXPECT_THAT(Errors(WithParameters("  x: {min: 3, max: 3}\n")),
              Contains(HasSubstr("sweep.yaml:4:")));
}

TEST(SpecParserErrorsTest, ValuesInTheWrongCaseSuggestTheRightOne) {
  const std::vector<std::string> errors = Errors(
      "method: Bayes\nprogram: t.py\nmetric: {name: l, goal: Maximise}"
      "\nparameters:\n  a: {distribution: Uniform, min: 0, max: 1}\n"
      "  b: {distribution: LogUniformValues, min: 1, max: 2}\n");
  EXPECT_THAT(errors,
              IsSupersetOf({HasSubstr("got 'Bayes' (did you mean 'bayes'?)"),
                            HasSubstr("got 'Maximise' (did you mean "
                                      "'maximize'?)"),
                            HasSubstr("unknown distribution 'Uniform' (did "
                                      "you mean 'uniform'?)")}));
  EXPECT_THAT(errors, Contains(HasSubstr("unknown distribution "
                                         "'LogUniformValues' (did you mean "
                                         "'log_uniform_values'?); known: ")));
  // Ray Tune's and hyperopt's loguniform takes bounds, as W&B's
  // log_uniform_values does (its log_uniform takes exponents).
  EXPECT_THAT(Errors(WithParameters("  a: {distribution: loguniform, min: "
                                    "0.001, max: 0.1}\n")),
              Contains(HasSubstr("(did you mean 'log_uniform_values'?)")));
}

TEST(SpecParserErrorsTest, AnEmptyCommandIsCalledEmpty) {
  EXPECT_THAT(Errors("method: random\nprogram: t.py\ncommand: []\n"
                     "parameters:\n  a: {value: 1}\n"),
              Contains("sweep.yaml:3:10: command: must be a non-empty list of "
                       "tokens, got an empty list"));
}

TEST(SpecParserErrorsTest, WrongTypesNameTheKeysWholePath) {
  // --json scripts read the path: it names the key itself, at any depth.
  ParsedDefinition parsed = ParseSweepDefinition(
      "method: random\nprogram: t.py\ndescription: [1]\nrun_cap: '5'\n"
      "metric: {name: l, target: abc}\n"
      "early_terminate: {type: hyperband, min_iter: '3', strict: 2}\n"
      "parameters:\n  a: {value: 1}\n",
      "sweep.yaml");
  std::vector<std::string> paths;
  for (const Diagnostic& d : parsed.diagnostics) paths.push_back(d.path);
  EXPECT_THAT(paths, IsSupersetOf({"description", "run_cap", "metric.target",
                                   "early_terminate.min_iter",
                                   "early_terminate.strict"}));
  EXPECT_THAT(Errors("method: random\nprogram: t.py\nrun_cap: '5'\n"
                     "parameters:\n  a: {value: 1}\n"),
              Contains("sweep.yaml:3:10: run_cap: must be an integer, got the "
                       "string '5'"));
}

TEST(SpecParserErrorsTest, WrongTypes) {
  EXPECT_THAT(Errors(WithParameters("  x: {min: abc, max: 1.0}\n")),
              Contains("sweep.yaml:4:12: parameters.x.min: must be a number, "
                       "got the string 'abc'"));
  EXPECT_THAT(Errors(WithParameters("  x: {min: [1], max: 1.0}\n")),
              Contains(HasSubstr("x.min: must be a number, got a list")));
  EXPECT_THAT(Errors(WithParameters("  x: {values: 3}\n")),
              Contains(HasSubstr("parameters.x: values must be a list")));
  EXPECT_THAT(Errors(WithParameters("  x: 0.1\n")),
              Contains(HasSubstr("sweep.yaml:4:6: parameters.x: expected a "
                                 "mapping")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "run_cap: many\nparameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:3:10: run_cap: must be an "
                                 "integer")));
  EXPECT_THAT(
      Errors(WithParameters("  x: {distribution: int_uniform, min: 0.5, max: "
                            "3}\n")),
      Contains(HasSubstr("int_uniform needs integer min and max; min is 0.5")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: loss, target: high}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:3:30: metric.target: must be a "
                                 "number")));
}

TEST(SpecParserErrorsTest, NonFiniteParameterValuesAreRefused) {
  // A trial's config is JSON: .inf and .nan would reach the program as null.
  // The error points at the value, not the list holding it.
  EXPECT_THAT(Errors(WithParameters("  a: {values: [1.0, .inf]}\n")),
              Contains("sweep.yaml:4:21: parameters.a: values[1] is not a "
                       "finite number, which a trial's config (JSON) cannot "
                       "hold; quote it ('inf', 'nan') to pass a string the "
                       "program converts"));
  EXPECT_THAT(Errors(WithParameters("  a: {value: {lr: .nan}}\n")),
              Contains(HasSubstr("value.lr is not a finite number")));
  EXPECT_TRUE(ParseSweepDefinition(WithParameters("  a: {values: ['inf']}\n"),
                                   "sweep.yaml")
                  .ok());
  // A sweep stored before this check existed still loads (a warning), so
  // the controller that holds it starts.
  const ParsedDefinition stored = ParseSweepDefinition(
      WithParameters("  a: {values: [1.0, .inf]}\n"), "sweep.yaml",
      /*stored=*/true);
  ASSERT_TRUE(stored.ok()) << stored.Format();
  EXPECT_THAT(stored.Format(), HasSubstr("warning: parameters.a: values[1]"));
}

TEST(SpecParserErrorsTest, NulBytesInValuesAreRefused) {
  // Program arguments are C strings: such a trial could never start.
  EXPECT_THAT(Errors(WithParameters("  s: {values: [ok, \"nul\\0byte\"]}\n")),
              Contains(HasSubstr("sweep.yaml:4:15: parameters.s: values[1] "
                                 "holds a NUL byte")));
  EXPECT_THAT(Errors(WithParameters("  s: {value: {\"k\\0\": 1}}\n")),
              Contains(HasSubstr("parameters.s: value holds a NUL byte")));
}

TEST(SpecParserErrorsTest, MergesOfWhatIsNotAMappingAreRefused) {
  EXPECT_THAT(Errors(WithParameters("  b:\n    <<: 5\n    max: 2.0\n")),
              Contains(HasSubstr("sweep.yaml:5:9: parameters.b: a merge (<<) "
                                 "takes a mapping or a list of mappings, got "
                                 "the number 5")));
  EXPECT_THAT(
      Errors(WithParameters("  b:\n    value:\n      <<: [{x: 1}, [2]]\n")),
      Contains(HasSubstr("a merge (<<) takes a mapping or a list of mappings, "
                         "got a list in the list")));
  // Aliases of merged mappings expand a few KB past any sane size: refused
  // once the document's budget is spent, not expanded for minutes.
  std::string nested = "  a:\n    value:\n      - &l0 {k: 1}\n";
  for (int level = 1; level <= 5; ++level) {
    nested += "      - &l" + std::to_string(level) + " {<<: [";
    for (int i = 0; i < 10; ++i) {
      nested += (i ? ", *l" : "*l") + std::to_string(level - 1);
    }
    nested += "]}\n";
  }
  nested += "  b:\n    value: [";
  for (int i = 0; i < 1000; ++i) nested += i ? ", *l5" : "*l5";
  nested += "]\n";
  EXPECT_THAT(Errors(WithParameters(nested)),
              Contains(HasSubstr("expand past")));
  // A quoted "<<" is an ordinary key.
  EXPECT_THAT(Errors(WithParameters("  e: {\"<<\": {}, value: 1}\n")),
              Contains(HasSubstr("parameters.e: unknown key '<<'")));
}

TEST(SpecParserErrorsTest, UnknownKeysSuggestTheClosest) {
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "paramters:\n  x: {value: 1}\nparameters:\n  x: {value: "
                     "1}\n"),
              Contains("sweep.yaml:3:1: unknown key 'paramters' (did you mean "
                       "'parameters'?)"));
  EXPECT_THAT(Errors(WithParameters("  x: {min: 0, max: 1, distrbution: "
                                    "uniform}\n")),
              Contains(HasSubstr("sweep.yaml:4:23: parameters.x: unknown key "
                                 "'distrbution' (did you mean "
                                 "'distribution'?)")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: a, direction: up}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:3:19: metric: unknown key "
                                 "'direction' (did you mean 'goal'?)")));
}

// Other tools' names for a key suggest the W&B key that means the same,
// where one applies there, before one merely spelled alike.
TEST(SpecParserErrorsTest, OtherToolsNamesSuggestTheKeyMeant) {
  EXPECT_THAT(
      Errors(
          WithParameters("  x: {distribution: normal, mean: 0, std: 1}\n"
                         "  y: {low: 0, high: 1}\n  z: {choices: [a, b]}\n")),
      IsSupersetOf({HasSubstr("unknown key 'mean' (did you mean 'mu'?)"),
                    HasSubstr("unknown key 'std' (did you mean 'sigma'?)"),
                    HasSubstr("unknown key 'low' (did you mean 'min'?)"),
                    HasSubstr("unknown key 'high' (did you mean 'max'?)"),
                    HasSubstr("unknown key 'choices' (did you mean "
                              "'values'?)")}));
  // A key that starts as one does.
  EXPECT_THAT(Errors("program: t.py\nmethod: random\nearly_stop: {}\n"
                     "parameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("unknown key 'early_stop' (did you mean "
                                 "'early_terminate'?)")));
  EXPECT_THAT(Errors("program: t.py\nmethod: random\nn_trials: 5\n"
                     "parameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("unknown key 'n_trials' (did you mean "
                                 "'run_cap'?)")));
  // Not where the key meant does not belong: metric has no 'min'.
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: a, low: 1}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("metric: unknown key 'low'; allowed: ")));
}

TEST(SpecParserErrorsTest, UnknownDistribution) {
  EXPECT_THAT(Errors(WithParameters("  x: {distribution: gaussian}\n")),
              Contains(AllOf(HasSubstr("sweep.yaml:4:21: parameters.x: "
                                       "unknown distribution 'gaussian'"),
                             HasSubstr("q_log_uniform_values"))));
}

TEST(SpecParserErrorsTest, KeysThatDoNotApplyToTheDistribution) {
  EXPECT_THAT(
      Errors(WithParameters("  x: {distribution: uniform, min: 0, max: 1, q: "
                            "2}\n")),
      Contains("sweep.yaml:4:46: parameters.x: 'q' does not apply to "
               "distribution uniform"));
  EXPECT_THAT(
      Errors(WithParameters("  x: {distribution: q_uniform, max: 1}\n")),
      Contains(HasSubstr("parameters.x: q_uniform needs 'min'")));
}

TEST(SpecParserErrorsTest, ProbabilitiesOfTheWrongLengthOrSum) {
  EXPECT_THAT(Errors(WithParameters("  x: {values: [a, b, c], probabilities: "
                                    "[0.5, 0.5]}\n")),
              Contains(HasSubstr("sweep.yaml:4:41: parameters.x: probabilities "
                                 "has 2 entries but values has 3")));
  EXPECT_THAT(Errors(WithParameters("  x: {values: [a, b], probabilities: "
                                    "[0.5, 0.6]}\n")),
              Contains(HasSubstr("parameters.x: probabilities must sum to 1, "
                                 "they sum to 1.1")));
  EXPECT_THAT(Errors(WithParameters("  x: {values: [a, b], probabilities: "
                                    "[1.5, -0.5]}\n")),
              Contains(HasSubstr("probabilities[0] must be a number in [0, "
                                 "1]")));
}

TEST(SpecParserErrorsTest, GridWithAContinuousParameter) {
  EXPECT_THAT(
      Errors("method: grid\nprogram: t.py\nparameters:\n  a: {values: [1]}\n"
             "  lr: {min: 0.0, max: 1.0}\n"),
      Contains("sweep.yaml:5:3: parameters.lr: method grid cannot enumerate "
               "uniform; use values, int_uniform or q_uniform"));
}

TEST(SpecParserErrorsTest, EmptyOrMissingParameters) {
  EXPECT_THAT(Errors(std::string(kHeader)),
              Contains("sweep.yaml:1:1: parameters: is required: a mapping of "
                       "at least one parameter"));
  EXPECT_THAT(Errors(std::string(kHeader) + "parameters: {}\n"),
              Contains(HasSubstr("sweep.yaml:3:13: parameters: must hold at "
                                 "least one parameter")));
  EXPECT_THAT(Errors(std::string(kHeader) + "parameters:\n"),
              Contains(HasSubstr("sweep.yaml:3:1: parameters: must be a "
                                 "mapping")));
  EXPECT_THAT(Errors(WithParameters("  x: {values: []}\n")),
              Contains(HasSubstr("values must hold at least one value")));
  EXPECT_THAT(
      Errors(WithParameters("  x: {}\n")),
      Contains(HasSubstr("parameters.x: cannot tell the distribution")));
}

TEST(SpecParserErrorsTest, BayesOrEarlyTerminateWithoutMetric) {
  EXPECT_THAT(Errors("method: bayes\nprogram: t.py\nparameters:\n  x: {min: "
                     "0.0, max: 1.0}\n"),
              Contains("sweep.yaml:1:9: metric: is required by method bayes: "
                       "name the metric to optimize"));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "early_terminate: {type: hyperband, min_iter: 3}\n"
                     "parameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:3:1: metric: is required by early "
                                 "termination")));
}

TEST(SpecParserErrorsTest, EarlyTerminateThatIsNotAMapping) {
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: loss}\nearly_terminate: hyperband\n"
                     "parameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:4:18: early_terminate: must be a "
                                 "mapping")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: loss}\nearly_terminate: {type: "
                     "hyperband}\nparameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("early_terminate: needs min_iter, or max_iter "
                                 "and s")));
  EXPECT_THAT(
      Errors(std::string(kHeader) +
             "metric: {name: loss}\nearly_terminate: {type: "
             "hyperband, max_iter: 27}\nparameters:\n  x: {value: 1}\n"),
      Contains(HasSubstr("max_iter needs s")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: loss}\nearly_terminate: {type: "
                     "hyperband, min_iter: 3, eta: 1}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("early_terminate.eta: must be greater than "
                                 "1")));
}

TEST(SpecParserErrorsTest, WandbSchemaKeysThisToolCannotServe) {
  const std::vector<std::string> errors =
      Errors(std::string(kHeader) + R"(metrics: [{name: a}, {name: b}]
scheduler: {engine: optuna}
kind: job
parameters:
  x: {value: 1}
)");
  EXPECT_THAT(errors, Contains(AllOf(HasSubstr("sweep.yaml:3:1: metrics:"),
                                     HasSubstr("multi-objective"))));
  EXPECT_THAT(errors, Contains("sweep.yaml:4:12: scheduler: only {engine: "
                               "wandb} is supported (the method's own "
                               "search), got engine optuna"));
  EXPECT_THAT(errors,
              Contains("sweep.yaml:5:7: kind: must be sweep, got 'job'"));
  // A scheduler mapping without an engine (a fuzzer's find: it threw).
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "scheduler: {source: x.py}\nparameters:\n  x: {value: "
                     "1}\n"),
              Contains(HasSubstr("scheduler: only {engine: wandb}")));
}

TEST(SpecParserErrorsTest, AnInvalidSIsNotReportedAsMissing) {
  const std::vector<std::string> errors =
      Errors(std::string(kHeader) + R"(metric: {name: loss}
early_terminate: {type: hyperband, max_iter: 81, s: 2.5}
parameters:
  x: {value: 1}
)");
  EXPECT_THAT(errors, ElementsAre("sweep.yaml:4:53: early_terminate.s: must "
                                  "be an integer, got the number 2.5"));
}

TEST(SpecParserErrorsTest, RootThatIsNotAMapping) {
  EXPECT_THAT(Errors("- method: grid\n- parameters: {}\n"),
              Contains(HasSubstr("sweep.yaml:1:1: the top level must be a "
                                 "mapping")));
  EXPECT_THAT(Errors("just a string\n"),
              Contains(HasSubstr("the top level must be a mapping of keys such "
                                 "as method and parameters, got the string")));
  EXPECT_THAT(Errors(""), Contains(HasSubstr("the file is empty")));
  EXPECT_THAT(Errors("a: 1\n---\nb: 2\n"),
              Contains(HasSubstr("holds 2 YAML documents")));
}

TEST(SpecParserErrorsTest, Tabs) {
  EXPECT_THAT(Errors("method: grid\nparameters:\n\tx: {value: 1}\n"),
              Contains("sweep.yaml:3:1: tab used for indentation; YAML indents "
                       "with spaces"));
  EXPECT_THAT(Errors("method: grid\nparameters:\n  x:\n  \t value: 1\n"),
              Contains(HasSubstr("sweep.yaml:4:3: tab used")));
}

TEST(SpecParserErrorsTest, BinaryGarbage) {
  std::string garbage = "method: grid\n";
  for (int i = 0; i < 256; ++i) garbage.push_back(static_cast<char>(i));
  EXPECT_THAT(Errors(garbage),
              Contains("sweep.yaml:2:1: binary data (a NUL byte): a sweep "
                       "definition is YAML text"));
}

TEST(SpecParserErrorsTest, InvalidUtf8) {
  EXPECT_THAT(Errors("method: grid\nname: caf\xC3\xA9 \xFF\n"),
              Contains("sweep.yaml:2:12: invalid UTF-8 (byte 0xFF at offset "
                       "25)"));
  // Overlong encoding of '/' and a lone surrogate.
  EXPECT_THAT(Errors("name: \xC0\xAF\n"), SizeIs(1));
  EXPECT_THAT(Errors("name: \xED\xA0\x80\n"),
              Contains(HasSubstr("invalid UTF-8")));
}

TEST(SpecParserErrorsTest, FiftyMegabyteFile) {
  const std::string huge = std::string(kHeader) +
                           "parameters:\n  x: {value: '" +
                           std::string(50 << 20, 'a') + "'}\n";
  EXPECT_THAT(Errors(huge),
              Contains("sweep.yaml: file is 50.0 MiB; a sweep definition may "
                       "be at most 1 MiB"));
}

TEST(SpecParserErrorsTest, DeeplyNestedParametersAreBounded) {
  std::string text = std::string(kHeader) + "parameters:\n";
  std::string indent = "  ";
  for (int level = 0; level < 40; ++level) {
    text += indent + "p" + std::to_string(level) + ":\n";
    text += indent + "  parameters:\n";
    indent += "    ";
  }
  text += indent + "x: {value: 1}\n";
  EXPECT_THAT(Errors(text), Contains(HasSubstr("parameters nested more than 16 "
                                               "levels deep")));
}

TEST(SpecParserErrorsTest, DeeplyNestedYamlIsBounded) {
  const std::string deep = std::string(kHeader) + "parameters:\n  x: {value: " +
                           std::string(100000, '[') + "}\n";
  EXPECT_THAT(Errors(deep), Contains(HasSubstr("YAML syntax error")));
  // Balanced, deeper than yaml-cpp recurses ("bad file", it said).
  const std::string balanced =
      std::string(kHeader) +
      "parameters:\n  x: {value: " + std::string(600, '[') +
      std::string(600, ']') + "}\n";
  EXPECT_THAT(Errors(balanced), Contains(HasSubstr("sweep.yaml:4:")));
  EXPECT_THAT(Errors(balanced), Contains(HasSubstr("YAML nested too deeply")));
}

TEST(SpecParserErrorsTest, AliasExpansionIsBounded) {
  std::string text =
      std::string(kHeader) + "a0: &a0 [x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 8; ++k) {
      text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    }
    text += "]\n";
  }
  text = std::string(kHeader) +
         "parameters:\n  x:\n    value: &a0 [x, x, x, "
         "x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    text += "  y" + std::to_string(i) + ":\n    value: &a" + std::to_string(i) +
            " [";
    for (int k = 0; k < 8; ++k) {
      text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    }
    text += "]\n";
  }
  EXPECT_THAT(Errors(text), Contains(HasSubstr("value too large")));
}

TEST(SpecParserErrorsTest, MisspelledGoalIsAnErrorNotMinimize) {
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: acc, goal: maximise}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains("sweep.yaml:3:27: metric.goal: must be minimize or "
                       "maximize, got 'maximise' (did you mean 'maximize'?)"));
}

// A program of the wrong type is one error, not also a missing program.
TEST(SpecParserErrorsTest, AProgramThatIsNotAStringIsOneError) {
  const std::vector<std::string> errors =
      Errors("method: random\nprogram: [x.py]\nparameters:\n  x: {value: 1}\n");
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0],
              HasSubstr("sweep.yaml:2:10: program: must be a string"));
}

// A metric name no agent can log: the sweep would never see its metric.
TEST(SpecParserErrorsTest, AMetricNameNoAgentCanLogIsAnError) {
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: \"val\\tloss\"}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:3:16: metric.name: must not hold "
                                 "control characters")));
  EXPECT_THAT(
      Errors(std::string(kHeader) + "metric: {name: " + std::string(300, 'm') +
             "}\nparameters:\n  x: {value: 1}\n"),
      Contains(HasSubstr("metric.name: must be at most 256 bytes")));
  // A C1 control (U+009B, CSI), UTF-8 encoded.
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "metric: {name: \"c1\\u009b31m\"}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("metric.name: must not hold control")));
}

TEST(SpecParserErrorsTest, AnInvalidIterationCountIsTheOnlyComplaint) {
  const std::vector<std::string> errors =
      Errors(std::string(kHeader) +
             "metric: {name: loss}\nearly_terminate: {type: "
             "hyperband, min_iter: 0}\nparameters:\n  x: {value: 1}\n");
  EXPECT_THAT(errors, Contains(HasSubstr("early_terminate.min_iter: must be at "
                                         "least 1, got 0")));
  EXPECT_THAT(errors, Not(Contains(HasSubstr("needs min_iter"))));
}

TEST(SpecParserErrorsTest, HintsForNearMisses) {
  EXPECT_THAT(
      Errors(std::string(kHeader) +
             "command:\n  - ${env}\n  - ${args_nohyphens}\nparameters:\n  x: "
             "{value: 1}\n"),
      Contains(HasSubstr("unknown macro ${args_nohyphens} (did you mean "
                         "${args_no_hyphens}?)")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "parameters:\n  opt:\n    distribution: categorical\n"
                     "    values: [a, b]\n    probabilities: [0.5, 0.5]\n"),
              Contains(HasSubstr("'probabilities' does not apply to "
                                 "distribution categorical (use distribution: "
                                 "categorical_w_probabilities")));
}

TEST(SpecParserErrorsTest, AGridTooLargeToWalkIsRefused) {
  std::string parameters = "method: grid\nprogram: train.py\nparameters:\n";
  for (int i = 0; i < 8; ++i) {
    parameters += "  p" + std::to_string(i) +
                  ": {distribution: int_uniform, min: 1, max: 1000}\n";
  }
  EXPECT_THAT(Errors(parameters),
              Contains(HasSubstr("sweep.yaml:3:1: parameters: the grid has "
                                 "2^64 points or more")));
  // 2^63 is walked.
  std::string large = "method: grid\nprogram: train.py\nparameters:\n";
  for (int i = 0; i < 63; ++i) {
    large += "  p" + std::to_string(i) + ": {values: [0, 1]}\n";
  }
  EXPECT_TRUE(ParseSweepDefinition(large, "sweep.yaml").ok());
}

TEST(SpecParserErrorsTest, AnUnquotedMacroInAFlowListSaysToQuoteIt) {
  EXPECT_THAT(
      Errors(std::string(kHeader) + "command: [${env}, python, ${program}]\n"
                                    "parameters:\n  x: {value: 1}\n"),
      Contains(HasSubstr("must be quoted: \"${env}\"")));
}

TEST(SpecParserErrorsTest, UnknownAndMisplacedMacros) {
  EXPECT_THAT(
      Errors(std::string(kHeader) +
             "command:\n  - ${env}\n  - ${foo}\nparameters:\n  x: {value: "
             "1}\n"),
      Contains(HasSubstr("sweep.yaml:5:5: command[1]: unknown macro "
                         "${foo}")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "command:\n  - python\n  - --x=${args}\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("macro ${args} must be a whole token")));
  EXPECT_THAT(Errors(std::string(kHeader) +
                     "command: [python, '${envvar:}']\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("does not name an environment variable")));
  EXPECT_THAT(
      Errors("method: grid\ncommand:\n  - ${program}\nparameters:\n  x: "
             "{value: 1}\n"),
      Contains(HasSubstr("program: is required: the command uses "
                         "${program}")));
  // An empty program with the default command would run the interpreter on
  // nothing; with a command that does not use it, it is no matter.
  EXPECT_THAT(Errors("method: grid\nprogram: ''\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:2:10: program: is empty, but the "
                                 "default command runs")));
  const ParsedDefinition stored = ParseSweepDefinition(
      "method: grid\nprogram: ''\nparameters:\n  x: {value: 1}\n", "sweep.yaml",
      /*stored=*/true);
  EXPECT_TRUE(stored.ok()) << stored.Format();
  EXPECT_TRUE(ParseSweepDefinition("method: grid\nprogram: ' '\ncommand: "
                                   "[echo, '${args}']\nparameters:\n  x: "
                                   "{value: 1}\n",
                                   "sweep.yaml")
                  .ok());
}

TEST(SpecParserErrorsTest, MethodProblems) {
  EXPECT_THAT(Errors("method: custom\nprogram: t.py\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:1:9: method: 'custom'")));
  EXPECT_THAT(Errors("method: bayesian\nprogram: t.py\nparameters:\n  x: "
                     "{value: 1}\n"),
              Contains(HasSubstr("must be grid, random or bayes, got "
                                 "'bayesian'")));
  EXPECT_THAT(Errors("program: t.py\nparameters:\n  x: {value: 1}\n"),
              Contains(HasSubstr("sweep.yaml:1:1: method: is required")));
}

TEST(SpecParserErrorsTest, BoundsOfEachDistribution) {
  EXPECT_THAT(Errors(WithParameters("  x: {distribution: q_uniform, min: 0, "
                                    "max: 1, q: 0}\n")),
              Contains(HasSubstr("q (0) must be greater than 0")));
  EXPECT_THAT(Errors(WithParameters("  x: {distribution: normal, sigma: "
                                    "-1}\n")),
              Contains(HasSubstr("sigma (-1) must not be negative")));
  EXPECT_THAT(Errors(WithParameters("  x: {distribution: beta, a: 0}\n")),
              Contains(HasSubstr("a (0) must be greater than 0")));
  EXPECT_THAT(Errors(WithParameters("  x: {distribution: log_uniform_values, "
                                    "min: 0, max: 1}\n")),
              Contains(HasSubstr("log_uniform_values needs min > 0, got 0")));
  EXPECT_THAT(Errors(WithParameters("  x: {min: 0.0, max: .nan}\n")),
              Contains(HasSubstr("x.max: must be a finite number")));
}

TEST(SpecParserErrorsTest, ParameterNamesAndCollisions) {
  EXPECT_THAT(Errors(WithParameters("  9lives: {value: 1}\n")),
              Contains(HasSubstr("sweep.yaml:4:3: parameters.9lives: parameter "
                                 "names must match")));
  EXPECT_THAT(Errors(WithParameters("  a.b: {value: 1}\n  a:\n    parameters:\n"
                                    "      b: {value: 2}\n")),
              Contains(HasSubstr("two parameters flatten to the name 'a.b'")));
  EXPECT_THAT(Errors(WithParameters("  a:\n    parameters: {b: {value: 1}}\n"
                                    "    value: 3\n")),
              Contains(HasSubstr("a nested parameter holds only "
                                 "'parameters', not 'value'")));
}

TEST(SpecParserErrorsTest, EveryErrorOfAFileIsReportedAtOnce) {
  const std::vector<std::string> errors = Errors(R"(method: grid
program: train.py
metric: {name: acc, goal: maximise}
run_cap: 0
command: [python, "${foo}"]
parameters:
  lr: {min: 0.1, max: 0.01}
  bs: {values: [16, 32], probabilities: [0.5]}
  opt: {values: [adam], colour: red}
  drop: {distribution: normal}
)");
  EXPECT_THAT(errors, SizeIs(7));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:3:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:4:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:5:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:7:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:8:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:9:")));
  EXPECT_THAT(errors, Contains(HasSubstr("sweep.yaml:10:")));
}

TEST(SpecParserErrorsTest, YamlSyntaxErrorsCarryTheirPosition) {
  EXPECT_THAT(Errors("method: grid\nparameters:\n  x: {value: 1\n"),
              Contains(HasSubstr("YAML syntax error")));
  EXPECT_THAT(Errors("method: [grid\n"), Contains(HasSubstr("sweep.yaml:")));
}

// Found by fuzz/spec_parser_fuzzer: on a ',' outside [] or {}, yaml-cpp
// 0.7's LoadAll loops forever, allocating (jbeder/yaml-cpp#1040).
TEST(SpecParserErrorsTest, StrayCommaIsAnErrorNotAHang) {
  EXPECT_THAT(Errors(","),
              Contains("sweep.yaml:1:1: YAML syntax error: ',' outside [] or "
                       "{}"));
  EXPECT_THAT(Errors("# comment\n, sgd, -rmsprop]\n  batch_size:\n"),
              Contains(HasSubstr("sweep.yaml:2:1: YAML syntax error")));
  EXPECT_THAT(Errors("!a ,\n"), Contains(HasSubstr("YAML syntax error")));
  EXPECT_THAT(Errors("a: 1\n---\n,\n"),
              Contains(HasSubstr("sweep.yaml:3:1: YAML syntax error")));
  // Commas inside flow collections and plain scalars stay fine.
  EXPECT_TRUE(
      ParseSweepDefinition("method: grid\nprogram: a, b.py\nparameters:\n  x: "
                           "{values: [1, 2]}\n",
                           "sweep.yaml")
          .ok());
}

}  // namespace
}  // namespace sweep
