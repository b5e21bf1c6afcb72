# shellcheck shell=bash
# shellcheck disable=SC2034 # settings shared by the files of containers/lib
# Look-alike official images, built from Debian packages and the upstream
# entrypoint scripts (containers/images/upstream/), once: every image carries
# the label pf-testbed.key=<hash of its inputs> and is rebuilt only when an
# input changes (PF_TEST_REBUILD=1 forces it). Tags keep the official
# repository names, so the generator treats them as the official images,
# with the Debian package's version and the key: postgres:15.14-pftest.<key>.

IMAGES_DIR=${REPO:?}/containers/images
UPSTREAM_DIR=$IMAGES_DIR/upstream
declare -A IMAGE=()     # role -> image built (or found) in this run
IMAGES_BUILT=0
IMAGES_CACHED=0

# Every upstream file an image copies, relative to UPSTREAM_DIR.
UPSTREAM_FILES=(
    postgres-15-bookworm/docker-entrypoint.sh postgres-15-bookworm/docker-ensure-initdb.sh postgres-15-bookworm/LICENSE
    redis-7.0-debian/docker-entrypoint.sh redis-7.0-debian/LICENSE
    nginx-mainline-debian/docker-entrypoint.sh nginx-mainline-debian/10-listen-on-ipv6-by-default.sh
    nginx-mainline-debian/15-local-resolvers.envsh nginx-mainline-debian/20-envsubst-on-templates.sh
    nginx-mainline-debian/30-tune-worker-processes.sh nginx-mainline-debian/LICENSE
)

images_check_upstream() {
    local f missing=()
    for f in "${UPSTREAM_FILES[@]}"; do
        [[ -s $UPSTREAM_DIR/$f ]] || missing+=("$UPSTREAM_DIR/$f")
    done
    if ((${#missing[@]} > 0)); then
        printf 'error: upstream files of the official images are missing:\n' >&2
        printf '  %s\n' "${missing[@]}" >&2
        printf 'They are copies of github.com/docker-library/postgres (15/bookworm/),\n' >&2
        printf 'github.com/docker-library/redis (7.0/debian/) and github.com/nginxinc/docker-nginx\n' >&2
        printf '(mainline/debian/); %s names the commits. Restore them from git.\n' "$UPSTREAM_DIR/PROVENANCE.md" >&2
        exit 2
    fi
}

# A short hash of files (names and contents) and strings.
inputs_key() {
    local f
    {
        for f in "$@"; do
            if [[ -f $f ]]; then
                printf '%s\n' "${f#"$REPO"/}"
                cat "$f"
            else
                printf '%s\n' "$f"
            fi
        done
    } | sha256sum | cut -c1-12
}

# The image labelled with a key, if any.
image_by_key() {
    dk "$BUILDER" images --filter "label=pf-testbed.key=$1" --format '{{.Repository}}:{{.Tag}}' |
        grep -v '<none>' | head -n1
}

# image_base SUITE: a Debian minbase root made by debootstrap, imported as
# pf-testbed/debian:SUITE-<key>. Sets IMAGE[debian-SUITE].
image_base() {
    local suite=$1 key tag root files=("$IMAGES_DIR"/debian/*)
    key=$(inputs_key "$suite" minbase "${files[@]}")
    tag=pf-testbed/debian:$suite-$key
    IMAGE[debian-$suite]=$tag
    if [[ ${PF_TEST_REBUILD:-0} != 1 ]] && dk "$BUILDER" image inspect "$tag" >/dev/null 2>&1; then
        IMAGES_CACHED=$((IMAGES_CACHED + 1))
        return
    fi
    local start
    start=$(now_ms)
    root=$PF_STATE/rootfs/$suite
    unmount_under "$root"
    rm -rf "$root"
    mkdir -p "$(dirname "$root")"
    log "debootstrap --variant=minbase $suite (log: $RESULTS/debootstrap-$suite.log)"
    if ! debootstrap --variant=minbase "$suite" "$root" "$DEBIAN_MIRROR" >"$RESULTS/debootstrap-$suite.log" 2>&1; then
        unmount_under "$root"
        tail -n 20 "$RESULTS/debootstrap-$suite.log" >&2
        die "debootstrap $suite failed"
    fi
    unmount_under "$root"
    install -m 755 "$IMAGES_DIR/debian/policy-rc.d" "$root/usr/sbin/policy-rc.d"
    install -m 644 "$IMAGES_DIR/debian/docker-clean" "$root/etc/apt/apt.conf.d/docker-clean"
    if [[ $suite == sid ]]; then
        install -m 644 "$IMAGES_DIR/debian/sid-valid-until" "$root/etc/apt/apt.conf.d/99valid-until"
    fi
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    tar -C "$root" -c . | dk "$BUILDER" import --change 'CMD ["bash"]' \
        --change "LABEL pf-testbed.key=$key" - "$tag" >/dev/null
    rm -rf "$root"
    IMAGES_BUILT=$((IMAGES_BUILT + 1))
    note "$tag in $(since "$start")s"
}

# image_build ROLE FOLDER BASE REPOSITORY PACKAGE [UPSTREAM_FOLDER]: builds
# containers/images/FOLDER from BASE (with the upstream files copied into the
# context) and tags it REPOSITORY:<PACKAGE's Debian version>-pftest.<key>.
image_build() {
    local role=$1 folder=$2 base=$3 repo=$4 package=$5 upstream=${6:-} ctx key found
    ctx=$PF_STATE/context/$role
    rm -rf "$ctx"
    mkdir -p "$ctx"
    if [[ -n $upstream ]]; then
        # The entrypoint scripts and licence; the upstream Dockerfile is only
        # a reference (ours replaces its package sources).
        cp "$UPSTREAM_DIR/$upstream"/* "$ctx/"
        rm -f "$ctx/Dockerfile"
    fi
    cp "$IMAGES_DIR/$folder"/* "$ctx/"
    key=$(inputs_key "$base" "$repo" "$package" "$ctx"/*)
    if [[ ${PF_TEST_REBUILD:-0} != 1 ]] && found=$(image_by_key "$key") && [[ -n $found ]]; then
        IMAGE[$role]=$found
        IMAGES_CACHED=$((IMAGES_CACHED + 1))
        rm -rf "$ctx"
        return
    fi
    image_docker_build "$role" "$ctx" "$base" "$key" "$repo" "dpkg-query -W -f='\${Version}' $package"
    rm -rf "$ctx"
}

# Builds a context with BASE as build argument and tags the result with the
# version VERSION_CMD prints inside it.
image_docker_build() {
    local role=$1 ctx=$2 base=$3 key=$4 repo=$5 version_cmd=$6 tmp version start
    start=$(now_ms)
    tmp=pf-testbed/build-$role:$key
    log "docker build $role (log: $RESULTS/build-$role.log)"
    if ! DOCKER_BUILDKIT=0 dk "$BUILDER" build --network host --build-arg "BASE=$base" \
        --label "pf-testbed.key=$key" -t "$tmp" "$ctx" >"$RESULTS/build-$role.log" 2>&1; then
        tail -n 30 "$RESULTS/build-$role.log" >&2
        die "building the $role image failed"
    fi
    version=$(dk "$BUILDER" run --rm --network none --user 0 --entrypoint sh "$tmp" -c "$version_cmd")
    version=$(sed -E 's/^[0-9]+://; s/[-+~].*//' <<<"$version")
    [[ $version =~ ^[0-9][0-9.]*$ ]] || die "cannot read a version for $role from '$version'"
    IMAGE[$role]=$repo:$version-pftest.$key
    dk "$BUILDER" tag "$tmp" "${IMAGE[$role]}"
    dk "$BUILDER" rmi "$tmp" >/dev/null
    IMAGES_BUILT=$((IMAGES_BUILT + 1))
    note "${IMAGE[$role]} in $(since "$start")s"
}

# The look-alikes of the official images and the monitoring images.
images_build_all() {
    images_check_upstream
    image_base bookworm
    image_base sid
    local bw=${IMAGE[debian-bookworm]}
    image_build postgres postgres "$bw" postgres postgresql-15 postgres-15-bookworm
    image_build redis redis "$bw" redis redis-server redis-7.0-debian
    image_build load-balancer nginx "${IMAGE[debian-sid]}" nginx nginx nginx-mainline-debian
    image_build prometheus prometheus "$bw" prom/prometheus prometheus
    image_build alertmanager alertmanager "${IMAGE[debian-sid]}" prom/alertmanager prometheus-alertmanager
    image_build postgres-exporter postgres-exporter "$bw" prometheuscommunity/postgres-exporter prometheus-postgres-exporter
    image_build redis-exporter redis-exporter "$bw" oliver006/redis_exporter prometheus-redis-exporter
    image_build app-base app "$bw" pf-testbed/app-base python3
    image_build webhook webhook "${IMAGE[app-base]}" pf-testbed/webhook python3
    note "Grafana: skipped (not packaged in Debian); topologies with Grafana run without it"
}

# image_app NAME PORT ROUTE HEALTH TAG: the stand-in for one app service.
# Sets IMAGE[app.NAME].
image_app() {
    local name=$1 port=$2 route=$3 health=$4 tag=$5 key ctx found
    key=$(inputs_key "${IMAGE[app-base]}" "$name" "$port" "$route" "$health")
    if [[ ${PF_TEST_REBUILD:-0} != 1 ]] && found=$(image_by_key "$key") && [[ -n $found ]]; then
        IMAGE[app.$name]=$found
        IMAGES_CACHED=$((IMAGES_CACHED + 1))
        return
    fi
    ctx=$PF_STATE/context/app-$name
    rm -rf "$ctx"
    mkdir -p "$ctx"
    # shellcheck disable=SC2016 # a Dockerfile variable
    printf 'ARG BASE\nFROM ${BASE}\nCMD ["%s", "%s", "%s", "%s"]\n' "$name" "$port" "$route" "$health" >"$ctx/Dockerfile"
    image_docker_build "app.$name" "$ctx" "${IMAGE[app-base]}" "$key" "pf-testbed/$name" "printf %s '${tag#v}'"
    rm -rf "$ctx"
}

# Writes the image map of one topology for pf-testbed localize.
images_map() {
    local topology=$1 out=$2 role name
    {
        echo '# Written by containers/lib/images.sh for pf-testbed localize.'
        echo '[images]'
        for role in load-balancer postgres redis prometheus alertmanager postgres-exporter redis-exporter; do
            printf '%s = "%s"\n' "$role" "${IMAGE[$role]}"
        done
        echo '[apps]'
        while IFS=$'\t' read -r name _; do
            printf '%s = "%s"\n' "$name" "${IMAGE[app.$name]}"
        done < <(testbed apps "$topology")
    } >"$out"
}

# Removes pf-testbed images of older keys from an engine (not with --keep-images).
images_prune() {
    local engine=$1 keep ref
    keep=$(printf '%s\n' "${IMAGE[@]}")
    while read -r ref; do
        [[ $ref == *pftest.* || $ref == pf-testbed/debian:* ]] || continue
        grep -qxF "$ref" <<<"$keep" && continue
        dk "$engine" rmi "$ref" >/dev/null 2>&1 && note "removed stale image $ref"
    done < <(dk "$engine" images --format '{{.Repository}}:{{.Tag}}')
}

# The pf-render container image (Dockerfile), built and smoke-tested by
# scripts/test-image.sh with node 1's engine: one row with its verdict.
image_pf_render() {
    local logf=$RESULTS/pf-render-image.log rc=0 start
    start=$(now_ms)
    DOCKER_BUILDKIT=0 DOCKER_HOST=$(engine_sock n1) bounded 1200 bash "$REPO/scripts/test-image.sh" >"$logf" 2>&1 </dev/null || rc=$?
    check_row "pf-render image" "scripts/test-image.sh: static binary, FROM scratch image built and run (check, swarm as a non-root uid, lint)" \
        "exit $rc in $(since "$start")s$( ((rc == 0)) || printf ': %s' "$(tail -n1 "$logf" | cut -c1-160)")" "exit 0" test "$rc" -eq 0
}
