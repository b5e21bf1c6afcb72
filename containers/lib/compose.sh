# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Compose: the bundle's ha-setup.sh --compose on node 1, health, checks, the
# bundle's scripts, `docker compose down -v` and the check that nothing is left.

compose_run() {
    TARGET=compose
    BUNDLE=$TDIR/compose
    STACK=${FACT[stack]}
    PG_SECRET=${FACT[pg_password_secret]}
    REDIS_SECRET=${FACT[redis_password_secret]}
    report_table "$TNAME / compose"
    log "$TNAME: Compose (node n1)"
    local logd=$TDIR/compose-logs start rc=0
    mkdir -p "$logd"
    DRILL_PROMOTED=0 FAULT_AT="" WEBHOOK_STARTED=0
    # The bundle's scripts and docker compose read the secret files here.
    export SECRETS_DIR DOCKER_HOST
    DOCKER_HOST=$(engine_sock n1)
    start=$(now_ms)
    DEPLOY_AT=$start
    # As the bundle README says: --secrets first (keeps the tier's values,
    # sets each file's owner and mode for the user that reads it).
    bounded 60 bash "$BUNDLE/scripts/ha-setup.sh" --secrets >"$logd/secrets.log" 2>&1 </dev/null || rc=$?
    check_row deploy "ha-setup.sh --secrets" "exit $rc" "exit 0" test "$rc" -eq 0
    rc=0
    bounded 600 bash "$BUNDLE/scripts/ha-setup.sh" --compose >"$logd/up.log" 2>&1 </dev/null || rc=$?
    check_row deploy "ha-setup.sh --compose" "exit $rc in $(since "$start")s" "exit 0" test "$rc" -eq 0
    webhook_start
    compose_healthy "$start"
    check_postgres
    check_redis
    check_sentinels
    probe_dns
    LB_NODE=n1
    check_nginx
    check_prometheus
    check_monitoring_ui
    bundle_script n1 "health-check.sh" "$logd/health-check.log" "$BUNDLE/scripts/health-check.sh"
    NODE_BACKEND=n1 NODE_REDIS=n1 NODE_POSTGRES=n1
    bundle_tests "$logd"
    drill_run "$logd"
    bundle_postgres_test "$logd"
    check_alert_delivery
    webhook_stop
    save_logs "com.docker.compose.project=$STACK" "$logd/containers"
    compose_teardown "$logd"
    unset DOCKER_HOST
    export -n SECRETS_DIR
}

compose() { docker compose -f "$BUNDLE/docker-compose.ha.yml" "$@"; }

# "service state health" for every container of the project.
compose_states() {
    docker ps -a --filter "label=com.docker.compose.project=$STACK" \
        --format '{{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}' | sort
}

# How many services have no running, healthy container yet.
compose_pending_count() {
    local want have
    want=$(compose config --services 2>/dev/null | wc -l || true)
    have=$(compose_states | awk '$2 == "running" && ($0 ~ /\(healthy\)/ || $0 !~ /\(/) { n++ } END { print n + 0 }')
    echo $((want - have))
}

compose_healthy() {
    local start=$1 ok=0 svc state deadline best=999999 improved=$SECONDS pending
    deadline=$((SECONDS + CONVERGE_TIMEOUT))
    while ((SECONDS < deadline)); do
        pending=$(compose_pending_count)
        if ((pending == 0)); then
            ok=1
            break
        fi
        if ((pending < best)); then
            best=$pending
            improved=$SECONDS
        elif ((SECONDS - improved >= CONVERGE_STALL)); then
            note "no further container became healthy for ${CONVERGE_STALL}s: $pending pending"
            break
        fi
        sleep 2
    done
    local took
    took=$(since "$start")
    report_timing "$TNAME compose: up to healthy" "${took}s$([[ $ok == 0 ]] && echo " (not all healthy)")"
    for svc in $(compose config --services | sort); do
        state=$(compose_states | awk -v s="$svc" '$1 == s { $1 = ""; print substr($0, 2) }')
        check_row converge "$svc running and healthy" "${state:-no container}" "within ${CONVERGE_TIMEOUT}s" \
            compose_state_ok "$state"
        [[ $LAST_RESULT == pass ]] || dep_fail "$svc" "$svc running and healthy"
    done
    record converge "every container healthy" "${took}s" "${CONVERGE_TIMEOUT}s" "$([[ $ok == 1 ]] && echo pass || echo fail)"
}

compose_state_ok() {
    [[ $1 == running* ]] && { [[ $1 == *"(healthy)"* ]] || [[ $1 != *"("* ]]; }
}

compose_teardown() {
    local logd=$1 start left=()
    start=$(now_ms)
    compose down -v --remove-orphans --timeout 30 >"$logd/down.log" 2>&1 || true
    mapfile -t -O "${#left[@]}" left < <(docker ps -aq --filter "label=com.docker.compose.project=$STACK" | sed 's/^/container:/')
    mapfile -t -O "${#left[@]}" left < <(docker network ls -q --filter "label=com.docker.compose.project=$STACK" | sed 's/^/network:/')
    mapfile -t -O "${#left[@]}" left < <(docker volume ls -q --filter "label=com.docker.compose.project=$STACK" | sed 's/^/volume:/')
    report_timing "$TNAME compose: teardown" "$(since "$start")s"
    check_row teardown "compose down -v: nothing left" "${left[*]:-nothing} ($(since "$start")s)" "nothing" \
        test "${#left[@]}" -eq 0
}
