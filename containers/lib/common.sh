# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Shared settings and helpers of the container test tier. Sourced by
# scripts/test-containers.sh; defines functions and variables only.

# Where the tier keeps state between runs (engine data roots with the cached
# images, debootstrap scratch) and where a run keeps its sockets, pid files
# and exec roots. Both names contain "pf-test" so `mount | grep pf-test`
# finds anything left mounted.
PF_STATE=${PF_TEST_STATE:-/var/lib/pf-test}
PF_RUN=${PF_TEST_RUN:-/run/pf-test}
# Network namespaces and links are named with this prefix.
PF_NS=pf-test
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 2
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Seconds with one decimal since a now_ms value.
since() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# version_ge A B: A >= B in version order.
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

# Runs a command with a deadline; prints nothing of its own.
bounded() {
    local secs=$1
    shift
    timeout --kill-after=5 "$secs" "$@"
}

# wait_until SECS DESCRIPTION COMMAND...: polls COMMAND every second until it
# succeeds (0) or SECS pass (1).
wait_until() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    note "gave up after ${secs}s: $what"
    return 1
}
