# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# The bundle's own scripts: every "✓"/"✗" line of health-check.sh and
# failover-test.sh becomes a row of the table ("-": not run from that
# node, recorded as skip). Output is kept in the results folder.

# The longest a bundle script may run: the Redis test waits at most twice
# the failover budget plus REJOIN_TIMEOUT when the stack works; a stack
# that does not (D10) is stopped here.
SCRIPT_TIMEOUT=${PF_TEST_SCRIPT_TIMEOUT:-300}

# bundle_script NODE SCENARIO LOG SCRIPT ARGS...: runs a bundle script inside
# a node's network namespace (it curls 127.0.0.1 like an operator on that
# node), against that node's engine.
bundle_script() {
    local node=$1 scenario=$2 logf=$3 rc=0 line
    shift 3
    local start
    start=$(now_ms)
    in_node "$node" env DOCKER_HOST="$(engine_sock "$node")" CA_CERT="$CA_CERT" \
        REJOIN_TIMEOUT=90 timeout --kill-after=5 "$SCRIPT_TIMEOUT" bash "$@" >"$logf" 2>&1 </dev/null || rc=$?
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

# The bundle's own tests, each skipped when what it needs failed earlier.
# NODE_* name where each runs (Swarm: a node with the containers it acts on).
bundle_tests() {
    local logd=$1 dir=$BUNDLE/scripts
    if skip_unless "failover-test.sh --backend" "exit status" nginx; then
        bundle_script "$NODE_BACKEND" "failover-test.sh --backend" "$logd/failover-backend.log" "$dir/failover-test.sh" --backend
    fi
    if skip_unless "failover-test.sh --redis" "exit status" redis sentinels; then
        bundle_script "$NODE_REDIS" "failover-test.sh --redis" "$logd/failover-redis.log" "$dir/failover-test.sh" --redis
    fi
}

# The bundle's PostgreSQL promotion, unless the drill promoted the replica
# already (one promotion per deployment: the old primary stays stopped).
bundle_postgres_test() {
    local logd=$1
    if ((${DRILL_PROMOTED:-0} == 1)); then
        record "failover-test.sh --postgres" "exit status" \
            "skipped: the drill's postgres scenario promoted a standby (same procedure: the member script's --promote)" "-" skip
        return
    fi
    if skip_unless "failover-test.sh --postgres" "exit status" postgres; then
        bundle_script "$NODE_POSTGRES" "failover-test.sh --postgres" "$logd/failover-postgres.log" \
            "$BUNDLE/scripts/failover-test.sh" --postgres
    fi
}
