#include "tests/sweep_cli.h"

#include <signal.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace sweep::testing {

ProcessResult SweepCli::Run(std::vector<std::string> args) const {
  args.insert(args.begin(), SweepBinary());
  std::vector<std::string> env = env_;
  env.push_back("SWEEP_CONTROLLER=" + controller_);
  return RunProcess(args, kCommandTimeout, env);
}

nlohmann::json SweepCli::Json(std::vector<std::string> args) const {
  args.push_back("--json");
  const ProcessResult r = Run(args);
  std::string command = "sweep";
  for (const std::string& a : args) command += " " + a;
  if (r.exit_code != 0) {
    ADD_FAILURE() << command << " exited with " << r.exit_code << " (signal "
                  << r.term_signal << "): " << r.err;
    return nlohmann::json::value_t::discarded;
  }
  nlohmann::json parsed = nlohmann::json::parse(r.out, nullptr, false);
  if (parsed.is_discarded()) {
    ADD_FAILURE() << command << " printed no JSON: " << r.out;
  }
  return parsed;
}

std::string SweepCli::Create(const std::string& file) const {
  const nlohmann::json created = Json({"create", file});
  if (created.is_discarded() || !created.contains("sweep")) return "";
  return created["sweep"].value("id", "");
}

std::vector<nlohmann::json> SweepCli::Trials(
    const std::string& sweep_id) const {
  const nlohmann::json list = Json({"trials", sweep_id, "--all"});
  std::vector<nlohmann::json> trials;
  if (list.is_object() && list.contains("trials")) {
    for (const nlohmann::json& t : list["trials"]) trials.push_back(t);
  }
  return trials;
}

nlohmann::json SweepCli::TrialWithHistory(const std::string& sweep_id,
                                          int64_t number) const {
  return Json({"trials", sweep_id, std::to_string(number), "--history"});
}

std::unique_ptr<BackgroundProcess> SweepCli::StartAgent(
    const std::string& sweep_id, const std::string& working_dir,
    const std::vector<std::string>& args,
    const std::vector<std::string>& extra_env,
    const std::vector<std::string>& wrapper) const {
  std::vector<std::string> argv = wrapper;
  for (const std::string& arg : {SweepBinary(), std::string("agent"), sweep_id,
                                 std::string("--controller"), controller_}) {
    argv.push_back(arg);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  LaunchOptions options;
  options.working_dir = working_dir;
  options.extra_env = env_;
  options.extra_env.insert(options.extra_env.end(), extra_env.begin(),
                           extra_env.end());
  return BackgroundProcess::Start(argv, options);
}

int64_t JsonInt(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  ADD_FAILURE() << "not a JSON integer: " << value.dump();
  return -1;
}

int ExpectOverlappingRunsOnDifferentGpus(const std::vector<GpuRun>& runs) {
  int overlapping = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (size_t j = i + 1; j < runs.size(); ++j) {
      if (runs[i].start < runs[j].end && runs[j].start < runs[i].end) {
        ++overlapping;
        EXPECT_NE(runs[i].gpus, runs[j].gpus)
            << "runs " << i + 1 << " and " << j + 1 << " ran at once";
      }
    }
  }
  return overlapping;
}

int CountLines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

bool ProcessIsGone(int pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  // Still there: only a zombie (nobody reaped it yet) counts as gone.
  const std::optional<std::string> stat =
      ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  const size_t close_paren = stat->rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat->size() &&
         (*stat)[close_paren + 2] == 'Z';
}

}  // namespace sweep::testing
