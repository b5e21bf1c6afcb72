#!/usr/bin/env bash
# Instructions per stage and size, counted by callgrind: the scaling check of
# BENCHMARKS.md that does not depend on the machine's load or caches.
#
# For each stage and size it runs `stage STAGE SIZE 1` and `stage STAGE SIZE 0`
# under callgrind; the difference is one iteration (load+validate, or one
# render with the templates already compiled), without the setup.
#
# Usage (from the repository root): crates/pf-bench/instructions.sh [SIZES...]
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v valgrind >/dev/null || {
    echo "missing valgrind: apt-get install valgrind" >&2
    exit 2
}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000)

cargo build --release --quiet -p pf-bench
stage=$root/target/release/stage
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # STAGE SIZE ITERATIONS -> instructions
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$stage" "$@" \
        >/dev/null 2>"$work/log" || {
        cat "$work/log" >&2
        exit 1
    }
    awk '/Collected :/ {print $NF}' "$work/log"
}

printf '%-15s %8s %15s %10s\n' stage size instructions "x previous"
for st in load+validate render-swarm render-compose render-local; do
    previous=
    for n in "${sizes[@]}"; do
        one=$(( $(count "$st" "$n" 1) - $(count "$st" "$n" 0) ))
        ratio=
        [ -n "$previous" ] && ratio=$(awk -v a="$one" -v b="$previous" 'BEGIN {printf "%.2f", a / b}')
        printf '%-15s %8s %15s %10s\n' "$st" "$n" "$one" "$ratio"
        previous=$one
    done
done
