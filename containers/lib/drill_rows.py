"""Turns `pf-render drill --json` into rows of the container tier's table.

Reads the JSON report on standard input; prints one tab-separated line per
row: SCENARIO, CHECK, MEASURED, BUDGET, RESULT (pass, fail or info). A
scenario that stopped early is a failed row with its reason; the start-up
error too; the drill's notes (what it left changed) are information rows.
"""

import json
import sys


def clean(text):
    return " ".join(str(text).split()).replace("\t", " ")


def main():
    report = json.load(sys.stdin)
    rows = []
    if report.get("startup_error"):
        rows.append(("drill", "the stack runs, healthy", report["startup_error"], "-", "fail"))
    for s in report.get("scenarios", []):
        name = "drill " + s["name"]
        for c in s.get("checks", []):
            rows.append((name, c["what"], c["measured"], c["budget"], "pass" if c["passed"] else "fail"))
        if s.get("error"):
            rows.append((name, "stopped early", s["error"].splitlines()[0], "-", "fail"))
        if not s.get("checks") and not s.get("error"):
            rows.append((name, "checks", "none ran", "at least one", "fail"))
    for n in report.get("notes", []):
        rows.append(("drill", "note", n, "-", "info"))
    for r in rows:
        print("\t".join(clean(x) for x in r))


if __name__ == "__main__":
    main()
