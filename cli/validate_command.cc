#include "cli/validate_command.h"

#include <unistd.h>

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/program_lookup.h"
#include "cli/definition_file.h"
#include "cli/rerun_command.h"
#include "cli/yaml_output.h"
#include "search/command_template.h"
#include "search/distribution.h"
#include "search/grid_search.h"
#include "search/searcher.h"

namespace sweep {
namespace {

struct PreviewTrial {
  Point point;
  std::string command;  // The argv joined for display, or why it fails.
};

struct PreviewResult {
  std::vector<PreviewTrial> trials;
  uint64_t seed = 0;
  bool seed_given = false;  // By the definition; else drawn for this preview.
  std::string problem;      // Why the search stopped early, if it did.
};

// The first `count` trials a sweep of `spec` hands out, drawn as the
// controller draws them (one engine per trial number, from the sweep's seed).
// A definition without a seed gets a fresh one, as each new sweep does.
PreviewResult Preview(SweepSpec spec, int count) {
  PreviewResult result;
  result.seed_given = spec.extension.seed.has_value();
  if (!result.seed_given) {
    spec.extension.seed = std::random_device{}() % 1'000'000'000;
  }
  result.seed = *spec.extension.seed;
  std::vector<PreviewTrial>& trials = result.trials;
  std::unique_ptr<Searcher> searcher = MakeSearcher(spec);
  std::vector<Point> pending;
  CommandEnvironment env;
  const char* path = std::getenv("PATH");
  env.interpreter = DefaultInterpreter(path ? path : kDefaultSearchPath);
  env.args_json_file = "<trial dir>/params.json";
  env.getenv = [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  // A grid's points handed out are given as ended trials (numbered, as the
  // controller's are): the grid searcher counts only the new one each time,
  // where pending points are all looked at again, which made a preview of
  // 50,000 grid points take minutes. They cover their points either way.
  const bool grid = spec.method == Method::kGrid;
  std::vector<TrialRecord> ended;
  for (int i = 0; i < count; ++i) {
    const SearchContext context{spec, ended, pending};
    RandomEngine rng = SuggestionEngine(result.seed, i + 1);
    absl::StatusOr<std::optional<Suggestion>> next =
        searcher->Suggest(context, rng);
    if (!next.ok()) {
      result.problem = std::string(next.status().message());
      break;
    }
    if (!next->has_value()) break;  // A covered grid.
    PreviewTrial trial{(*next)->point, ""};
    absl::StatusOr<std::vector<std::string>> argv =
        ExpandCommand(spec, trial.point, env);
    if (argv.ok()) {
      std::vector<std::string> shown;
      for (const std::string& token : *argv) {
        shown.push_back(ShellQuote(token));
      }
      trial.command = absl::StrJoin(shown, " ");
    } else {
      trial.command =
          absl::StrCat("(cannot run: ", argv.status().message(), ")");
    }
    if (grid) {
      TrialRecord& record = ended.emplace_back();
      record.id = i + 1;
      record.state = TrialState::kFinished;
      record.point = trial.point;
    } else {
      pending.push_back(trial.point);
    }
    trials.push_back(std::move(trial));
  }
  return result;
}

// Grid points, or for other methods the size of a finite space; nullopt when
// unbounded.
std::optional<uint64_t> CountPoints(const SweepSpec& spec) {
  if (spec.method == Method::kGrid) return GridSize(spec);
  uint64_t size = 1;
  for (const ParameterSpec& p : spec.parameters) {
    std::optional<std::vector<Value>> support = FiniteSupport(p, 1 << 20);
    if (!support) return std::nullopt;
    if (!support->empty() && size > UINT64_MAX / support->size()) {
      return std::nullopt;
    }
    size *= support->size();
  }
  return size;
}

Value DiagnosticJson(const Diagnostic& d) {
  Value out = Value::object();
  out["line"] = d.location.line;
  out["column"] = d.location.column;
  out["path"] = d.path;
  out["message"] = d.message;
  out["text"] = d.ToString();
  return out;
}

Value FileJson(const std::string& file, const ParsedDefinition& parsed,
               int preview_count) {
  Value out = Value::object();
  out["file"] = file;
  out["valid"] = parsed.ok();
  out["errors"] = Value::array();
  out["warnings"] = Value::array();
  for (const Diagnostic& d : parsed.diagnostics) {
    out[d.severity == Diagnostic::Severity::kError ? "errors" : "warnings"]
        .push_back(DiagnosticJson(d));
  }
  if (!parsed.ok()) return out;
  const SweepSpec& spec = *parsed.spec;
  out["definition"] = NormalizedDefinition(spec);
  const std::optional<uint64_t> points = CountPoints(spec);
  out["grid_points"] = spec.method == Method::kGrid && points
                           ? Value(*points)
                           : Value("unbounded");
  out["distinct_points"] = points ? Value(*points) : Value(nullptr);
  if (preview_count > 0) {
    const PreviewResult preview = Preview(spec, preview_count);
    out["preview"] = Value::array();
    for (const PreviewTrial& t : preview.trials) {
      out["preview"].push_back(
          Value{{"config", NestPoint(spec, t.point)}, {"command", t.command}});
    }
    out["preview_seed"] = preview.seed;
    out["preview_seed_given"] = preview.seed_given;
    if (!preview.problem.empty()) out["preview_error"] = preview.problem;
  }
  return out;
}

void PrintHuman(const std::string& file, const ParsedDefinition& parsed,
                int preview_count, std::ostream& out, std::ostream& err) {
  int warnings = 0;
  for (const Diagnostic& d : parsed.diagnostics) {
    if (d.severity == Diagnostic::Severity::kWarning) ++warnings;
  }
  err << parsed.Format();
  if (!parsed.ok()) {
    const size_t errors = parsed.diagnostics.size() - warnings;
    err << file << ": invalid (" << errors
        << (errors == 1 ? " error" : " errors") << ")\n";
    return;
  }
  const SweepSpec& spec = *parsed.spec;
  out << file << ": valid";
  if (warnings > 0) {
    out << " (" << warnings << (warnings == 1 ? " warning" : " warnings")
        << ")";
  }
  out << "\n";
  out << ToYaml(NormalizedDefinition(spec), 2);
  const std::optional<uint64_t> points = CountPoints(spec);
  if (spec.method == Method::kGrid) {
    out << "grid points: " << (points ? absl::StrCat(*points) : "overflow")
        << "\n";
  } else {
    out << "grid points: unbounded";
    if (points) out << " (" << *points << " distinct configurations)";
    out << "\n";
  }
  if (preview_count > 0) {
    const PreviewResult preview = Preview(spec, preview_count);
    const std::vector<PreviewTrial>& trials = preview.trials;
    out << "first " << trials.size() << " trials (dry run, seed "
        << preview.seed << "):\n";
    for (size_t i = 0; i < trials.size(); ++i) {
      out << "  " << i + 1 << ". " << NestPoint(spec, trials[i].point).dump()
          << "\n     $ " << trials[i].command << "\n";
    }
    if (!preview.problem.empty()) {
      out << "  search error: " << preview.problem << "\n";
    }
    if (spec.method != Method::kGrid) {
      out << (preview.seed_given
                  ? "  (a sweep of this file hands out these first, in order)\n"
                  : absl::StrCat("  (no seed set: each new sweep draws its "
                                 "own points; add `sweep: {seed: ",
                                 preview.seed,
                                 "}` to the file to get exactly these)\n"));
    }
  }
}

}  // namespace

int RunValidate(const ValidateOptions& options, std::ostream& out,
                std::ostream& err) {
  bool all_valid = true;
  Value reports = Value::array();
  for (const std::string& file : options.files) {
    const ParsedDefinition parsed = LoadDefinitionFile(file);
    all_valid &= parsed.ok();
    if (options.json) {
      reports.push_back(FileJson(file, parsed, options.preview));
    } else {
      PrintHuman(file, parsed, options.preview, out, err);
    }
  }
  if (options.json) {
    out << (reports.size() == 1 ? reports[0] : reports).dump(2) << "\n";
  }
  return all_valid ? 0 : 1;
}

}  // namespace sweep
