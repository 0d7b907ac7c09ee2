#include "cli/table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using Align = TableColumn::Align;

TEST(TerminalTextTest, ControlCharactersButNewlineAndTabBecomeQuestionMarks) {
  EXPECT_EQ(TerminalText("a\x1b]0;t\x07\x1b[2J\rb\x7f\n\tc"),
            "a?]0;t??[2J?b?\n\tc");
  // C1 controls, UTF-8 encoded (U+009B is CSI); other text stays.
  EXPECT_EQ(TerminalText("x\xc2\x9b"
                         "31m\xc2\xa0\xc3\xa9"),
            "x?31m\xc2\xa0\xc3\xa9");
  // U+202E (right-to-left override), U+2028 (line separator), U+2066; an
  // en dash (U+2013) stays.
  EXPECT_EQ(TerminalText("a\xe2\x80\xae"
                         "b\xe2\x80\xa8"
                         "c\xe2\x81\xa6"
                         "d\xe2\x80\x93"),
            "a?b?c?d\xe2\x80\x93");
}

TEST(TextTableTest, AlignsColumnsWithoutTrailingSpaces) {
  TextTable table({{"#", Align::kRight}, {"STATE"}, {"VALUE", Align::kRight}});
  table.AddRow({"1", "running", "0.5"});
  table.AddRow({"12", "finished", "0.25"});
  EXPECT_EQ(table.Render(),
            " #  STATE     VALUE\n"
            " 1  running     0.5\n"
            "12  finished   0.25\n");
}

TEST(TextTableTest, LastLeftAlignedColumnHasNoPadding) {
  TextTable table({{"A"}, {"B"}});
  table.AddRow({"x", "long value"});
  table.AddRow({"y", "v"});
  EXPECT_EQ(table.Render(), "A  B\nx  long value\ny  v\n");
}

TEST(TextTableTest, LongCellsAreCutWithAnEllipsis) {
  TextTable table({{"CONFIG", Align::kLeft, 8}});
  table.AddRow({"lr=0.001 batch=32"});
  EXPECT_EQ(table.Render(), "CONFIG\nlr=0.00\u2026\n");
}

TEST(TextTableTest, ShortRowsArePaddedAndExtraCellsDropped) {
  TextTable table({{"A"}, {"B"}});
  table.AddRow({"1"});
  table.AddRow({"2", "b", "dropped"});
  EXPECT_EQ(table.Render(), "A  B\n1\n2  b\n");
  EXPECT_EQ(table.row_count(), 2u);
}

TEST(TextTableTest, NonAsciiCellsAlignByCodePoints) {
  TextTable table({{"NAME"}, {"X"}});
  table.AddRow({"\u00e9t\u00e9", "1"});  // "été": 3 code points, 5 bytes.
  table.AddRow({"abcd", "2"});
  EXPECT_EQ(table.Render(), "NAME  X\n\u00e9t\u00e9   1\nabcd  2\n");
}

TEST(FitCellTest, ReplacesControlCharactersSoARowStaysOnOneLine) {
  EXPECT_EQ(FitCell("a\nb\tc\rd", 40), "a b c d");
}

TEST(FitCellTest, NeverSplitsAMultiByteCharacter) {
  // Each "ü" is 2 bytes; a cut after 2 code points keeps whole characters.
  EXPECT_EQ(FitCell("\u00fc\u00fc\u00fc\u00fc", 3), "\u00fc\u00fc\u2026");
  EXPECT_EQ(DisplayWidth(FitCell("\u00fc\u00fc\u00fc\u00fc", 3)), 3u);
}

TEST(FitCellTest, EdgeWidths) {
  EXPECT_EQ(FitCell("abc", 3), "abc");
  EXPECT_EQ(FitCell("abcd", 1), "\u2026");
  EXPECT_EQ(FitCell("abcd", 0), "");
  EXPECT_EQ(FitCell("", 0), "");
}

TEST(TextTableTest, ControlCharactersInAHeaderDoNotBreakTheTable) {
  TextTable table({{"a\nb\x1b[2J", TableColumn::Align::kLeft, 10}});
  table.AddRow({"x"});
  EXPECT_EQ(table.Render(), "a b [2J\nx\n");
}

}  // namespace
}  // namespace sweep
