# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# The test nodes: each a Docker engine in its own network (and UTS)
# namespace. With several nodes the namespaces are joined by veth pairs to a
# bridge in one more namespace, so node traffic never touches the host's
# interfaces. Links are created directly inside the namespaces: deleting the
# namespaces removes them all.

NODE_NET=192.168.231
NODES=()

node_ns() { printf '%s-%s' "$PF_NS" "$1"; }
node_addr() {
    if ((${#NODES[@]} == 1)); then
        printf '127.0.0.1'
    else
        printf '%s.%d' "$NODE_NET" $((10 + $2))
    fi
}

# nodes_create N: namespaces, links and addresses for N nodes n1..nN.
nodes_create() {
    local n=$1 i name ns bridge
    bridge=$(node_ns br)
    NODES=()
    for ((i = 1; i <= n; i++)); do
        NODES+=("n$i")
    done
    for ((i = 1; i <= n; i++)); do
        ns=$(node_ns "n$i")
        NAMESPACES+=("$ns")
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    if ((n > 1)); then
        NAMESPACES+=("$bridge")
        ip netns add "$bridge"
        ip -n "$bridge" link add br0 type bridge
        ip -n "$bridge" link set br0 up
        for ((i = 1; i <= n; i++)); do
            name=n$i
            ns=$(node_ns "$name")
            ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$bridge"
            ip -n "$bridge" link set "p$i" master br0 up
            ip -n "$ns" addr add "$(node_addr "$name" "$i")/24" dev eth0
            ip -n "$ns" link set eth0 up
        done
    fi
}

# Runs a command inside a node's network namespace (curl to its published
# ports, the bundle's scripts that curl 127.0.0.1).
in_node() {
    local name=$1
    shift
    nsenter --net="/run/netns/$(node_ns "$name")" -- "$@"
}

# Deletes the namespaces this run created (and with them every link),
# after killing any process still inside them, by pid.
nodes_delete() {
    local ns pid
    for ns in "${NAMESPACES[@]}"; do
        [[ -e /run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || warn "could not delete network namespace $ns"
    done
    NAMESPACES=()
}

# The network links of this (the host's) namespace, one name per line.
host_links() { ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort; }

# After the teardown: no engine of this run, no namespace, no new link in
# the host's namespace, nothing mounted under the tier's folders.
check_leftovers() {
    local engines netns links mounts
    engines=$(pgrep -a dockerd | grep -F -- "$PF_RUN/" || true)
    netns=$(ip netns list | grep "^$PF_NS-" || true)
    links=$(comm -13 <(printf '%s\n' "$LINKS_BEFORE") <(host_links) | tr '\n' ' ')
    mounts=$(grep -E " ($PF_STATE|$PF_RUN)(/| )" /proc/self/mounts | awk '{ print $2 }' | tr '\n' ' ' || true)
    check_row teardown "no engine of this run is left (pgrep dockerd)" "${engines:-none}" none test -z "$engines"
    check_row teardown "no network namespace is left (ip netns list)" "${netns:-none}" none test -z "$netns"
    check_row teardown "no new link in the host's namespace (ip link)" "${links:-none}" none test -z "${links// /}"
    check_row teardown "nothing mounted under $PF_STATE or $PF_RUN" "${mounts:-none}" none test -z "${mounts// /}"
}
