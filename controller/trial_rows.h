// Conversions between the store's rows, the searcher's records and the wire
// messages. Pure functions; thread-safe.
#ifndef SWEEP_CONTROLLER_TRIAL_ROWS_H_
#define SWEEP_CONTROLLER_TRIAL_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "controller/store.h"
#include "nlohmann/json.hpp"
#include "search/searcher.h"
#include "search/spec.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

// A number as stored JSON keeps it, non-finite ones included ("NaN",
// "Infinity", "-Infinity" as strings, since JSON has no such numbers); and
// back, with NaN for anything else (a null, a missing key).
nlohmann::json StoredDouble(double value);
double DoubleFromStored(const nlohmann::json& value);

// A prediction as the store keeps it.
std::string PredictionToJson(double mean, double stddev, double acquisition);

// JSON that keeps non-finite numbers, as StoredDouble.
std::string SummaryToJson(const absl::flat_hash_map<std::string, double>& m);
absl::flat_hash_map<std::string, double> SummaryFromJson(
    const std::string& json);

// The searcher's state for a stored trial state.
TrialState SearchStateOf(int wire_state);

// The rule and band (rung, iteration) of a stored stop decision, if there is
// one.
std::optional<std::pair<std::string, int64_t>> StoppedAt(
    const std::string& stop_json);

// What an ended trial gives the search: its best value, but nothing for a
// trial stopped as diverged (its last values were not finite, whatever it
// logged before), which the search then counts as failed.
std::optional<double> SearchObjective(const TrialRow& row);

// The point a trial row holds, or nullopt when it does not fit the spec.
std::optional<Point> PointOfRow(const TrialRow& row, const SweepSpec& spec);

// The wire message for a row (without history).
void TrialToProto(const TrialRow& row, v1::Trial* out);

// Metric points from the wire, values sorted by name.
std::vector<MetricPointRow> PointsFromProto(
    const google::protobuf::RepeatedPtrField<v1::MetricPoint>& points);
void PointToProto(const MetricPointRow& row, v1::MetricPoint* out);

// True when `a` is better than `b` under the goal.
bool IsBetter(Goal goal, double a, double b);

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_TRIAL_ROWS_H_
