#!/usr/bin/python3
"""Prints the tables of run_search_bench.sh from the JSON lines of
search_quality_bench, search_quality_peer.py, bayes_latency_bench and
search_quality_peer.py --latency.

  summarize_search_bench.py --quality q.jsonl... --latency l.jsonl...
"""

import argparse
import collections
import json
import statistics

FUNCTIONS = ["branin", "hartmann6", "rosenbrock4", "ackley5", "mixed"]


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def quality_table(rows):
    regret = collections.defaultdict(list)
    seconds = collections.defaultdict(list)
    for r in rows:
        for budget in (50, 100):
            regret[(r["function"], r["workers"], r["method"], budget)].append(
                r[f"regret{budget}"])
        seconds[(r["workers"], r["method"])].append(r["seconds"])
    methods = ["bayes", "random", "tpe"]
    for workers in sorted({r["workers"] for r in rows}):
        mode = "sequential" if workers == 1 else f"{workers} workers"
        functions = FUNCTIONS + sorted({r["function"] for r in rows} - set(FUNCTIONS))
        seeds = max((len(v) for k, v in regret.items() if k[1] == workers), default=0)
        print(f"\nSimple regret, median over {seeds} seeds, {mode}"
              " (bayes vs peers; ratio > 1: bayes better)")
        print(f"| function | trials | {' | '.join(methods)} | tpe/bayes | random/bayes |")
        print("|---|---|" + "---|" * (len(methods) + 2))
        for f in functions:
            if not any(k[0] == f and k[1] == workers for k in regret):
                continue
            for budget in (50, 100):
                med = {}
                for m in methods:
                    values = regret.get((f, workers, m, budget))
                    med[m] = statistics.median(values) if values else None
                cells = [f"{med[m]:.3g}" if med[m] is not None else "-" for m in methods]

                def ratio(peer):
                    if med[peer] is None or med["bayes"] is None:
                        return "-"
                    if med["bayes"] <= 0:
                        return "inf"
                    return f"{med[peer] / med['bayes']:.3g}"

                print(f"| {f} | {budget} | {' | '.join(cells)} | {ratio('tpe')} | {ratio('random')} |")
        for m in methods:
            if (workers, m) in seconds:
                runs = seconds[(workers, m)]
                print(f"  {m}: {sum(runs) / len(runs) / 100 * 1e3:.1f} ms per suggestion"
                      f" (mean over {len(runs)} runs, wall clock)")


def latency_table(rows):
    by_n = collections.defaultdict(dict)
    for r in rows:
        by_n[r["n"]][r["method"]] = r
    print("\nSuggestion latency, d = 10 mixed, 32 pending (bayes: the slower of 32"
          " and 33, a Thompson draw or EI by parity; ms; CPU = this thread's"
          " CPU time, wall = elapsed)")
    print("| n | bayes warm CPU | bayes warm wall | bayes refit CPU (at n) | bayes refit wall"
          " | bayes cold CPU | bayes cold wall | TPE CPU | TPE wall"
          " | bayes warm, none pending, CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sorted(by_n):
        r = by_n[n]

        def cell(method, key):
            return f"{r[method][key]:.0f}" if method in r else "-"

        refit_n = r["bayes_refit"]["n_refit"] if "bayes_refit" in r else "-"
        print(f"| {n} | {cell('bayes_warm', 'cpu_ms')} | {cell('bayes_warm', 'wall_ms')} | "
              f"{cell('bayes_refit', 'cpu_ms')} ({refit_n}) | {cell('bayes_refit', 'wall_ms')} | "
              f"{cell('bayes_cold', 'cpu_ms')} | {cell('bayes_cold', 'wall_ms')} | "
              f"{cell('tpe', 'cpu_ms')} | {cell('tpe', 'wall_ms')} | "
              f"{cell('bayes_warm_sequential', 'cpu_ms')} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", nargs="*", default=[])
    parser.add_argument("--latency", nargs="*", default=[])
    args = parser.parse_args()
    if args.latency:
        latency_table(load(args.latency))
    if args.quality:
        quality_table(load(args.quality))


if __name__ == "__main__":
    main()
