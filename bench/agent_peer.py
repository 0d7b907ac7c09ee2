#!/usr/bin/env python3
"""Python peers of the agent benchmark (bench/agent_bench.cc).

Launch latency of bench/agent_probe through subprocess.Popen, the way W&B's
agent (a Python program) starts each run, measured exactly as agent_bench
measures its posix_spawn floor: from just before the call to the probe's
first instruction. And the resident memory of this interpreter once it has
imported the standard modules any Python agent needs: a floor under W&B's
agent, which imports much more (wandb, requests, ...). Writes JSON.
"""
import argparse
import http.client  # noqa: F401  (what a Python agent imports: the floor)
import json
import logging  # noqa: F401
import os
import socket  # noqa: F401
import subprocess
import threading  # noqa: F401
import time
import urllib.request  # noqa: F401


def percentiles(values):
    values = sorted(values)
    if not values:
        return {"n": 0, "p50": 0, "p90": 0, "max": 0}

    def at(q):
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"n": len(values), "p50": at(0.5), "p90": at(0.9), "max": values[-1]}


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--json-out", required=True)
    args = parser.parse_args()

    popen_ms = []
    for i in range(args.count):
        metrics = os.path.join(args.dir, "popen-%d.jsonl" % i)
        env = dict(os.environ, SWEEP_METRICS_FILE=metrics)
        before = time.time_ns() // 1000
        process = subprocess.Popen([args.probe, "--mode=spawn"], env=env)
        process.wait()
        with open(metrics) as f:
            started = json.loads(f.readline())["start_us"]
        popen_ms.append((started - before) / 1000.0)

    with open(args.json_out, "w") as out:
        json.dump({"popen_ms": percentiles(popen_ms), "rss_kib": rss_kib()}, out)


if __name__ == "__main__":
    main()
