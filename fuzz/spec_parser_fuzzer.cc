// libFuzzer target: any bytes as a sweep definition. ParseSweepDefinition
// promises to never crash or hang, whatever the text; a definition it accepts
// must then survive everything the controller does with it at sweep creation
// (normalizing, sizing the grid, sampling, a first suggestion).
//
// Besides the sanitizers, the target checks two contracts and aborts when
// one breaks: a definition is accepted exactly when it has no error, and the
// normalized definition loads back unchanged (spec.h).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "search/diagnostics.h"
#include "search/distribution.h"
#include "search/grid_search.h"
#include "search/searcher.h"
#include "search/spec.h"
#include "search/spec_parser.h"

namespace sweep {
namespace {

// A first grid suggestion lists every axis, so bigger grids are only sized.
constexpr uint64_t kMaxSuggestedGridPoints = 1'000'000;
// GridSize lists every int_uniform and q_uniform axis of up to
// kMaxGridAxisValues values to count them: about a second per 10^7 values,
// ten times that under ASan. Legal but slow, so such specs are not sized
// here, lest a run hit libFuzzer's timeout.
constexpr double kMaxListedAxisValues = 100'000;
constexpr int kSampledPoints = 4;

[[noreturn]] void Fail(const char* contract, const std::string& detail) {
  std::fprintf(stderr, "spec_parser_fuzzer: %s\n%s\n", contract,
               detail.c_str());
  std::abort();
}

void CheckAcceptedExactlyWithoutErrors(const ParsedDefinition& parsed) {
  bool has_error = false;
  for (const Diagnostic& d : parsed.diagnostics) {
    has_error |= d.severity == Diagnostic::Severity::kError;
  }
  if (parsed.ok() == has_error) {
    Fail("accepted exactly when there is no error", parsed.Format());
  }
}

// JSON is YAML, so the normalized definition must parse back to itself.
// Compared as dumped JSON: NaN is not equal to itself as a Value.
void CheckNormalizedLoadsBack(const SweepSpec& spec) {
  const std::string normalized = NormalizedDefinition(spec).dump();
  const ParsedDefinition again = ParseSweepDefinition(normalized, "normalized");
  if (!again.ok()) {
    Fail("the normalized definition loads back",
         normalized + "\n" + again.Format());
  }
  const std::string renormalized = NormalizedDefinition(*again.spec).dump();
  if (renormalized != normalized) {
    Fail("the normalized definition loads back unchanged",
         normalized + "\n" + renormalized);
  }
}

// Whether GridSize would list more than kMaxListedAxisValues values.
bool GridSizeIsSlow(const SweepSpec& spec) {
  double listed_values = 0;
  for (const ParameterSpec& p : spec.parameters) {
    double length = 0;
    if (p.distribution == Distribution::kIntUniform) {
      length = p.max - p.min;
    } else if (p.distribution == Distribution::kQUniform) {
      length = (p.max - p.min) / p.q;
    }
    if (std::isnan(length)) return true;
    // Empty and overlong axes are refused without being listed.
    if (length > 0 && length <= 2.0 * kMaxGridAxisValues) {
      listed_values += length;
    }
  }
  return listed_values > kMaxListedAxisValues;
}

void ExerciseSearch(const SweepSpec& spec) {
  RandomEngine rng(spec.extension.seed.value_or(0));
  for (int i = 0; i < kSampledPoints; ++i) {
    const Point point = SamplePoint(spec, rng);
    if (point.size() != spec.parameters.size()) {
      Fail("SamplePoint gives one value per parameter", "");
    }
    (void)NestPoint(spec, point);
  }
  const std::optional<uint64_t> grid_size =
      GridSizeIsSlow(spec) ? std::nullopt : GridSize(spec);
  if (spec.method == Method::kGrid &&
      (!grid_size.has_value() || *grid_size > kMaxSuggestedGridPoints)) {
    return;
  }
  const SearchContext context{spec, {}, {}};
  (void)MakeSearcher(spec)->Suggest(context, rng);
}

}  // namespace
}  // namespace sweep

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const sweep::ParsedDefinition parsed =
      sweep::ParseSweepDefinition(text, "fuzz.yaml");
  (void)parsed.Format();
  sweep::CheckAcceptedExactlyWithoutErrors(parsed);
  if (!parsed.ok()) return 0;
  sweep::CheckNormalizedLoadsBack(*parsed.spec);
  sweep::ExerciseSearch(*parsed.spec);
  return 0;
}
