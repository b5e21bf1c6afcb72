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
    done 3< <(testbed apps "$TDIR/topology.toml")
}

check_prometheus() {
    [[ ${FACT[prometheus]} == 1 ]] || return 0
    if ! locate prometheus; then
        record Prometheus "Prometheus running" "not running" running fail
        return
    fi
    local json targets line
    # Targets need one scrape interval after start; give them three.
    for _ in $(seq 45); do
        json=$(dk "$CTR_NODE" exec "$CTR_ID" wget -qO- http://127.0.0.1:9090/api/v1/targets 2>/dev/null) || json=""
        targets=$(python3 "$REPO/containers/lib/targets.py" <<<"$json" 2>/dev/null) || targets=""
        [[ -n $targets ]] && ! grep -q ' unknown' <<<"$targets" && ! grep -q ' down' <<<"$targets" && break
        sleep 1
    done
    if [[ -z $targets ]]; then
        record Prometheus "targets" "no answer from /api/v1/targets" "every target up" fail
        return
    fi
    while read -r line; do
        local job=${line%% *} rest=${line#* }
        check_row Prometheus "target $job" "$rest" up test "${rest%% *}" = up
    done <<<"$targets"
    local rules want
    rules=$(dk "$CTR_NODE" exec "$CTR_ID" wget -qO- http://127.0.0.1:9090/api/v1/rules 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(g["rules"]) for g in d["data"]["groups"]))' 2>/dev/null || echo 0)
    want=$(grep -cE '^\s*- (alert|record):' "$BUNDLE/monitoring/alerts.yml" || true)
    check_row Prometheus "every rule of monitoring/alerts.yml loaded" "$rules loaded" "$want" test "$rules" -eq "$want"
}
