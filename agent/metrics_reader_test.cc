#include "agent/metrics_reader.h"

#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

class MetricsFileReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "metrics_reader_test.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/metrics.jsonl";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(const std::string& text) {
    std::ofstream(path_, std::ios::binary | std::ios::app) << text;
  }
  void Overwrite(const std::string& text) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
  }

  // The points of one ReadNew call, which must succeed.
  std::vector<MetricPoint> Read(MetricsFileReader& reader, int64_t now_ms = 0) {
    auto points = reader.ReadNew(now_ms);
    EXPECT_TRUE(points.ok()) << points.status();
    return points.ok() ? *points : std::vector<MetricPoint>{};
  }

  std::string dir_;
  std::string path_;
};

std::vector<int64_t> Steps(const std::vector<MetricPoint>& points) {
  std::vector<int64_t> steps;
  for (const MetricPoint& point : points) steps.push_back(point.step);
  return steps;
}

TEST_F(MetricsFileReaderTest, MissingFileGivesNoPointsYet) {
  MetricsFileReader reader(path_);
  EXPECT_THAT(Read(reader), IsEmpty());
  Append("{\"loss\": 1}\n");
  EXPECT_EQ(Read(reader).size(), 1u);
}

TEST_F(MetricsFileReaderTest, KeepsAPartialLineForTheNextRead) {
  MetricsFileReader reader(path_);
  Append("{\"loss\": 1}\n{\"loss\": 0.");
  std::vector<MetricPoint> first = Read(reader, 100);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].step, 0);
  EXPECT_EQ(first[0].time_ms, 100);
  EXPECT_THAT(first[0].values, ElementsAre(Pair("loss", 1.0)));
  EXPECT_THAT(Read(reader), IsEmpty());

  Append("5, \"acc\": 2}\n");
  std::vector<MetricPoint> second = Read(reader, 200);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].step, 1);
  EXPECT_EQ(second[0].time_ms, 200);
  EXPECT_THAT(second[0].values,
              ElementsAre(Pair("acc", 2.0), Pair("loss", 0.5)));
  EXPECT_EQ(reader.malformed_lines(), 0);
}

TEST_F(MetricsFileReaderTest, DrainTakesTheLastLineWithoutNewline) {
  MetricsFileReader reader(path_);
  Append("{\"a\": 1}\n{\"a\": 2}");
  EXPECT_EQ(Read(reader).size(), 1u);
  auto rest = reader.Drain(0);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_THAT((*rest)[0].values, ElementsAre(Pair("a", 2.0)));
}

TEST_F(MetricsFileReaderTest, StepsCountPointsUnlessUnderscoreStepIsGiven) {
  MetricsFileReader reader(path_);
  Append(
      "{\"a\": 1}\n"
      "{\"_runtime\": 3.5}\n"  // No metric: no point, no step used.
      "{\"a\": 2}\n"
      "{\"a\": 3, \"_step\": 10}\n"
      "{\"a\": 4}\n"
      "{\"a\": 5, \"_step\": 20.0}\n");
  EXPECT_THAT(Steps(Read(reader)), ElementsAre(0, 1, 10, 11, 20));
  EXPECT_EQ(reader.malformed_lines(), 0);
}

TEST_F(MetricsFileReaderTest, BadUnderscoreStepIsMalformed) {
  MetricsFileReader reader(path_);
  Append(
      "{\"a\": 1, \"_step\": -1}\n"
      "{\"a\": 1, \"_step\": 1.5}\n"
      "{\"a\": 1, \"_step\": \"3\"}\n"
      "{\"a\": 1, \"_step\": 9223372036854775808}\n");
  EXPECT_THAT(Read(reader), IsEmpty());
  EXPECT_EQ(reader.malformed_lines(), 4);
  EXPECT_EQ(reader.last_malformed_reason(),
            "line 4: _step is not a non-negative integer");
}

TEST_F(MetricsFileReaderTest, KeepsNumbersAndFlattensNestedObjects) {
  MetricsFileReader reader(path_);
  Append(
      "{\"val\": {\"loss\": 1, \"acc\": {\"top1\": 0.5}}, \"lr\": 1e-05, "
      "\"big\": 18446744073709551615, \"neg\": -2, \"flag\": true, "
      "\"name\": \"x\", \"list\": [1, 2], \"none\": null, "
      "\"_timestamp\": 1700000000.5, \"\": 3}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(
      points[0].values,
      ElementsAre(Pair("big", 18446744073709551615.0), Pair("flag", 1.0),
                  Pair("lr", 1e-05), Pair("neg", -2.0),
                  Pair("val/acc/top1", 0.5), Pair("val/loss", 1.0)));
}

TEST_F(MetricsFileReaderTest, AcceptsPythonNanAndInfinity) {
  MetricsFileReader reader(path_);
  Append(
      "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity, "
      "\"s\": \"NaN, Infinity\", \"NaN\": 1, \"l\": [NaN], \"e\": 1e-5}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  const auto& values = points[0].values;
  ASSERT_EQ(values.size(), 5u);
  EXPECT_EQ(values[0].first, "NaN");
  EXPECT_EQ(values[1].first, "a");
  EXPECT_TRUE(std::isnan(values[1].second));
  EXPECT_THAT(values[2], Pair("b", std::numeric_limits<double>::infinity()));
  EXPECT_THAT(values[3], Pair("c", -std::numeric_limits<double>::infinity()));
  EXPECT_THAT(values[4], Pair("e", 1e-5));
  EXPECT_EQ(reader.malformed_lines(), 0);
}

TEST_F(MetricsFileReaderTest, CountsMalformedLinesAndCarriesOn) {
  MetricsFileReader reader(path_);
  Append(
      "not json\n"
      "[1, 2]\n"
      "{\"a\": 1\n"
      "{\"a\": \"\xFF\"}\n"
      "{\"\xC3\": 1}\n"
      "{\"a\": nan}\n"
      "{\"a\": -NaN}\n"
      "\n"
      "   \r\n"
      "{\"a\": 7}\r\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("a", 7.0)));
  EXPECT_EQ(points[0].step, 0);
  EXPECT_EQ(reader.malformed_lines(), 7);
  EXPECT_THAT(reader.last_malformed_reason(), HasSubstr("line 7: "));
}

// A number logged as a string (a formatted value) is no metric, and the
// line says so; the rest of the line counts.
TEST_F(MetricsFileReaderTest, SaysWhenANumberWasLoggedAsAString) {
  MetricsFileReader reader(path_);
  Append("{\"loss\": \"0.400\", \"acc\": 0.9, \"phase\": \"train\"}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("acc", 0.9)));
  EXPECT_EQ(reader.malformed_lines(), 1);
  EXPECT_EQ(reader.last_malformed_reason(),
            "line 1: loss \"0.400\" is a string, not a number");
  Append("{\"phase\": \"val\", \"acc\": 0.8}\n");
  EXPECT_EQ(Read(reader).size(), 1u);
  EXPECT_EQ(reader.malformed_lines(), 1);  // A word is no mistake.
}

TEST_F(MetricsFileReaderTest, DropsOverlongLinesAcrossReads) {
  MetricsReaderOptions options;
  options.max_line_bytes = 64;
  options.max_bytes_per_read = 50;
  MetricsFileReader reader(path_, options);
  Append("{\"a\": \"" + std::string(200, 'x') + "\"}\n{\"b\": 1}\n");
  std::vector<MetricPoint> points;
  for (int i = 0; i < 10; ++i) {
    for (MetricPoint& point : Read(reader)) points.push_back(point);
  }
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("b", 1.0)));
  EXPECT_EQ(reader.malformed_lines(), 1);
  EXPECT_EQ(reader.last_malformed_reason(), "line 1: longer than 64 bytes");
}

TEST_F(MetricsFileReaderTest, ReadsInBoundedChunks) {
  MetricsReaderOptions options;
  options.max_bytes_per_read = 16;
  MetricsFileReader reader(path_, options);
  Append("{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n{\"a\": 4}\n");  // 9 bytes each.
  EXPECT_EQ(Read(reader).size(), 1u);  // 16 bytes: one line and a part.
  EXPECT_EQ(Read(reader).size(), 2u);
  auto rest = reader.Drain(0);
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(Steps(*rest), ElementsAre(3));
}

TEST_F(MetricsFileReaderTest, RestartsWhenTheFileIsTruncated) {
  MetricsFileReader reader(path_);
  Append("{\"a\": 1}\n{\"a\": 2}\n{\"a\":");
  EXPECT_EQ(Read(reader).size(), 2u);
  Overwrite("{\"b\": 1}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("b", 1.0)));
  EXPECT_EQ(points[0].step, 2);  // Steps keep counting within the trial.
  EXPECT_EQ(reader.restarts(), 1);
  EXPECT_EQ(reader.malformed_lines(), 0);
}

// open(path, "w") each epoch with the latest point only: the file keeps
// its size, its content changes.
TEST_F(MetricsFileReaderTest, RestartsWhenTheFileIsRewrittenInPlace) {
  MetricsFileReader reader(path_);
  for (const double loss : {0.51, 0.49, 0.47}) {
    Overwrite(absl::StrCat("{\"loss\": ", loss, "}\n"));
    std::vector<MetricPoint> points = Read(reader);
    ASSERT_EQ(points.size(), 1u) << loss;
    EXPECT_THAT(points[0].values, ElementsAre(Pair("loss", loss)));
  }
  // A long line whose end stays the same: its start tells.
  const std::string constant(100, 'c');
  for (const double loss : {0.44, 0.43}) {
    Overwrite(
        absl::StrCat("{\"loss\": ", loss, ", \"run\": \"", constant, "\"}\n"));
    std::vector<MetricPoint> points = Read(reader);
    ASSERT_EQ(points.size(), 1u) << loss;
    EXPECT_THAT(points[0].values, ElementsAre(Pair("loss", loss)));
  }
  // Rewritten with everything so far plus one: only the new line is new.
  Overwrite("{\"loss\": 0.47}\n");
  ASSERT_EQ(Read(reader).size(), 1u);
  Overwrite("{\"loss\": 0.47}\n{\"loss\": 0.45}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("loss", 0.45)));
  EXPECT_EQ(reader.malformed_lines(), 0);
}

// A history rewritten whole each epoch (open(path, "w") then a write of
// every line), read while the program is between the two: the lines read
// before are not taken again when they come back, the new ones are; a
// history that differs from some line on is new from there.
TEST_F(MetricsFileReaderTest, ARewrittenHistoryIsNotTakenTwice) {
  MetricsFileReader reader(path_);
  Append("{\"loss\": 1}\n{\"loss\": 0.5}\n");
  ASSERT_EQ(Read(reader).size(), 2u);
  Overwrite("");  // Truncated: read again from its start.
  EXPECT_TRUE(Read(reader).empty());
  Overwrite("{\"loss\": 1}\n");
  EXPECT_TRUE(Read(reader).empty());
  Append("{\"loss\": 0.5}\n{\"loss\": 0.25}\n");
  std::vector<MetricPoint> points = Read(reader);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("loss", 0.25)));
  EXPECT_EQ(points[0].step, 2);
  Overwrite("");
  EXPECT_TRUE(Read(reader).empty());
  Overwrite("{\"loss\": 1}\n{\"loss\": 0.75}\n{\"loss\": 0.25}\n");
  points = Read(reader);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_THAT(points[0].values, ElementsAre(Pair("loss", 0.75)));
  EXPECT_THAT(points[1].values, ElementsAre(Pair("loss", 0.25)));
  EXPECT_EQ(reader.restarts(), 2);
}

TEST_F(MetricsFileReaderTest, RestartsWhenTheFileIsReplaced) {
  MetricsFileReader reader(path_);
  Append("{\"a\": 1}\n");
  EXPECT_EQ(Read(reader).size(), 1u);
  const std::string replacement = dir_ + "/new.jsonl";
  std::ofstream(replacement) << "{\"b\": 1}\n{\"b\": 2}\n";
  ASSERT_EQ(std::rename(replacement.c_str(), path_.c_str()), 0);
  EXPECT_EQ(Read(reader).size(), 2u);
  EXPECT_EQ(reader.restarts(), 1);
}

TEST_F(MetricsFileReaderTest, RefusesADirectory) {
  MetricsFileReader reader(dir_);
  EXPECT_EQ(reader.ReadNew(0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Coloured output (rich, loguru, colorama, Keras): the escapes go, the
// values stay.
TEST(ParseStdoutMetricLineTest, ReadsThroughTerminalColours) {
  EXPECT_THAT(ParseStdoutMetricLine("\x1b[32mloss=0.9\x1b[0m").value(),
              ElementsAre(Pair("loss", 0.9)));
  EXPECT_THAT(ParseStdoutMetricLine("\x1b[1mloss\x1b[0m=0.8").value(),
              ElementsAre(Pair("loss", 0.8)));
  EXPECT_THAT(
      ParseStdoutMetricLine("loss=0.6\x1b[0m acc=\x1b[1;31m0.5").value(),
      ElementsAre(Pair("acc", 0.5), Pair("loss", 0.6)));
  EXPECT_THAT(
      ParseStdoutMetricLine("10/10 - 1s - \x1b[31macc: 0.2\x1b[0m").value(),
      ElementsAre(Pair("acc", 0.2)));
  EXPECT_THAT(
      ParseStdoutMetricLine("\x1b]8;;http://x\x1b\\link\x1b]8;;\x07 loss=0.4")
          .value(),
      ElementsAre(Pair("loss", 0.4)));
  EXPECT_FALSE(ParseStdoutMetricLine("\x1b[2K\x1b[1A").has_value());
}

// Keras's progress bar on a pipe: each batch's bar is erased with
// backspaces (then a carriage return ends it); nothing of it is read, and
// what a backspace leaves of a line is.
TEST(ParseStdoutMetricLineTest, WhatBackspacesEraseIsNotRead) {
  const std::string bar = "3/20 [>....] - ETA: 0s - loss: 9.5 - acc: 0.1";
  EXPECT_FALSE(
      ParseStdoutMetricLine(bar + std::string(bar.size(), '\b')).has_value());
  // Keras 3 draws with "━": erased a character (three bytes) at a time.
  const std::string wide = "━━ loss: 9.5";
  EXPECT_FALSE(ParseStdoutMetricLine(wide + std::string(12, '\b')).has_value());
  EXPECT_THAT(ParseStdoutMetricLine("loss: 9.5\b\b\b0.25").value(),
              ElementsAre(Pair("loss", 0.25)));
  EXPECT_FALSE(ParseStdoutMetricLine("\b\bloss\b\b\b\b=1").has_value());
}

// An object after what another stream left without a line end.
TEST(ParseStdoutMetricLineTest, ReadsAnObjectThatEndsTheLine) {
  EXPECT_THAT(ParseStdoutMetricLine("  5%|#  | 5/100 [00:01<00:20, 5.00it/s]"
                                    "{'eval_loss': 0.55, 'epoch': 1.0}")
                  .value(),
              ElementsAre(Pair("epoch", 1.0), Pair("eval_loss", 0.55)));
  EXPECT_THAT(
      ParseStdoutMetricLine("step 3 {\"val\": {\"loss\": 0.5}}").value(),
      ElementsAre(Pair("val/loss", 0.5)));
  EXPECT_FALSE(ParseStdoutMetricLine("set {} and {'a': 'x'}").has_value());
  // The tokens before it count too; the object's value wins a name twice.
  EXPECT_THAT(ParseStdoutMetricLine("loss=0.5 {'note': 'x'}").value(),
              ElementsAre(Pair("loss", 0.5)));
  EXPECT_THAT(ParseStdoutMetricLine("acc=0.9 {}").value(),
              ElementsAre(Pair("acc", 0.9)));
  EXPECT_THAT(
      ParseStdoutMetricLine("step 3 loss=0.2 acc=0.1 metrics={'acc': 0.9}")
          .value(),
      ElementsAre(Pair("acc", 0.9), Pair("loss", 0.2)));
}

TEST(ParseStdoutMetricLineTest, TakesNameEqualsNumberTokens) {
  EXPECT_THAT(ParseStdoutMetricLine("val_loss=0.25 accuracy=0.9").value(),
              ElementsAre(Pair("accuracy", 0.9), Pair("val_loss", 0.25)));
  EXPECT_THAT(ParseStdoutMetricLine("epoch 3: loss=0.1").value(),
              ElementsAre(Pair("loss", 0.1)));
  EXPECT_THAT(ParseStdoutMetricLine("loss=0.1, acc=0.9;").value(),
              ElementsAre(Pair("acc", 0.9), Pair("loss", 0.1)));
  EXPECT_THAT(
      ParseStdoutMetricLine("\ttrain/loss=1e-05 val.acc-top1=3 _x=+2").value(),
      ElementsAre(Pair("_x", 2.0), Pair("train/loss", 1e-05),
                  Pair("val.acc-top1", 3.0)));
  EXPECT_THAT(ParseStdoutMetricLine("loss=1 loss=2").value(),
              ElementsAre(Pair("loss", 2.0)));
}

TEST(ParseStdoutMetricLineTest, TakesSpacedEqualsAndTqdmPostfixes) {
  EXPECT_THAT(
      ParseStdoutMetricLine("step 5: val_loss = 0.09, acc =0.5 f= 2").value(),
      ElementsAre(Pair("acc", 0.5), Pair("f", 2.0), Pair("val_loss", 0.09)));
  EXPECT_THAT(ParseStdoutMetricLine("epoch 3: 100%|##########| 10/10 "
                                    "[00:01<00:00, 9.5it/s, loss=0.5, "
                                    "val_loss=0.03]")
                  .value(),
              ElementsAre(Pair("loss", 0.5), Pair("val_loss", 0.03)));
  // A line printed over a bar whose postfix had no line end.
  EXPECT_THAT(ParseStdoutMetricLine(" 80%|####  | 4/5 [00:01, loss=1.00]epoch "
                                    "2 val_loss=0.30")
                  .value(),
              ElementsAre(Pair("loss", 1.0), Pair("val_loss", 0.3)));
  EXPECT_EQ(ParseStdoutMetricLine("x[3]=5 a]b"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("a = b = c"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("= 1"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("x ="), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("== 3"), std::nullopt);
}

TEST(ParseStdoutMetricLineTest, TakesKerasNameColonValuePairs) {
  EXPECT_THAT(
      ParseStdoutMetricLine("1875/1875 - 3s - loss: 0.2984 - accuracy: 0.9143 "
                            "- val_loss: 0.1, val_accuracy: 0.97 - 2ms/step")
          .value(),
      ElementsAre(Pair("accuracy", 0.9143), Pair("loss", 0.2984),
                  Pair("val_accuracy", 0.97), Pair("val_loss", 0.1)));
  EXPECT_EQ(ParseStdoutMetricLine("Epoch 1/5"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("ETA: 0s - loss:"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("12: 3 : 4 a:: 5"), std::nullopt);
  // The value of one pair is not the name of the next.
  EXPECT_THAT(ParseStdoutMetricLine("a: b: 2").value(),
              ElementsAre(Pair("b", 2.0)));
}

TEST(ParseStdoutMetricLineTest, ReadsThroughPythonLoggingsPrefix) {
  // logging.basicConfig()'s default format, "%(levelname)s:%(name)s:".
  EXPECT_THAT(ParseStdoutMetricLine("INFO:root:val_loss=0.21").value(),
              ElementsAre(Pair("val_loss", 0.21)));
  EXPECT_THAT(ParseStdoutMetricLine("INFO:__main__:val_loss: 0.23").value(),
              ElementsAre(Pair("val_loss", 0.23)));
  EXPECT_THAT(
      ParseStdoutMetricLine("WARNING:train.loop:epoch 2 loss=0.5").value(),
      ElementsAre(Pair("loss", 0.5)));
  EXPECT_EQ(ParseStdoutMetricLine("INFO:root:starting at 12:30"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("url=http://host:80/x=1"), std::nullopt);
  // Other prefixes are not logging's: two names are not merged into one.
  EXPECT_EQ(ParseStdoutMetricLine("train:loss=0.5 val:loss=0.7"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("[rank1]:loss=0.5"), std::nullopt);
}

TEST(ParseStdoutMetricLineTest, AcceptsNonFiniteNumbers) {
  auto values = ParseStdoutMetricLine("a=nan b=inf c=-inf");
  ASSERT_TRUE(values.has_value());
  ASSERT_EQ(values->size(), 3u);
  EXPECT_TRUE(std::isnan((*values)[0].second));
  EXPECT_EQ((*values)[1].second, std::numeric_limits<double>::infinity());
  EXPECT_EQ((*values)[2].second, -std::numeric_limits<double>::infinity());
}

TEST(ParseStdoutMetricLineTest, SkipsNamesLongerThanTheControllerTakes) {
  const std::string longest(kMaxMetricNameBytes, 'a');
  EXPECT_THAT(ParseStdoutMetricLine(longest + "=1 " + longest + "b=2").value(),
              ElementsAre(Pair(longest, 1.0)));
}

TEST(ParseStdoutMetricLineTest, IgnoresWhatIsNotAMetric) {
  EXPECT_EQ(ParseStdoutMetricLine(""), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("no metrics here"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("model=resnet lr=abc"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("loss=1,234"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("1bad=3 =4 c$=1 d=e=1"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("x=0x10 y=1.5.2 z="), std::nullopt);
  EXPECT_THAT(ParseStdoutMetricLine("junk=x ok=1").value(),
              ElementsAre(Pair("ok", 1.0)));
}

TEST(ParseStdoutMetricLineTest, TakesAJsonObjectLine) {
  EXPECT_THAT(
      ParseStdoutMetricLine(
          R"(  {"loss": 0.5, "val": {"acc": 0.9}, "_step": 3, "tag": "x"} )")
          .value(),
      ElementsAre(Pair("loss", 0.5), Pair("val/acc", 0.9)));
  auto values = ParseStdoutMetricLine(R"({"loss": NaN})");
  ASSERT_TRUE(values.has_value());
  EXPECT_TRUE(std::isnan(values->at(0).second));
  EXPECT_EQ(ParseStdoutMetricLine(R"({"model": "resnet"})"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("{}"), std::nullopt);
}

TEST(ParseStdoutMetricLineTest, TakesAPythonDictLine) {
  // As Hugging Face's Trainer prints its logs.
  EXPECT_THAT(ParseStdoutMetricLine(
                  "{'loss': 0.6931, 'learning_rate': 4.5e-05, 'epoch': 0.1}")
                  .value(),
              ElementsAre(Pair("epoch", 0.1), Pair("learning_rate", 4.5e-05),
                          Pair("loss", 0.6931)));
  EXPECT_THAT(ParseStdoutMetricLine("{'a': 'x, y}', 'b': [1, {'c': 2}], "
                                    "'ok': True, 'n': None, 'v': -inf}")
                  .value(),
              ElementsAre(Pair("v", -std::numeric_limits<double>::infinity())));
  // numpy scalars (numpy 2's repr) and tensors holding one number.
  EXPECT_THAT(
      ParseStdoutMetricLine(
          "{'loss': np.float64(0.25), 'acc': tensor(0.5, "
          "device='cuda:0'), 'v': tensor([1.0]), 'w': f(x), 'n': 3}")
          .value(),
      ElementsAre(Pair("acc", 0.5), Pair("loss", 0.25), Pair("n", 3.0)));
  EXPECT_EQ(ParseStdoutMetricLine("{'a': f(1}"), std::nullopt);
  EXPECT_THAT(ParseStdoutMetricLine("{\"eval loss\": 1, 'acc': 2}").value(),
              ElementsAre(Pair("acc", 2.0)));
  // Not a dict: the name=value tokens, if any.
  EXPECT_EQ(ParseStdoutMetricLine("{'a': 1"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("{'a' 1}"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("{'a': 1}}"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("{'a\\'b': 1}"), std::nullopt);
  EXPECT_EQ(ParseStdoutMetricLine("{loss=0.5}"), std::nullopt);
  EXPECT_THAT(ParseStdoutMetricLine("{'a': 1} loss=0.5").value(),
              ElementsAre(Pair("loss", 0.5)));
}

// UBSan in fuzz/metrics_line_fuzzer: the step after a _step of INT64_MAX
// overflowed.
TEST_F(MetricsFileReaderTest, LargestUnderscoreStepDoesNotOverflow) {
  MetricsFileReader reader(path_);
  Append("{\"a\": 1, \"_step\": 9223372036854775807}\n{\"a\": 2}\n");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(Steps(Read(reader)), ElementsAre(kMax, kMax));
  EXPECT_EQ(reader.malformed_lines(), 0);
}

}  // namespace
}  // namespace sweep
