# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Docker engines owned by the tier. Each has its own data root, exec root,
# socket, pid file and cgroup parent; none is the system's default engine.
# Engines are stopped by the pid in their pid file, never by process name.

# Containers resolve names through Docker's embedded DNS, which forwards
# names it does not know to the engine's --dns servers. Point them at a
# loopback address where nothing listens, so no query leaves the machine.
# (It does not make a lookup of a missing name fail at once on dockerd
# 20.10: the embedded DNS then sends no answer and clients wait out their
# timeouts, about 20 s; measured and reported, docs/containers.md D8.)
DEAD_DNS=127.0.0.254
# The engine's own registry traffic goes to a proxy that does not exist: a
# pull or a digest lookup fails at once, nothing reaches a public registry.
DEAD_PROXY=http://127.0.0.1:9

ENGINES=()

engine_dir() { printf '%s/%s' "$PF_RUN" "$1"; }
engine_sock() { printf 'unix://%s/docker.sock' "$(engine_dir "$1")"; }

# Forgets the swarm and network state kept in an engine's data root (left
# by a run that was killed before its teardown): the data root is only the
# image cache, and an engine started in the host's namespace must not
# recreate a swarm's bridges there.
engine_forget_state() {
    rm -rf "$PF_STATE/docker/$1/swarm" "$PF_STATE/docker/$1/network"
}

# engine_start NAME NETNS [DOCKERD ARGS...]: starts an engine, in network
# namespace NETNS (its own UTS namespace too, host name NAME) or, with NETNS
# "", in this one. Waits until it answers.
engine_start() {
    local name=$1 netns=$2 dir data logf
    shift 2
    dir=$(engine_dir "$name")
    data=$PF_STATE/docker/$name
    logf=$RESULTS/engine-$name.log
    mkdir -p "$dir" "$data"
    local -a cmd=(dockerd --data-root "$data" --exec-root "$dir/exec"
        -H "$(engine_sock "$name")" --pidfile "$dir/docker.pid"
        --cgroup-parent "/pf-test-$name" --log-level warn "$@")
    local -a envs=(DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
        HTTP_PROXY="$DEAD_PROXY" HTTPS_PROXY="$DEAD_PROXY"
        NO_PROXY="127.0.0.0/8,$NODE_NET.0/24,localhost")
    ENGINES+=("$name")
    if [[ -n $netns ]]; then
        # setsid: Ctrl-C reaches this script, which stops the engine in order.
        # shellcheck disable=SC2016 # expanded by that sh
        setsid env "${envs[@]}" nsenter --net="/run/netns/$netns" -- \
            unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "$name" "${cmd[@]}" \
            </dev/null >>"$logf" 2>&1 &
    else
        setsid env "${envs[@]}" "${cmd[@]}" </dev/null >>"$logf" 2>&1 &
    fi
    echo $! >"$dir/launcher.pid"
    if ! wait_until 60 "engine $name answers" env DOCKER_HOST="$(engine_sock "$name")" docker version; then
        tail -n 20 "$logf" >&2
        die "engine $name did not start (log: $logf)"
    fi
}

# The pid of an engine's dockerd, from its pid file (or the launcher's).
engine_pid() {
    local dir pid
    dir=$(engine_dir "$1")
    for f in "$dir/docker.pid" "$dir/launcher.pid"; do
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            printf '%s' "$pid"
            return 0
        fi
    done
    return 1
}

# Processes that belong to an engine after its dockerd is gone: its
# containerd and the shims started through that containerd's socket (found
# by the engine's own exec-root path in their command line).
engine_leftovers() {
    local dir p
    dir=$(engine_dir "$1")
    for p in /proc/[0-9]*; do
        if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$dir/exec/"; then
            printf '%s\n' "${p#/proc/}"
        fi
    done
}

# Stops an engine: SIGTERM, then SIGKILL after 40 s; then whatever it left.
engine_stop() {
    local name=$1 pid i dir
    dir=$(engine_dir "$name")
    if pid=$(engine_pid "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 80; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            warn "engine $name (pid $pid) ignored SIGTERM for 40s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    for pid in $(engine_leftovers "$name"); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    unmount_under "$dir"
    unmount_under "$PF_STATE/docker/$name"
    local cg
    for cg in /sys/fs/cgroup/*/"pf-test-$name" /sys/fs/cgroup/"pf-test-$name"; do
        [[ -d $cg ]] || continue
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf "$dir"
}

# Unmounts every mount point at or below a folder, deepest first.
unmount_under() {
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

# docker against one engine.
dk() {
    local name=$1
    shift
    DOCKER_HOST=$(engine_sock "$name") docker "$@"
}

# Leaves the swarm and removes every container, volume and network of an
# engine: its data root is kept only as the image cache, so a run starts
# from, and leaves, an engine that holds nothing but images.
engine_reset() {
    local name=$1 ids
    if [[ $(dk "$name" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) != inactive ]]; then
        dk "$name" swarm leave --force >/dev/null 2>&1 || true
    fi
    ids=$(dk "$name" ps -aq 2>/dev/null || true)
    if [[ -n $ids ]]; then
        # shellcheck disable=SC2086 # one id per word
        dk "$name" rm -f -v $ids >/dev/null 2>&1 || true
    fi
    ids=$(dk "$name" volume ls -q 2>/dev/null || true)
    if [[ -n $ids ]]; then
        # shellcheck disable=SC2086 # one name per word
        dk "$name" volume rm -f $ids >/dev/null 2>&1 || true
    fi
    dk "$name" network prune -f >/dev/null 2>&1 || true
}
