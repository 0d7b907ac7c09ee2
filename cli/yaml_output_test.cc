#include "cli/yaml_output.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

using ::testing::HasSubstr;

TEST(YamlOutputTest, ScalarsKeepTheirTypeForPyYaml) {
  const Value v = Value::parse(R"({"a": 1e-05, "b": 3.0, "c": "yes", "d": "1",
      "e": "plain", "f": null, "g": true, "h": "${args}", "i": "a: b",
      "j": "", "k": [1, "x", 2.5], "l": "1e5"})");
  const std::string yaml = ToYaml(v);
  EXPECT_THAT(yaml, HasSubstr("a: 1.0e-05\n"));
  EXPECT_THAT(yaml, HasSubstr("b: 3.0\n"));
  EXPECT_THAT(yaml, HasSubstr("c: \"yes\"\n"));
  EXPECT_THAT(yaml, HasSubstr("d: \"1\"\n"));
  EXPECT_THAT(yaml, HasSubstr("e: plain\n"));
  EXPECT_THAT(yaml, HasSubstr("f: null\n"));
  EXPECT_THAT(yaml, HasSubstr("g: true\n"));
  EXPECT_THAT(yaml, HasSubstr("h: \"${args}\"\n"));
  EXPECT_THAT(yaml, HasSubstr("i: \"a: b\"\n"));
  EXPECT_THAT(yaml, HasSubstr("j: \"\"\n"));
  EXPECT_THAT(yaml, HasSubstr("k: [1, x, 2.5]\n"));
  EXPECT_THAT(yaml, HasSubstr("l: \"1e5\"\n"));
  Value special = Value::object();
  special["inf"] = std::numeric_limits<double>::infinity();
  special["nan"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(ToYaml(special), "inf: .inf\nnan: .nan\n");
}

TEST(YamlOutputTest, NormalizedDefinitionRoundTrips) {
  ParsedDefinition parsed = ParseSweepDefinition(R"(method: random
program: train.py
command: [python3, train.py, "${args_json}", "--tag=yes"]
metric: {name: val/loss, target: 0.05}
parameters:
  lr: {distribution: log_uniform_values, min: 1e-5, max: 0.1}
  act: {values: [relu, "yes", "1", 1, null, [1, 2], {k: v}]}
  nested:
    parameters:
      q: {distribution: q_normal, mu: 0, sigma: 2, q: 0.5}
      w: {values: [a, b], probabilities: [0.3, 0.7]}
  s: {values: ["a, b", "c", "[x]", "{y}", "del\x7fete", "c1\u0086", "l\u2028s"]}
)",
                                                 "in.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.Format();
  const Value normalized = NormalizedDefinition(*parsed.spec);
  const std::string yaml = ToYaml(normalized);
  ParsedDefinition again = ParseSweepDefinition(yaml, "out.yaml");
  ASSERT_TRUE(again.ok()) << again.Format() << yaml;
  EXPECT_EQ(NormalizedDefinition(*again.spec), normalized) << yaml;
  // "a, b" is one value, not two; DEL and C1 controls are escaped (PyYAML
  // refuses them raw, even quoted).
  EXPECT_THAT(yaml, HasSubstr("[\"a, b\", c, \"[x]\", \"{y}\", "
                              "\"del\\u007fete\", \"c1\\u0086\", "
                              "\"l\\u2028s\"]"));
}

}  // namespace
}  // namespace sweep
