# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Installs what the tier needs: Debian's docker.io (dockerd 20.10, containerd,
# runc), debootstrap, iproute2, and the Compose v2 plugin from Debian
# unstable, extracted under .tools/ like scripts/install-test-tools.sh does
# with nginx. Nothing is started by the installation (policy-rc.d).

TOOLS_APT=(docker.io debootstrap iproute2 openssl curl ca-certificates)
COMPOSE_MIN=2.0.0

tools_install() {
    local missing=() p created=0
    for p in "${TOOLS_APT[@]}"; do
        if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
            missing+=("$p")
        fi
    done
    if ((${#missing[@]} > 0)); then
        log "apt-get install ${missing[*]}"
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            # Installing docker.io must not start the system's default engine.
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            created=1
        fi
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
        if ((created == 1)); then
            rm -f /usr/sbin/policy-rc.d
        fi
    fi
    command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
    tools_client
    tools_compose
}

# The docker client: the preinstalled /usr/local/bin/docker (28.x) when
# present, else Debian's (20.10). Both talk to the 20.10 engine.
tools_client() {
    if [[ -x /usr/local/bin/docker ]]; then
        DOCKER_CLI=/usr/local/bin/docker
    else
        DOCKER_CLI=/usr/bin/docker
    fi
    # Everything below runs `docker`: make it this client.
    mkdir -p "$TOOLS_DIR/bin"
    ln -sfn "$DOCKER_CLI" "$TOOLS_DIR/bin/docker"
    PATH=$TOOLS_DIR/bin:$PATH
    note "docker client $("$DOCKER_CLI" --version | sed 's/^Docker version //') ($DOCKER_CLI)"
}

# The Compose v2 plugin from Debian unstable (bookworm has only Compose v1),
# as a CLI plugin in a private DOCKER_CONFIG: the user's ~/.docker is not read
# or changed.
tools_compose() {
    local plugin=$TOOLS_DIR/docker-config/cli-plugins/docker-compose
    export DOCKER_CONFIG=$TOOLS_DIR/docker-config
    if [[ ! -x $plugin ]] || ! "$plugin" version >/dev/null 2>&1; then
        compose_fetch "$plugin"
    fi
    local v
    v=$(docker compose version --short 2>/dev/null) || die "docker compose plugin does not run ($plugin)"
    version_ge "${v#v}" "$COMPOSE_MIN" || die "docker compose $v < $COMPOSE_MIN"
    note "docker compose $v ($plugin)"
}

compose_fetch() {
    local plugin=$1 apt_dir=$TOOLS_DIR/apt-unstable debs
    log "docker compose v2: fetching Debian unstable's docker-compose (private apt dir $apt_dir)"
    mkdir -p "$apt_dir"/{etc/sources.list.d,etc/preferences.d,state/lists/partial,cache/archives/partial}
    : >"$apt_dir/state/status"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR unstable main" \
        >"$apt_dir/etc/sources.list"
    local -a opts=(
        -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
        -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
        -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
        -o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/state/status"
        -o "Dir::Cache=$apt_dir/cache" -o "APT::Architectures::=amd64"
        -o "Acquire::Languages=none" -o "APT::Sandbox::User=root"
    )
    apt-get "${opts[@]}" update -q >/dev/null
    debs=$(mktemp -d)
    (cd "$debs" && apt-get "${opts[@]}" download -q docker-compose >/dev/null)
    local root=$debs/root
    dpkg-deb -x "$debs"/docker-compose_*.deb "$root"
    local bin
    bin=$(find "$root" -type f -name docker-compose -perm -u+x | head -n1)
    [[ -n $bin ]] || die "no docker-compose binary in Debian unstable's docker-compose package"
    mkdir -p "$(dirname "$plugin")"
    install -m 755 "$bin" "$plugin"
    rm -rf "$debs"
}
