#!/usr/bin/env python3
"""Interleaved A/B timing of two builds of the `stage` runner.

On a machine shared with other work, timings drift by tens of percent
within minutes, so two benchmark suites run one after the other are not
comparable. This runs every case of BENCHMARKS.md with both builds in
alternation (ABBA order), several rounds, and prints the median time per
iteration of each build and their ratio.

Usage: crates/pf-bench/ab.py BEFORE/stage AFTER/stage [ROUNDS] [JSON_OUT]
Build `stage` with `cargo build --release -p pf-bench` in each checkout.
"""
import json
import statistics
import subprocess
import sys

before, after = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
out = sys.argv[4] if len(sys.argv) > 4 else None
builds = {"before": before, "after": after}
stages = ["load+validate", "render-swarm", "render-compose", "render-local"]
cases = [(s, "prod") for s in stages] + [
    (s, n) for n in ["10", "100", "1000", "10000"] for s in stages
]
budget_ns = 0.25e9  # one run of the slower build takes about this long


def run(build, stage, size, iterations):
    text = subprocess.run(
        [builds[build], stage, size, str(iterations)],
        capture_output=True, text=True, check=True,
    ).stdout
    return int(text.strip())


results = {}
for stage, size in cases:
    probe = max(run("before", stage, size, 1), 1)
    iterations = max(1, int(budget_ns / probe))
    times = {"before": [], "after": []}
    for r in range(rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for build in order:
            times[build].append(run(build, stage, size, iterations))
    results[f"{stage}/{size}"] = times
    b, a = statistics.median(times["before"]), statistics.median(times["after"])
    print(
        f"{stage:<15} {size:>6}  before {b / 1e3:11.1f} us  after {a / 1e3:11.1f} us"
        f"  x{b / a:5.2f}",
        flush=True,
    )
if out:
    with open(out, "w") as f:
        json.dump(results, f)
