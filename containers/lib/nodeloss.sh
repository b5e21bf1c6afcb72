# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Node loss (--nodes 3): one whole engine is stopped (SIGTERM to its dockerd,
# which stops its containers); every tier must keep serving within the
# topology's budgets. The victim is a worker: the one that runs the Redis
# master, else the PostgreSQL primary, else the last node. The manager
# stays, so Swarm can reschedule (a three-node Swarm with one manager does
# not survive losing it; the bundle does not set up three managers).

nodeloss_run() {
    local logd=$1 victim="" svc node
    for svc in redis-master "${FACT[pg_primary]}"; do
        if locate "$svc" && [[ $CTR_NODE != n1 ]]; then
            victim=$CTR_NODE
            break
        fi
    done
    victim=${victim:-${NODES[-1]}}
    local lost_redis=0 lost_pg=0 old_master
    locate redis-master && [[ $CTR_NODE == "$victim" ]] && lost_redis=1
    locate "${FACT[pg_primary]}" && [[ $CTR_NODE == "$victim" ]] && lost_pg=1
    old_master=$(nodeloss_sentinel_view "" || true)
    log "node loss: stopping the engine of $victim (Redis master there: $lost_redis, PostgreSQL primary there: $lost_pg)"
    local start
    start=$(now_ms)
    engine_stop "$victim" &
    local stopper=$!
    nodeloss_lb "$victim"
    if ((lost_redis == 1)) && ! dep_ok redis sentinels; then
        record "node loss" "surviving Sentinels agree on a new master" "skipped: needs $(dep_why redis sentinels)" "-" skip
    elif ((lost_redis == 1)); then
        nodeloss_redis "$victim" "$old_master" "$start"
    else
        record "node loss" "Redis master keeps serving (not on $victim)" "-" "-" skip
    fi
    wait "$stopper" || true
    record "node loss" "engine of $victim stopped (dockerd's own shutdown)" "$(since "$start")s" "-" info
    if ((lost_pg == 1)); then
        # shellcheck disable=SC2086 # one member name per word
        node=$(node_running ${FACT[pg_standbys]} || echo n1)
        bundle_script "$node" "node loss: failover-test.sh --postgres" "$logd/nodeloss-postgres.log" \
            "$BUNDLE/scripts/failover-test.sh" --postgres
    else
        nodeloss_pg_writes
    fi
    # The node comes back for the teardown (its volumes and labels).
    start=$(now_ms)
    local i
    for ((i = 0; i < ${#NODES[@]}; i++)); do
        [[ ${NODES[$i]} == "$victim" ]] && break
    done
    engine_start "$victim" "$(node_ns "$victim")" --dns "$DEAD_DNS"
    check_row "node loss" "$victim back and Ready in the swarm" "$(since "$start")s" "60s" \
        wait_until 60 "$victim Ready" node_ready "$victim"
}

node_ready() {
    [[ $(docker node ls --format '{{.Hostname}} {{.Status}}' | awk -v n="$1" '$1 == n { print $2 }') == Ready ]]
}

# The master the Sentinels on the surviving nodes name, "" when they disagree.
nodeloss_sentinel_view() {
    local skip=$1 svc a answers=()
    for svc in $(services_like 'redis-sentinel-[0-9]+'); do
        locate "$svc" || continue
        [[ $CTR_NODE == "$skip" ]] && continue
        a=$(sentinel_master "$CTR_NODE" "$CTR_ID" || true)
        answers+=("$a")
    done
    if (($(printf '%s\n' "${answers[@]}" | sort -u | wc -l) == 1)); then
        printf '%s' "${answers[0]}"
    else
        return 1
    fi
}

# Requests through a load balancer on a surviving node during the loss:
# none may fail, the slowest is reported against the guide's "<1 s".
nodeloss_lb() {
    local victim=$1 node="" n fails=0 worst=0 out status t
    for node in $(docker node ls --format '{{.Hostname}}' | sort); do
        [[ $node == "$victim" ]] && continue
        locate_on "$node" nginx && break
        node=""
    done
    if [[ -z $node ]]; then
        record "node loss" "a load balancer on another node answers" "no nginx task outside $victim" "1 answering" fail
        return
    fi
    local health
    health=$(testbed apps "$TDIR/topology.toml" | head -n1 | cut -f4)
    for ((n = 0; n < 40; n++)); do
        out=$(lb_get "$node" "$health" || true)
        status=$(awk '{ print $(NF-1) }' <<<"$out")
        t=$(awk '{ print $NF }' <<<"$out")
        [[ $status == 200 ]] || fails=$((fails + 1))
        worst=$(awk -v a="$worst" -v b="${t:-10}" 'BEGIN { print (b > a) ? b : a }')
        sleep 0.25
    done
    check_row "node loss" "GET $health through nginx on $node while $victim goes down (40 requests over ~10 s)" \
        "$fails failed, slowest ${worst}s" "0 failed, < 1 s" \
        awk -v f="$fails" -v w="$worst" 'BEGIN { exit !(f == 0 && w < 1) }'
}

# locate_on NODE SERVICE: a running task of the service on that node.
locate_on() {
    CTR_NODE=$1
    CTR_ID=$(dk "$1" ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$2" --filter status=running 2>/dev/null | head -n1 || true)
    [[ -n $CTR_ID ]]
}

nodeloss_redis() {
    local victim=$1 old=$2 start=$3 budget new="" elapsed
    local down_after=${FACT[down_after_s]} failover_timeout=${FACT[failover_timeout_s]}
    budget=$((down_after + failover_timeout))
    while (($(now_ms) - start < 2 * budget * 1000)); do
        new=$(nodeloss_sentinel_view "$victim" || true)
        [[ -n $new && $new != "$old" ]] && break
        new=""
        sleep 0.5
    done
    elapsed=$(since "$start")
    check_row "node loss" "surviving Sentinels agree on a new master (was $old)" "${new:-none} after ${elapsed}s" \
        "${budget}s (down-after + failover-timeout)" \
        awk -v e="$elapsed" -v b="$budget" -v n="$new" 'BEGIN { exit !(n != "" && e <= b) }'
}

# The primary was not lost: it must still accept a write.
nodeloss_pg_writes() {
    local out=""
    if locate "${FACT[pg_primary]}"; then
        out=$(psql_in "$CTR_NODE" "$CTR_ID" "CREATE TEMP TABLE pf_nodeloss(x int); INSERT INTO pf_nodeloss VALUES (1); SELECT 'written'" 2>&1 | tail -n1 || true)
    fi
    check_row "node loss" "PostgreSQL primary (not on the lost node) accepts a write" "${out:-not running}" "written" \
        test "$out" = written
}
