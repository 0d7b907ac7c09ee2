#include "cli/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/agent.h"
#include "agent/controller_channel.h"
#include "agent/orphan_guard.h"
#include "agent/output_copier.h"
#include "agent/program_lookup.h"
#include "cli/daemon_commands.h"
#include "cli/definition_file.h"
#include "cli/display_format.h"
#include "cli/rerun_command.h"
#include "cli/table.h"
#include "cli/trial_format.h"
#include "controller/server.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

struct RunOptions {
  std::string file;
  int agents = 2;
  bool agents_given = false;
  // --gpus and --gpus-per-trial as given (0: not given), then the GPUs in
  // use, gpus_per_trial to each agent in turn.
  std::string gpus_flag;
  int gpus_per_trial = 0;
  std::vector<std::string> gpus;
  int64_t count = 0;
  std::string data_dir;
  std::string workdir = "sweep-runs";
  std::string interpreter;
  bool wandb_shim = false;
  bool stdout_metrics = false;
  double kill_grace_seconds = 10;
  int max_consecutive_failures = AgentOptions{}.max_consecutive_failures;
};

// Calls an asynchronous manager method and waits for its completion.
template <typename Request, typename Response, typename Method>
absl::Status CallManager(SweepManager& manager, Method method,
                         const Request& request, Response* response) {
  absl::Notification done;
  absl::Status result;
  (manager.*method)(request, response, [&](const absl::Status& status) {
    result = status;
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// Why `sweep run` pauses a sweep it leaves unfinished: as the controller
// takes a reason (at most 1,000 bytes, no control characters), since an
// agent's reason may quote a program's output or a long PATH.
std::string PauseReason(int signals_received,
                        const std::vector<AgentResult>& results) {
  if (signals_received > 0) return "sweep run was interrupted";
  for (const AgentResult& r : results) {
    if (r.reason.empty()) continue;
    std::string reason =
        TerminalText(absl::StrCat("sweep run stopped: ", r.reason));
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    std::replace(reason.begin(), reason.end(), '\t', ' ');
    constexpr size_t kMost = 900;
    if (reason.size() > kMost) {
      size_t cut = kMost;
      // Not inside a UTF-8 sequence.
      while (cut > 0 &&
             (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) {
        --cut;
      }
      reason = absl::StrCat(reason.substr(0, cut), "...");
    }
    return reason;
  }
  return "sweep run's agents stopped before the sweep finished";
}

// The `sweep agent` flags that run trials as this `sweep run` did.
std::string AgentFlags(const RunOptions& options) {
  std::string flags;
  if (options.workdir != AgentOptions{}.workdir) {
    absl::StrAppend(&flags, " --workdir ", ShellQuote(options.workdir));
  }
  absl::StrAppend(&flags, " --interpreter ", ShellQuote(options.interpreter));
  if (options.wandb_shim) absl::StrAppend(&flags, " --wandb-shim");
  if (options.stdout_metrics) absl::StrAppend(&flags, " --stdout-metrics");
  if (!options.gpus.empty()) {
    absl::StrAppend(&flags, " --gpus ", absl::StrJoin(options.gpus, ","));
    if (options.gpus_per_trial > 1) {
      absl::StrAppend(&flags, " --gpus-per-trial ", options.gpus_per_trial);
    }
  }
  if (options.kill_grace_seconds != RunOptions{}.kill_grace_seconds) {
    absl::StrAppend(&flags, " --kill-grace ", options.kill_grace_seconds);
  }
  if (options.max_consecutive_failures !=
      RunOptions{}.max_consecutive_failures) {
    absl::StrAppend(&flags, " --max-consecutive-failures ",
                    options.max_consecutive_failures);
  }
  return flags;
}

// A progress line less its elapsed time: what changed since the last one.
std::string ProgressNews(const std::string& line) {
  return line.substr(line.find(']') + 1);
}

std::string ProgressLine(const v1::Sweep& sweep, absl::Duration elapsed) {
  const v1::TrialCounts& c = sweep.counts();
  std::string line = absl::StrFormat(
      "[%s] %s: %d trials, %d running, %d finished",
      FormatCompactDuration(elapsed), SweepStateName(sweep.state()), c.total(),
      c.running(), c.finished());
  if (c.stopped() > 0) absl::StrAppend(&line, ", ", c.stopped(), " stopped");
  if (c.failed() > 0) absl::StrAppend(&line, ", ", c.failed(), " failed");
  if (c.crashed() > 0) absl::StrAppend(&line, ", ", c.crashed(), " crashed");
  if (c.killed() > 0) absl::StrAppend(&line, ", ", c.killed(), " killed");
  if (sweep.grid_points() > 0) {
    absl::StrAppend(&line, " of ", sweep.grid_points(), " grid points");
  } else if (sweep.run_cap() > 0) {
    absl::StrAppend(&line, " of run_cap ", sweep.run_cap());
  }
  if (sweep.has_best_value()) {
    absl::StrAppend(&line, " | best ", sweep.metric_name(), " ",
                    FormatMetricValue(sweep.best_value()), " (#",
                    sweep.best_trial(), ")");
  }
  return line;
}

// Why the sweep's program cannot run here, if it cannot: agents run
// `${program}` relative to their working directory (as W&B's do), and every
// trial of `sweep run` would fail on a missing file. Checked for commands
// that give the program to the interpreter (`${interpreter} ${program}`, as
// the default command and the agent's own check do): another may pass it to
// `python -m` or run it from PATH. Says where a relative program is when it
// is found beside the sweep file or in a directory above it.
std::optional<std::string> MissingProgram(const std::string& text,
                                          const std::string& file) {
  const ParsedDefinition parsed = ParseSweepDefinition(text, file);
  if (!parsed.ok() || !parsed.spec->program) return std::nullopt;
  const std::vector<std::string>& command = parsed.spec->command;
  bool runs_a_script = false;
  for (size_t i = 1; i < command.size(); ++i) {
    runs_a_script |=
        command[i] == "${program}" && command[i - 1] == "${interpreter}";
  }
  if (!runs_a_script) return std::nullopt;
  const std::string& program = *parsed.spec->program;
  std::error_code error;
  if (std::filesystem::exists(program, error)) return std::nullopt;
  if (std::filesystem::path(program).is_absolute()) {
    return absl::StrCat("the sweep's program ", program, " does not exist");
  }
  std::string message = absl::StrCat(
      "the sweep's program ", program, " is not in ",
      std::filesystem::current_path(error).string(),
      ", where the agents run it (from the current directory, as W&B's do)");
  std::filesystem::path dir =
      std::filesystem::absolute(file, error).parent_path();
  for (; !dir.empty(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / program, error)) {
      absl::StrAppend(&message, "; it is in ", dir.string(),
                      ": run from there");
      break;
    }
    if (dir == dir.root_path()) break;
  }
  return message;
}

// While no trial gave a value of the sweep's metric and some ended as they
// should have (finished or stopped early): which one and what it logged
// instead, so that a misspelt metric is seen at the first trial, not after
// a night of trials the search learned nothing from.
std::optional<std::string> MissingMetricWarning(SweepManager& manager,
                                                const v1::Sweep& sweep) {
  const v1::TrialCounts& c = sweep.counts();
  if (sweep.metric_name().empty() || sweep.has_best_value() ||
      c.finished() + c.stopped() == 0) {
    return std::nullopt;
  }
  v1::ListTrialsRequest list;
  list.set_sweep_id(sweep.id());
  list.set_page_size(100);
  v1::ListTrialsResponse trials;
  if (!manager.ListTrials(list, &trials).ok()) return std::nullopt;
  for (const v1::Trial& trial : trials.trials()) {
    if (trial.state() != v1::TRIAL_STATE_FINISHED &&
        trial.state() != v1::TRIAL_STATE_STOPPED) {
      continue;
    }
    const std::string note = MissingMetricNote(trial, sweep.metric_name());
    if (note.empty()) continue;
    return absl::StrCat("trial ", trial.number(), " ended and ", note, " (",
                        sweep.metric_name(),
                        " is the sweep's metric: the search learns nothing "
                        "from trials that do not log it; check its name)");
  }
  return std::nullopt;
}

void PrintSummary(SweepManager& manager, const std::string& sweep_id,
                  const std::string& interpreter, bool wandb_shim) {
  v1::GetSweepRequest get;
  get.set_sweep_id(sweep_id);
  v1::Sweep sweep;
  if (!manager.GetSweep(get, &sweep).ok()) return;
  v1::ListTrialsRequest list;
  list.set_sweep_id(sweep_id);
  list.set_page_size(10'000);
  v1::ListTrialsResponse trials;
  if (manager.ListTrials(list, &trials).ok() && trials.trials_size() > 0) {
    // The best few, or the last few when there is no metric.
    TrialList shown = trials.trials();
    if (sweep.has_best_value()) {
      const bool maximize = sweep.goal() == "maximize";
      // As the best is chosen: trials that failed, crashed or were killed
      // come after the others whatever they logged.
      const auto eligible = [](const v1::Trial& t) {
        return t.has_best_value() && t.state() != v1::TRIAL_STATE_FAILED &&
               t.state() != v1::TRIAL_STATE_CRASHED &&
               t.state() != v1::TRIAL_STATE_KILLED;
      };
      std::stable_sort(
          shown.begin(), shown.end(),
          [maximize, &eligible](const v1::Trial& a, const v1::Trial& b) {
            if (eligible(a) != eligible(b)) return eligible(a);
            if (a.has_best_value() != b.has_best_value()) {
              return a.has_best_value();
            }
            return maximize ? a.best_value() > b.best_value()
                            : a.best_value() < b.best_value();
          });
    }
    while (shown.size() > 10) shown.RemoveLast();
    std::cout << "\n"
              << (sweep.has_best_value() ? "Best trials:\n" : "Trials:\n")
              << FormatTrialTable(
                     sweep, shown,
                     ChooseSummaryMetrics(shown, sweep.metric_name(),
                                          kDefaultSummaryColumns),
                     absl::Now(), OutputColumns());
  }
  if (!sweep.has_best_value()) {
    if (!sweep.metric_name().empty() && sweep.counts().finished() > 0) {
      std::cout << "\nNo trial gave a value of " << sweep.metric_name()
                << ", the sweep's metric, so the search learned nothing "
                   "(the WHY column says what they logged).\n";
    }
    return;
  }
  v1::GetBestTrialRequest best_request;
  best_request.set_sweep_id(sweep_id);
  v1::Trial best;
  if (!manager.GetBestTrial(best_request, &best).ok()) return;
  std::cout << "\nBest: trial " << best.number() << ", " << sweep.metric_name()
            << " = " << FormatMetricValue(best.best_value())
            << "\n  config:  " << best.config_json() << "\n";
  std::cout << FormatRerun(
      MakeRerunCommand(sweep, best, interpreter, wandb_shim));
}

int RunLocalSweep(RunOptions options) {
  RaiseOpenFileLimit();
  // First, while this process has no other thread: the guard that ends the
  // trials' programs should this process be killed.
  absl::StatusOr<std::unique_ptr<OrphanGuard>> guard =
      OrphanGuard::Start(std::chrono::milliseconds(
          static_cast<int64_t>(options.kill_grace_seconds * 1000)));
  if (!guard.ok()) {
    std::cerr << "sweep run: warning: " << guard.status().message()
              << "; trials would outlive a killed sweep run" << std::endl;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);  // A write past ulimit -f fails, as sweep agent's.

  std::string text;
  Diagnostic read_error;
  if (!ReadDefinitionText(options.file, &text, &read_error)) {
    std::cerr << read_error.ToString() << "\n";
    return 1;
  }
  if (const std::optional<std::string> missing =
          MissingProgram(text, options.file)) {
    std::cerr << "sweep run: " << *missing << "\n";
    return 1;
  }
  if (!options.interpreter.empty()) {
    if (absl::Status usable = CheckInterpreter(options.interpreter);
        !usable.ok()) {
      std::cerr << "sweep run: --interpreter: " << usable.message() << "\n";
      return 2;
    }
  }
  // One agent per GPU group: each runs its trials on its own GPUs.
  absl::StatusOr<GpuPlan> plan =
      PlanGpus(options.gpus_flag, options.gpus_per_trial,
               options.agents_given ? options.agents : 0,
               /*cpu_slots=*/options.agents, "--agents");
  if (!plan.ok()) {
    std::cerr << "sweep run: " << plan.status().message() << "\n";
    return 2;
  }
  for (const std::string& note : plan->notes) {
    std::cerr << "sweep run: " << note << "\n";
  }
  options.agents = plan->slots;
  options.gpus = plan->gpus;
  options.gpus_per_trial = plan->gpus_per_trial;
  if (options.wandb_shim) {
    if (absl::Status shim = CheckWandbShim(PythonClientDir()); !shim.ok()) {
      std::cerr << "sweep run: --wandb-shim: " << shim.message() << "\n";
      return 2;
    }
  } else if (ProgramImportsWandb(text, options.file)) {
    std::cerr << "sweep run: warning: the program imports wandb: without "
                 "--wandb-shim its wandb.log() calls never reach the sweep "
                 "(and it fails where wandb is not installed)\n";
  }
  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.data_dir =
      options.data_dir.empty() ? DefaultDataDir() : options.data_dir;
  // With $SWEEP_TOKEN set, the embedded controller wants it too (other users
  // of this machine can reach its loopback port), and `sweep status`
  // commands run meanwhile send it.
  server_options.token = TokenFromEnvironment();
  if (!server_options.token.empty()) {
    if (absl::Status valid =
            CheckToken(server_options.token, kTokenEnvironmentVariable);
        !valid.ok()) {
      std::cerr << "sweep run: " << valid.message() << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::unique_ptr<ControllerServer>> server =
      ControllerServer::Start(server_options);
  if (!server.ok()) {
    std::cerr << "sweep run: " << server.status().message() << "\n";
    return 1;
  }
  SweepManager& manager = *(*server)->manager();
  v1::CreateSweepRequest create;
  create.set_definition_yaml(text);
  create.set_file_name(options.file);
  v1::CreateSweepResponse created;
  const absl::Status create_status =
      CallManager(manager, &SweepManager::CreateSweep, create, &created);
  for (const std::string& warning : created.warnings()) {
    std::cerr << warning << "\n";
  }
  if (!create_status.ok()) {
    std::cerr << create_status.message() << "\n";
    return 1;
  }
  const std::string sweep_id = created.sweep().id();
  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  std::cout << "Sweep " << sweep_id << " (" << created.sweep().method()
            << ") from " << options.file << ", " << options.agents
            << (options.agents == 1 ? " agent" : " agents") << "; state in "
            << server_options.data_dir << ", trial files in " << options.workdir
            << "/" << sweep_id << "\n"
            << "Inspect it meanwhile with: sweep status " << sweep_id
            << " --controller " << address << std::endl;

  if (options.interpreter.empty()) {
    const char* path = std::getenv("PATH");
    options.interpreter = DefaultInterpreter(path ? path : kDefaultSearchPath);
  }
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < options.agents; ++i) {
    AgentOptions agent;
    agent.sweep_id = sweep_id;
    agent.controller = address;
    agent.token = server_options.token;
    agent.count = options.count;
    if (!options.gpus.empty()) {
      const auto first = options.gpus.begin() + i * options.gpus_per_trial;
      agent.gpus.assign(first, first + options.gpus_per_trial);
      agent.gpus_per_trial = options.gpus_per_trial;
    }
    agent.workdir = options.workdir;
    agent.interpreter = options.interpreter;
    agent.wandb_shim = options.wandb_shim;
    agent.stdout_metrics = options.stdout_metrics;
    agent.max_consecutive_failures = options.max_consecutive_failures;
    agent.kill_grace = std::chrono::milliseconds(
        static_cast<int64_t>(options.kill_grace_seconds * 1000));
    agent.name = absl::StrCat("run-", sweep_id, "-", i);
    agent.python_client_dir = PythonClientDir();
    agent.quiet = true;
    agent.orphan_guard = guard.ok() ? guard->get() : nullptr;
    agents.push_back(std::make_unique<Agent>(std::move(agent)));
  }
  std::vector<AgentResult> results(agents.size());
  std::atomic<int> agents_left{static_cast<int>(agents.size())};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < agents.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = agents[i]->Run();
      --agents_left;
    });
  }

  const bool tty = isatty(STDOUT_FILENO);
  const absl::Time start = absl::Now();
  int signals_received = 0;
  int first_signal = 0;
  bool metric_warned = false;
  bool agents_told_done = false;
  std::string last_line;
  while (agents_left.load() > 0) {
    const timespec wait{0, 250'000'000};
    if (const int received = sigtimedwait(&signals, nullptr, &wait);
        received >= 0) {
      if (first_signal == 0) first_signal = received;
      signals_received = std::min(signals_received + 1, 3);
      static constexpr const char* kMessages[] = {
          "finishing running trials (Ctrl-C again to terminate them)",
          "terminating running trials (Ctrl-C again to kill them)",
          "killing running trials"};
      std::cout << (tty ? "\n" : "")
                << "sweep run: " << kMessages[signals_received - 1]
                << std::endl;
      for (auto& agent : agents) agent->Shutdown(signals_received);
    }
    v1::GetSweepRequest get;
    get.set_sweep_id(sweep_id);
    v1::Sweep sweep;
    if (!manager.GetSweep(get, &sweep).ok()) continue;
    const std::string line = ProgressLine(sweep, absl::Now() - start);
    // Without a terminal, a line when something changed (its elapsed time
    // aside), not four a second into a log file.
    const std::string news = ProgressNews(line);
    if (tty) {
      std::cout << "\r\033[K" << line << std::flush;
    } else if (news != last_line) {
      // Flushed: a log file or a pipe (tee, CI) sees progress as it comes.
      std::cout << line << std::endl;
    }
    last_line = news;
    if (!metric_warned) {
      if (std::optional<std::string> warning =
              MissingMetricWarning(manager, sweep)) {
        metric_warned = true;
        std::cout << (tty ? "\r\033[K" : "")
                  << "sweep run: warning: " << *warning << std::endl;
      }
    }
    // A sweep that is done leaves its agents nothing to wait for (one told
    // to ask again later would otherwise sleep out its wait).
    if (!agents_told_done && sweep.counts().running() == 0 &&
        (sweep.state() == v1::SWEEP_STATE_FINISHED ||
         sweep.state() == v1::SWEEP_STATE_CANCELED)) {
      agents_told_done = true;
      for (auto& agent : agents) agent->Shutdown(1);
    }
  }
  for (std::thread& t : threads) t.join();
  if (tty) std::cout << "\n";
  int exit_code = 0;
  for (const AgentResult& r : results) {
    if (r.exit_code != 0) {
      std::cerr << "sweep run: an agent stopped: " << r.reason << "\n";
      exit_code = r.exit_code;
    }
  }
  v1::GetSweepRequest get;
  get.set_sweep_id(sweep_id);
  v1::Sweep sweep;
  bool paused_here = false;
  if (manager.GetSweep(get, &sweep).ok() &&
      (sweep.state() == v1::SWEEP_STATE_RUNNING ||
       sweep.state() == v1::SWEEP_STATE_PENDING)) {
    // Its agents are gone with this process (a signal, or failures): left
    // "running", the sweep would look alive to the next controller on this
    // data dir. Paused, it can be continued.
    v1::UpdateSweepStateRequest pause;
    pause.set_sweep_id(sweep_id);
    pause.set_action(v1::SWEEP_ACTION_PAUSE);
    pause.set_reason(PauseReason(signals_received, results));
    absl::Status paused =
        CallManager(manager, &SweepManager::UpdateSweepState, pause, &sweep);
    if (absl::IsInvalidArgument(paused)) {
      // A reason it would not take must not leave the sweep running.
      pause.clear_reason();
      paused =
          CallManager(manager, &SweepManager::UpdateSweepState, pause, &sweep);
    }
    paused_here = paused.ok();
  }
  if (manager.GetSweep(get, &sweep).ok()) {
    // The final state, unless the last progress line already said it.
    const std::string line = ProgressLine(sweep, absl::Now() - start);
    if (tty || ProgressNews(line) != last_line) {
      std::cout << line << "\n";
    }
    if (paused_here) {
      std::cout << "Sweep paused: it ended here before it finished. To go on: "
                   "sweep server --data-dir "
                << ShellQuote(server_options.data_dir) << ", then sweep resume "
                << sweep_id << " and sweep agent " << sweep_id
                << AgentFlags(options) << "\n";
    } else if (!sweep.state_reason().empty()) {
      std::cout << "Sweep " << SweepStateName(sweep.state()) << ": "
                << sweep.state_reason() << "\n";
    }
  }
  PrintSummary(manager, sweep_id, options.interpreter, options.wandb_shim);
  if (exit_code == 0 && paused_here && first_signal != 0) {
    // Interrupted before the sweep was done: as a shell reports it (130
    // for Ctrl-C), so that a script does not take it for a finished sweep.
    exit_code = 128 + first_signal;
  }
  const v1::TrialCounts& counts = sweep.counts();
  if (exit_code == 0 && counts.total() > 0 &&
      counts.finished() + counts.stopped() == 0 && counts.running() == 0) {
    // Nothing to show for it: a script should not take this for success.
    std::cerr << "sweep run: no trial finished (" << counts.failed()
              << " failed, " << counts.crashed() + counts.killed()
              << " crashed or killed); see WHY above\n";
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace

void RegisterRunCommand(CLI::App& app, CommandRun* run) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* command = app.add_subcommand(
      "run",
      "Run a sweep locally: an embedded controller, N local agents, a live "
      "progress line, the best trial at the end");
  command->add_option("file", options->file, "Sweep YAML file")->required();
  command
      ->add_option("--agents", options->agents,
                   "Local agents (trials at once; with --gpus, default one "
                   "per GPU group)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_option("--gpus", options->gpus_flag,
                      "auto (ask nvidia-smi) or a list like 0,1,3; each agent "
                      "gets its own, passed on in CUDA_VISIBLE_DEVICES");
  command
      ->add_option("--gpus-per-trial", options->gpus_per_trial,
                   "GPUs each trial gets (default 1)")
      ->check(CLI::Range(1, 64));
  command
      ->add_option("--count", options->count,
                   "Trials each agent runs at most (0: until done)")
      ->check(WholeNumberAtLeast(0));
  command->add_option("--data-dir", options->data_dir,
                      "Where the state lives (default: $SWEEP_DATA_DIR, else "
                      "$XDG_DATA_HOME/sweep, else ~/.local/share/sweep)");
  command
      ->add_option("--workdir", options->workdir,
                   "Where trial directories (params, metrics, logs) go")
      ->capture_default_str();
  command->add_option("--interpreter", options->interpreter,
                      "What ${interpreter} runs (default: python, or python3)");
  command->add_flag("--wandb-shim", options->wandb_shim,
                    "Run unmodified W&B scripts against this sweep");
  command->add_flag("--stdout-metrics", options->stdout_metrics,
                    "Also read metrics from program output: `name=value` "
                    "or `name: value` tokens, JSON objects or Python dicts");
  command
      ->add_option("--kill-grace", options->kill_grace_seconds,
                   "Seconds between SIGTERM and SIGKILL when stopping a "
                   "trial")
      ->capture_default_str()
      ->check(SecondsBetween(0, 3600));
  command
      ->add_option("--max-consecutive-failures",
                   options->max_consecutive_failures,
                   "An agent stops after this many failed trials in a row; "
                   "0 never")
      ->capture_default_str()
      ->check(WholeNumberAtLeast(0));
  command->callback([options, run, command] {
    options->agents_given = command->count("--agents") > 0;
    *run = [options] { return RunLocalSweep(*options); };
  });
}

}  // namespace sweep
