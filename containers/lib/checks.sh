# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# "Actually connected" checks of a deployed bundle, the same on Swarm and
# Compose: PostgreSQL replicas streaming, Redis replicas linked, Sentinels
# agreeing on the master. Every wait is bounded. Passwords are read from
# the secret files inside the containers, never passed or printed.

TARGET=""   # swarm | compose, set by the runner
STACK=""

# locate SERVICE: sets CTR_NODE and CTR_ID to a running container of a
# service (Swarm: a task of STACK_SERVICE on any node; Compose: the
# container of that Compose service). Fails when none runs.
locate() {
    local svc=$1 node id
    CTR_NODE=""
    CTR_ID=""
    for node in "${NODES[@]}"; do
        if [[ $TARGET == swarm ]]; then
            id=$(dk "$node" ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$svc" --filter status=running 2>/dev/null | head -n1 || true)
        else
            id=$(dk "$node" ps -q --filter "label=com.docker.compose.project=$STACK" \
                --filter "label=com.docker.compose.service=$svc" --filter status=running 2>/dev/null | head -n1 || true)
        fi
        if [[ -n $id ]]; then
            CTR_NODE=$node
            CTR_ID=$id
            return 0
        fi
    done
    return 1
}

# The services of the deployed stack whose names match a pattern, sorted.
services_like() {
    local pattern=$1
    if [[ $TARGET == swarm ]]; then
        dk n1 service ls --filter "label=com.docker.stack.namespace=$STACK" --format '{{.Name}}' |
            sed "s/^${STACK}_//" | grep -E "^($pattern)\$" | sort -V
    else
        dk n1 compose -f "$BUNDLE/docker-compose.ha.yml" config --services | grep -E "^($pattern)\$" | sort -V
    fi
}

# SQL through psql in a container, as the owner, over TCP to itself.
psql_in() {
    # shellcheck disable=SC2016 # expanded inside the container
    dk "$1" exec "$2" sh -c 'PGPASSWORD=$(cat "$1") psql -X -A -t -q -h 127.0.0.1 -p "$2" -U "$3" -d "$4" -c "$5"' \
        sh "/run/secrets/$PG_SECRET" "${FACT[pg_port]}" "${FACT[pg_owner]}" "${FACT[pg_database]}" "$3"
}

# redis-cli in a container; with AUTH=1 the password comes from the secret
# file inside the container (REDISCLI_AUTH).
redis_in() {
    local node=$1 id=$2 port=$3
    shift 3
    if [[ ${AUTH:-1} == 1 ]]; then
        # shellcheck disable=SC2016 # expanded inside the container
        dk "$node" exec "$id" sh -c 'REDISCLI_AUTH=$(cat "$1"); export REDISCLI_AUTH; shift; exec redis-cli -e "$@"' \
            sh "/run/secrets/$REDIS_SECRET" -p "$port" "$@"
    else
        dk "$node" exec "$id" redis-cli -e -p "$port" "$@"
    fi
}

# The sync_state pg_stat_replication shows for the topology's synchronous mode.
expected_sync() {
    case ${FACT[pg_synchronous]} in
    off) echo async ;;
    any*) echo quorum ;;
    *) echo "sync|potential" ;;
    esac
}

check_postgres() {
    local want=${FACT[pg_replicas]} rows n sync
    sync=$(expected_sync)
    # Members are postgres-1 ..; postgres.primary names the primary.
    local primary=${FACT[pg_primary]}
    if ! locate "$primary"; then
        record PostgreSQL "replicas stream from the primary" "no running $primary" "$want streaming" fail
        dep_fail postgres "a running $primary (the primary)"
        return
    fi
    rows=""
    # The stack converged already; replication needs only a moment more.
    for _ in $(seq 10); do
        rows=$(psql_in "$CTR_NODE" "$CTR_ID" \
            "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication ORDER BY 1" 2>&1) || rows="error: $rows"
        n=$(grep -cE "^[^ ]+ streaming ($sync)\$" <<<"$rows" || true)
        ((n >= want)) && break
        sleep 1
    done
    local measured
    measured="$n/$want streaming: $(tr '\n' ',' <<<"${rows:-none}" | sed 's/,$//')"
    check_row PostgreSQL "replicas stream from the primary (pg_stat_replication)" "$measured" \
        "$want streaming, sync_state $sync" test "$n" -ge "$want"
    [[ $LAST_RESULT == pass ]] || dep_fail postgres "PostgreSQL replicas streaming"
    local svc state
    for svc in ${FACT[pg_standbys]}; do
        if locate "$svc"; then
            state=$(psql_in "$CTR_NODE" "$CTR_ID" "SELECT CASE WHEN pg_is_in_recovery() THEN 't' ELSE 'f' END || ' ' || COALESCE((SELECT status FROM pg_stat_wal_receiver), 'no wal receiver')" 2>&1 | head -n1 || true)
        else
            state="not running"
        fi
        check_row PostgreSQL "$svc is a standby receiving WAL" "$state" "t streaming" test "$state" = "t streaming"
        [[ $LAST_RESULT == pass ]] || dep_fail postgres "PostgreSQL replicas streaming"
    done
}

check_redis() {
    local want=${FACT[redis_replicas]} info online svc link
    if ! locate redis-master; then
        record Redis "replicas linked to the master" "no running redis-master" "$want online" fail
        dep_fail redis "a running redis-master"
        return
    fi
    for _ in $(seq 5); do
        info=$(redis_in "$CTR_NODE" "$CTR_ID" "${FACT[redis_port]}" INFO replication 2>&1 | tr -d '\r') || true
        online=$(grep -c '^slave[0-9]*:.*state=online' <<<"$info" || true)
        ((online >= want)) && break
        sleep 1
    done
    check_row Redis "replicas linked to the master (INFO replication on redis-master)" \
        "$(grep -E '^(role|connected_slaves):' <<<"$info" | tr '\n' ' ')$online online" "$want online" test "$online" -ge "$want"
    [[ $LAST_RESULT == pass ]] || dep_fail redis "Redis replicas linked to the master"
    for svc in $(services_like 'redis-replica(-[0-9]+)?'); do
        if locate "$svc"; then
            link=$(redis_in "$CTR_NODE" "$CTR_ID" "${FACT[redis_port]}" INFO replication 2>&1 | tr -d '\r' | grep -E '^master_link_status:' || echo "no answer")
        else
            link="not running"
        fi
        check_row Redis "$svc link to the master" "$link" "master_link_status:up" test "$link" = "master_link_status:up"
        [[ $LAST_RESULT == pass ]] || dep_fail redis "Redis replicas linked to the master"
    done
}

# Asks a Sentinel which master it follows: without a password first (the
# bundle's Sentinels have none), with it if the Sentinel demands one.
# A Sentinel command in a Sentinel's container: without a password first
# (older bundles), with the Redis password when the Sentinel asks for it
# (requirepass, issue 13 item 14).
sentinel_in() {
    local node=$1 id=$2 out
    shift 2
    out=$(AUTH=0 redis_in "$node" "$id" "${FACT[sentinel_port]}" "$@" 2>&1 | tr -d '\r' || true)
    if [[ $out == *NOAUTH* ]]; then
        out=$(redis_in "$node" "$id" "${FACT[sentinel_port]}" "$@" 2>&1 | tr -d '\r' || true)
    fi
    printf '%s\n' "$out"
}

sentinel_master() {
    sentinel_in "$1" "$2" SENTINEL get-master-addr-by-name "${FACT[master_name]}" | tr '\n' ':' | sed 's/:$//'
}

check_sentinels() {
    local svc answers=() a distinct ok=0 total=0 master_addr
    for svc in $(services_like 'redis-sentinel-[0-9]+'); do
        total=$((total + 1))
        if locate "$svc"; then
            a=$(sentinel_master "$CTR_NODE" "$CTR_ID" || true)
        else
            a="not running"
        fi
        answers+=("$svc=$a")
        [[ $a =~ ^[^:]+:[0-9]+$ ]] && ok=$((ok + 1))
    done
    distinct=$(printf '%s\n' "${answers[@]}" | sed 's/^[^=]*=//' | sort -u | wc -l)
    master_addr=$(printf '%s\n' "${answers[@]}" | sed 's/^[^=]*=//' | sort -u | head -n1)
    check_row Sentinel "every Sentinel names the same master" "${answers[*]}" \
        "${FACT[sentinels]} agree" test "$ok" -eq "${FACT[sentinels]}" -a "$distinct" -eq 1
    [[ $LAST_RESULT == pass ]] || dep_fail sentinels "every Sentinel naming the same master"
    # The named master must be the Redis node that is master now.
    # On Compose the Sentinels name the master by its fixed address
    # (resolve-hostnames no): the address of redis-master is as good.
    local role="" named=$master_addr addrs
    if locate redis-master; then
        addrs=$(dk "$CTR_NODE" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$CTR_ID" 2>/dev/null || true)
        if [[ -n ${master_addr%%:*} && " $addrs " == *" ${master_addr%%:*} "* ]]; then
            named=redis-master:${master_addr##*:}
        fi
        if [[ $named == redis-master:* ]]; then
            role=$(redis_in "$CTR_NODE" "$CTR_ID" "${FACT[redis_port]}" ROLE 2>&1 | head -n1 | tr -d '\r' || true)
        fi
    fi
    check_row Sentinel "the named master is redis-master and answers ROLE master" "${master_addr:-none} ($named), ROLE ${role:-?}" \
        "redis-master:${FACT[redis_port]}, master" test "$named" = "redis-master:${FACT[redis_port]}" -a "$role" = master
    [[ $LAST_RESULT == pass ]] || dep_fail sentinels "the Sentinels' master answering ROLE master"
    # Agreeing on a configured name says little: each Sentinel must reach the
    # master, see its replicas and discover the other Sentinels through it.
    local sentinels=${FACT[sentinels]}
    local want_others=$((sentinels - 1)) info flags others slaves
    for svc in $(services_like 'redis-sentinel-[0-9]+'); do
        info=""
        if locate "$svc"; then
            info=$(sentinel_in "$CTR_NODE" "$CTR_ID" SENTINEL master "${FACT[master_name]}")
        fi
        flags=$(awk 'p { print; exit } $0 == "flags" { p = 1 }' <<<"$info")
        others=$(awk 'p { print; exit } $0 == "num-other-sentinels" { p = 1 }' <<<"$info")
        slaves=$(awk 'p { print; exit } $0 == "num-slaves" { p = 1 }' <<<"$info")
        check_row Sentinel "$svc reaches the master and discovered the other Sentinels" \
            "flags=${flags:-?} other-sentinels=${others:-?} replicas=${slaves:-?}" \
            "flags=master other-sentinels=$want_others replicas=${FACT[redis_replicas]}" \
            test "$flags" = master -a "${others:-0}" = "$want_others" -a "${slaves:-0}" = "${FACT[redis_replicas]}"
        [[ $LAST_RESULT == pass ]] || dep_fail sentinels "every Sentinel reaching the master and the other Sentinels"
    done
    if locate redis-sentinel-1; then
        a=$(sentinel_in "$CTR_NODE" "$CTR_ID" SENTINEL ckquorum "${FACT[master_name]}" | head -n1)
        check_row Sentinel "quorum reachable (SENTINEL CKQUORUM on redis-sentinel-1)" "$a" "OK" grep -q '^OK' <<<"$a"
        [[ $LAST_RESULT == pass ]] || dep_fail sentinels "a Sentinel quorum (CKQUORUM)"
    fi
}

# How long a lookup of a name that does not exist takes inside a Sentinel's
# container (Docker's embedded DNS): a Sentinel blocks this long on the name
# of a stopped Redis node. Recorded as information for the failover rows.
probe_dns() {
    local start
    locate redis-sentinel-1 || return 0
    start=$(now_ms)
    dk "$CTR_NODE" exec "$CTR_ID" getent hosts pf-test-no-such-name >/dev/null 2>&1 || true
    record environment "lookup of a missing name in redis-sentinel-1 (Docker's embedded DNS)" "$(since "$start")s" "-" info
}
