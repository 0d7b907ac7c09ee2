#include "search/spec_parser.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "search/command_template.h"
#include "search/early_stopping.h"
#include "search/grid_search.h"
#include "search/parameter_parser.h"
#include "search/yaml_fields.h"
#include "search/yaml_scalar.h"

namespace sweep {
namespace {

constexpr SourceLocation kFileStart{1, 1};

// W&B keys that only drive W&B's own cloud machinery; accepted and ignored.
const std::vector<absl::string_view>& IgnoredWandbKeys() {
  static const auto* keys =
      new std::vector<absl::string_view>{"controller", "job", "image_uri"};
  return *keys;
}

const std::vector<absl::string_view>& TopLevelKeys() {
  static const auto* keys = [] {
    auto* k = new std::vector<absl::string_view>{
        "method",      "parameters", "metric",  "early_terminate",
        "run_cap",     "command",    "program", "name",
        "description", "project",    "entity",  "apiVersion",
        "kind",        "scheduler",  "metrics", kExtensionKey};
    k->insert(k->end(), IgnoredWandbKeys().begin(), IgnoredWandbKeys().end());
    return k;
  }();
  return *keys;
}

SourceLocation LocationAtOffset(absl::string_view text, size_t offset) {
  SourceLocation at{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++at.column;  // Columns count characters, not continuation bytes.
    }
  }
  return at;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is invalid
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// Checks that YAML can be given the text at all: size, binary data, UTF-8,
// tab indentation. Returns false when parsing must not be attempted.
bool CheckRawText(absl::string_view text, Diagnostics& diag) {
  if (text.size() > kMaxDefinitionBytes) {
    diag.Error({}, "",
               absl::StrFormat("file is %.1f MiB; a sweep definition may be "
                               "at most %d MiB",
                               text.size() / 1048576.0,
                               static_cast<int>(kMaxDefinitionBytes >> 20)));
    return false;
  }
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') {
      diag.Error(LocationAtOffset(text, i), "",
                 "binary data (a NUL byte): a sweep definition is YAML text");
      return false;
    }
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      diag.Error(LocationAtOffset(text, i), "",
                 absl::StrFormat("invalid UTF-8 (byte 0x%02X at offset %d)",
                                 static_cast<unsigned char>(text[i]), i));
      return false;
    }
    i += length;
  }
  bool ok = true;
  int reported = 0;
  size_t line_start = 0;
  for (int line = 1; line_start <= text.size(); ++line) {
    size_t end = text.find('\n', line_start);
    if (end == absl::string_view::npos) end = text.size();
    for (size_t i = line_start; i < end; ++i) {
      if (text[i] == '\t') {
        if (reported++ < 20) {
          diag.Error({line, static_cast<int>(i - line_start) + 1}, "",
                     "tab used for indentation; YAML indents with spaces");
        }
        ok = false;
        break;
      }
      if (text[i] != ' ') break;
    }
    line_start = end + 1;
  }
  return ok;
}

// Finds where yaml-cpp 0.7's YAML::LoadAll would loop forever, allocating
// as it goes: on a ',' outside [] or {} its parser yields an empty document
// without consuming the token, again and again (jbeder/yaml-cpp#1040, fixed
// upstream after 0.8.0). Every other document consumes at least one token.
class StalledDocumentFinder : public YAML::EventHandler {
 public:
  // Parses `text` the way LoadAll does; the mark of the token the parser
  // stalls on, or nullopt. Throws what LoadAll would throw.
  static std::optional<YAML::Mark> Find(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StalledDocumentFinder finder;
    while (parser.HandleNextDocument(finder)) {
      if (finder.stalled_) return finder.last_start_;
    }
    return std::nullopt;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    stalled_ = started_ && mark.pos == last_start_.pos;
    started_ = true;
    last_start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  bool started_ = false;
  bool stalled_ = false;
  YAML::Mark last_start_;
};

// Loads the single YAML document of `text`, or reports why it cannot.
std::optional<YAML::Node> LoadDocument(absl::string_view text,
                                       Diagnostics& diag) {
  std::vector<YAML::Node> documents;
  try {
    const std::string input(text);
    if (std::optional<YAML::Mark> stall = StalledDocumentFinder::Find(input)) {
      const bool comma = stall->pos >= 0 &&
                         static_cast<size_t>(stall->pos) < input.size() &&
                         input[stall->pos] == ',';
      diag.Error({stall->line + 1, stall->column + 1}, "",
                 comma ? "YAML syntax error: ',' outside [] or {}"
                       : "YAML syntax error: unexpected token");
      return std::nullopt;
    }
    documents = YAML::LoadAll(input);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at 2,000 levels of its own recursion, about 500 of [ ]
    // or { }, and calls it a "bad file".
    diag.Error(e.mark.is_null()
                   ? SourceLocation{}
                   : SourceLocation{e.mark.line + 1, e.mark.column + 1},
               "", "YAML nested too deeply (hundreds of levels of [ ] or { })");
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    SourceLocation at{};
    if (!e.mark.is_null()) at = {e.mark.line + 1, e.mark.column + 1};
    // W&B's docs list command macros one per line; written inside [ ] or
    // { }, an unquoted macro's braces open a flow mapping instead.
    const bool macro_in_flow =
        absl::StrContains(e.msg, "flow") && absl::StrContains(text, "${");
    diag.Error(at, "",
               absl::StrCat("YAML syntax error: ", e.msg,
                            macro_in_flow ? " (a ${macro} inside [ ] or { } "
                                            "must be quoted: \"${env}\")"
                                          : ""));
    return std::nullopt;
  } catch (const std::exception& e) {
    diag.Error({}, "", absl::StrCat("cannot read the YAML: ", e.what()));
    return std::nullopt;
  }
  if (documents.size() > 1) {
    diag.Error(LocationOf(documents[1]), "",
               absl::StrCat("the file holds ", documents.size(),
                            " YAML documents; a sweep definition is one"));
    return std::nullopt;
  }
  if (documents.empty() || documents[0].IsNull()) {
    diag.Error(kFileStart, "",
               "the file is empty; a sweep definition is a mapping with at "
               "least method and parameters");
    return std::nullopt;
  }
  if (!documents[0].IsMap()) {
    diag.Error(LocationOf(documents[0]), "",
               absl::StrCat("the top level must be a mapping of keys such as "
                            "method and parameters, got ",
                            DescribeNode(documents[0])));
    return std::nullopt;
  }
  return documents[0];
}

class DefinitionParser {
 public:
  explicit DefinitionParser(Diagnostics& diag) : reader_(diag) {}

  std::optional<SweepSpec> Parse(const YAML::Node& root) {
    const std::vector<YamlEntry> top =
        reader_.Entries(root, "", TopLevelKeys());
    SweepSpec spec;
    ParseMethod(FieldReader::Find(top, "method"), spec);
    if (const YamlEntry* e = FieldReader::Find(top, "parameters")) {
      spec.parameters = ParseParameters(*e, reader_);
    } else {
      diag().Error(kFileStart, "parameters",
                   "is required: a mapping of at least one parameter");
    }
    if (const YamlEntry* e = FieldReader::Find(top, "metric")) {
      spec.metric = ParseMetric(*e);
    }
    if (const YamlEntry* e = FieldReader::Find(top, "early_terminate")) {
      spec.early_terminate = ParseHyperband(*e);
    }
    if (const YamlEntry* e = FieldReader::Find(top, "run_cap")) {
      std::optional<int64_t> cap = reader_.Integer(*e, "");
      if (cap && *cap <= 0) {
        diag().Error(e->value_location, "run_cap",
                     absl::StrCat("must be greater than 0, got ", *cap));
      } else {
        spec.run_cap = cap;
      }
    }
    ParseLabels(top, spec);
    if (const YamlEntry* e = FieldReader::Find(top, kExtensionKey)) {
      ParseExtension(*e, spec);
    }
    for (absl::string_view key : IgnoredWandbKeys()) {
      if (const YamlEntry* e = FieldReader::Find(top, key)) {
        diag().Warning(e->key_location, key,
                       "W&B cloud setting; it has no effect here");
      }
    }
    ParseSchemaKeys(top);
    ParseCommand(FieldReader::Find(top, "command"), spec,
                 FieldReader::Find(top, "program"));
    CheckMethodNeeds(top, spec);
    if (diag().has_errors()) return std::nullopt;
    return spec;
  }

 private:
  Diagnostics& diag() { return reader_.diag(); }

  // Keys of W&B's schema this tool has no use for: `apiVersion` and `kind`
  // (W&B's own labels), `scheduler` (which W&B engine runs the search) and
  // `metrics` (multi-objective, which W&B runs only with `method: custom`).
  void ParseSchemaKeys(const std::vector<YamlEntry>& top) {
    if (const YamlEntry* e = FieldReader::Find(top, "apiVersion")) {
      reader_.String(*e, "");
    }
    if (const YamlEntry* e = FieldReader::Find(top, "kind")) {
      std::optional<std::string> kind = reader_.String(*e, "");
      if (kind && *kind != "sweep") {
        diag().Error(e->value_location, "kind",
                     absl::StrCat("must be sweep, got '", *kind, "'"));
      }
    }
    if (const YamlEntry* e = FieldReader::Find(top, "scheduler")) {
      // Found by iterating: a const node's operator[] of a missing key is
      // a zombie that throws when asked its type.
      YAML::Node engine;
      if (e->value.IsMap()) {
        for (const auto& entry : e->value) {
          if (entry.first.IsScalar() && entry.first.Scalar() == "engine") {
            engine = entry.second;
          }
        }
      }
      if (engine.IsScalar() && engine.Scalar() == "wandb") {
        diag().Warning(e->key_location, "scheduler",
                       "engine wandb is this tool's own search; the key has "
                       "no effect here");
      } else {
        diag().Error(e->value_location, "scheduler",
                     absl::StrCat("only {engine: wandb} is supported (the "
                                  "method's own search), got ",
                                  engine.IsScalar()
                                      ? absl::StrCat("engine ", engine.Scalar())
                                      : DescribeNode(e->value)));
      }
    }
    if (const YamlEntry* e = FieldReader::Find(top, "metrics")) {
      diag().Error(e->key_location, "metrics",
                   "multi-objective search (W&B's metrics, with method "
                   "custom) is not supported; name one metric under metric");
    }
  }

  void ParseMethod(const YamlEntry* e, SweepSpec& spec) {
    if (e == nullptr) {
      diag().Error(kFileStart, "method", "is required: grid, random or bayes");
      return;
    }
    std::optional<std::string> method = reader_.String(*e, "");
    if (!method) return;
    if (*method == "grid") {
      spec.method = Method::kGrid;
    } else if (*method == "random") {
      spec.method = Method::kRandom;
    } else if (*method == "bayes") {
      spec.method = Method::kBayes;
    } else if (*method == "custom") {
      diag().Error(e->value_location, "method",
                   "'custom' (W&B's externally driven search) is not "
                   "supported; use grid, random or bayes");
    } else {
      const std::string closest = FieldReader::ClosestKey(
          absl::AsciiStrToLower(*method), {"grid", "random", "bayes"});
      diag().Error(e->value_location, "method",
                   absl::StrCat("must be grid, random or bayes, got '", *method,
                                "'", closest.empty() ? "" : " (did you mean '",
                                closest, closest.empty() ? "" : "'?)"));
    }
  }

  std::optional<MetricSpec> ParseMetric(const YamlEntry& e) {
    if (!e.value.IsMap()) {
      diag().Error(e.value_location, "metric",
                   absl::StrCat("must be a mapping such as {name: val_loss, "
                                "goal: minimize}, got ",
                                DescribeNode(e.value)));
      return std::nullopt;
    }
    const std::vector<YamlEntry> fields = reader_.Entries(
        e.value, "metric",
        {"name", "goal", "target", "impute", "impute_while_running"});
    MetricSpec metric;
    bool ok = true;
    if (const YamlEntry* f = FieldReader::Find(fields, "name")) {
      const bool is_string = f->value.IsScalar();
      metric.name = reader_.String(*f, "metric").value_or("");
      if (is_string && metric.name.empty()) {
        diag().Error(f->value_location, "metric.name", "must not be empty");
      }
      // What the agents and the controller take as a metric name: any other
      // would never be logged, and the sweep never see its metric.
      const bool control = HasControlCharacter(metric.name);
      if (metric.name.size() > kMaxMetricNameBytes || control) {
        diag().Error(f->value_location, "metric.name",
                     control
                         ? "must not hold control characters (tabs, "
                           "newlines, escapes): no metric can be logged "
                           "under such a name"
                         : absl::StrCat("must be at most ", kMaxMetricNameBytes,
                                        " bytes: no metric can be logged "
                                        "under a longer name"));
        metric.name.clear();
      }
      ok &= !metric.name.empty();
    } else {
      diag().Error(e.key_location, "metric", "needs a name");
      ok = false;
    }
    if (const YamlEntry* f = FieldReader::Find(fields, "goal")) {
      std::optional<std::string> goal = reader_.String(*f, "metric");
      if (goal == "minimize") {
        metric.goal = Goal::kMinimize;
      } else if (goal == "maximize") {
        metric.goal = Goal::kMaximize;
      } else if (goal) {
        // W&B silently turns a misspelled goal into minimize.
        const std::string closest = FieldReader::ClosestKey(
            absl::AsciiStrToLower(*goal), {"minimize", "maximize"});
        diag().Error(
            f->value_location, "metric.goal",
            absl::StrCat("must be minimize or maximize, got '", *goal, "'",
                         closest.empty() ? "" : " (did you mean '", closest,
                         closest.empty() ? "" : "'?)"));
        ok = false;
      }
    }
    if (const YamlEntry* f = FieldReader::Find(fields, "target")) {
      metric.target = reader_.Number(*f, "metric");
      ok &= metric.target.has_value();
    }
    if (const YamlEntry* f = FieldReader::Find(fields, "impute")) {
      std::optional<Impute> impute = ParseImpute(*f);
      ok &= impute.has_value();
      metric.impute = impute.value_or(Impute::kWorst);
    }
    if (const YamlEntry* f =
            FieldReader::Find(fields, "impute_while_running")) {
      // W&B's schema spells the default as the string "false"; a YAML
      // boolean false means the same.
      const Value v = f->value.IsScalar() ? ScalarToValue(f->value) : Value();
      if (!(v.is_boolean() && !v.get<bool>()) && v != Value("false")) {
        std::optional<Impute> impute = ParseImpute(*f);
        ok &= impute.has_value();
        metric.impute_while_running = impute;
      }
    }
    if (!ok) return std::nullopt;
    return metric;
  }

  std::optional<Impute> ParseImpute(const YamlEntry& f) {
    if (f.value.IsScalar()) {
      const std::string& s = f.value.Scalar();
      if (s == "worst") return Impute::kWorst;
      if (s == "best") return Impute::kBest;
      if (s == "latest") return Impute::kLatest;
    }
    diag().Error(
        f.value_location, JoinPath("metric", f.key),
        absl::StrCat("must be worst, best or latest",
                     f.key == "impute_while_running" ? " (or false)" : "",
                     ", got ", DescribeNode(f.value)));
    return std::nullopt;
  }

  std::optional<EarlyTerminateSpec> ParseHyperband(const YamlEntry& e) {
    if (!e.value.IsMap()) {
      diag().Error(e.value_location, "early_terminate",
                   absl::StrCat("must be a mapping such as {type: hyperband, "
                                "min_iter: 3}, got ",
                                DescribeNode(e.value)));
      return std::nullopt;
    }
    const std::vector<YamlEntry> fields =
        reader_.Entries(e.value, "early_terminate",
                        {"type", "min_iter", "max_iter", "s", "eta", "strict"});
    EarlyTerminateSpec et;
    et.location = e.key_location;
    bool ok = true;
    const YamlEntry* type = FieldReader::Find(fields, "type");
    if (type == nullptr) {
      diag().Error(e.key_location, "early_terminate", "needs type: hyperband");
      ok = false;
    } else if (!type->value.IsScalar() || type->value.Scalar() != "hyperband") {
      diag().Error(
          type->value_location, "early_terminate.type",
          absl::StrCat("must be hyperband, got ", DescribeNode(type->value),
                       " (ASHA and median stopping go under ", kExtensionKey,
                       ".early_terminate)"));
      ok = false;
    }
    HyperbandSpec& hb = et.hyperband;
    bool iterations_given = false;  // min_iter or max_iter, valid or not.
    bool s_given = false;
    for (const YamlEntry& f : fields) {
      if (f.key == "min_iter" || f.key == "max_iter") iterations_given = true;
      if (f.key == "s") s_given = true;
      if (f.key == "min_iter" || f.key == "max_iter" || f.key == "s") {
        std::optional<int64_t> v = reader_.Integer(f, "early_terminate");
        if (v && *v < 1) {
          diag().Error(f.value_location, JoinPath("early_terminate", f.key),
                       absl::StrCat("must be at least 1, got ", *v));
          v.reset();
        }
        ok &= v.has_value();
        (f.key == "min_iter"   ? hb.min_iter
         : f.key == "max_iter" ? hb.max_iter
                               : hb.s) = v;
      } else if (f.key == "eta") {
        std::optional<double> v = reader_.Number(f, "early_terminate");
        if (v && *v <= 1) {
          diag().Error(
              f.value_location, "early_terminate.eta",
              absl::StrCat("must be greater than 1, got ", f.value.Scalar()));
          v.reset();
        }
        ok &= v.has_value();
        hb.eta = v.value_or(3.0);
      } else if (f.key == "strict") {
        std::optional<bool> v = reader_.Bool(f, "early_terminate");
        ok &= v.has_value();
        hb.strict = v.value_or(true);
      }
    }
    if (hb.max_iter && !s_given) {
      diag().Error(e.key_location, "early_terminate",
                   "max_iter needs s (the number of brackets)");
      ok = false;
    } else if (!iterations_given) {
      diag().Error(e.key_location, "early_terminate",
                   "needs min_iter, or max_iter and s");
      ok = false;
    } else if (hb.max_iter && hb.min_iter) {
      diag().Warning(e.key_location, "early_terminate",
                     "both min_iter and max_iter given: max_iter and s take "
                     "precedence, min_iter is ignored");
    }
    if (!ok) return std::nullopt;
    if (hb.max_iter && HyperbandBands(hb).empty()) {
      // W&B accepts it too, and then never stops anything.
      diag().Warning(
          e.key_location, "early_terminate",
          absl::StrFormat("max_iter %d / eta %g is below 1 iteration: "
                          "hyperband has no band and will never stop a trial "
                          "(raise max_iter or lower eta)",
                          *hb.max_iter, hb.eta));
    }
    return et;
  }

  void ParseLabels(const std::vector<YamlEntry>& top, SweepSpec& spec) {
    const std::pair<absl::string_view, std::optional<std::string>*> labels[] = {
        {"program", &spec.program},
        {"name", &spec.name},
        {"description", &spec.description},
        {"project", &spec.project},
        {"entity", &spec.entity}};
    for (const auto& [key, field] : labels) {
      if (const YamlEntry* e = FieldReader::Find(top, key)) {
        *field = reader_.String(*e, "");
      }
    }
  }

  void ParseExtension(const YamlEntry& e, SweepSpec& spec);
  void ParseExtensionStopper(const YamlEntry& e, SweepSpec& spec);

  // `program`: the file's program key, maybe an invalid one (already
  // reported); null when it has none.
  void ParseCommand(const YamlEntry* e, SweepSpec& spec,
                    const YamlEntry* program) {
    const bool program_given = program != nullptr;
    if (e == nullptr) {
      spec.command.assign(std::begin(kDefaultCommand),
                          std::end(kDefaultCommand));
      spec.command_is_default = true;
    } else if (!e->value.IsSequence() || e->value.size() == 0) {
      diag().Error(e->value_location, "command",
                   absl::StrCat("must be a non-empty list of tokens, got ",
                                DescribeNode(e->value)));
      return;
    } else {
      spec.command_is_default = false;
      for (size_t i = 0; i < e->value.size(); ++i) {
        const YAML::Node& token = e->value[i];
        const std::string path = absl::StrCat("command[", i, "]");
        if (!token.IsScalar()) {
          diag().Error(
              LocationOf(token), path,
              absl::StrCat("must be a string, got ", DescribeNode(token)));
          continue;
        }
        std::string error;
        if (!CheckCommandToken(token.Scalar(), &error)) {
          diag().Error(LocationOf(token), path, error);
        }
        spec.command.push_back(token.Scalar());
      }
    }
    const bool uses_program =
        std::find(spec.command.begin(), spec.command.end(), "${program}") !=
        spec.command.end();
    if (uses_program && !spec.program && !program_given) {
      diag().Error(e == nullptr ? kFileStart : e->key_location, "program",
                   e == nullptr ? "is required: the default command runs "
                                  "${env} ${interpreter} ${program} ${args}"
                                : "is required: the command uses ${program}");
    } else if (uses_program && spec.program &&
               absl::StripAsciiWhitespace(*spec.program).empty()) {
      // A warning for a stored sweep: one accepted before this check must
      // not stop its controller from starting.
      diag().NewDefinitionError(
          program->value_location, "program",
          e == nullptr ? "is empty, but the default command runs "
                         "${env} ${interpreter} ${program} ${args}"
                       : "is empty, but the command uses ${program}");
    }
  }

  void CheckMethodNeeds(const std::vector<YamlEntry>& top,
                        const SweepSpec& spec) {
    const YamlEntry* method = FieldReader::Find(top, "method");
    const YamlEntry* metric = FieldReader::Find(top, "metric");
    if (metric == nullptr && method != nullptr &&
        spec.method == Method::kBayes) {
      diag().Error(method->value_location, "metric",
                   "is required by method bayes: name the metric to optimize");
    }
    if (metric == nullptr && spec.early_terminate) {
      diag().Error(spec.early_terminate->location, "metric",
                   "is required by early termination: name the metric it "
                   "judges trials by");
    }
    if (spec.method == Method::kGrid) {
      bool enumerable = true;
      for (const ParameterSpec& p : spec.parameters) {
        switch (p.distribution) {
          case Distribution::kConstant:
          case Distribution::kCategorical:
          case Distribution::kCategoricalWithProbabilities:
          case Distribution::kIntUniform:
          case Distribution::kQUniform:
            break;
          default:
            enumerable = false;
            diag().Error(p.location, JoinPath("parameters", p.name),
                         absl::StrCat("method grid cannot enumerate ",
                                      DistributionName(p.distribution),
                                      "; use values, int_uniform or "
                                      "q_uniform"));
        }
      }
      // The grid is walked by a 64-bit index: a larger one would only fail
      // in the agents, after the sweep was created.
      const YamlEntry* parameters = FieldReader::Find(top, "parameters");
      if (enumerable && parameters != nullptr &&
          GridSize(spec) == std::numeric_limits<uint64_t>::max()) {
        diag().Error(parameters->key_location, "parameters",
                     "the grid has 2^64 points or more (the product of the "
                     "number of values of each parameter); use fewer values, "
                     "or method random");
      }
    } else if (spec.extension.retry_failed > 0) {
      diag().Warning(spec.extension.retry_failed_location,
                     JoinPath(kExtensionKey, "retry_failed"),
                     "has an effect only with method grid");
    }
  }

  FieldReader reader_;
};

void DefinitionParser::ParseExtension(const YamlEntry& e, SweepSpec& spec) {
  const std::string path(kExtensionKey);
  if (!e.value.IsMap()) {
    diag().Error(e.value_location, path,
                 absl::StrCat("must be a mapping of this project's settings "
                              "(seed, retry_failed, early_terminate), got ",
                              DescribeNode(e.value)));
    return;
  }
  const std::vector<YamlEntry> fields = reader_.Entries(
      e.value, path, {"seed", "retry_failed", "early_terminate"});
  for (const YamlEntry& f : fields) {
    if (f.key == "seed") {
      std::optional<int64_t> seed = reader_.Integer(f, path);
      if (seed && *seed < 0) {
        diag().Error(f.value_location, JoinPath(path, "seed"),
                     "must not be negative");
      } else if (seed) {
        spec.extension.seed = static_cast<uint64_t>(*seed);
      }
    } else if (f.key == "retry_failed") {
      std::optional<int64_t> retries = reader_.Integer(f, path);
      if (retries && *retries < 0) {
        diag().Error(f.value_location, JoinPath(path, "retry_failed"),
                     "must not be negative");
      } else if (retries) {
        spec.extension.retry_failed = *retries;
        spec.extension.retry_failed_location = f.key_location;
      }
    } else if (f.key == "early_terminate") {
      ParseExtensionStopper(f, spec);
    }
  }
}

void DefinitionParser::ParseExtensionStopper(const YamlEntry& e,
                                             SweepSpec& spec) {
  const std::string path = JoinPath(kExtensionKey, "early_terminate");
  if (!e.value.IsMap()) {
    diag().Error(e.value_location, path,
                 absl::StrCat("must be a mapping such as {type: asha, "
                              "max_resource: 81}, got ",
                              DescribeNode(e.value)));
    return;
  }
  const std::vector<YamlEntry> fields =
      reader_.Entries(e.value, path,
                      {"type", "min_resource", "max_resource",
                       "reduction_factor", "warmup_steps", "min_trials"});
  EarlyTerminateSpec et;
  et.location = e.key_location;
  const YamlEntry* type = FieldReader::Find(fields, "type");
  const std::string kind =
      type != nullptr && type->value.IsScalar() ? type->value.Scalar() : "";
  std::vector<absl::string_view> applies;
  if (kind == "asha") {
    et.type = EarlyTerminateSpec::Type::kAsha;
    applies = {"type", "min_resource", "max_resource", "reduction_factor"};
  } else if (kind == "median") {
    et.type = EarlyTerminateSpec::Type::kMedian;
    applies = {"type", "warmup_steps", "min_trials"};
  } else {
    diag().Error(type == nullptr ? e.key_location : type->value_location,
                 JoinPath(path, "type"),
                 "must be asha or median (hyperband goes under the top-level "
                 "early_terminate)");
    return;
  }
  bool ok = true;
  for (const YamlEntry& f : fields) {
    if (std::find(applies.begin(), applies.end(), f.key) == applies.end()) {
      diag().Error(f.key_location, path,
                   absl::StrCat("'", f.key, "' does not apply to type ", kind));
      ok = false;
      continue;
    }
    if (f.key == "type") continue;
    if (f.key == "reduction_factor") {
      std::optional<double> v = reader_.Number(f, path);
      if (v && *v <= 1) {
        diag().Error(f.value_location, JoinPath(path, f.key),
                     "must be greater than 1");
        v.reset();
      }
      ok &= v.has_value();
      et.asha.reduction_factor = v.value_or(3);
      continue;
    }
    std::optional<int64_t> v = reader_.Integer(f, path);
    const bool zero_ok = f.key == "warmup_steps" || f.key == "min_trials";
    if (v && *v < (zero_ok ? 0 : 1)) {
      diag().Error(f.value_location, JoinPath(path, f.key),
                   absl::StrCat("must be at least ", zero_ok ? 0 : 1));
      v.reset();
    }
    ok &= v.has_value();
    if (!v) continue;
    if (f.key == "min_resource") et.asha.min_resource = *v;
    if (f.key == "max_resource") et.asha.max_resource = *v;
    if (f.key == "warmup_steps") et.median.warmup_steps = *v;
    if (f.key == "min_trials") et.median.min_trials = *v;
  }
  if (et.type == EarlyTerminateSpec::Type::kAsha && et.asha.max_resource != 0 &&
      et.asha.max_resource <= et.asha.min_resource) {
    diag().Error(e.key_location, path,
                 "max_resource must be greater than min_resource");
    ok = false;
  }
  if (spec.early_terminate) {
    diag().Error(e.key_location, path,
                 "choose one early termination rule: the top-level "
                 "early_terminate is already set");
    ok = false;
  }
  if (ok) spec.early_terminate = et;
}

// A plain decimal integer as PyYAML reads one (a Python int, of any size)
// that does not fit 64 bits, so that ScalarToValue keeps it as a string.
bool IsTooWideInteger(const std::string& text) {
  absl::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits[0] < '1' || digits[0] > '9') return false;
  for (char c : digits) {
    if (c != '_' && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return ScalarToValue(YAML::Node(text)).is_string();
}

// Warns of each explicit tag the reader does not act on (!!binary,
// !!python/object:..., a custom !tag): the value is read as plain YAML, where
// PyYAML, which W&B uses, would decode or refuse it. Warns too of integers
// too wide to be read as numbers.
// `budget`: nodes left to look at (aliases make a small document a huge
// graph to walk; the readers bound what they expand themselves).
void WarnOfTags(const YAML::Node& node, Diagnostics& diag, int& budget,
                int& warnings, int depth = 0) {
  constexpr int kMaxDepth = 64;  // Deeper documents are refused elsewhere.
  if (depth > kMaxDepth || budget <= 0 || !node.IsDefined()) return;
  --budget;
  const std::string& tag = node.Tag();
  static constexpr absl::string_view kRead[] = {"",
                                                "?",
                                                "!",
                                                "tag:yaml.org,2002:str",
                                                "tag:yaml.org,2002:int",
                                                "tag:yaml.org,2002:float",
                                                "tag:yaml.org,2002:bool",
                                                "tag:yaml.org,2002:null",
                                                "tag:yaml.org,2002:map",
                                                "tag:yaml.org,2002:seq"};
  // At most a few: an alias repeats its node's tag wherever it is used.
  constexpr int kMaxWarnings = 20;
  if (std::find(std::begin(kRead), std::end(kRead), tag) == std::end(kRead) &&
      warnings++ < kMaxWarnings) {
    diag.Warning(LocationOf(node), "",
                 absl::StrCat("the tag ", tag,
                              " is ignored: the value is read as if it had "
                              "none"));
  }
  if (node.IsScalar() && (tag == "?" || tag.empty()) &&
      IsTooWideInteger(node.Scalar()) && warnings++ < kMaxWarnings) {
    diag.Warning(LocationOf(node), "",
                 absl::StrCat(node.Scalar(),
                              " is an integer wider than 64 bits: it is read "
                              "as the string \"",
                              node.Scalar(),
                              "\" (the command line gets the same text; "
                              "${args_json} and wandb.config get a string)"));
  }
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      WarnOfTags(item, diag, budget, warnings, depth + 1);
    }
  } else if (node.IsMap()) {
    for (const auto& item : node) {
      WarnOfTags(item.first, diag, budget, warnings, depth + 1);
      WarnOfTags(item.second, diag, budget, warnings, depth + 1);
    }
  }
}

}  // namespace

ParsedDefinition ParseSweepDefinition(absl::string_view text,
                                      absl::string_view file_name,
                                      bool stored) {
  Diagnostics diag{std::string(file_name)};
  diag.set_stored(stored);
  ParsedDefinition result;
  if (CheckRawText(text, diag)) {
    if (std::optional<YAML::Node> root = LoadDocument(text, diag)) {
      int budget = 100'000;
      int warnings = 0;
      WarnOfTags(*root, diag, budget, warnings);
      DefinitionParser parser(diag);
      result.spec = parser.Parse(*root);
    }
  }
  if (diag.has_errors()) result.spec.reset();
  result.diagnostics = diag.Release();
  // In file order, whichever part of the parser found them.
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::make_pair(a.location.line, a.location.column) <
                            std::make_pair(b.location.line, b.location.column);
                   });
  return result;
}

}  // namespace sweep
