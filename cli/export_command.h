// `sweep export ID --format csv|json [--output FILE]`: every trial of a
// sweep as one flat row, for pandas, spreadsheets and jq.
//
// Columns, in this order:
//   number, state, best_value, created, ended (ISO 8601 UTC), duration_s,
//   exit_code, signal, agent, host, end_reason, stop_decision.rule,
//   stop_decision.band, stop_decision.value, stop_decision.threshold,
//   config.<name> for each parameter, nested ones dotted
//     (config.optimizer.lr), sorted,
//   summary.<metric> for the last value of each logged metric and the
//     sweep's metric (logged or not), sorted.
// These are the names pandas.json_normalize gives the nested trial, and the
// prefixes keep a parameter and a metric of the same name apart. The
// columns are the union over all trials; a trial without a value has an
// empty CSV cell or a JSON null. Integers and floats of the config keep
// their type (3 vs 3.0); a metric with an integral value is an integer.
#ifndef SWEEP_CLI_EXPORT_COMMAND_H_
#define SWEEP_CLI_EXPORT_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cli/command.h"
#include "cli/controller_client.h"
#include "cli/trial_format.h"
#include "search/value.h"

namespace sweep {

struct ExportOptions : ControllerCommandOptions {
  std::string sweep_id;
  std::string format = "csv";  // "csv" or "json".
  std::string output;          // Empty: stdout.
};
int RunExport(const ExportOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err);
void RegisterExportCommand(CLI::App& app, CommandRun* run);

// The trials as rows: `columns` in the order above, and per trial one value
// per column, in that order (null when the trial has none).
struct ExportTable {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
};
// `metric_name`: the sweep's metric, whose summary column is there even when
// no trial logged it ("" for none).
ExportTable BuildExportTable(const TrialList& trials,
                             const std::string& metric_name = "");

// RFC 4180 CSV: a header line, then one line per row, lines ending in "\n".
// Fields holding a comma, a quote, CR or LF are quoted, quotes doubled.
// Null is an empty cell, NaN "nan", infinities "inf" and "-inf" (pandas reads
// them all), lists compact JSON, booleans true and false.
std::string FormatExportCsv(const ExportTable& table);

// A JSON array of the rows, one object per trial; NaN and infinities are
// the strings "NaN", "Infinity" and "-Infinity", as protobuf's JSON has them.
std::string FormatExportJson(const ExportTable& table);

// One CSV field, quoted when it must be.
std::string CsvField(absl::string_view text);

}  // namespace sweep

#endif  // SWEEP_CLI_EXPORT_COMMAND_H_
