# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# The product's own drill against the deployed bundle: `pf-render drill
# --on swarm|compose --yes`, driven through node 1's engine (the Swarm
# manager; Compose runs there). Its checks become rows of the table
# ("drill <scenario>"); scenarios whose prerequisites failed earlier are
# skipped with the reason instead of waiting out their bounds.

# How long the whole drill may take (its own waits are bounded too).
DRILL_TIMEOUT=${PF_TEST_DRILL_TIMEOUT:-900}

drill_run() {
    local logd=$1 args=() scenario needs start rc=0 json
    for scenario in backend-failover:nginx load-balancer:nginx redis-failover:redis,sentinels postgres:postgres; do
        needs=${scenario#*:}
        scenario=${scenario%%:*}
        # shellcheck disable=SC2086 # one dependency per word
        if skip_unless "drill $scenario" "scenario" ${needs//,/ }; then
            args+=(--scenario "$scenario")
        fi
    done
    if ((${#args[@]} == 0)); then
        return
    fi
    FAULT_AT=$(now_ms)
    start=$FAULT_AT
    json=$(bounded "$DRILL_TIMEOUT" "$PF_RENDER" drill "$TDIR/topology.toml" --on "$TARGET" \
        "$([[ $TARGET == swarm ]] && echo --stack || echo --project)" "$STACK" \
        -H "$(engine_sock n1)" --yes --json "${args[@]}" 2>"$logd/drill.log" </dev/null) || rc=$?
    printf '%s\n' "$json" >"$logd/drill.json"
    # The postgres scenario leaves the old primary stopped once it killed it.
    if grep -q 'killed the primary' <<<"$json"; then
        DRILL_PROMOTED=1
    fi
    if ((rc == 0 || rc == 1)) && [[ -n $json ]]; then
        local s c m b r
        while IFS=$'\t' read -r s c m b r; do
            record "$s" "$c" "$m" "$b" "$r"
        done < <(python3 "$REPO/containers/lib/drill_rows.py" <<<"$json")
    fi
    check_row drill "pf-render drill --on $TARGET --yes: exit status" \
        "$rc after $(since "$start")s$( ((rc >= 2)) && printf ': %s' "$(grep -m1 '^error' "$logd/drill.log" | cut -c1-200)")" \
        "0 or 1 (it ran; its checks are the rows above)" test "$rc" -le 1
    report_timing "$TNAME $TARGET: drill" "$(since "$start")s"
}
