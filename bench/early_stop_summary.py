#!/usr/bin/python3
"""Joint table of the early-termination benchmark (BENCHMARKS.md section 4).

Reads the runs of early_stop_bench (ours) and early_stop_peer.py (Optuna) on
the same workload files and prints, per workload and method, medians over the
orderings of:
  epochs   epochs spent (by all trials) until a trial first finished with a
           final value at least as good as the full-budget random search's
           best ("-" when it did not happen within the budget in most
           orderings);
  ratio    that figure divided by the random search's own epochs to its best,
           ordering by ordering: the strict reading of the target (0.33 or
           less), which counts random search as if it had known to stop at
           its best;
  budget   that figure divided by the full-budget random search's whole
           budget (trials x epochs), what a user of random search spends to
           find that best: the issue's wording of the target (0.33 or less);
  reached  orderings in which it happened within the budget;
  best     the best final value within the budget;
  trials   trials started (the pool size means the pool was used up).
The clairvoyant rule (ours only) knows every curve and stops each config that
will end worse than the target after one epoch: the floor any rule faces.
It also checks that both replayers ran the same schedule (their no-stopping
runs must agree exactly) and compares each of our rules with Optuna's
HyperbandPruner ordering by ordering.
"""

import argparse
import json
import math
import sys

INF = float("inf")
LABELS = {
    "none": "none (random search)",
    "hyperband": "hyperband (ours)",
    "asha": "asha (ours)",
    "median": "median (ours)",
    "optuna-hyperband": "Optuna HyperbandPruner",
    "optuna-sha": "Optuna SuccessiveHalving",
    "optuna-median": "Optuna MedianPruner",
    "clairvoyant": "clairvoyant (the floor)",
}
OURS = ("hyperband", "asha", "median")
PEER = "optuna-hyperband"


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return INF
    if n % 2:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


def epochs_of(run):
    e = run["epochs_to_target"]
    return INF if e is None else float(e)


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    for rank, i in enumerate(order):
        out[i] = float(rank)
    return out


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) *
                    sum((y - mb) ** 2 for y in rb))
    return cov / var if var else 0.0


def profile(workload):
    """Rank correlation of early values with final values over the pool."""
    curves = [c["values"] for c in workload["curves"]]
    finals = [v[-1] for v in curves]
    parts = []
    for epoch in (1, 3, 9):
        if epoch < workload["epochs"]:
            rho = spearman([v[epoch - 1] for v in curves], finals)
            parts.append(f"{rho:.2f} at epoch {epoch}")
    return ("Spearman rank correlation with the final value: " +
            ", ".join(parts))


def fmt(value, spec):
    return "-" if math.isinf(value) else format(value, spec)


def print_workload(methods, ours_none, pool, budget):
    n = len(ours_none)
    print(f"  {'method':25s} {'setting':29s} {'epochs':>6s} {'ratio':>6s} "
          f"{'budget':>6s} {'reached':>7s} {'best':>7s} {'trials':>6s}")
    base = [epochs_of(r) for r in ours_none]
    for name, method in methods:
        runs = method["runs"][:n]
        epochs = [epochs_of(r) for r in runs]
        ratios = [e / b for e, b in zip(epochs, base)]
        reached = sum(not math.isinf(e) for e in epochs)
        best = median([INF if r["best_final"] is None else r["best_final"]
                       for r in runs])
        trials = median([r["trials_started"] for r in runs])
        used_up = sum(r["trials_started"] == pool for r in runs)
        note = f"  pool used up in {used_up}" if used_up and name != "none" \
            else ""
        print(f"  {LABELS.get(name, name):25s} {method['setting']:29s} "
              f"{fmt(median(epochs), '.0f'):>6s} "
              f"{fmt(median(ratios), '.2f'):>6s} "
              f"{fmt(median(epochs) / budget, '.2f'):>6s} "
              f"{reached:3d}/{len(runs):<3d} {fmt(best, '.4f'):>7s} "
              f"{trials:6.0f}{note}")


def compare_with_peer(methods):
    by_name = dict(methods)
    if PEER not in by_name:
        return
    peer = [epochs_of(r) for r in by_name[PEER]["runs"]]
    for name in OURS:
        if name not in by_name:
            continue
        ours = [epochs_of(r) for r in by_name[name]["runs"]]
        n = min(len(ours), len(peer))
        pairs = list(zip(ours[:n], peer[:n]))
        fewer = sum(o < p for o, p in pairs)
        more = sum(o > p for o, p in pairs)
        neither = sum(math.isinf(o) and math.isinf(p) for o, p in pairs)
        m_ours, m_peer = median(ours[:n]), median(peer[:n])
        ratio = (f"median {m_ours / m_peer:.2f}x Optuna's"
                 if not math.isinf(m_ours) and not math.isinf(m_peer)
                 else "medians not comparable")
        print(f"  {name} vs Optuna HyperbandPruner, per ordering: fewer epochs"
              f" in {fewer}, more in {more}, tied in {n - fewer - more} "
              f"({neither} neither reached); {ratio}")


def same_schedule(ours_none, peer_methods):
    peer_none = dict(peer_methods).get("none")
    if peer_none is None:
        return "not checked (the peer did not run 'none')"
    keys = ("epochs_to_target", "epochs_spent", "trials_started", "best_final")
    for a, b in zip(ours_none, peer_none["runs"]):
        if any(a[k] != b[k] for k in keys):
            return f"NO: ordering {a['ordering']} differs ({a} vs {b})"
    return "yes (no-stopping runs identical)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", required=True)
    parser.add_argument("--peer")
    parser.add_argument("curves", nargs="+", help="the workload files")
    args = parser.parse_args()
    with open(args.ours) as f:
        ours = {w["workload"]: w for w in json.load(f)["workloads"]}
    peer, version = {}, None
    if args.peer:
        with open(args.peer) as f:
            document = json.load(f)
        version = document.get("optuna_version")
        peer = {w["workload"]: w for w in document["workloads"]}
    ok = True
    for path in args.curves:
        with open(path) as f:
            workload = json.load(f)
        name = workload["workload"]
        if name not in ours:
            continue
        mine = [(m["method"], m) for m in ours[name]["methods"]]
        theirs = [(m["method"], m) for m in peer.get(name, {}).get(
            "methods", []) if m["method"] != "none"]
        ours_none = dict(mine)["none"]["runs"]
        n, e = workload["random_search_trials"], workload["epochs"]
        print(f"\n{name}: {workload['description']}\n  pool of "
              f"{len(workload['curves'])} configs x {e} epochs; random search "
              f"= first {n} configs of each ordering, budget {n * e} epochs; "
              f"workers {ours[name]['workers']}; {len(ours_none)} orderings"
              f"\n  {profile(workload)}")
        print_workload(mine + theirs, ours_none, len(workload["curves"]),
                       n * e)
        if name in peer and peer[name].get("workers") != ours[name]["workers"]:
            print("  the peer ran with a different number of workers")
            ok = False
        elif name in peer:
            check = same_schedule(ours_none,
                                  [(m["method"], m)
                                   for m in peer[name]["methods"]])
            ok = ok and check.startswith("yes")
            print(f"  same schedule in both replayers: {check}")
            compare_with_peer(mine + theirs)
    if version:
        print(f"\n(Optuna {version})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
