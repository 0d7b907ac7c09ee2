#include "agent/trial_files.h"

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

}  // namespace
}  // namespace sweep
