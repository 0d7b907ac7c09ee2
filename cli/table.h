// A small aligned text table for terminal output: a header row, then data
// rows, columns separated by two spaces. Widths count UTF-8 code points, so
// non-ASCII parameter values line up. Thread-compatible.
#ifndef SWEEP_CLI_TABLE_H_
#define SWEEP_CLI_TABLE_H_

#include <cstddef>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sweep {

struct TableColumn {
  enum class Align { kLeft, kRight };

  std::string header;
  Align align = Align::kLeft;
  // Longer cells are cut to this many code points, the last one an ellipsis.
  std::size_t max_width = 40;
};

class TextTable {
 public:
  explicit TextTable(std::vector<TableColumn> columns);

  // A row with fewer cells than columns is padded with empty cells; extra
  // cells are dropped. Control characters (newlines, tabs) become spaces so
  // a row stays on one line.
  void AddRow(std::vector<std::string> cells);

  std::size_t row_count() const { return rows_.size(); }

  // The header and every row, each line ending in '\n', without trailing
  // spaces.
  std::string Render() const;

 private:
  std::vector<TableColumn> columns_;
  std::vector<std::vector<std::string>> rows_;  // Already sanitized and cut.
};

// The width of standard output in columns: the terminal's, or $COLUMNS when
// set (20 to 10000); 0 when neither is known (a pipe, a file).
std::size_t OutputColumns();

// The number of code points in UTF-8 text: the bytes that start a character.
std::size_t DisplayWidth(absl::string_view text);

// `text` with control characters replaced by spaces, cut to at most
// `max_width` code points: a cut text ends in "…". Never splits a UTF-8
// sequence.
std::string FitCell(absl::string_view text, std::size_t max_width);

// The same, keeping the end of `text`: a cut text starts with "…".
std::string FitCellKeepingEnd(absl::string_view text, std::size_t max_width);

// Text for a terminal: every control character but newline and tab (ESC,
// CR, BEL, DEL, and the C1 controls U+0080 to U+009F, CSI among them), the
// Unicode line separators and the bidirectional overrides as '?', so that
// names and values from sweep files, programs and agents can neither act on
// the terminal (retitle, clear, recolour) nor overwrite or reorder what was
// printed around them.
std::string TerminalText(absl::string_view text);

// An ostream that writes what it is given to `target` through TerminalText,
// a line at a time (so that no UTF-8 sequence is cut, and lines written to
// it and to another such stream keep their order); the rest when destroyed
// or flushed.
class TerminalTextStream : public std::ostream {
 public:
  explicit TerminalTextStream(std::ostream& target);
  ~TerminalTextStream() override;

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(std::ostream& target) : target_(target) {}
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    void WriteLines();
    std::ostream& target_;
    std::string pending_;
  };
  Buffer buffer_;
};

}  // namespace sweep

#endif  // SWEEP_CLI_TABLE_H_
