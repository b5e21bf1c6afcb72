#!/usr/bin/env bash
# test-image.sh - build the pf-render container image (Dockerfile) and smoke-test it.
#
#   DOCKER_HOST=unix:///path/to/docker.sock scripts/test-image.sh
#   scripts/test-image.sh --binary-only      # no engine: the static binary and its checks
#
# 1. builds pf-render statically linked (glibc, -C target-feature=+crt-static) and checks
#    that it is: no program interpreter, no shared library, `ldd` finds nothing to load;
#    then renders and lints prod in an empty root (chroot, as uid 12345), as in the image;
# 2. lints the Dockerfile with hadolint (scripts/install-test-tools.sh installs it);
# 3. with the engine at DOCKER_HOST (this script starts none, and never uses the default
#    socket unless DOCKER_HOST names it): builds the image from the binary alone, checks its
#    size, and runs it: --version; check on a mounted topology (valid: exit 0, invalid:
#    exit 1 with the located error); swarm rendered as a non-root uid into a mounted folder,
#    files owned by that uid, byte for byte what the host binary renders; lint of that bundle.
#
# Environment: IMAGE (default pf-render:test), KEEP_IMAGE=1 keeps it, MAX_IMAGE_MB (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

BINARY_ONLY=0
case "${1:-}" in
  --binary-only) BINARY_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--binary-only]" >&2; exit 2 ;;
esac

TARGET=x86_64-unknown-linux-gnu
IMAGE=${IMAGE:-pf-render:test}
MAX_IMAGE_MB=${MAX_IMAGE_MB:-20}
BIN=$REPO/target/$TARGET/release/pf-render
TOOLS=$REPO/.tools/bin

log() { printf '==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if [[ $BINARY_ONLY -eq 0 && -z ${DOCKER_HOST:-} ]]; then
  echo "error: set DOCKER_HOST to the engine to build and run the image with" \
    "(for example unix:///run/pf-test/docker.sock); this script starts no engine." \
    "Without one: $0 --binary-only" >&2
  exit 2
fi

TMP=$(mktemp -d)
cleanup() {
  if [[ $BINARY_ONLY -eq 0 && ${KEEP_IMAGE:-0} != 1 ]]; then
    docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- 1. the static binary ------------------------------------------------------------
log "cargo build --release --target $TARGET (crt-static)"
# With --target, RUSTFLAGS reach only what is built for the target: build scripts and
# proc macros stay dynamic host programs, as they must.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --locked --release --target "$TARGET" -p pf-cli
[[ -x $BIN ]] || fail "$BIN was not built"

log "the binary is static"
description=$(file -b "$BIN")
grep -Eq 'statically linked|static-pie linked' <<<"$description" || fail "file: $description"
if readelf -lW "$BIN" | grep -q 'INTERP'; then fail "it has a program interpreter"; fi
needed=$(readelf -dW "$BIN" | grep '(NEEDED)' || true)
[[ -z $needed ]] || fail "it needs shared libraries: $needed"
if ldd_out=$(ldd "$BIN" 2>&1); then
  # glibc's ldd prints "statically linked" for a static-pie and exits 0 on some versions.
  grep -q 'statically linked' <<<"$ldd_out" || fail "ldd finds libraries: $ldd_out"
fi
# It runs with an empty environment and nothing else on the system it needs.
"$BIN" --version | grep -qx "pf-render $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)" ||
  fail "--version: $("$BIN" --version)"
env -i "$BIN" check topologies/prod.toml >/dev/null 2>&1 || fail "check prod.toml with an empty environment"
printf '    %s\n    %s bytes\n' "$description" "$(stat -c %s "$BIN")"

# What the image holds and nothing else: the binary in an empty root (no /etc, /lib, /tmp,
# /dev), run as a uid that owns only the output folder. chroot needs root.
log "in an empty root, as uid 12345"
[[ $(id -u) -eq 0 ]] || fail "the empty-root check needs root (chroot)"
empty=$TMP/empty-root
mkdir -p "$empty/usr/local/bin" "$empty/work/topologies" "$empty/work/out"
cp "$BIN" "$empty/usr/local/bin/pf-render"
cp topologies/prod.toml "$empty/work/topologies/"
chown 12345:12345 "$empty/work/out"
chroot --userspec=12345:12345 "$empty" /usr/local/bin/pf-render -q swarm \
  /work/topologies/prod.toml -o /work/out/prod || fail "swarm in an empty root"
[[ -f $empty/work/out/prod/docker-stack.yml ]] || fail "no docker-stack.yml rendered in the empty root"
chroot --userspec=12345:12345 "$empty" /usr/local/bin/pf-render lint /work/out/prod >/dev/null ||
  fail "lint in an empty root"

# --- 2. the Dockerfile -----------------------------------------------------------------
log "hadolint Dockerfile"
[[ -x $TOOLS/hadolint ]] || fail "hadolint not found in .tools/bin: run scripts/install-test-tools.sh"
"$TOOLS/hadolint" Dockerfile

if [[ $BINARY_ONLY -eq 1 ]]; then
  log "binary only: the image was not built (set DOCKER_HOST and run without --binary-only)"
  exit 0
fi

# --- 3. the image --------------------------------------------------------------------
command -v docker >/dev/null 2>&1 || fail "docker CLI not found"
log "docker build ($DOCKER_HOST)"
context=$TMP/context
mkdir -p "$context"
cp "$BIN" "$context/pf-render"
docker build --quiet -f Dockerfile -t "$IMAGE" "$context" >/dev/null

size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "image size: $size bytes"
((size <= MAX_IMAGE_MB * 1024 * 1024)) || fail "image is larger than $MAX_IMAGE_MB MB"
user=$(docker image inspect --format '{{.Config.User}}' "$IMAGE")
[[ $user == 65534:65534 ]] || fail "image user is '$user', not 65534:65534"

log "--version"
version=$(docker run --rm "$IMAGE" --version)
[[ $version == "$("$BIN" --version)" ]] || fail "image --version: $version"

log "check on a mounted topology"
work=$TMP/work
mkdir -p "$work/topologies" "$work/out"
cp topologies/prod.toml "$work/topologies/prod.toml"
sed 's/^quorum = 2$/quorum = 4/' topologies/prod.toml >"$work/topologies/broken.toml"
grep -q '^quorum = 4$' "$work/topologies/broken.toml" || fail "could not break the topology"
# Not root in the container, and not the image's 65534 either: the uid that owns the output
# folder, as `docker run -u "$(id -u):$(id -g)"` does for a person.
if [[ $(id -u) -eq 0 ]]; then
  uid=12345
  chown "$uid:$uid" "$work/out"
else
  uid=$(id -u)
fi
run() { docker run --rm -u "$uid:$uid" -v "$work/topologies:/work/topologies:ro" -v "$work/out:/work/out" "$IMAGE" "$@"; }
run check topologies/prod.toml >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "check prod.toml in the image"; }
set +e
# check prints its findings on standard output (they are its result).
run check topologies/broken.toml >"$TMP/err" 2>&1
status=$?
set -e
[[ $status -eq 1 ]] || { cat "$TMP/err" >&2; fail "check of a broken topology: exit $status, not 1"; }
grep -q 'error\[sentinel-quorum-out-of-range\]' "$TMP/err" || { cat "$TMP/err" >&2; fail "no located error"; }
grep -q -- '--> topologies/broken.toml:' "$TMP/err" || { cat "$TMP/err" >&2; fail "error not located"; }

log "swarm into a mounted folder as uid $uid"
run -q swarm topologies/prod.toml -o out/prod || fail "swarm in the image"
owners=$(find "$work/out/prod" -printf '%U:%G\n' | sort -u)
[[ $owners == "$uid:$uid" ]] || fail "rendered files are owned by: $owners"
# Byte for byte what the host binary renders from the same path.
(cd "$work" && "$BIN" swarm topologies/prod.toml --check out/prod) || fail "the image rendered something else"
run lint out/prod >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "lint of the bundle in the image"; }

log "ok: $IMAGE ($size bytes)"
