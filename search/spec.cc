#include "search/spec.h"

#include <cmath>

namespace sweep {
namespace {

struct NamedDistribution {
  Distribution distribution;
  absl::string_view name;
};

constexpr NamedDistribution kDistributionNames[] = {
    {Distribution::kConstant, "constant"},
    {Distribution::kCategorical, "categorical"},
    {Distribution::kCategoricalWithProbabilities,
     "categorical_w_probabilities"},
    {Distribution::kIntUniform, "int_uniform"},
    {Distribution::kUniform, "uniform"},
    {Distribution::kQUniform, "q_uniform"},
    {Distribution::kLogUniform, "log_uniform"},
    {Distribution::kLogUniformValues, "log_uniform_values"},
    {Distribution::kQLogUniform, "q_log_uniform"},
    {Distribution::kQLogUniformValues, "q_log_uniform_values"},
    {Distribution::kInvLogUniform, "inv_log_uniform"},
    {Distribution::kInvLogUniformValues, "inv_log_uniform_values"},
    {Distribution::kNormal, "normal"},
    {Distribution::kQNormal, "q_normal"},
    {Distribution::kLogNormal, "log_normal"},
    {Distribution::kQLogNormal, "q_log_normal"},
    {Distribution::kBeta, "beta"},
    {Distribution::kQBeta, "q_beta"},
};

absl::string_view GoalName(Goal goal) {
  return goal == Goal::kMaximize ? "maximize" : "minimize";
}

absl::string_view ImputeName(Impute impute) {
  switch (impute) {
    case Impute::kWorst:
      return "worst";
    case Impute::kBest:
      return "best";
    case Impute::kLatest:
      return "latest";
  }
  return "worst";
}

// A bound as the user meant it: integral for int_uniform, float otherwise.
Value Bound(const ParameterSpec& p, double x) {
  if (p.distribution == Distribution::kIntUniform) {
    return static_cast<int64_t>(x);
  }
  return x;
}

Value ParameterDefinition(const ParameterSpec& p) {
  Value out = Value::object();
  out["distribution"] = std::string(DistributionName(p.distribution));
  switch (p.distribution) {
    case Distribution::kConstant:
      out["value"] = p.value;
      break;
    case Distribution::kCategoricalWithProbabilities:
      out["values"] = p.values;
      out["probabilities"] = p.probabilities;
      break;
    case Distribution::kCategorical:
      out["values"] = p.values;
      break;
    case Distribution::kNormal:
    case Distribution::kQNormal:
    case Distribution::kLogNormal:
    case Distribution::kQLogNormal:
      out["mu"] = p.mu;
      out["sigma"] = p.sigma;
      break;
    case Distribution::kBeta:
    case Distribution::kQBeta:
      out["a"] = p.a;
      out["b"] = p.b;
      break;
    default:
      out["min"] = Bound(p, p.min);
      out["max"] = Bound(p, p.max);
  }
  if (IsQuantized(p.distribution)) {
    out["q"] = p.q_is_integer ? Value(static_cast<int64_t>(p.q)) : Value(p.q);
  }
  return out;
}

}  // namespace

absl::string_view DistributionName(Distribution d) {
  for (const NamedDistribution& n : kDistributionNames) {
    if (n.distribution == d) return n.name;
  }
  return "unknown";
}

std::vector<absl::string_view> DistributionNames() {
  std::vector<absl::string_view> names;
  for (const NamedDistribution& n : kDistributionNames) names.push_back(n.name);
  return names;
}

std::optional<Distribution> DistributionFromName(absl::string_view name) {
  for (const NamedDistribution& n : kDistributionNames) {
    if (n.name == name) return n.distribution;
  }
  return std::nullopt;
}

bool IsQuantized(Distribution d) {
  switch (d) {
    case Distribution::kQUniform:
    case Distribution::kQLogUniform:
    case Distribution::kQLogUniformValues:
    case Distribution::kQNormal:
    case Distribution::kQLogNormal:
    case Distribution::kQBeta:
      return true;
    default:
      return false;
  }
}

int SweepSpec::FindParameter(absl::string_view parameter_name) const {
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (parameters[i].name == parameter_name) return static_cast<int>(i);
  }
  return -1;
}

Value NestPoint(const SweepSpec& spec, const Point& point) {
  Value config = Value::object();
  for (size_t i = 0; i < spec.parameters.size() && i < point.size(); ++i) {
    Value* node = &config;
    const std::vector<std::string>& path = spec.parameters[i].path;
    for (size_t level = 0; level + 1 < path.size(); ++level) {
      node = &(*node)[path[level]];
    }
    (*node)[path.back()] = point[i];
  }
  return config;
}

Value NormalizedDefinition(const SweepSpec& spec) {
  Value out = Value::object();
  if (spec.name) out["name"] = *spec.name;
  if (spec.description) out["description"] = *spec.description;
  if (spec.project) out["project"] = *spec.project;
  if (spec.entity) out["entity"] = *spec.entity;
  out["method"] = spec.method == Method::kGrid     ? "grid"
                  : spec.method == Method::kRandom ? "random"
                                                   : "bayes";
  if (spec.metric) {
    Value metric = Value::object();
    metric["name"] = spec.metric->name;
    metric["goal"] = std::string(GoalName(spec.metric->goal));
    if (spec.metric->target) metric["target"] = *spec.metric->target;
    metric["impute"] = std::string(ImputeName(spec.metric->impute));
    metric["impute_while_running"] =
        spec.metric->impute_while_running
            ? Value(std::string(ImputeName(*spec.metric->impute_while_running)))
            : Value("false");  // W&B's schema: a string.
    out["metric"] = metric;
  }
  if (spec.run_cap) out["run_cap"] = *spec.run_cap;
  if (spec.program) out["program"] = *spec.program;
  out["command"] = spec.command;

  Value parameters = Value::object();
  for (const ParameterSpec& p : spec.parameters) {
    Value* node = &parameters;
    for (size_t level = 0; level + 1 < p.path.size(); ++level) {
      node = &(*node)[p.path[level]]["parameters"];
    }
    (*node)[p.path.back()] = ParameterDefinition(p);
  }
  out["parameters"] = parameters;

  Value extension = Value::object();
  if (spec.early_terminate) {
    const EarlyTerminateSpec& et = *spec.early_terminate;
    Value rule = Value::object();
    switch (et.type) {
      case EarlyTerminateSpec::Type::kHyperband:
        rule["type"] = "hyperband";
        if (et.hyperband.max_iter) {
          rule["max_iter"] = *et.hyperband.max_iter;
          rule["s"] = *et.hyperband.s;
        } else if (et.hyperband.min_iter) {
          rule["min_iter"] = *et.hyperband.min_iter;
        }
        rule["eta"] = et.hyperband.eta;
        rule["strict"] = et.hyperband.strict;
        out["early_terminate"] = rule;
        break;
      case EarlyTerminateSpec::Type::kAsha:
        rule["type"] = "asha";
        rule["min_resource"] = et.asha.min_resource;
        if (et.asha.max_resource > 0) {
          rule["max_resource"] = et.asha.max_resource;
        }
        rule["reduction_factor"] = et.asha.reduction_factor;
        extension["early_terminate"] = rule;
        break;
      case EarlyTerminateSpec::Type::kMedian:
        rule["type"] = "median";
        rule["warmup_steps"] = et.median.warmup_steps;
        rule["min_trials"] = et.median.min_trials;
        extension["early_terminate"] = rule;
        break;
    }
  }
  if (spec.extension.seed) extension["seed"] = *spec.extension.seed;
  if (spec.extension.retry_failed > 0) {
    extension["retry_failed"] = spec.extension.retry_failed;
  }
  if (!extension.empty()) out[std::string(kExtensionKey)] = extension;
  return out;
}

std::size_t ControlSequenceLength(absl::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  if (i >= text.size()) return 0;
  if (at(0) < 0x20 || at(0) == 0x7F) return 1;
  // A C1 control, UTF-8 encoded.
  if (at(0) == 0xC2 && at(1) >= 0x80 && at(1) <= 0x9F) return 2;
  // Line and paragraph separators, and the bidirectional overrides and
  // isolates, which reorder what follows them on the line.
  if (at(0) == 0xE2 && ((at(1) == 0x80 && at(2) >= 0xA8 && at(2) <= 0xAE) ||
                        (at(1) == 0x81 && at(2) >= 0xA6 && at(2) <= 0xA9))) {
    return 3;
  }
  return 0;
}

bool HasControlCharacter(absl::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (ControlSequenceLength(name, i) > 0) return true;
  }
  return false;
}

}  // namespace sweep
