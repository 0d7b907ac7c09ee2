#!/usr/bin/python3
"""Optuna peer of the early-termination benchmark (BENCHMARKS.md section 4).

Replays the workloads of bench/learning_curves.py through Optuna's pruners
exactly as early_stop_bench replays them through ours: the same orderings, the
same budget (random_search_trials x epochs epochs) and the same schedule
(bench/early_stop_replay.h): `workers` trials at a time in simulated time, an
epoch of curve c lasting c.epoch_ticks, simultaneous epoch ends taken in
worker order, a freed worker starting the ordering's next config at once.
Trial number i replays the i-th curve of the ordering (the "sampler" is the
precomputed list). Per epoch: trial.report(value, epoch) then
trial.should_prune(); a pruned trial is told PRUNED and ends, a trial that
reported its last epoch is told COMPLETE.

Pruners (one setting each, the same on every workload):
  optuna-hyperband  HyperbandPruner(min_resource=1, max_resource=<epochs>,
                    reduction_factor=3): its defaults, max_resource given
                    instead of 'auto'.
  optuna-sha        SuccessiveHalvingPruner() defaults (min_resource 'auto',
                    reduction_factor 4).
  optuna-median     MedianPruner() defaults (n_startup_trials 5).
  none              NopPruner: the full-budget random search, a check that
                    both replayers follow the same schedule.

Run with Debian's python3-optuna (/usr/bin/python3); works with Optuna 3.1.
"""

import argparse
import heapq
import json
import multiprocessing
import sys
import warnings


def quiet_optuna():
    import optuna
    warnings.filterwarnings("ignore")  # ExperimentalWarning and the like.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# Short settings for the table.
PRUNERS = {
    "none": "-",
    "optuna-hyperband": "min 1, max <epochs>, factor 3",
    "optuna-sha": "defaults: min auto, factor 4",
    "optuna-median": "defaults: 5 startup trials",
}


def make_pruner(optuna, name, epochs):
    pruners = optuna.pruners
    if name == "none":
        return pruners.NopPruner()
    if name == "optuna-hyperband":
        return pruners.HyperbandPruner(min_resource=1, max_resource=epochs,
                                       reduction_factor=3)
    if name == "optuna-sha":
        return pruners.SuccessiveHalvingPruner()
    if name == "optuna-median":
        return pruners.MedianPruner()
    raise ValueError(name)


class Replay:
    """One pruner on one ordering, as CurveReplay (early_stop_replay.cc)."""

    def __init__(self, optuna, workload, ordering, pruner_name):
        self.optuna = optuna
        self.curves = workload["curves"]
        self.ordering = ordering
        self.epochs = workload["epochs"]
        self.maximize = workload["goal"] == "maximize"
        n = workload["random_search_trials"]
        self.budget = n * self.epochs
        self.prune = pruner_name != "none"
        self.max_trials = len(ordering) if self.prune else n
        # A fixed name: HyperbandPruner assigns brackets from a hash of the
        # study name and the trial number.
        self.study = optuna.create_study(
            study_name="early-stop-peer",
            direction="maximize" if self.maximize else "minimize",
            sampler=optuna.samplers.RandomSampler(seed=0),
            pruner=make_pruner(optuna, pruner_name, self.epochs))
        self.workers = [None] * workload["workers"]
        self.events = []
        self.next = 0
        finals = [self.curves[i]["values"][-1] for i in ordering[:n]]
        self.out = {
            "target": max(finals) if self.maximize else min(finals),
            "epochs_to_target": None, "ticks_to_target": None,
            "best_final": None, "epochs_spent": 0, "trials_started": 0,
            "trials_finished": 0, "trials_stopped": 0}

    def better(self, a, b):
        return a > b if self.maximize else a < b

    def run(self):
        for w in range(len(self.workers)):
            self.start_next(w, 0)
        while self.events and self.out["epochs_spent"] < self.budget:
            now, w = heapq.heappop(self.events)
            if self.log_epoch(w, now):
                self.start_next(w, now)
        return self.out

    def start_next(self, w, now):
        if self.next >= self.max_trials or \
                self.out["epochs_spent"] >= self.budget:
            return
        trial = self.study.ask()
        assert trial.number == self.next, (trial.number, self.next)
        curve = self.curves[self.ordering[self.next]]
        self.workers[w] = [trial, curve, 0]
        self.next += 1
        self.out["trials_started"] += 1
        heapq.heappush(self.events, (now + curve["epoch_ticks"], w))

    def log_epoch(self, w, now):
        """True when the trial on worker w ended and the worker is free."""
        run = self.workers[w]
        trial, curve = run[0], run[1]
        value = curve["values"][run[2]]
        run[2] += 1
        self.out["epochs_spent"] += 1
        trial.report(value, run[2])
        if run[2] == self.epochs:
            self.study.tell(trial, value)
            self.finish(value, now)
            return True
        if self.prune and trial.should_prune():
            self.study.tell(trial, state=self.optuna.trial.TrialState.PRUNED)
            self.out["trials_stopped"] += 1
            return True
        heapq.heappush(self.events, (now + curve["epoch_ticks"], w))
        return False

    def finish(self, value, now):
        out = self.out
        out["trials_finished"] += 1
        if out["best_final"] is None or self.better(value, out["best_final"]):
            out["best_final"] = value
        if out["epochs_to_target"] is None and \
                not self.better(out["target"], value):
            out["epochs_to_target"] = out["epochs_spent"]
            out["ticks_to_target"] = now


def replay_job(job):
    path, k, pruner_name, workers = job
    optuna = quiet_optuna()
    with open(path) as f:
        workload = json.load(f)
    if workers:
        workload["workers"] = workers
    outcome = Replay(optuna, workload, workload["orderings"][k],
                     pruner_name).run()
    outcome["ordering"] = k
    return outcome


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return float("inf")
    if n % 2:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


def figure(value, spec):
    return "-" if value == float("inf") else format(value, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="+", help="workload files")
    parser.add_argument("--orderings", type=int, default=0,
                        help="use the first K orderings of each file (0: all)")
    parser.add_argument("--pruners", default=",".join(PRUNERS))
    parser.add_argument("--workers", type=int, default=0,
                        help="trials running at a time (0: the file's)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    optuna = quiet_optuna()
    names = args.pruners.split(",")
    for name in names:
        if name not in PRUNERS:
            parser.error(f"unknown pruner {name}")
    out = {"replayer": "optuna", "optuna_version": optuna.__version__,
           "workloads": []}
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for path in args.curves:
            with open(path) as f:
                workload = json.load(f)
            count = len(workload["orderings"])
            if args.orderings:
                count = min(count, args.orderings)
            workers = args.workers or workload["workers"]
            print(f"{workload['workload']} (Optuna {optuna.__version__}, "
                  f"workers {workers}, {count} orderings)\n  "
                  f"{'method':17s} {'epochs':>7s} {'reached':>8s} "
                  f"{'best':>8s} {'trials':>6s}")
            methods = []
            for name in names:
                runs = pool.map(replay_job, [(path, k, name, args.workers)
                                             for k in range(count)])
                epochs = [r["epochs_to_target"] if r["epochs_to_target"]
                          is not None else float("inf") for r in runs]
                reached = sum(r["epochs_to_target"] is not None for r in runs)
                best = median([r["best_final"] if r["best_final"] is not None
                               else float("inf") for r in runs])
                print(f"  {name:17s} {figure(median(epochs), '7.0f'):>7s} "
                      f"{reached:4d}/{count:<3d} {figure(best, '8.4f'):>8s} "
                      f"{median([r['trials_started'] for r in runs]):6.0f}")
                setting = PRUNERS[name].replace("<epochs>",
                                                str(workload["epochs"]))
                methods.append({"method": name, "setting": setting,
                                "runs": runs})
            out["workloads"].append({"workload": workload["workload"],
                                     "workers": workers, "methods": methods})
            sys.stdout.flush()
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
