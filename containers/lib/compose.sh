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
    # The README's layout: secret files in secrets/ next to the Compose file.
    ln -sfn "$SECRETS_DIR" "$BUNDLE/secrets"
    export DOCKER_HOST
    DOCKER_HOST=$(engine_sock n1)
    start=$(now_ms)
    bounded 600 bash "$BUNDLE/scripts/ha-setup.sh" --compose >"$logd/up.log" 2>&1 </dev/null || rc=$?
    check_row deploy "ha-setup.sh --compose" "exit $rc in $(since "$start")s" "exit 0" test "$rc" -eq 0
    compose_healthy "$start"
    check_postgres
    check_redis
    check_sentinels
    probe_dns
    check_nginx
    check_prometheus
    local dir=$BUNDLE/scripts
    bundle_script n1 "health-check.sh" "$logd/health-check.log" "$dir/health-check.sh"
    bundle_script n1 "failover-test.sh --backend" "$logd/failover-backend.log" "$dir/failover-test.sh" --backend
    bundle_script n1 "failover-test.sh --redis" "$logd/failover-redis.log" "$dir/failover-test.sh" --redis
    bundle_script n1 "failover-test.sh --postgres" "$logd/failover-postgres.log" "$dir/failover-test.sh" --postgres
    save_logs "com.docker.compose.project=$STACK" "$logd/containers"
    compose_teardown "$logd"
    rm -f "$BUNDLE/secrets"
    unset DOCKER_HOST
}

compose() { docker compose -f "$BUNDLE/docker-compose.ha.yml" "$@"; }

# "service state health" for every container of the project.
compose_states() {
    docker ps -a --filter "label=com.docker.compose.project=$STACK" \
        --format '{{.Label "com.docker.compose.service"}} {{.State}} {{.Status}}' | sort
}

compose_pending() {
    local want have
    want=$(compose config --services 2>/dev/null | wc -l || true)
    have=$(compose_states | awk '$2 == "running" && ($0 ~ /\(healthy\)/ || $0 !~ /\(/) { n++ } END { print n + 0 }')
    ((have == want))
}

compose_healthy() {
    local start=$1 ok=1 svc state
    wait_until "$CONVERGE_TIMEOUT" "every container healthy" compose_pending || ok=0
    local took
    took=$(since "$start")
    report_timing "$TNAME compose: up to healthy" "${took}s$([[ $ok == 0 ]] && echo " (not all healthy)")"
    for svc in $(compose config --services | sort); do
        state=$(compose_states | awk -v s="$svc" '$1 == s { $1 = ""; print substr($0, 2) }')
        check_row converge "$svc running and healthy" "${state:-no container}" "within ${CONVERGE_TIMEOUT}s" \
            compose_state_ok "$state"
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
