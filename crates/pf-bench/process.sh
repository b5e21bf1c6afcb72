#!/usr/bin/env bash
# Whole-process timings and peak memory of the release binary, the cases of
# BENCHMARKS.md that criterion cannot measure in process:
#
#   - `pf-render swarm topologies/prod.toml -o DIR` (hyperfine, wall time)
#   - `pf-render check` over 1,000 topology files (hyperfine)
#   - peak RSS (`/usr/bin/time -v`) for prod and for 10,000 app services
#
# Usage (from the repository root): crates/pf-bench/process.sh [WORK_DIR]
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cd "$root"

for tool in hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "missing $tool: apt-get install hyperfine time" >&2
        exit 2
    }
done

cargo build --release --quiet -p pf-cli -p pf-bench
bin=$root/target/release/pf-render
gen=$root/target/release/gen-topologies

"$gen" "$work/check" 1000
"$gen" "$work/s1000" 1 1000
"$gen" "$work/s10000" 1 10000

echo "== load before: $(uptime)"

# A fresh folder each run (`--prepare` removes it) pays for writing and
# fsyncing every file; on the disk and on tmpfs (where fsync is free), to
# tell the process's own cost from the disk's. Rendering again into a folder
# that already holds the bundle writes nothing.
hyperfine -N --warmup 5 --runs 100 --export-json "$work/swarm-prod-fresh.json" \
    --prepare "rm -rf $work/out-fresh" \
    -n "swarm prod -o DIR (new folder, disk)" "$bin swarm topologies/prod.toml -o $work/out-fresh"
if [ -d /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/pf-bench.XXXXXX)
    hyperfine -N --warmup 5 --runs 100 --export-json "$work/swarm-prod-tmpfs.json" \
        --prepare "rm -rf $shm/out" \
        -n "swarm prod -o DIR (new folder, tmpfs)" "$bin swarm topologies/prod.toml -o $shm/out"
    rm -rf "$shm"
fi
# Replacing another bundle (the Compose one, written before each run) also
# removes the old files.
hyperfine -N --warmup 5 --runs 100 --export-json "$work/swarm-prod-replace.json" \
    --prepare "$bin compose topologies/prod.toml -o $work/out-prod" \
    -n "swarm prod -o DIR (replacing a bundle, disk)" "$bin swarm topologies/prod.toml -o $work/out-prod"
hyperfine -N --warmup 5 --runs 100 --export-json "$work/swarm-prod-unchanged.json" \
    -n "swarm prod -o DIR (unchanged, disk)" "$bin swarm topologies/prod.toml -o $work/out-prod"
hyperfine -N --warmup 5 --runs 100 --export-json "$work/swarm-prod-check.json" \
    -n "swarm prod --check DIR (no writes)" "$bin swarm topologies/prod.toml --check $work/out-prod"
# The shell expands the 1,000 names once; hyperfine runs without a shell.
hyperfine -N --warmup 2 --runs 20 --export-json "$work/check-1000.json" \
    -n "check 1,000 files" "$bin check $(echo "$work"/check/t-*.toml)"
hyperfine -N --warmup 5 --runs 100 --export-json "$work/startup.json" \
    -n "pf-render --version (process start)" "$bin --version" \
    -n "check prod" "$bin check topologies/prod.toml"
for json in "$work"/*.json; do
    python3 - "$json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(r["times"])
    q = statistics.quantiles(t, n=4)
    print(f'{r["command"]:<46} median {statistics.median(t)*1e3:7.2f} ms  IQR {q[0]*1e3:.2f}-{q[2]*1e3:.2f} ms  min {t[0]*1e3:.2f} ms')
PY
done

rss() {
    local label=$1
    shift
    # A failed run would report the memory of an error message: stop instead.
    if ! /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt"; then
        cat "$work/time.txt" >&2
        echo "failed: $*" >&2
        exit 1
    fi
    printf '%-40s max RSS %6s KiB, wall %s\n' "$label" \
        "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")" \
        "$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")"
}
rss "swarm prod" "$bin" swarm topologies/prod.toml -o "$work/out-prod"
rss "compose prod" "$bin" compose topologies/prod.toml -o "$work/out-prod-compose"
rss "swarm 1,000 services" "$bin" swarm "$work/s1000/t-0000.toml" -o "$work/out-1000"
rss "swarm 10,000 services" "$bin" swarm "$work/s10000/t-0000.toml" -o "$work/out-10000"
rss "compose 10,000 services" "$bin" compose "$work/s10000/t-0000.toml" -o "$work/out-10000-compose"
rss "check 1,000 files" "$bin" check "$work"/check/t-*.toml

echo "== load after: $(uptime)"
echo "results in $work"
