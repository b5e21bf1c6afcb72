#!/usr/bin/env python3
"""Prints the median and spread of every criterion benchmark, as in
BENCHMARKS.md, from target/criterion/*/new/estimates.json (written by
`cargo bench -p pf-bench`).

Usage (from the repository root): crates/pf-bench/summary.py
"""
import json
import pathlib

root = pathlib.Path("target/criterion")


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


rows = []
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    e = json.loads(est.read_text())
    median = e["median"]["point_estimate"]
    lo = e["median"]["confidence_interval"]["lower_bound"]
    hi = e["median"]["confidence_interval"]["upper_bound"]
    mad = e["median_abs_dev"]["point_estimate"]
    rows.append((bench["full_id"], median, lo, hi, mad))

print(f"| case | median | 95% CI of the median | MAD |")
print("|---|---:|---|---:|")
for name, median, lo, hi, mad in rows:
    print(f"| {name} | {fmt(median)} | {fmt(lo)} – {fmt(hi)} | {fmt(mad)} |")
