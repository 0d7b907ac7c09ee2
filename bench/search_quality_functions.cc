#include "bench/search_quality_functions.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sweep::bench {
namespace {

std::vector<ParameterSpec> Box(int d, double min, double max) {
  std::vector<ParameterSpec> parameters;
  for (int i = 0; i < d; ++i) {
    parameters.push_back(
        Ranged(absl::StrCat("x", i), Distribution::kUniform, min, max));
  }
  return parameters;
}

std::vector<double> Numbers(const Point& point) {
  std::vector<double> x;
  for (const Value& v : point) x.push_back(v.get<double>());
  return x;
}

double Branin(const Point& point) {
  const std::vector<double> x = Numbers(point);
  const double b = 5.1 / (4 * M_PI * M_PI);
  const double c = 5 / M_PI;
  const double t = 1 / (8 * M_PI);
  return std::pow(x[1] - b * x[0] * x[0] + c * x[0] - 6, 2) +
         10 * (1 - t) * std::cos(x[0]) + 10;
}

double Hartmann6(const Point& point) {
  static constexpr double kAlpha[4] = {1.0, 1.2, 3.0, 3.2};
  static constexpr double kA[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                      {0.05, 10, 17, 0.1, 8, 14},
                                      {3, 3.5, 1.7, 10, 17, 8},
                                      {17, 8, 0.05, 10, 0.1, 14}};
  static constexpr double kP[4][6] = {
      {0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
      {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
      {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
      {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
  const std::vector<double> x = Numbers(point);
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j)
      inner += kA[i][j] * std::pow(x[j] - kP[i][j], 2);
    sum += kAlpha[i] * std::exp(-inner);
  }
  return -sum;
}

double Rosenbrock(const Point& point) {
  const std::vector<double> x = Numbers(point);
  double sum = 0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    sum += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  }
  return sum;
}

double Ackley(const Point& point) {
  const std::vector<double> x = Numbers(point);
  const auto d = static_cast<double>(x.size());
  double squares = 0;
  double cosines = 0;
  for (const double v : x) {
    squares += v * v;
    cosines += std::cos(2 * M_PI * v);
  }
  return -20 * std::exp(-0.2 * std::sqrt(squares / d)) - std::exp(cosines / d) +
         20 + M_E;
}

// A training run's final loss, synthetic: each optimizer has its own best
// learning rate, which also shifts with the batch size; the best dropout
// grows with depth. Minimum 0 at adamw, lr 10^-2.8, batch 2^6, 5 layers,
// dropout 0.25, weight decay 1e-4.
std::vector<ParameterSpec> MixedParameters() {
  ParameterSpec optimizer;
  optimizer.name = "optimizer";
  optimizer.path = {"optimizer"};
  optimizer.distribution = Distribution::kCategorical;
  optimizer.values = {"sgd", "momentum", "adam", "adamw"};
  return {Ranged("batch_log2", Distribution::kIntUniform, 3, 10),
          Ranged("dropout", Distribution::kUniform, 0, 0.8),
          Ranged("layers", Distribution::kIntUniform, 1, 12),
          Ranged("lr", Distribution::kLogUniformValues, 1e-5, 1),
          optimizer,
          Ranged("weight_decay", Distribution::kLogUniformValues, 1e-7, 0.1)};
}

double MixedLoss(const Point& point) {
  const double batch_log2 = point[0].get<double>();
  const double dropout = point[1].get<double>();
  const double layers = point[2].get<double>();
  const double lr = point[3].get<double>();
  const std::string optimizer = point[4].get<std::string>();
  const double weight_decay = point[5].get<double>();
  double best_log_lr = -1.0;
  double penalty = 0.4;
  if (optimizer == "momentum") {
    best_log_lr = -1.5;
    penalty = 0.2;
  } else if (optimizer == "adam") {
    best_log_lr = -3.0;
    penalty = 0.05;
  } else if (optimizer == "adamw") {
    best_log_lr = -2.8;
    penalty = 0.0;
  }
  best_log_lr += 0.15 * (batch_log2 - 6);
  return 0.5 * std::pow(std::log10(lr) - best_log_lr, 2) +
         0.08 * std::pow(batch_log2 - 6, 2) + 0.03 * std::pow(layers - 5, 2) +
         3.0 * std::pow(dropout - 0.05 * layers, 2) +
         0.05 * std::pow(std::log10(weight_decay) + 4, 2) + penalty;
}

// Levy (10d, on [-10, 10]): many shallow basins along a wide valley.
double Levy(const Point& point) {
  const std::vector<double> x = Numbers(point);
  const auto w = [&](std::size_t i) { return 1 + (x[i] - 1) / 4; };
  const std::size_t d = x.size();
  double sum = std::pow(std::sin(M_PI * w(0)), 2);
  for (std::size_t i = 0; i + 1 < d; ++i) {
    sum += std::pow(w(i) - 1, 2) *
           (1 + 10 * std::pow(std::sin(M_PI * w(i) + 1), 2));
  }
  return sum + std::pow(w(d - 1) - 1, 2) *
                   (1 + std::pow(std::sin(2 * M_PI * w(d - 1)), 2));
}

// Styblinski-Tang (8d, on [-5, 5]): separable, 2^d local minima.
double StyblinskiTang(const Point& point) {
  double sum = 0;
  for (const double v : Numbers(point))
    sum += v * v * v * v - 16 * v * v + 5 * v;
  return sum / 2;
}

// Branin in 20 dimensions of the unit cube, of which 18 do not matter
// (x3 and x11 are Branin's two, rescaled): whether the model learns which
// dimensions count.
double Branin20(const Point& point) {
  const std::vector<double> x = Numbers(point);
  return Branin({Value(-5 + 15 * x[3]), Value(15 * x[11])});
}

// Integers and categories only: four categories of five values each (a
// cost per value, the first category also moving the best of the first
// integer) and three integers in [0, 20]. Minimum 0.
std::vector<ParameterSpec> DiscreteParameters() {
  std::vector<ParameterSpec> parameters;
  for (int i = 0; i < 4; ++i) {
    ParameterSpec category;
    category.name = absl::StrCat("c", i);
    category.path = {category.name};
    category.distribution = Distribution::kCategorical;
    category.values = {"a", "b", "c", "d", "e"};
    parameters.push_back(std::move(category));
  }
  for (int i = 0; i < 3; ++i) {
    parameters.push_back(
        Ranged(absl::StrCat("n", i), Distribution::kIntUniform, 0, 20));
  }
  return parameters;
}

double DiscreteLoss(const Point& point) {
  static constexpr double kCost[4][5] = {{0.6, 0.0, 0.9, 0.3, 1.2},
                                         {0.5, 0.8, 0.2, 0.0, 0.4},
                                         {0.0, 0.7, 0.7, 0.3, 1.0},
                                         {1.1, 0.4, 0.6, 0.9, 0.0}};
  static constexpr double kBestN0[5] = {3, 14, 8, 18, 11};
  double sum = 0;
  int first = 0;
  for (int i = 0; i < 4; ++i) {
    const int index = point[i].get<std::string>()[0] - 'a';
    if (i == 0) first = index;
    sum += kCost[i][index];
  }
  const double n0 = point[4].get<double>();
  const double n1 = point[5].get<double>();
  const double n2 = point[6].get<double>();
  return sum + std::pow(n0 - kBestN0[first], 2) / 20 + std::abs(n1 - 7) / 5 +
         std::pow(n2 - 15, 2) / 40;
}

}  // namespace

std::vector<TestProblem> TestProblems() {
  std::vector<ParameterSpec> branin = {
      Ranged("x0", Distribution::kUniform, -5, 10),
      Ranged("x1", Distribution::kUniform, 0, 15)};
  return {
      {"branin", std::move(branin), Branin, 0.397887357729738},
      {"hartmann6", Box(6, 0, 1), Hartmann6, -3.32236801141551},
      {"rosenbrock4", Box(4, -5, 10), Rosenbrock, 0.0},
      {"ackley5", Box(5, -32.768, 32.768), Ackley, 0.0},
      {"mixed", MixedParameters(), MixedLoss, 0.0},
  };
}

std::vector<TestProblem> HeldOutProblems() {
  return {
      {"levy10", Box(10, -10, 10), Levy, 0.0},
      {"styblinski8", Box(8, -5, 5), StyblinskiTang, -39.16616570377142 * 8},
      {"branin20", Box(20, 0, 1), Branin20, 0.397887357729738},
      {"discrete", DiscreteParameters(), DiscreteLoss, 0.0},
  };
}

ParameterSpec Ranged(std::string name, Distribution distribution, double min,
                     double max) {
  ParameterSpec p;
  p.name = name;
  p.path = {std::move(name)};
  p.distribution = distribution;
  p.min = min;
  p.max = max;
  return p;
}

}  // namespace sweep::bench
