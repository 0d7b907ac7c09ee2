#!/usr/bin/env python3
"""Prints the controller load benchmark's summary table (Markdown) from the
JSON written by controller_load_bench --json-out and optuna_peer.py
--json-out, and says which BENCHMARKS.md section 1 targets are met.

Usage: summarize_controller_bench.py CONTROLLER_JSON [OPTUNA_JSON [PACED_JSON
           [LONG_JSON]]]
"""

import json
import sys


def load(path):
    if not path:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def main(argv):
    ours = load(argv[1])
    optuna = load(argv[2] if len(argv) > 2 else None)
    if ours is None:
        print("no controller figures", file=sys.stderr)
        return 1
    storages = (optuna or {}).get("storages", {})
    journal = storages.get("journal", {}).get("trials_per_s")
    sqlite = storages.get("sqlite", {}).get("trials_per_s")
    print(f"Measured window {ours['seconds']:g} s per run after "
          f"{ours['warmup_seconds']:g} s of warmup; server --sync "
          f"{ours['runs'][0]['sync']}.")
    if optuna:
        print(f"Optuna {optuna['optuna_version']}, {optuna['workers']} worker "
              f"processes, {'prune honoured' if optuna['honour_prune'] else 'all 10 reports per trial'}"
              " (its figures do not depend on N).")
    print()
    print("| agents | trials/s | RPC/s | p50 ms | p99 ms | controller RSS "
          "start → end MiB | floor calls/s | RPC/s ÷ floor | Optuna journal "
          "trials/s | Optuna SQLite trials/s | ours ÷ journal | ours ÷ SQLite |")
    print("|" + "---|" * 12)
    verdicts = []
    for run in ours["runs"]:
        c = run["controller"]
        floor = run.get("floor", {}).get("calls_per_s")
        server = c["server"]
        ratio = c["calls_per_s"] / floor if floor else None
        trials = c["trials_per_s"]
        print(f"| {run['agents']} | {fmt(trials, 1)} | {fmt(c['calls_per_s'])} "
              f"| {c['all']['p50_ms']:.2f} | {c['all']['p99_ms']:.2f} "
              f"| {server['rss_start_kib'] / 1024:.1f} → "
              f"{server['rss_end_kib'] / 1024:.1f} | {fmt(floor)} "
              f"| {fmt(ratio, 2)} | {fmt(journal, 1)} | {fmt(sqlite, 1)} "
              f"| {fmt(trials / journal if journal else None, 1)} "
              f"| {fmt(trials / sqlite if sqlite else None, 1)} |")
        n = run["agents"]
        if n == 256:
            verdicts.append(("≥ 1,000 trials/s at N = 256", trials >= 1000,
                             f"{trials:,.0f} trials/s"))
        if n == 1000:
            p99 = c["all"]["p99_ms"]
            verdicts.append(("p99 < 10 ms at N = 1000 back to back", p99 < 10,
                             f"p99 {p99:.1f} ms"))
        if ratio is not None:
            verdicts.append((f"RPC/s ≥ half the floor at N = {n}", ratio >= 0.5,
                             f"{ratio:.2f} of the floor"))
        middle, end = server["rss_middle_kib"], server["rss_end_kib"]
        half_trials = c["trials"] / 2
        per_k = (end - middle) / half_trials * 1000 if half_trials else 0
        verdicts.append((f"memory flat at N = {n}",
                         end - middle <= max(0.05 * middle, 2048),
                         f"{(end - middle) / 1024:+.1f} MiB in the second half"
                         f" (~{half_trials:,.0f} trials, {per_k:.0f} KiB per "
                         "1,000 trials)"))
    paced = load(argv[3] if len(argv) > 3 else None)
    if paced:
        print()
        print("Paced agents (an open loop: each agent waits between calls):")
        print()
        print("| agents | ms between calls | RPC/s | p50 ms | p99 ms | p99.9 ms "
              "| floor p50 ms | floor p99 ms | controller RSS start → end MiB |")
        print("|" + "---|" * 9)
        for run in paced["runs"]:
            c = run["controller"]
            floor = run.get("floor", {}).get("all", {})
            server = c["server"]
            print(f"| {run['agents']} | {run['think_ms']:g} "
                  f"| {fmt(c['calls_per_s'])} | {c['all']['p50_ms']:.2f} "
                  f"| {c['all']['p99_ms']:.2f} | {c['all']['p999_ms']:.2f} "
                  f"| {fmt(floor.get('p50_ms'), 2)} "
                  f"| {fmt(floor.get('p99_ms'), 2)} "
                  f"| {server['rss_start_kib'] / 1024:.1f} → "
                  f"{server['rss_end_kib'] / 1024:.1f} |")
            if run["agents"] == 1000:
                p99 = c["all"]["p99_ms"]
                verdicts.append((
                    f"p99 < 10 ms at N = 1000 paced ({run['think_ms']:g} ms "
                    "between calls)", p99 < 10, f"p99 {p99:.1f} ms"))
    long_run = load(argv[4] if len(argv) > 4 else None)
    if long_run:
        run = long_run["runs"][0]
        c = run["controller"]
        server = c["server"]
        start, middle, end = (server["rss_start_kib"], server["rss_middle_kib"],
                              server["rss_end_kib"])
        half_trials = c["trials"] / 2
        per_trial = (end - middle) * 1024 / half_trials if half_trials else 0
        print()
        print(f"Long sweep ({run['agents']} agents, {long_run['seconds']:g} s, "
              f"{c['trials']:,.0f} trials): controller RSS start → middle → end "
              f"{start / 1024:.1f} → {middle / 1024:.1f} → {end / 1024:.1f} MiB; "
              f"{per_trial:.0f} bytes per trial over the second half.")
        verdicts.append((f"memory flat over {c['trials']:,.0f} trials",
                         end - middle <= max(0.05 * middle, 2048),
                         f"{(end - middle) / 1024:+.1f} MiB over the last "
                         f"{half_trials:,.0f} trials, {per_trial:.0f} B each"))
    runs = (ours["runs"] + (paced["runs"] if paced else []) +
            (long_run["runs"] if long_run else []))
    errors = sum(r["controller"]["errors"] for r in runs)
    print()
    for target, met, detail in verdicts:
        print(f"- {target}: {'met' if met else 'MISSED'} ({detail})")
    if errors:
        print(f"- {errors} controller calls failed (see the run's output)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
