// Small formatting pieces shared by the query commands: state names,
// numbers, times, durations and protos as JSON. Thread-safe.
#ifndef SWEEP_CLI_DISPLAY_FORMAT_H_
#define SWEEP_CLI_DISPLAY_FORMAT_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

// What the table cells show for a value that is not there.
inline constexpr char kMissingCell[] = "-";

// "running", "paused", ... ("unknown" for values this build does not know).
std::string SweepStateName(v1::SweepState state);
std::string TrialStateName(v1::TrialState state);

// A metric value in six significant digits ("0.234568", "1.5e-07", "nan").
std::string FormatMetricValue(double value);
// As above, or kMissingCell.
std::string FormatOptionalValue(std::optional<double> value);

// Unix milliseconds as "2024-05-01 12:34:56 UTC" in `zone`; kMissingCell
// for 0.
std::string FormatLocalTime(int64_t unix_ms, absl::TimeZone zone);
// Unix milliseconds as ISO 8601 UTC with milliseconds
// ("2024-05-01T12:34:56.789Z"); empty for 0.
std::string FormatIsoTime(int64_t unix_ms);

// "0.4s", "42s", "3m05s", "2h03m", "4d07h".
std::string FormatCompactDuration(absl::Duration duration);

// How long the trial ran: until it ended, or until `now` while it runs.
// nullopt when the trial has no start time.
std::optional<absl::Duration> TrialDuration(const v1::Trial& trial,
                                            absl::Time now);

// "label:  value" lines, values aligned, each line indented by `indent`
// spaces. Fields with an empty value are left out.
std::string FormatFieldList(
    const std::vector<std::pair<std::string, std::string>>& fields, int indent);

// Each line of `text` indented by `indent` spaces, each ending in '\n'; a
// final newline of `text` does not add an empty line.
std::string IndentLines(absl::string_view text, int indent);

// The message as indented JSON for scripts, every field present so the shape
// is stable: the .proto field names; integers as JSON numbers; enum values by
// their short lowercase name ("finished", as the tables show them); a
// `*_json` string field as the JSON it holds, under its name without the
// suffix (`config_json` -> `config`, null when empty); an unset optional or
// message field null; NaN and infinities as the strings "NaN", "Infinity"
// and "-Infinity".
std::string ProtoToJson(const google::protobuf::Message& message);
// The same on one line.
std::string ProtoToCompactJson(const google::protobuf::Message& message);

}  // namespace sweep

#endif  // SWEEP_CLI_DISPLAY_FORMAT_H_
