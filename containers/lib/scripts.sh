# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# The bundle's own scripts: every "✓"/"✗" line of health-check.sh and
# failover-test.sh becomes a row of the table ("-": not run from that
# node, recorded as skip). Output is kept in the results folder.

# bundle_script NODE SCENARIO LOG SCRIPT ARGS...: runs a bundle script inside
# a node's network namespace (it curls 127.0.0.1 like an operator on that
# node), against that node's engine.
bundle_script() {
    local node=$1 scenario=$2 logf=$3 rc=0 line
    shift 3
    local start
    start=$(now_ms)
    in_node "$node" env DOCKER_HOST="$(engine_sock "$node")" CA_CERT="$CA_CERT" \
        REJOIN_TIMEOUT=90 timeout --kill-after=5 600 bash "$@" >"$logf" 2>&1 </dev/null || rc=$?
    while IFS= read -r line; do
        case $line in
        "✓ "*) record "$scenario" "${line#✓ }" "passed" "script's own" pass ;;
        "✗ "*) record "$scenario" "${line#✗ }" "failed" "script's own" fail ;;
        "- "*) record "$scenario" "${line#- }" "not run here" "script's own" skip ;;
        esac
    done <"$logf"
    local budget=0
    check_row "$scenario" "exit status ($(basename "$1") ${*:2})" "$rc after $(since "$start")s" "$budget" test "$rc" -eq 0
}

# save_logs LABEL DIR: keeps the last lines of the log of every container
# carrying LABEL (for the
# defects' evidence) before the teardown removes them.
save_logs() {
    local label=$1 dir=$2 node id name
    mkdir -p "$dir"
    for node in "${NODES[@]}"; do
        while read -r id name; do
            [[ -n $id ]] || continue
            dk "$node" logs --tail 300 "$id" >"$dir/$node-$name.log" 2>&1 || true
        done < <(dk "$node" ps -a --filter "label=$label" --format '{{.ID}} {{.Names}}' 2>/dev/null || true)
    done
}
