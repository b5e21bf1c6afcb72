# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Swarm: the nodes' engines, the bundle's setup-swarm.sh, convergence,
# checks, the bundle's scripts, teardown and the check that nothing is left.

# A healthy stack converges in about 40 s here; failing ones are recorded
# after this bound, or once no further service has come up for
# CONVERGE_STALL seconds (a crash-looping or blocked service does not
# recover by waiting longer; the rows say which).
CONVERGE_TIMEOUT=${PF_TEST_CONVERGE_TIMEOUT:-180}
CONVERGE_STALL=${PF_TEST_CONVERGE_STALL:-60}

swarm_start_nodes() {
    local node start
    for node in "${NODES[@]}"; do
        engine_start "$node" "$(node_ns "$node")" --dns "$DEAD_DNS"
        engine_reset "$node"
    done
    for node in "${NODES[@]:1}"; do
        start=$(now_ms)
        images_copy n1 "$node"
        report_timing "images to $node (docker save, docker load)" "$(since "$start")s"
    done
}

# images_copy FROM TO: the images TO lacks, moved with docker save/load.
images_copy() {
    local from=$1 to=$2 missing=() ref
    for ref in "${IMAGE[@]}"; do
        [[ $ref == pf-testbed/debian:* ]] && continue
        dk "$to" image inspect "$ref" >/dev/null 2>&1 || missing+=("$ref")
    done
    ((${#missing[@]} == 0)) && return 0
    log "moving ${#missing[@]} images to $to"
    dk "$from" save "${missing[@]}" | dk "$to" load -q >/dev/null
}

# Joins nodes 2..N as workers unless they are in the swarm already.
swarm_join() {
    local node i=1 token state
    token=$(dk n1 swarm join-token -q worker)
    for node in "${NODES[@]:1}"; do
        i=$((i + 1))
        state=$(dk "$node" info --format '{{.Swarm.LocalNodeState}}')
        [[ $state == active ]] && continue
        dk "$node" swarm join --token "$token" --advertise-addr "$(node_addr "$node" "$i")" \
            "$(node_addr n1 1):2377" >/dev/null
    done
}

swarm_run() {
    TARGET=swarm
    BUNDLE=$TDIR/swarm
    STACK=${FACT[stack]}
    PG_SECRET=${FACT[pg_password_secret]}
    REDIS_SECRET=${FACT[redis_password_secret]}
    report_table "$TNAME / swarm, $NODE_COUNT node(s)"
    log "$TNAME: Swarm ($NODE_COUNT node(s))"
    local setup=$BUNDLE/scripts/setup-swarm.sh logd=$TDIR/swarm-logs
    mkdir -p "$logd"
    export DOCKER_HOST
    DOCKER_HOST=$(engine_sock n1)
    ADVERTISE_ADDR=$(node_addr n1 1) bash "$setup" --init >"$logd/init.log" 2>&1 ||
        die "setup-swarm.sh --init failed (log: $logd/init.log)"
    swarm_join
    swarm_old_client_probe "$setup" "$logd"
    local start rc=0
    DRILL_PROMOTED=0 FAULT_AT="" WEBHOOK_STARTED=0
    start=$(now_ms)
    DEPLOY_AT=$start
    SECRETS_DIR=$SECRETS_DIR bash "$setup" --label-nodes --create-secrets --deploy >"$logd/deploy.log" 2>&1 || rc=$?
    check_row deploy "setup-swarm.sh --label-nodes --create-secrets --deploy (docker $(docker version --format '{{.Client.Version}}'))" \
        "exit $rc in $(since "$start")s" "exit 0" test "$rc" -eq 0
    webhook_start
    swarm_converge "$start"
    check_postgres
    check_redis
    check_sentinels
    probe_dns
    LB_NODE=$(node_running nginx || echo n1)
    check_nginx
    check_prometheus
    check_monitoring_ui
    swarm_bundle_scripts "$logd"
    # Before the drill, which leaves the old PostgreSQL primary stopped.
    plancheck_run "$logd"
    if ((NODE_COUNT == 1)); then
        drill_run "$logd"
        bundle_postgres_test "$logd"
    else
        # Node loss first: it needs the stack whole (the drill leaves the
        # old PostgreSQL primary stopped).
        nodeloss_run "$logd"
        drill_run "$logd"
    fi
    check_alert_delivery
    webhook_stop
    save_logs "com.docker.stack.namespace=$STACK" "$logd/containers"
    swarm_teardown
    unset DOCKER_HOST
}

# setup-swarm.sh --deploy with Debian's own docker client (20.10), the
# client a Debian host has: it must deploy, or fail before deploying
# anything. Only the client's answer is recorded; the stack is deployed
# with the current client below.
swarm_old_client_probe() {
    local setup=$1 logd=$2 bin rc=0 out
    [[ -x /usr/bin/docker ]] || return 0
    bin=$(mktemp -d)
    ln -s /usr/bin/docker "$bin/docker"
    # Secrets and labels first (with the current client), so --deploy gets
    # as far as `docker stack deploy`.
    SECRETS_DIR=$SECRETS_DIR bash "$setup" --label-nodes --create-secrets >"$logd/probe-prepare.log" 2>&1 || true
    out=$(PATH=$bin:$PATH bash "$setup" --deploy 2>&1) || rc=$?
    printf '%s\n' "$out" >"$logd/probe-debian-client.log"
    rm -rf "$bin"
    check_row deploy "setup-swarm.sh --deploy with Debian's docker client ($(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null))" \
        "exit $rc: $(tail -n1 <<<"$out" | cut -c1-120)" "exit 0" test "$rc" -eq 0
}

# Waits until every service runs all its replicas, then records one row per
# service (running/desired, and the last task error when it does not).
swarm_converge() {
    local start=$1 deadline line name reps pending best=999999 improved=$SECONDS
    deadline=$((SECONDS + CONVERGE_TIMEOUT))
    while ((SECONDS < deadline)); do
        pending=$(docker stack services "$STACK" --format '{{.Replicas}}' 2>/dev/null |
            awk '{ split($1, r, "/"); if (r[1] != r[2]) n++ } END { print n + 0 }')
        [[ $pending == 0 ]] && break
        if ((pending < best)); then
            best=$pending
            improved=$SECONDS
        elif ((SECONDS - improved >= CONVERGE_STALL)); then
            note "no further service came up for ${CONVERGE_STALL}s: $pending pending"
            break
        fi
        sleep 2
    done
    local took
    took=$(since "$start")
    report_timing "$TNAME swarm: deploy to converged" "${took}s$([[ $pending != 0 ]] && echo " (not converged: $pending services)")"
    while read -r name reps; do
        local err=""
        if [[ ${reps%% *} != */* || ${reps%%/*} != "$(cut -d/ -f2 <<<"${reps%% *}")" ]]; then
            err=$(docker service ps "$name" --no-trunc --format '{{.CurrentState}}: {{.Error}}' 2>/dev/null | head -n1 | cut -c1-140 || true)
        fi
        local r=${reps%% *}
        check_row converge "${name#"${STACK}"_} running and healthy" "$r${err:+ ($err)}" "all replicas within ${CONVERGE_TIMEOUT}s" \
            test "${r%%/*}" = "${r##*/}"
        [[ $LAST_RESULT == pass ]] || dep_fail "${name#"${STACK}"_}" "${name#"${STACK}"_} running"
    done < <(docker stack services "$STACK" --format '{{.Name}} {{.Replicas}}' | sort)
    record converge "whole stack converged" "${took}s" "${CONVERGE_TIMEOUT}s" "$([[ $pending == 0 ]] && echo pass || echo fail)"
}

# The node a service's task runs on (n1 on one node).
node_of() {
    locate "$1" && printf '%s' "$CTR_NODE"
}

# A node that runs a task of one of the services, the manager (n1) first:
# the bundle's failover test scales services, which only a manager can.
node_running() {
    local node svc
    for node in "${NODES[@]}"; do
        for svc in "$@"; do
            if locate_on "$node" "$svc"; then
                printf '%s' "$node"
                return 0
            fi
        done
    done
    return 1
}

swarm_bundle_scripts() {
    local logd=$1 node dir=$BUNDLE/scripts
    for node in "${NODES[@]}"; do
        bundle_script "$node" "health-check.sh on $node" "$logd/health-check-$node.log" "$dir/health-check.sh"
    done
    # Each failover test acts on containers of the node it runs on: run it
    # where the load balancer, a Sentinel, a PostgreSQL standby runs.
    NODE_BACKEND=$(node_running nginx || echo n1)
    # shellcheck disable=SC2046 # one service name per word
    NODE_REDIS=$(node_running $(services_like 'redis-sentinel-[0-9]+') || echo n1)
    # shellcheck disable=SC2086 # one member name per word
    NODE_POSTGRES=$(node_running ${FACT[pg_standbys]} || echo n1)
    bundle_tests "$logd"
}

swarm_teardown() {
    local start node left=()
    start=$(now_ms)
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    wait_until 120 "stack $STACK removed" swarm_gone || true
    for node in "${NODES[@]}"; do
        wait_until 60 "containers of $STACK gone on $node" no_containers "$node" || true
        local v
        for v in $(dk "$node" volume ls -q --filter "label=com.docker.stack.namespace=$STACK"); do
            dk "$node" volume rm -f "$v" >/dev/null 2>&1 || true
        done
    done
    local s
    for s in $(docker secret ls --format '{{.Name}}' | grep "^${STACK}_" || true); do
        docker secret rm "$s" >/dev/null 2>&1 || true
    done
    for s in $(docker config ls --format '{{.Name}}' | grep "^${STACK}_" || true); do
        docker config rm "$s" >/dev/null 2>&1 || true
    done
    local id label
    for id in $(docker node ls -q); do
        # shellcheck disable=SC2016 # a Go template
        for label in $(docker node inspect "$id" --format '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}'); do
            [[ $label == "$STACK".* ]] && docker node update --label-rm "$label" "$id" >/dev/null
        done
    done
    # What is left, everywhere.
    mapfile -t -O "${#left[@]}" left < <(docker service ls -q --filter "label=com.docker.stack.namespace=$STACK" | sed 's/^/service:/')
    mapfile -t -O "${#left[@]}" left < <(docker secret ls --format '{{.Name}}' | grep "^${STACK}_" | sed 's/^/secret:/' || true)
    mapfile -t -O "${#left[@]}" left < <(docker config ls --format '{{.Name}}' | grep "^${STACK}_" | sed 's/^/config:/' || true)
    # shellcheck disable=SC2016 # a Go template
    mapfile -t -O "${#left[@]}" left < <(docker node ls -q | xargs -r docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' | tr ' ' '\n' | grep "^$STACK\." | sed 's/^/label:/' || true)
    for node in "${NODES[@]}"; do
        mapfile -t -O "${#left[@]}" left < <(dk "$node" ps -aq --filter "label=com.docker.stack.namespace=$STACK" | sed "s/^/container@$node:/")
        mapfile -t -O "${#left[@]}" left < <(dk "$node" network ls -q --filter "label=com.docker.stack.namespace=$STACK" | sed "s/^/network@$node:/")
        mapfile -t -O "${#left[@]}" left < <(dk "$node" volume ls -q --filter "label=com.docker.stack.namespace=$STACK" | sed "s/^/volume@$node:/")
    done
    report_timing "$TNAME swarm: teardown" "$(since "$start")s"
    check_row teardown "stack rm, volumes, secrets, configs, node labels: nothing left" \
        "${left[*]:-nothing} ($(since "$start")s)" "nothing" test "${#left[@]}" -eq 0
}

swarm_gone() {
    [[ -z $(docker service ls -q --filter "label=com.docker.stack.namespace=$STACK") ]] &&
        [[ -z $(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK") ]]
}

no_containers() {
    [[ -z $(dk "$1" ps -aq --filter "label=com.docker.stack.namespace=$STACK") ]]
}
