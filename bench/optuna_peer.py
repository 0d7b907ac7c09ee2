#!/usr/bin/env python3
"""The Optuna peer of the controller load benchmark (BENCHMARKS.md section 1).

The same workload as controller_load_bench, with Optuna's storages in place of
the controller: worker processes run trials back to back, each asking for a
trial (random sampler, the bench sweep's three parameters), reporting 10
points of a noisy decreasing curve with trial.report and calling
trial.should_prune (HyperbandPruner, min_resource 3) after each, then telling
the result. By default every trial reports all 10 points, as the controller
bench's trials do; --honour-prune ends a trial at its first prune decision.
Storages: JournalStorage on a JournalFileStorage file and RDBStorage on SQLite.

Run with Debian's python3-optuna (/usr/bin/python3). Prints trials/s per
storage; --json-out also writes them. Works with Optuna 3.1 (Debian bookworm)
and later.
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import warnings

REPORTS_PER_TRIAL = 10


def quiet_optuna():
    import optuna

    warnings.filterwarnings("ignore")  # ExperimentalWarning, FutureWarning.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_storage(optuna, kind, path):
    """A storage object; each process makes its own."""
    if kind == "journal":
        storages = optuna.storages
        # Optuna 4 moved the file backend to optuna.storages.journal.
        journal = getattr(storages, "journal", None)
        backend_class = getattr(journal, "JournalFileBackend", None)
        if backend_class is None:
            backend_class = storages.JournalFileStorage
        return storages.JournalStorage(backend_class(path))
    if kind == "sqlite":
        # A generous busy timeout: 4 writers share one SQLite file.
        return optuna.storages.RDBStorage(
            "sqlite:///" + path,
            engine_kwargs={"connect_args": {"timeout": 60}})
    raise ValueError(kind)


def make_pruner(optuna):
    return optuna.pruners.HyperbandPruner(
        min_resource=3, max_resource=REPORTS_PER_TRIAL, reduction_factor=3)


def run_trial(optuna, study, rng, honour_prune):
    """One trial; returns "complete", "pruned" or raises."""
    trial = study.ask()
    trial.suggest_float("lr", 1e-5, 0.1, log=True)
    trial.suggest_categorical("batch_size", [32, 64, 128])
    trial.suggest_float("dropout", 0.0, 0.5)
    scale = 0.5 + rng.random()
    rate = 0.05 + 0.3 * rng.random()
    floor = 0.1 * rng.random()
    value = None
    pruned = False
    for step in range(REPORTS_PER_TRIAL):
        value = scale * math.exp(-rate * step) + floor + rng.gauss(0, 0.01)
        trial.report(value, step)
        if trial.should_prune():
            pruned = True
            if honour_prune:
                break
    if pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return "pruned"
    study.tell(trial, value)
    return "complete"


def worker(kind, path, study_name, index, args, barrier, results):
    optuna = quiet_optuna()
    storage = make_storage(optuna, kind, path)
    study = optuna.load_study(
        study_name=study_name, storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=1234 + index),
        pruner=make_pruner(optuna))
    rng = random.Random(4321 + index)
    barrier.wait()
    start = time.time() + args.warmup
    end = start + args.seconds
    counts = {"complete": 0, "pruned": 0, "errors": 0, "first_error": ""}
    while True:
        try:
            outcome = run_trial(optuna, study, rng, args.honour_prune)
        except Exception as error:  # Counted; the run goes on.
            outcome = "errors"
            if not counts["first_error"]:
                counts["first_error"] = repr(error)[:300]
        now = time.time()
        if now >= end:
            break
        if now >= start:
            counts[outcome] += 1
    results.put(counts)


def run_storage(kind, args):
    optuna = quiet_optuna()
    directory = tempfile.mkdtemp(prefix="optuna-peer-", dir=args.data_root)
    try:
        path = os.path.join(directory,
                            "journal.log" if kind == "journal" else "optuna.db")
        study_name = "controller-load-peer"
        optuna.create_study(
            study_name=study_name, storage=make_storage(optuna, kind, path),
            direction="minimize",
            sampler=optuna.samplers.RandomSampler(seed=1234),
            pruner=make_pruner(optuna))
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(args.workers)
        results = context.Queue()
        processes = [
            context.Process(target=worker,
                            args=(kind, path, study_name, i, args, barrier,
                                  results))
            for i in range(args.workers)]
        for process in processes:
            process.start()
        # Startup (imports) is not measured; a stuck worker must not hang us.
        limit = time.time() + 120 + args.warmup + args.seconds
        counts = []
        while len(counts) < args.workers and time.time() < limit:
            try:
                counts.append(results.get(timeout=1))
            except Exception:  # queue.Empty
                if not any(p.is_alive() for p in processes) and results.empty():
                    break
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        if len(counts) < args.workers:
            raise RuntimeError(f"{kind}: only {len(counts)} of {args.workers}"
                               " workers reported")
        complete = sum(c["complete"] for c in counts)
        pruned = sum(c["pruned"] for c in counts)
        errors = sum(c["errors"] for c in counts)
        first_error = next((c["first_error"] for c in counts
                            if c["first_error"]), "")
        trials = complete + pruned
        return {"trials": trials, "complete": complete, "pruned": pruned,
                "errors": errors, "first_error": first_error,
                "seconds": args.seconds, "trials_per_s": trials / args.seconds}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds per storage")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of load before the measured window")
    parser.add_argument("--quick", action="store_true",
                        help="3 s per storage after 0.5 s of warmup")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--storages", default="journal,sqlite",
                        help="comma-separated: journal, sqlite")
    parser.add_argument("--honour-prune", action="store_true",
                        help="end a trial at its first prune decision")
    parser.add_argument("--data-root", default=None,
                        help="where the temporary storages go")
    parser.add_argument("--json-out", help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 3.0, 0.5
    optuna = quiet_optuna()
    figures = {"optuna_version": optuna.__version__, "workers": args.workers,
               "honour_prune": args.honour_prune, "storages": {}}
    print(f"Optuna {optuna.__version__} peer: {args.workers} worker processes,"
          f" {args.seconds:g} s per storage, "
          f"{'prune honoured' if args.honour_prune else 'all 10 reports'}")
    for kind in args.storages.split(","):
        result = run_storage(kind, args)
        figures["storages"][kind] = result
        print(f"  {kind:8s} {result['trials_per_s']:8.1f} trials/s "
              f"({result['trials']} trials, {result['pruned']} pruned, "
              f"{result['errors']} errors)")
        if result["errors"]:
            print(f"    first error: {result['first_error']}")
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
