#!/usr/bin/python3
"""Learning curves of the early-termination benchmark (BENCHMARKS.md sec. 4).

Writes one JSON file per workload; early_stop_bench (ours) and
early_stop_peer.py (Optuna) replay the same file, so every method sees the
same curves, the same configuration orders and the same epoch durations.

Workloads (every random draw from a fixed seed):

  speed     Synthetic. Config x = (x1, x2, x3) uniform on [0, 1]^3.
            Validation loss v(t) = a + (2.3 - a) exp(-t / tau) + N(0, 0.01)
            at epoch t = 1..27 (final = f(config) + noise, and a convergence
            rate of its own per config), with
              a   = 0.1 + 0.4 (x1 - 0.6)^2 + 0.4 (x2 - 0.3)^2
                    + N(0, 0.02)                          [config noise]
              tau = 4 * 8^(1 - 2 x3)                      [0.5 .. 32 epochs]
            Quality and speed come from different parameters: slow starters
            with a low floor overtake fast ones with a high floor (Spearman
            rank correlation with the final value about 0.7 at epochs 1 and
            3, 0.85 at 9).
  crossing  Synthetic, harder. The same form, with speed and quality tied to
            one parameter (x1 playing a learning rate):
              tau = 4 * 8^(1 - 2 x1)
              a   = 0.1 + 0.3 (x1 - 0.45)^2 + 0.4 (x2 - 0.7)^2
                    + 0.3 (x3 - 0.3)^2 + N(0, 0.02)
            Fast learners (high x1) lead early and plateau above the best; the
            best configs, near x1 = 0.45, are mid-pack at epoch 1 (rank
            correlation about 0.6 at epoch 1, 0.7 at 3, 0.8 at 9).
  overfit   Synthetic, hardest. The crossing curves plus overfitting: from
            epoch t0 = 4 + 20 x3 the loss rises by
              1.2 x1 (1 - x3)^2 ((t - t0) / 27)^1.5,
            so fast, unregularized early leaders end worse (rank correlation
            about 0.5 at epochs 1 and 3, 0.6 at 9).
  digits    Real. scikit-learn's MLPClassifier (one hidden layer, SGD with
            Nesterov momentum) trained epoch by epoch with partial_fit on the
            bundled digits dataset (1,203 training / 594 validation images,
            stratified, standardized); the value is the validation log loss
            after each epoch (a diverged network's loss is clipped at 10).
            Config: hidden units log-int 8..128, learning_rate_init log
            1e-4..0.5, alpha log 1e-6..1e-1, batch_size {32, 64, 128, 256},
            momentum uniform 0..0.95, activation {relu, tanh}; random_state
            is the config's index. Early ranking predicts the final one well
            here (rank correlation about 0.9 at epoch 1, 0.96 at 3, 0.99 at
            9): large learning rates both learn fast and end best.

Every workload has `epochs` values per curve (27), a pool of `configs`
curves, and an experiment design: `random_search_trials` (the full-budget
random search's trial count N), `workers` (parallel trials) and `orderings`
(seeded shuffles of the pool; the first N of an ordering are the random
search's configs, the rest are what the early-stopping methods go on to
draw). Each curve has `epoch_ticks`, its simulated duration of one epoch (a
cost model: wider and smaller-batch models are slower), so parallel trials
interleave realistically.

Run with /usr/bin/python3 (Debian's python3-numpy and python3-sklearn).
"""

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import warnings

import numpy as np

EPOCHS = 27
INITIAL_LOSS = 2.3  # About log(10): a 10-class classifier at chance.


def synthetic_curve(rng, family, x):
    """One synthetic curve for config x (see the module docstring)."""
    x1, x2, x3 = x
    if family == "speed":
        tau = 4.0 * 8.0 ** (1 - 2 * x3)
        floor = (0.1 + 0.4 * (x1 - 0.6) ** 2 + 0.4 * (x2 - 0.3) ** 2 +
                 rng.normal(0, 0.02))
    else:
        tau = 4.0 * 8.0 ** (1 - 2 * x1)
        floor = (0.1 + 0.3 * (x1 - 0.45) ** 2 + 0.4 * (x2 - 0.7) ** 2 +
                 0.3 * (x3 - 0.3) ** 2 + rng.normal(0, 0.02))
    floor = max(floor, 0.02)
    t = np.arange(1, EPOCHS + 1, dtype=float)
    values = floor + (INITIAL_LOSS - floor) * np.exp(-t / tau)
    if family == "overfit":
        t0 = 4 + 20 * x3
        rise = 1.2 * x1 * (1 - x3) ** 2
        values += rise * (np.maximum(t - t0, 0) / EPOCHS) ** 1.5
    values += rng.normal(0, 0.01, EPOCHS)
    return values


def synthetic_workload(name, configs, seed):
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(configs):
        x = rng.random(3)
        values = synthetic_curve(rng, name, x)
        curves.append({
            "config": {f"x{i + 1}": round(float(x[i]), 6)
                       for i in range(3)},
            # Cost model: x2 plays the model's width in both families.
            "epoch_ticks": int(round(10 * (0.5 + x[1]))),
            "values": [round(float(v), 6) for v in values]})
    return curves


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.33, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_val), y_train, y_val


def digits_config(rng):
    return {
        "hidden": int(round(math.exp(
            rng.uniform(math.log(8), math.log(128))))),
        "learning_rate_init": float(10 ** rng.uniform(-4, math.log10(0.5))),
        "alpha": float(10 ** rng.uniform(-6, -1)),
        "batch_size": int(rng.choice([32, 64, 128, 256])),
        "momentum": float(rng.uniform(0, 0.95)),
        "activation": str(rng.choice(["relu", "tanh"])),
    }


def digits_curve(job):
    """Trains config `job[1]` (index job[0]) for EPOCHS epochs."""
    index, config = job
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier
    warnings.filterwarnings("ignore")  # ConvergenceWarning, overflow.
    x_train, x_val, y_train, y_val = digits_split()
    model = MLPClassifier(
        hidden_layer_sizes=(config["hidden"],), solver="sgd",
        learning_rate_init=config["learning_rate_init"],
        alpha=config["alpha"], batch_size=config["batch_size"],
        momentum=config["momentum"], nesterovs_momentum=True,
        activation=config["activation"], random_state=index)
    classes = np.arange(10)
    values = []
    for _ in range(EPOCHS):
        model.partial_fit(x_train, y_train, classes=classes)
        with np.errstate(all="ignore"):
            proba = model.predict_proba(x_val)
        loss = (log_loss(y_val, proba, labels=classes)
                if np.all(np.isfinite(proba)) else math.inf)
        values.append(round(float(min(loss, 10.0)), 6))
    return values


def digits_workload(configs, seed, jobs):
    rng = np.random.default_rng(seed)
    settings = [digits_config(rng) for _ in range(configs)]
    start = time.time()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        all_values = pool.map(digits_curve, list(enumerate(settings)),
                              chunksize=4)
    print(f"  digits: {configs} configs x {EPOCHS} epochs in "
          f"{time.time() - start:.0f} s", file=sys.stderr)
    curves = []
    for config, values in zip(settings, all_values):
        # Cost model of one epoch: per-sample work grows with the width,
        # per-batch overhead with the number of batches.
        ticks = 4 + config["hidden"] / 8 + 2 * 1203 / config["batch_size"] / 8
        curves.append({"config": config, "epoch_ticks": int(round(ticks)),
                       "values": values})
    return curves


DESCRIPTIONS = {
    "speed": "synthetic: exponential approach to a floor; floor and speed "
             "set by different parameters",
    "crossing": "synthetic: as speed, but one parameter sets both; fast "
                "learners plateau high, the best are mid-pack early",
    "overfit": "synthetic: as crossing, plus late overfitting of fast, "
               "unregularized learners",
    "digits": "real: sklearn MLPClassifier (SGD) on the bundled digits "
              "dataset, validation log loss per partial_fit epoch",
}


def write_workload(path, name, curves, args, seed):
    rng = np.random.default_rng(seed + 1000)
    orderings = [rng.permutation(len(curves)).tolist()
                 for _ in range(args.orderings)]
    document = {
        "workload": name, "description": DESCRIPTIONS[name],
        "metric": "val_loss", "goal": "minimize", "epochs": EPOCHS,
        "random_search_trials": args.random_search_trials,
        "workers": args.workers, "orderings": orderings, "curves": curves}
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        json.dump(document, out, separators=(",", ":"))
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--workloads", default="speed,crossing,overfit,digits")
    parser.add_argument("--configs", type=int, default=500,
                        help="curves per workload (the pool)")
    parser.add_argument("--random-search-trials", type=int, default=50)
    parser.add_argument("--orderings", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2,
                        help="processes training the digits models")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    seeds = {"speed": 10, "crossing": 11, "overfit": 12, "digits": 13}
    for name in args.workloads.split(","):
        if name not in seeds:
            parser.error(f"unknown workload {name}")
        if name == "digits":
            curves = digits_workload(args.configs, seeds[name], args.jobs)
        else:
            curves = synthetic_workload(name, args.configs, seeds[name])
        path = os.path.join(args.out_dir, name + ".json")
        write_workload(path, name, curves, args, seeds[name])
        print(f"  wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
