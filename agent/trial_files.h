// The files and environment a trial's program gets (spec section 6): its
// directory under the agent's workdir with params.json (SWEEP_PARAMS_FILE),
// W&B's params.yaml (WANDB_SWEEP_PARAM_PATH), the metrics file the program
// appends to (SWEEP_METRICS_FILE) and its output log. Thread-safe.
#ifndef SWEEP_AGENT_TRIAL_FILES_H_
#define SWEEP_AGENT_TRIAL_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "search/value.h"

namespace sweep {

struct TrialFiles {
  std::string dir;
  std::string params_json;
  std::string params_yaml;
  std::string metrics;
  std::string log;
};

// Creates DIR/SWEEP/trial-N and writes the parameter files. A metrics file
// left by an earlier run of the same trial number is removed first, so its
// lines are not reported twice.
absl::StatusOr<TrialFiles> PrepareTrialFiles(const std::string& workdir,
                                             const std::string& sweep_id,
                                             int64_t number,
                                             const Value& config);

// W&B's parameter file: "wandb_version: 1", then `name: {value: v}` per
// top-level parameter, in JSON's flow style (which is YAML) with floats as
// YAML 1.1 reads them (`1.0e-05`: PyYAML reads `1e-05` as a string).
std::string WandbParamsYaml(const Value& config);

// `base` ("K=V" entries) with each of `overrides` replacing any entry of the
// same name.
std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides);

// The agent's own environment as "K=V" entries.
std::vector<std::string> CurrentEnvironment();

// mkdir -p.
absl::Status MakeDirectories(const std::string& path);

// Writes `content` to `path` whole: to path.tmp, made new (never through a
// link already there), then renamed into place.
absl::Status WriteFile(const std::string& path, const std::string& content);

}  // namespace sweep

#endif  // SWEEP_AGENT_TRIAL_FILES_H_
