// Text for the sweep-level commands (create, ls, status, pause/resume/stop/
// cancel), built from proto messages so it is tested without a controller.
// Thread-safe.
#ifndef SWEEP_CLI_SWEEP_FORMAT_H_
#define SWEEP_CLI_SWEEP_FORMAT_H_

#include <google/protobuf/repeated_field.h>

#include <string>

#include "absl/time/time.h"
#include "sweep/v1/sweep.pb.h"

namespace sweep {

// "sweep agent ID", with `--controller ADDRESS` unless the address is the
// default.
std::string AgentCommand(const std::string& sweep_id,
                         const std::string& controller_address,
                         bool is_default_address);

// "Created sweep abc123de (grid, 144 points)", then the agent command to
// run; `--controller ADDRESS` is part of it unless the address is the
// default.
std::string FormatCreatedSweep(const v1::Sweep& sweep,
                               const std::string& controller_address,
                               bool is_default_address);

// The `sweep ls` table: ID, NAME, METHOD, STATE, TRIALS (running/total),
// BEST, CREATED (in `zone`). A hint to create one when there are none.
std::string FormatSweepTable(const v1::ListSweepsResponse& response,
                             absl::TimeZone zone);

// The trial count, with how many are running when any are: "12 (3
// running)", "8".
std::string FormatTrialProgress(const v1::TrialCounts& counts);

// The `sweep status` report: name, method, state and why, metric and goal,
// trial counts by state, best trial, grid or run_cap progress and the
// early-termination setup, then `recent_trials` as a table fitted to
// `width` (see FormatTrialTable).
std::string FormatSweepStatus(
    const v1::Sweep& sweep,
    const google::protobuf::RepeatedPtrField<v1::Trial>& recent_trials,
    absl::Time now, absl::TimeZone zone, size_t width = 0);

// "Sweep abc123de is now paused (reason).", or "was already paused" when
// the change changed nothing.
std::string FormatStateChange(const v1::Sweep& sweep, bool unchanged);

}  // namespace sweep

#endif  // SWEEP_CLI_SWEEP_FORMAT_H_
