#!/usr/bin/python3
"""The search-quality benchmark's peer (BENCHMARKS.md section 3): Optuna's
TPE sampler, seeded, on the problems of search_quality_functions.cc, run as
search_quality_bench runs ours: sequentially, or with 8 trials in flight (each
suggestion asked while the 7 others are running; the oldest finishes first,
through Optuna's ask/tell interface). Prints one JSON object per run, in
search_quality_bench's format.

With --latency HISTORY, instead times TPE's suggestion on a history written
by bayes_latency_bench --dump-history (BENCHMARKS.md section 2).

Uses Debian's python3-optuna (/usr/bin/python3).
"""

import argparse
import json
import math
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(x):
    b = 5.1 / (4 * math.pi ** 2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
              [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
              [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
              [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = sum(HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j]) ** 2 for j in range(6))
        total += HARTMANN_ALPHA[i] * math.exp(-inner)
    return -total


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def ackley(x):
    d = len(x)
    squares = sum(v * v for v in x)
    cosines = sum(math.cos(2 * math.pi * v) for v in x)
    return -20 * math.exp(-0.2 * math.sqrt(squares / d)) - math.exp(cosines / d) + 20 + math.e


MIXED_OPTIMIZERS = {"sgd": (-1.0, 0.4), "momentum": (-1.5, 0.2),
                    "adam": (-3.0, 0.05), "adamw": (-2.8, 0.0)}


def mixed(p):
    best_log_lr, penalty = MIXED_OPTIMIZERS[p["optimizer"]]
    best_log_lr += 0.15 * (p["batch_log2"] - 6)
    return (0.5 * (math.log10(p["lr"]) - best_log_lr) ** 2 + 0.08 * (p["batch_log2"] - 6) ** 2
            + 0.03 * (p["layers"] - 5) ** 2 + 3.0 * (p["dropout"] - 0.05 * p["layers"]) ** 2
            + 0.05 * (math.log10(p["weight_decay"]) + 4) ** 2 + penalty)


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    total = math.sin(math.pi * w[0]) ** 2
    for i in range(len(x) - 1):
        total += (w[i] - 1) ** 2 * (1 + 10 * math.sin(math.pi * w[i] + 1) ** 2)
    return total + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


def styblinski_tang(x):
    return sum(v ** 4 - 16 * v ** 2 + 5 * v for v in x) / 2


def branin20(x):
    return branin([-5 + 15 * x[3], 15 * x[11]])


DISCRETE_COST = [[0.6, 0.0, 0.9, 0.3, 1.2], [0.5, 0.8, 0.2, 0.0, 0.4],
                 [0.0, 0.7, 0.7, 0.3, 1.0], [1.1, 0.4, 0.6, 0.9, 0.0]]
DISCRETE_BEST_N0 = [3, 14, 8, 18, 11]


def discrete(p):
    indices = [ord(p[f"c{i}"]) - ord("a") for i in range(4)]
    return (sum(DISCRETE_COST[i][index] for i, index in enumerate(indices))
            + (p["n0"] - DISCRETE_BEST_N0[indices[0]]) ** 2 / 20
            + abs(p["n1"] - 7) / 5 + (p["n2"] - 15) ** 2 / 40)


def box(d, low, high):
    return {f"x{i}": optuna.distributions.FloatDistribution(low, high) for i in range(d)}


def vector_objective(f, d):
    return lambda p: f([p[f"x{i}"] for i in range(d)])


PROBLEMS = {
    "branin": ({"x0": optuna.distributions.FloatDistribution(-5, 10),
                "x1": optuna.distributions.FloatDistribution(0, 15)},
               vector_objective(branin, 2), 0.397887357729738),
    "hartmann6": (box(6, 0, 1), vector_objective(hartmann6, 6), -3.32236801141551),
    "rosenbrock4": (box(4, -5, 10), vector_objective(rosenbrock, 4), 0.0),
    "ackley5": (box(5, -32.768, 32.768), vector_objective(ackley, 5), 0.0),
    "mixed": ({"batch_log2": optuna.distributions.IntDistribution(3, 10),
               "dropout": optuna.distributions.FloatDistribution(0, 0.8),
               "layers": optuna.distributions.IntDistribution(1, 12),
               "lr": optuna.distributions.FloatDistribution(1e-5, 1, log=True),
               "optimizer": optuna.distributions.CategoricalDistribution(
                   ["sgd", "momentum", "adam", "adamw"]),
               "weight_decay": optuna.distributions.FloatDistribution(1e-7, 0.1, log=True)},
              mixed, 0.0),
}

# Run only when named (see HeldOutProblems in search_quality_functions.h).
HELD_OUT = {
    "levy10": (box(10, -10, 10), vector_objective(levy, 10), 0.0),
    "styblinski8": (box(8, -5, 5), vector_objective(styblinski_tang, 8),
                    -39.16616570377142 * 8),
    "branin20": (box(20, 0, 1), vector_objective(branin20, 20), 0.397887357729738),
    "discrete": ({**{f"c{i}": optuna.distributions.CategoricalDistribution(list("abcde"))
                     for i in range(4)},
                  **{f"n{i}": optuna.distributions.IntDistribution(0, 20) for i in range(3)}},
                 discrete, 0.0),
}


def run(name, workers, seed, budget):
    space, objective, optimum = {**PROBLEMS, **HELD_OUT}[name]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    in_flight = []
    values = []
    seconds = 0.0
    while len(values) + len(in_flight) < budget or in_flight:
        if len(in_flight) >= workers or len(values) + len(in_flight) >= budget:
            trial, value = in_flight.pop(0)
            study.tell(trial, value)
            values.append(value)
            continue
        start = time.perf_counter()
        trial = study.ask(space)
        seconds += time.perf_counter() - start
        in_flight.append((trial, objective(trial.params)))
    regret = lambda n: min(values[:n]) - optimum
    return {"function": name, "method": "tpe", "workers": workers, "seed": seed,
            "regret50": regret(50), "regret100": regret(budget), "seconds": seconds}


def latency(history_path, repeats):
    with open(history_path) as f:
        history = json.load(f)
    space = {}
    for p in history["parameters"]:
        if p["kind"] == "float":
            space[p["name"]] = optuna.distributions.FloatDistribution(p["min"], p["max"], log=p["log"])
        elif p["kind"] == "int":
            space[p["name"]] = optuna.distributions.IntDistribution(p["min"], p["max"])
        else:
            space[p["name"]] = optuna.distributions.CategoricalDistribution(p["values"])
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.add_trials([optuna.trial.create_trial(params=t["params"], distributions=space,
                                                value=t["value"])
                      for t in history["finished"]])
    for params in history["pending"]:
        study.enqueue_trial(params)
        study.ask(space)  # Running: the enqueued point, not sampled.
    wall = []
    cpu = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        trial = study.ask(space)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    median = lambda v: sorted(v)[len(v) // 2]
    return {"n": len(history["finished"]), "pending": len(history["pending"]),
            "method": "tpe", "wall_ms": 1e3 * median(wall), "cpu_ms": 1e3 * median(cpu)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--functions", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--latency", metavar="HISTORY")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.latency:
        print(json.dumps(latency(args.latency, args.repeats)), flush=True)
        return
    for name in args.functions:
        for workers in args.workers:
            for seed in range(args.seeds):
                print(json.dumps(run(name, workers, seed, args.budget)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
