# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# One topology's bundles: localize (pf-testbed), render both targets with the
# CLI, and make the secret files the bundle README asks for.

declare -A FACT=()

# Reads `pf-testbed facts` into FACT.
facts_load() {
    local k v
    FACT=()
    while IFS='=' read -r k v; do
        FACT[$k]=$v
    done < <(testbed facts "$1")
}

mem_bytes() { awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo; }

bundle_prepare() {
    local topology=$1 start
    start=$(now_ms)
    TNAME=$(basename "$topology" .toml)
    TDIR=$RESULTS/$TNAME
    mkdir -p "$TDIR"
    images_map "$topology" "$TDIR/images.toml"
    testbed localize "$topology" --images "$TDIR/images.toml" --nodes "$NODE_COUNT" \
        --cpu-millis $(($(nproc) * 1000)) --memory "$(mem_bytes)" \
        -o "$TDIR/topology.toml" >"$TDIR/changes.txt"
    log "$TNAME: localized topology $TDIR/topology.toml ($(wc -l <"$TDIR/changes.txt") changes)"
    sed 's/^/    /' "$TDIR/changes.txt"
    facts_load "$TDIR/topology.toml"
    # The stack runs with dnsrr only because this machine has no IPVS
    # (containers/lib/limits.sh).
    FACT[endpoint_mode_localized]=0
    if grep -q '^network.endpoint-mode: vip -> dnsrr' "$TDIR/changes.txt"; then
        FACT[endpoint_mode_localized]=1
    fi
    if [[ ${FACT[grafana]} == 0 ]] && grep -q '^monitoring.grafana:' "$TDIR/changes.txt"; then
        note "Grafana: skipped (not packaged in Debian)"
    fi
    local target
    for target in swarm compose; do
        if ! "$PF_RENDER" "$target" "$TDIR/topology.toml" -o "$TDIR/$target" >"$TDIR/render-$target.log" 2>&1; then
            cat "$TDIR/render-$target.log" >&2
            die "pf-render $target failed for $TNAME"
        fi
    done
    secrets_make "$PF_RUN/secrets/$TNAME"
    report_timing "$TNAME: localize + render" "$(since "$start")s"
}

# secrets_make DIR: one random value per secret of the topology, in a 0700
# folder (files 0600, as the bundle README says: "readable only by you");
# the TLS pair is a self-signed certificate for the server name; webhook
# URLs point at the tier's receiver (web.sh); the htpasswd file has one
# user whose password is kept next to the folder. Values are never printed.
secrets_make() {
    local dir=$1 name
    WEB_PASSWORD_FILE=$dir.web-password
    rm -rf "$dir" "$WEB_PASSWORD_FILE"
    (
        umask 077
        mkdir -p "$dir"
        for name in ${FACT[secrets]}; do
            if [[ $name == "${FACT[tls_certificate_secret]}" || $name == "${FACT[tls_key_secret]}" ]]; then
                continue
            fi
            if [[ " ${FACT[webhook_secrets]} " == *" $name "* ]]; then
                # Alertmanager posts to the tier's webhook receiver.
                printf '%s/%s' "$WEBHOOK_URL" "$name" >"$dir/$name"
            elif [[ $name == "${FACT[web_htpasswd_secret]}" ]]; then
                # One user whose password the tier keeps outside the
                # secrets folder, for the monitoring UIs' basic auth.
                openssl rand -hex 16 | tr -d '\n' >"$WEB_PASSWORD_FILE"
                printf '%s:%s\n' "$WEB_USER" "$(openssl passwd -apr1 -stdin <"$WEB_PASSWORD_FILE")" >"$dir/$name"
            else
                openssl rand -hex 24 | tr -d '\n' >"$dir/$name"
            fi
        done
        if [[ -n ${FACT[tls_certificate_secret]} ]]; then
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=${FACT[server_name]}" \
                -addext "subjectAltName=DNS:${FACT[server_name]}" \
                -keyout "$dir/${FACT[tls_key_secret]}" -out "$dir/${FACT[tls_certificate_secret]}" 2>/dev/null
        fi
    )
    SECRETS_DIR=$dir
    CA_CERT=$dir/${FACT[tls_certificate_secret]}
}
