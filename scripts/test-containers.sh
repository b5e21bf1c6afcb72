#!/usr/bin/env bash
# test-containers.sh - the container test tier: deploys every bundle of the
# given topologies on real Docker engines (Swarm and Compose), checks that
# every service is healthy and actually connected, runs the bundle's own
# health-check.sh and failover-test.sh, tears everything down, and prints
# one table per topology and target. See docs/containers.md.
#
# Usage: scripts/test-containers.sh [--nodes 1|3] [--keep-images] [TOPOLOGY...]
#   default topologies: topologies/prod.toml examples/*.toml
#   --nodes 3      three engines in their own network namespaces, one Swarm,
#                  plus a node-loss scenario (Compose runs on node 1)
#   --keep-images  keep images of older input hashes (default: remove them)
#   PF_TEST_REBUILD=1   rebuild every image; PF_TEST_TARGETS="swarm compose"
#
# Runs as root. Exit status: 0 every check passed, 1 a check failed,
# 2 usage or set-up error. Leaves no engine, namespace, link or mount behind,
# also on Ctrl-C, SIGTERM or an error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB=$REPO/containers/lib
# shellcheck source=containers/lib/common.sh
source "$LIB/common.sh"
# shellcheck source=containers/lib/tools.sh
source "$LIB/tools.sh"
# shellcheck source=containers/lib/engine.sh
source "$LIB/engine.sh"
# shellcheck source=containers/lib/nodes.sh
source "$LIB/nodes.sh"
# shellcheck source=containers/lib/images.sh
source "$LIB/images.sh"
# shellcheck source=containers/lib/limits.sh
source "$LIB/limits.sh"
# shellcheck source=containers/lib/report.sh
source "$LIB/report.sh"
# shellcheck source=containers/lib/bundle.sh
source "$LIB/bundle.sh"
# shellcheck source=containers/lib/checks.sh
source "$LIB/checks.sh"
# shellcheck source=containers/lib/web.sh
source "$LIB/web.sh"
# shellcheck source=containers/lib/scripts.sh
source "$LIB/scripts.sh"
# shellcheck source=containers/lib/swarm.sh
source "$LIB/swarm.sh"
# shellcheck source=containers/lib/compose.sh
source "$LIB/compose.sh"
# shellcheck source=containers/lib/nodeloss.sh
source "$LIB/nodeloss.sh"
# shellcheck source=containers/lib/drill.sh
source "$LIB/drill.sh"
# shellcheck source=containers/lib/plancheck.sh
source "$LIB/plancheck.sh"

usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

NODE_COUNT=1
KEEP_IMAGES=0
TOPOLOGIES=()
while (($# > 0)); do
    case $1 in
    --nodes)
        [[ ${2:-} == 1 || ${2:-} == 3 ]] || { usage >&2; exit 2; }
        NODE_COUNT=$2
        shift 2
        ;;
    --keep-images) KEEP_IMAGES=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) TOPOLOGIES+=("$1"); shift ;;
    esac
done
if ((${#TOPOLOGIES[@]} == 0)); then
    TOPOLOGIES=("$REPO/topologies/prod.toml" "$REPO"/examples/*.toml)
fi
for t in "${TOPOLOGIES[@]}"; do
    [[ -f $t ]] || die "topology $t not found"
done
read -r -a TARGETS <<<"${PF_TEST_TARGETS:-swarm compose}"
[[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts its own Docker engines)"

# The Compose plugin and the docker client link: a cache next to the image
# cache, not in the checkout (a worktree's .tools may be another checkout's).
TOOLS_DIR=$PF_STATE/tools
RESULTS=$REPO/out/containers/$(date -u +%Y%m%dT%H%M%SZ)-n$NODE_COUNT
BUILDER=n1
NAMESPACES=()
mkdir -p "$RESULTS" "$PF_STATE"
# One run at a time: engines, namespaces and folders have fixed names. Taken
# before the trap, so a refused run never tears down the other one.
exec 9>"$PF_STATE/run.lock"
flock -n 9 || die "another run of test-containers.sh holds $PF_STATE/run.lock"

# Everything this run started is stopped here, whatever ends it.
CLEANED=0
FINISHED=0
cleanup() {
    local rc=$?
    ((CLEANED == 1)) && return
    CLEANED=1
    trap '' INT TERM
    if ((FINISHED == 0)); then
        # Only the report decides 0 or 1; anything else is a set-up error
        # (or an interruption: 130, 143).
        if ((rc < 128)); then rc=2; fi
        warn "stopped before the end (status $rc); tearing down"
    fi
    local e
    for e in "${ENGINES[@]}"; do
        engine_reset "$e"
    done
    for e in "${ENGINES[@]}"; do
        engine_stop "$e"
    done
    nodes_delete
    unmount_under "$PF_STATE"
    unmount_under "$PF_RUN"
    rm -rf "$PF_RUN" "$PF_STATE/context" "$PF_STATE/rootfs"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RUN_START=$(now_ms)
log "container test tier: ${#TOPOLOGIES[@]} topologies, $NODE_COUNT node(s), targets: ${TARGETS[*]} (results: $RESULTS)"
tools_install

log "building pf-render and pf-testbed (release)"
(cd "$REPO" && cargo build --release --locked -q -p pf-cli -p pf-testbed)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release
PF_RENDER=$BIN/pf-render
testbed() { "$BIN/pf-testbed" "$@"; }

# Images are built by node 1's engine in this network namespace (builds need
# the Debian mirror), then node 1 runs in its own namespace on the same data root.
log "images"
IMAGES_START=$(now_ms)
engine_forget_state "$BUILDER"
LINKS_BEFORE=$(host_links)
engine_start "$BUILDER" "" --bridge=none --iptables=false --ip-masq=false
images_build_all
for t in "${TOPOLOGIES[@]}"; do
    while IFS=$'\t' read -r name port route health tag _; do
        image_app "$name" "$port" "$route" "$health" "$tag"
    done < <(testbed apps "$t")
done
if ((KEEP_IMAGES == 0)); then
    images_prune "$BUILDER"
fi
engine_stop "$BUILDER"
ENGINES=()
IMAGES_SECONDS=$(since "$IMAGES_START")
note "images ready in ${IMAGES_SECONDS}s ($IMAGES_BUILT built, $IMAGES_CACHED cached)"

log "nodes"
nodes_create "$NODE_COUNT"
swarm_start_nodes

# The tool's own image (Dockerfile), on node 1's engine.
log "pf-render image"
report_table "pf-render image"
image_pf_render

for t in "${TOPOLOGIES[@]}"; do
    bundle_prepare "$t"
    for target in "${TARGETS[@]}"; do
        case $target in
        swarm) swarm_run ;;
        compose) compose_run ;;
        *) die "unknown target $target" ;;
        esac
    done
done

# The teardown, done here too so that its result is in the report.
report_table "run: $NODE_COUNT node(s)"
for e in "${ENGINES[@]}"; do
    engine_reset "$e"
done
for e in "${ENGINES[@]}"; do
    engine_stop "$e"
done
ENGINES=()
nodes_delete
check_leftovers
report_timing "images" "${IMAGES_SECONDS}s ($IMAGES_BUILT built, $IMAGES_CACHED cached)"
report_timing "whole run" "$(since "$RUN_START")s"
report_summary
