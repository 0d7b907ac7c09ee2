#include "cli/table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "search/spec.h"

namespace sweep {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

void AppendPadding(std::size_t count, std::string* line) {
  line->append(count, ' ');
}

}  // namespace

std::size_t OutputColumns() {
  winsize size{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 &&
      size.ws_col > 0) {
    return size.ws_col;
  }
  std::size_t columns = 0;
  if (const char* given = std::getenv("COLUMNS");
      given != nullptr && absl::SimpleAtoi(given, &columns) && columns >= 20 &&
      columns <= 10000) {
    return columns;
  }
  return 0;
}

std::string TerminalText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t control = ControlSequenceLength(text, i);
    if (control == 0 || text[i] == '\n' || text[i] == '\t') {
      out.push_back(text[i++]);
    } else {
      out.push_back('?');
      i += control;
    }
  }
  return out;
}

TerminalTextStream::TerminalTextStream(std::ostream& target)
    : std::ostream(nullptr), buffer_(target) {
  rdbuf(&buffer_);
}

TerminalTextStream::~TerminalTextStream() { buffer_.pubsync(); }

TerminalTextStream::Buffer::int_type TerminalTextStream::Buffer::overflow(
    int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return 0;
  pending_.push_back(traits_type::to_char_type(c));
  if (pending_.back() == '\n') WriteLines();
  return c;
}

std::streamsize TerminalTextStream::Buffer::xsputn(const char* s,
                                                   std::streamsize n) {
  pending_.append(s, static_cast<std::size_t>(n));
  WriteLines();
  return n;
}

int TerminalTextStream::Buffer::sync() {
  target_ << TerminalText(pending_);
  pending_.clear();
  target_.flush();
  return target_ ? 0 : -1;
}

void TerminalTextStream::Buffer::WriteLines() {
  const std::size_t end = pending_.rfind('\n');
  if (end == std::string::npos) return;
  target_ << TerminalText(absl::string_view(pending_).substr(0, end + 1));
  pending_.erase(0, end + 1);
}

std::size_t DisplayWidth(absl::string_view text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

std::string FitCell(absl::string_view text, std::size_t max_width) {
  std::string clean(text);
  std::replace_if(clean.begin(), clean.end(), IsControl, ' ');
  if (DisplayWidth(clean) <= max_width) return clean;
  if (max_width == 0) return "";
  // Keep max_width - 1 characters, then the ellipsis.
  std::size_t kept = 0;
  std::size_t end = 0;
  while (end < clean.size()) {
    if (!IsContinuationByte(clean[end])) {
      if (kept == max_width - 1) break;
      ++kept;
    }
    ++end;
  }
  clean.resize(end);
  return clean + "\u2026";
}

std::string FitCellKeepingEnd(absl::string_view text, std::size_t max_width) {
  std::string clean(text);
  std::replace_if(clean.begin(), clean.end(), IsControl, ' ');
  if (DisplayWidth(clean) <= max_width) return clean;
  if (max_width == 0) return "";
  // The ellipsis, then the last max_width - 1 characters.
  std::size_t kept = 0;
  std::size_t begin = clean.size();
  while (begin > 0) {
    --begin;
    if (!IsContinuationByte(clean[begin]) && ++kept == max_width - 1) break;
  }
  return "\u2026" + clean.substr(begin);
}

TextTable::TextTable(std::vector<TableColumn> columns)
    : columns_(std::move(columns)) {
  // Headers can come from outside too (metric names): a newline or an
  // escape in one must not break the table.
  for (TableColumn& column : columns_) {
    column.header = FitCell(column.header, column.max_width);
  }
}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    cells[i] = FitCell(cells[i], columns_[i].max_width);
  }
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    widths[i] = DisplayWidth(columns_[i].header);
    for (const std::vector<std::string>& row : rows_) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto render_line = [&](auto cell_at) {
    std::string line;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      const std::string& cell = cell_at(i);
      const std::size_t padding = widths[i] - DisplayWidth(cell);
      if (i > 0) line += "  ";
      if (columns_[i].align == TableColumn::Align::kRight) {
        AppendPadding(padding, &line);
        line += cell;
      } else {
        line += cell;
        AppendPadding(padding, &line);
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    return line + "\n";
  };
  std::string out = render_line(
      [&](std::size_t i) -> const std::string& { return columns_[i].header; });
  for (const std::vector<std::string>& row : rows_) {
    out += render_line(
        [&](std::size_t i) -> const std::string& { return row[i]; });
  }
  return out;
}

}  // namespace sweep
