# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Load balancer and monitoring checks: nginx reaches every app task, requests
# through nginx spread over the tasks, Prometheus targets up and rules loaded.

# The nginx service of the bundle: `nginx` on Swarm, `nginx-lb` on Compose.
lb_service() { if [[ $TARGET == swarm ]]; then echo nginx; else echo nginx-lb; fi; }

# The `server HOST:PORT` entries of `upstream NAME` in the bundle's nginx.conf.
upstream_servers() {
    awk -v u="$1" '$1 == "upstream" && $2 == u { inside = 1; next }
        inside && $1 == "}" { inside = 0 }
        inside && $1 == "server" { print $2 }' "$BUNDLE/nginx/load-balancer.conf"
}

# One GET through the load balancer from inside a node's network namespace,
# as a client would send it (server name, TLS verified with the test CA).
# Prints "STATUS SECONDS BODY".
lb_get() {
    local node=$1 path=$2 port scheme
    if [[ -n ${FACT[https_port]} ]]; then
        scheme=https port=${FACT[https_port]}
    else
        scheme=http port=${FACT[http_port]}
    fi
    in_node "$node" curl -sS --max-time 10 --cacert "$CA_CERT" \
        --resolve "${FACT[server_name]}:$port:127.0.0.1" \
        -w ' %{http_code} %{time_total}' "$scheme://${FACT[server_name]}:$port$path" 2>&1 | tr -d '\n'
}

check_nginx() {
    local lb app port route health _tag want
    lb=$(lb_service)
    if ! locate "$lb"; then
        record nginx "load balancer running" "no running $lb" running fail
        dep_fail nginx "a running load balancer"
        dep_fail lb "a running load balancer"
        return
    fi
    local lb_node=$CTR_NODE lb_id=$CTR_ID
    while IFS=$'\t' read -r -u 3 app port route health _tag want; do
        # Every task behind the upstream answers from inside the nginx container.
        local servers addrs=() s host p a answered=0 hosts=()
        servers=$(upstream_servers "$app")
        for s in $servers; do
            host=${s%:*} p=${s##*:}
            while read -r a _; do
                [[ -n $a ]] && addrs+=("$a:$p")
            done < <(dk "$lb_node" exec "$lb_id" getent ahostsv4 "$host" 2>/dev/null | awk '$2 == "STREAM"')
        done
        for a in "${addrs[@]}"; do
            if body=$(dk "$lb_node" exec "$lb_id" curl -fsS --max-time 3 "http://$a$health" 2>&1); then
                answered=$((answered + 1))
                hosts+=("$(sed -n 's/.* host=\([^ ]*\) .*/\1/p' <<<"$body")")
            fi
        done
        check_row nginx "nginx reaches every $app task (upstream $(tr '\n' ' ' <<<"$servers"| sed 's/ $//'))" \
            "$answered/${#addrs[@]} addresses answer ($want expected): ${hosts[*]}" "$want of $want" \
            test "$answered" -eq "$want" -a "${#addrs[@]}" -eq "$want"
        [[ $LAST_RESULT == pass ]] || dep_fail nginx "nginx reaching every app task"
        # Requests through the load balancer, from a client's side.
        local n seen=() out status body_host distinct
        for ((n = 0; n < 4 * want; n++)); do
            out=$(lb_get "$lb_node" "$health" || true)
            status=$(awk '{ print $(NF-1) }' <<<"$out")
            body_host=$(sed -n 's/.* host=\([^ ]*\) .*/\1/p' <<<"$out")
            [[ $status == 200 ]] && seen+=("$body_host")
        done
        distinct=$(printf '%s\n' "${seen[@]}" | sort -u | grep -c . || true)
        local budget=$want
        if [[ ${FACT[lb_method]} == iphash ]]; then
            budget=1   # one client address always reaches the same task
        fi
        check_row nginx "GET $health through the load balancer reaches $app tasks" \
            "${#seen[@]}/$((4 * want)) answered 200, $distinct distinct tasks" \
            ">= $budget distinct (${FACT[lb_method]})" test "$distinct" -ge "$budget" -a "${#seen[@]}" -eq $((4 * want))
        [[ $LAST_RESULT == pass ]] || dep_fail nginx "requests through the load balancer reaching the app tasks"
    done 3< <(testbed apps "$TDIR/topology.toml")
}

check_prometheus() {
    [[ ${FACT[prometheus]} == 1 ]] || return 0
    if ! locate prometheus; then
        record Prometheus "Prometheus running" "not running" running fail
        dep_fail prometheus "a running Prometheus"
        return
    fi
    local json targets line deadline
    # Targets need one scrape interval after start; give them three after
    # the deploy (the convergence took most of that already).
    local scrape=${FACT[scrape_interval_s]}
    deadline=$((DEPLOY_AT + (3 * scrape + 15) * 1000))
    while :; do
        json=$(dk "$CTR_NODE" exec "$CTR_ID" wget -qO- http://127.0.0.1:9090/api/v1/targets 2>/dev/null) || json=""
        targets=$(python3 "$REPO/containers/lib/targets.py" <<<"$json" 2>/dev/null) || targets=""
        [[ -n $targets ]] && ! grep -q ' unknown' <<<"$targets" && ! grep -q ' down' <<<"$targets" && break
        (($(now_ms) >= deadline)) && break
        sleep 1
    done
    if [[ -z $targets ]]; then
        record Prometheus "targets" "no answer from /api/v1/targets" "every target up" fail
        dep_fail prometheus "Prometheus answering /api/v1/targets"
        return
    fi
    while read -r line; do
        local job=${line%% *} rest=${line#* }
        check_row Prometheus "target $job" "$rest" up test "${rest%% *}" = up
        [[ $LAST_RESULT == pass || $job != alertmanager/* ]] || dep_fail alertmanager "Alertmanager up (scraped)"
    done <<<"$targets"
    # dns_sd on tasks.<nginx service>: one target per load balancer task.
    local nginx_up nginx_all
    nginx_all=$(grep -c '^nginx/' <<<"$targets" || true)
    nginx_up=$(grep -c '^nginx/[^ ]* up' <<<"$targets" || true)
    check_row Prometheus "every nginx task scraped (dns_sd)" "$nginx_up up of $nginx_all targets" \
        "${FACT[lb_instances]} tasks up" test "$nginx_up" -eq "${FACT[lb_instances]}" -a "$nginx_all" -eq "${FACT[lb_instances]}"
    local rules want
    rules=$(dk "$CTR_NODE" exec "$CTR_ID" wget -qO- http://127.0.0.1:9090/api/v1/rules 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(g["rules"]) for g in d["data"]["groups"]))' 2>/dev/null || echo 0)
    want=$(grep -cE '^\s*- (alert|record):' "$BUNDLE/monitoring/alerts.yml" || true)
    check_row Prometheus "every rule of monitoring/alerts.yml loaded" "$rules loaded" "$want" test "$rules" -eq "$want"
}

# ---- Alertmanager's webhook receiver and the monitoring UIs -----------------

# The receiver every webhook secret points at (bundle.sh writes the URLs):
# a container of the tier's own image joined to every network of the stack,
# so Alertmanager reaches it wherever the bundle puts Alertmanager.
WEBHOOK_NAME=pf-test-webhook
WEBHOOK_PORT=9095
WEBHOOK_URL=http://$WEBHOOK_NAME:$WEBHOOK_PORT/alerts
# The user of the htpasswd secret (its password: WEB_PASSWORD_FILE).
WEB_USER=pf-test

# The stack's networks, by their full names.
stack_networks() {
    local label
    if [[ $TARGET == swarm ]]; then
        label=com.docker.stack.namespace=$STACK
    else
        label=com.docker.compose.project=$STACK
    fi
    docker network ls --filter "label=$label" --format '{{.Name}}' | sort
}

webhook_start() {
    [[ ${FACT[alertmanager]} == 1 ]] || return 0
    local nets=() n args=()
    mapfile -t nets < <(stack_networks)
    if ((${#nets[@]} == 0)); then
        record Alertmanager "webhook receiver started" "the stack has no network" "running" fail
        return
    fi
    local rc=0 logf=$TDIR/webhook-$TARGET.log
    # Marked started first: whatever part of it exists is removed later.
    WEBHOOK_STARTED=1
    if [[ $TARGET == swarm ]]; then
        for n in "${nets[@]}"; do args+=(--network "$n"); done
        # (Swarm warns that a local image has no registry digest: logged.)
        docker service create --detach --quiet --name "$WEBHOOK_NAME" "${args[@]}" \
            --endpoint-mode dnsrr --restart-condition none \
            --constraint node.role==manager "${IMAGE[webhook]}" "$WEBHOOK_PORT" >"$logf" 2>&1 || rc=$?
    else
        docker run -d --name "$WEBHOOK_NAME" --network "${nets[0]}" "${IMAGE[webhook]}" "$WEBHOOK_PORT" >"$logf" 2>&1 || rc=$?
        for n in "${nets[@]:1}"; do
            docker network connect "$n" "$WEBHOOK_NAME" >>"$logf" 2>&1 || rc=$?
        done
    fi
    if ((rc != 0)); then
        record Alertmanager "webhook receiver started on ${nets[*]}" "exit $rc: $(tail -n1 "$logf")" "running" fail
        dep_fail webhook "the webhook receiver"
    fi
}

# The first notification Alertmanager gave up on (an unrecoverable error,
# such as an unreadable url_file), if any: a failing
# delivery is reported at once instead of waiting out the bound.
alertmanager_error() {
    locate alertmanager || return 0
    dk "$CTR_NODE" logs "$CTR_ID" 2>&1 | grep -m1 'Notify for alerts failed.*unrecoverable' |
        sed -n 's/.*err="\(.*\)"$/\1/p' | cut -c1-200
}

# What the receiver got, one "STATUS ALERTNAME" line per alert.
webhook_received() {
    local id
    if [[ $TARGET == swarm ]]; then
        id=$(docker ps -q --filter "label=com.docker.swarm.service.name=$WEBHOOK_NAME" --filter status=running | head -n1)
    else
        id=$WEBHOOK_NAME
    fi
    [[ -n $id ]] && docker exec "$id" curl -fsS --max-time 3 "http://127.0.0.1:$WEBHOOK_PORT/received"
}

webhook_stop() {
    ((${WEBHOOK_STARTED:-0} == 1)) || return 0
    if [[ $TARGET == swarm ]]; then
        docker service rm "$WEBHOOK_NAME" >/dev/null 2>&1 || true
    else
        docker rm -f "$WEBHOOK_NAME" >/dev/null 2>&1 || true
    fi
    WEBHOOK_STARTED=0
}

# A firing alert reaches the webhook: Prometheus evaluates the bundle's
# rules, Alertmanager reads the receiver's URL from its secret (url_file)
# and posts. The drill's faults (a stopped master or primary) and any
# failing check leave a condition that lasts longer than the rules' `for`;
# the wait is bounded by `for` + group_wait + two scrape intervals + 30 s
# after the first fault (FAULT_AT, else the deploy).
check_alert_delivery() {
    [[ ${FACT[alertmanager]} == 1 ]] || return 0
    if ! skip_unless Alertmanager "a firing alert reaches the webhook receiver" webhook alertmanager prometheus; then
        return
    fi
    local bound got="" start for_s=${FACT[alert_for_s]} wait_s=${FACT[group_wait_s]:-30} scrape=${FACT[scrape_interval_s]}
    bound=$((for_s + wait_s + 2 * scrape + 30))
    start=${FAULT_AT:-$DEPLOY_AT}
    local am_error=""
    while :; do
        got=$(webhook_received 2>/dev/null || true)
        grep -q '^firing ' <<<"$got" && break
        am_error=$(alertmanager_error || true)
        [[ -n $am_error ]] && break
        (($(now_ms) - start >= bound * 1000)) && break
        sleep 5
    done
    local firing
    firing=$(awk '$1 == "firing" { print $2 }' <<<"$got" | sort -u | tr '\n' ' ' | sed 's/ $//')
    check_row Alertmanager "a firing alert reaches the webhook receiver (url_file secret)" \
        "${firing:-none} ($(since "$start")s after the first fault)${am_error:+; Alertmanager: $am_error}" \
        "within ${bound}s (for + group_wait + 2 scrapes + 30 s)" test -n "$firing"
}

# /prometheus/ and /alertmanager/ through the load balancer: 401 without
# credentials, 200 with the htpasswd user.
check_monitoring_ui() {
    [[ -n ${FACT[web_htpasswd_secret]} ]] || return 0
    local node=${LB_NODE:-n1} path status_anon status_auth
    for path in /prometheus/-/ready /alertmanager/-/ready; do
        [[ $path == /alertmanager/* && ${FACT[alertmanager]} != 1 ]] && continue
        if ! dep_ok lb; then
            record monitoring "GET $path through the load balancer" "skipped: needs $(dep_why lb)" "-" skip
            continue
        fi
        status_anon=$(lb_status "$node" "$path" </dev/null)
        # The credentials go to curl on its standard input, not its command line.
        status_auth=$(printf 'user = "%s:%s"\n' "$WEB_USER" "$(cat "$WEB_PASSWORD_FILE")" | lb_status "$node" "$path" -K -)
        check_row monitoring "GET $path through the load balancer, without and with the htpasswd user" \
            "$status_anon, $status_auth" "401, 200" test "$status_anon" = 401 -a "$status_auth" = 200
    done
}

# The status of one GET through the load balancer (extra curl arguments after the path).
lb_status() {
    local node=$1 path=$2 port scheme
    shift 2
    if [[ -n ${FACT[https_port]} ]]; then
        scheme=https port=${FACT[https_port]}
    else
        scheme=http port=${FACT[http_port]}
    fi
    in_node "$node" curl -s -o /dev/null --max-time 10 --cacert "$CA_CERT" \
        --resolve "${FACT[server_name]}:$port:127.0.0.1" -w '%{http_code}' "$@" \
        "$scheme://${FACT[server_name]}:$port$path" 2>/dev/null || true
}
