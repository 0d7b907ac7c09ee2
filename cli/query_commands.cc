#include "cli/query_commands.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "cli/definition_file.h"
#include "cli/display_format.h"
#include "cli/rerun_command.h"
#include "cli/sweep_format.h"
#include "cli/table.h"
#include "cli/trial_format.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

// The validator's diagnostics, which the controller sends one per line, and
// a last line saying what failed.
int ReportInvalidDefinition(const absl::Status& status, const std::string& file,
                            std::ostream& err) {
  err << status.message();
  if (!absl::EndsWith(status.message(), "\n")) err << "\n";
  err << "sweep: " << file
      << " is not a valid sweep definition (`sweep validate " << file
      << "` checks it offline)\n";
  return 1;
}

// `sweep trials ID N --history`: the trial, then its history a page at a
// time as the pages come, so that a history of millions of points is never
// held whole (as JSON: the same one object, its points streamed into it).
int RunOneTrialWithHistory(const TrialsOptions& options,
                           const std::string& sweep_id,
                           ControllerClient& client, std::ostream& out,
                           std::ostream& err) {
  std::optional<v1::Sweep> sweep;
  if (!options.json) {
    absl::StatusOr<v1::Sweep> got = client.GetSweep(sweep_id);
    if (!got.ok()) return ReportFailure(got.status(), err);
    sweep = *std::move(got);
  }
  const std::string kHistory = "\"history\": []";
  std::string after_history;  // The JSON object's end, or the log tail.
  bool first_page = true;
  bool any_point = false;
  const absl::Status status = client.GetTrialPages(
      sweep_id, options.number, [&](v1::Trial& page) -> absl::Status {
        if (first_page) {
          first_page = false;
          v1::Trial head = page;
          head.clear_history();
          head.clear_history_next_page_token();
          if (options.json) {
            const std::string text = ProtoToJson(head);
            const size_t at = text.find(kHistory);
            if (at == std::string::npos) {
              return absl::InternalError("no history field to fill in");
            }
            out << text.substr(0, at) << "\"history\": [";
            after_history = text.substr(at + kHistory.size() - 1);
          } else {
            head.clear_log_tail();
            out << FormatTrialDetail(*sweep, head, absl::Now(),
                                     absl::LocalTimeZone(), options.log_lines);
            if (!page.log_tail().empty()) {
              after_history = absl::StrCat(
                  "Log tail:\n",
                  FormatLogTail(page.log_tail(), options.log_lines));
            }
          }
        }
        if (page.history().empty()) return absl::OkStatus();
        if (options.json) {
          for (const v1::MetricPoint& point : page.history()) {
            out << (any_point ? ",\n    " : "\n    ")
                << ProtoToCompactJson(point);
            any_point = true;
          }
        } else {
          out << (any_point ? "" : "History:\n")
              << IndentLines(FormatHistory(*sweep, page), 2);
          any_point = true;
        }
        return absl::OkStatus();
      });
  if (!status.ok()) {
    if (!first_page) out << "\n";
    return ReportFailure(status, err);
  }
  if (options.json && any_point) out << "\n  ";
  out << after_history;
  if (options.json) out << "\n";
  return 0;
}

int RunOneTrial(const TrialsOptions& options, const std::string& sweep_id,
                ControllerClient& client, std::ostream& out,
                std::ostream& err) {
  if (options.history) {
    return RunOneTrialWithHistory(options, sweep_id, client, out, err);
  }
  const absl::StatusOr<v1::Trial> trial =
      client.GetTrial(sweep_id, options.number, options.history);
  if (!trial.ok()) return ReportFailure(trial.status(), err);
  if (options.json) {
    out << ProtoToJson(*trial) << "\n";
    return 0;
  }
  const absl::StatusOr<v1::Sweep> sweep = client.GetSweep(sweep_id);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  out << FormatTrialDetail(*sweep, *trial, absl::Now(), absl::LocalTimeZone(),
                           options.log_lines);
  return 0;
}

void PrintTrialTable(const TrialsOptions& options, const v1::Sweep& sweep,
                     const v1::ListTrialsResponse& trials,
                     const ControllerClient& client, std::ostream& out) {
  if (trials.trials().empty()) {
    if (sweep.state() == v1::SWEEP_STATE_CANCELED ||
        sweep.state() == v1::SWEEP_STATE_FINISHED) {
      // An agent would exit at once.
      out << "No trials: the sweep is "
          << (sweep.state() == v1::SWEEP_STATE_CANCELED ? "canceled"
                                                        : "finished")
          << " (" << TerminalText(sweep.state_reason()) << ").\n";
      return;
    }
    out << "No trials yet. Run an agent with: "
        << AgentCommand(sweep.id(), client.address(),
                        client.is_default_address())
        << "\n";
    return;
  }
  const std::vector<std::string> metrics =
      options.metrics.empty()
          ? ChooseSummaryMetrics(trials.trials(), sweep.metric_name(),
                                 kDefaultSummaryColumns)
          : options.metrics;
  out << FormatTrialTable(sweep, trials.trials(), metrics, absl::Now(),
                          OutputColumns());
  if (trials.next_after_number() != 0) {
    out << "Showing " << trials.trials_size() << " of "
        << sweep.counts().total() << " trials; --all shows every trial, "
        << "--limit N the first N.\n";
  }
}

}  // namespace

int RunCreate(const CreateOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err) {
  std::string text;
  Diagnostic read_error;
  if (!ReadDefinitionText(options.file, &text, &read_error)) {
    err << "sweep: " << read_error.ToString() << "\n";
    return 1;
  }
  // Checked here first: a file with errors is reported whole, the same as
  // by the controller, also when no controller is reachable.
  if (const ParsedDefinition parsed = ParseSweepDefinition(text, options.file);
      !parsed.ok()) {
    return ReportInvalidDefinition(absl::InvalidArgumentError(parsed.Format()),
                                   options.file, err);
  }
  const absl::StatusOr<v1::CreateSweepResponse> created =
      client.CreateSweep(text, options.file);
  if (absl::IsInvalidArgument(created.status())) {
    return ReportInvalidDefinition(created.status(), options.file, err);
  }
  if (!created.ok()) return ReportFailure(created.status(), err);
  for (const std::string& warning : created->warnings()) err << warning << "\n";
  if (options.json) {
    out << ProtoToJson(*created) << "\n";
  } else {
    out << FormatCreatedSweep(created->sweep(), client.address(),
                              client.is_default_address());
    if (ProgramImportsWandb(text, options.file)) {
      out << "(The program imports wandb: add --wandb-shim so that it runs "
             "unchanged and reports here.)\n";
    }
  }
  return 0;
}

int RunList(const ListOptions& options, ControllerClient& client,
            std::ostream& out, std::ostream& err) {
  const absl::StatusOr<v1::ListSweepsResponse> sweeps = client.ListSweeps();
  if (!sweeps.ok()) return ReportFailure(sweeps.status(), err);
  out << (options.json ? ProtoToJson(*sweeps) + "\n"
                       : FormatSweepTable(*sweeps, absl::LocalTimeZone()));
  return 0;
}

int RunStatus(const StatusOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err) {
  const absl::StatusOr<std::string> sweep_id =
      SweepIdOrNewest(options.sweep_id, client, err);
  if (!sweep_id.ok()) return ReportFailure(sweep_id.status(), err);
  const absl::StatusOr<v1::Sweep> sweep = client.GetSweep(*sweep_id);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  if (options.json) {
    out << ProtoToJson(*sweep) << "\n";
    return 0;
  }
  v1::ListTrialsResponse recent;
  if (options.recent_trials > 0) {
    // Trials are numbered 1..total, so the last few follow total - N.
    const int64_t after =
        std::max<int64_t>(0, sweep->counts().total() - options.recent_trials);
    absl::StatusOr<v1::ListTrialsResponse> listed =
        client.ListTrials(*sweep_id, after, options.recent_trials,
                          /*include_history=*/false);
    if (!listed.ok()) return ReportFailure(listed.status(), err);
    recent = *std::move(listed);
  }
  out << FormatSweepStatus(*sweep, recent.trials(), absl::Now(),
                           absl::LocalTimeZone(), OutputColumns());
  return 0;
}

int RunTrials(const TrialsOptions& options, ControllerClient& client,
              std::ostream& out, std::ostream& err) {
  const absl::StatusOr<std::string> sweep_id =
      SweepIdOrNewest(options.sweep_id, client, err);
  if (!sweep_id.ok()) return ReportFailure(sweep_id.status(), err);
  if (options.number != 0) {
    return RunOneTrial(options, *sweep_id, client, out, err);
  }
  // Scripts get every trial unless they ask for fewer: a table stops at a
  // screenful and says so, JSON would cut off silently.
  const bool all = options.all || (options.json && !options.limit_given);
  const absl::StatusOr<v1::ListTrialsResponse> trials =
      client.ListTrials(*sweep_id, /*after_number=*/0, all ? 0 : options.limit,
                        /*include_history=*/false);
  if (!trials.ok()) {
    const int status = ReportFailure(trials.status(), err);
    // `sweep trials 5`: a trial number where the sweep id goes (ids are
    // eight letters and digits).
    if (absl::IsNotFound(trials.status()) && !sweep_id->empty() &&
        sweep_id->size() < 8 &&
        std::all_of(sweep_id->begin(), sweep_id->end(), absl::ascii_isdigit)) {
      err << "sweep: trial " << *sweep_id
          << " of a sweep is `sweep trials SWEEP_ID " << *sweep_id << "`\n";
    }
    return status;
  }
  if (options.json) {
    out << ProtoToJson(*trials) << "\n";
    return 0;
  }
  const absl::StatusOr<v1::Sweep> sweep = client.GetSweep(*sweep_id);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  PrintTrialTable(options, *sweep, *trials, client, out);
  return 0;
}

int RunBest(const BestOptions& options, ControllerClient& client,
            std::ostream& out, std::ostream& err) {
  const absl::StatusOr<std::string> sweep_id =
      SweepIdOrNewest(options.sweep_id, client, err);
  if (!sweep_id.ok()) return ReportFailure(sweep_id.status(), err);
  const absl::StatusOr<v1::Trial> best = client.GetBestTrial(*sweep_id);
  if (!best.ok()) {
    // A script reading the JSON gets JSON: null, as when no trial has a
    // value yet (the status still says why, and the exit code that it
    // failed).
    if (options.json && absl::IsNotFound(best.status()) &&
        client.GetSweep(*sweep_id).ok()) {
      out << "null\n";  // The sweep is there; no best yet.
    }
    return ReportFailure(best.status(), err);
  }
  if (options.json) {
    out << ProtoToJson(*best) << "\n";
    return 0;
  }
  const absl::StatusOr<v1::Sweep> sweep = client.GetSweep(*sweep_id);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  out << FormatBestTrial(
      *sweep, *best,
      MakeRerunCommand(*sweep, *best, options.interpreter, options.wandb_shim),
      absl::Now());
  return 0;
}

int RunStateChange(const StateChangeOptions& options, ControllerClient& client,
                   std::ostream& out, std::ostream& err) {
  // Its state before: a change that changes nothing (stop a finished
  // sweep, cancel a canceled one) is said to be so, not "is now".
  const absl::StatusOr<v1::Sweep> before = client.GetSweep(options.sweep_id);
  const absl::StatusOr<v1::Sweep> sweep =
      client.UpdateSweepState(options.sweep_id, options.action);
  if (!sweep.ok()) return ReportFailure(sweep.status(), err);
  const bool unchanged = before.ok() && before->state() == sweep->state() &&
                         before->state_reason() == sweep->state_reason();
  out << (options.json ? ProtoToJson(*sweep) + "\n"
                       : FormatStateChange(*sweep, unchanged));
  return 0;
}

void RegisterCreateCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<CreateOptions>();
  CLI::App* command = app.add_subcommand(
      "create",
      "Register a sweep with the controller; prints its id and the agent "
      "command to run");
  command->add_option("file", options->file, "Sweep definition (YAML)")
      ->required();
  AddJsonFlag(command, &options->json);
  BindControllerCommand<CreateOptions>(command, options, RunCreate, run);
}

void RegisterListCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* command =
      app.add_subcommand("ls", "List the controller's sweeps, newest first");
  AddJsonFlag(command, &options->json);
  BindControllerCommand<ListOptions>(command, options, RunList, run);
}

void RegisterStatusCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* command = app.add_subcommand(
      "status",
      "Show a sweep: state, metric, trial counts, best trial, progress, "
      "early termination and the latest trials");
  AddOptionalSweepIdArgument(command, &options->sweep_id);
  command
      ->add_option("--recent", options->recent_trials,
                   "How many of the latest trials to show")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000}));
  AddJsonFlag(command, &options->json);
  BindControllerCommand<StatusOptions>(command, options, RunStatus, run);
}

void RegisterTrialsCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<TrialsOptions>();
  CLI::App* command = app.add_subcommand(
      "trials",
      "List a sweep's trials, or with a trial number show that trial in "
      "full (config, summary, prediction, stop decision, exit, log tail)");
  AddOptionalSweepIdArgument(command, &options->sweep_id);
  CLI::Option* number =
      command->add_option("number", options->number, "A trial number")
          ->check(WholeNumberAtLeast(1));
  CLI::Option* all =
      command->add_flag("--all", options->all, "Every trial, all pages");
  command
      ->add_option("--limit", options->limit,
                   "Show the first N trials (with --json: every trial "
                   "unless given)")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(1))
      ->excludes(all)
      ->each([options](const std::string&) { options->limit_given = true; });
  command
      ->add_option("--metrics", options->metrics,
                   "Summary metrics to show as columns (default: the "
                   "first few by name)")
      ->delimiter(',');
  command
      ->add_flag("--history", options->history,
                 "With a trial number: include its metric history")
      ->needs(number);
  command
      ->add_option("--log-lines", options->log_lines,
                   "With a trial number: lines of the log tail to show")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->needs(number);
  AddJsonFlag(command, &options->json);
  BindControllerCommand<TrialsOptions>(command, options, RunTrials, run);
}

void RegisterBestCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<BestOptions>();
  CLI::App* command = app.add_subcommand(
      "best",
      "Show a sweep's best trial: its value, config and how to rerun it");
  AddOptionalSweepIdArgument(command, &options->sweep_id);
  command->add_option("--interpreter", options->interpreter,
                      "What ${interpreter} is in the rerun command, as the "
                      "agent's --interpreter (default: python, or python3)");
  command->add_flag("--wandb-shim", options->wandb_shim,
                    "The rerun command runs a W&B script through the shim, as "
                    "agents with --wandb-shim do");
  AddJsonFlag(command, &options->json);
  BindControllerCommand<BestOptions>(command, options, RunBest, run);
}

void RegisterStateChangeCommands(CLI::App& app, CommandRun* run) {
  struct StateCommand {
    const char* name;
    v1::SweepAction action;
    const char* description;
  };
  static constexpr StateCommand kCommands[] = {
      {"pause", v1::SWEEP_ACTION_PAUSE,
       "Pause a sweep: running trials go on, no new ones start"},
      {"resume", v1::SWEEP_ACTION_RESUME, "Resume a paused sweep"},
      {"stop", v1::SWEEP_ACTION_STOP,
       "Stop a sweep: running trials finish, no new ones start"},
      {"cancel", v1::SWEEP_ACTION_CANCEL,
       "Cancel a sweep: running trials are killed"},
  };
  for (const StateCommand& spec : kCommands) {
    auto options = std::make_shared<StateChangeOptions>();
    options->action = spec.action;
    CLI::App* command = app.add_subcommand(spec.name, spec.description);
    AddSweepIdArgument(command, &options->sweep_id);
    AddJsonFlag(command, &options->json);
    BindControllerCommand<StateChangeOptions>(command, options, RunStateChange,
                                              run);
  }
}

}  // namespace sweep
