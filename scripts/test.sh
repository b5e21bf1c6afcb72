#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the real consumers the tests
# check output with (nginx, PostgreSQL, Redis, promtool, shellcheck, the
# compose-spec validator), then format, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-tools.sh

# Snapshots are reviewed by people; the suite never writes them.
export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Warning-free API documentation (broken or private links, bad HTML), as
# docs.rs would build it.
echo "== cargo doc -D warnings"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace --locked
# Licenses, banned crates (libyaml among them), duplicate versions and
# sources of what the published crates build with (deny.toml). Advisories
# need the RustSec database from github.com, which CI cannot reach here.
echo "== cargo deny check licenses bans sources"
PATH="$PWD/.tools/bin:$PATH" cargo deny --frozen check -D warnings licenses bans sources
echo "== cargo test"
cargo test --workspace --locked
# The README's install line works offline from the lock file (the dev
# profile reuses the test build; the release build is the same command
# without --debug, timed in docs/releasing.md).
echo "== cargo install --locked --path crates/pf-cli"
install_root=$(mktemp -d)
cargo install --locked --offline --debug --quiet --path crates/pf-cli --root "$install_root"
"$install_root/bin/pf-render" --version
rm -rf "$install_root"
# The container image's binary: static, renders and lints prod in an empty
# root as a non-root uid; hadolint on the Dockerfile. Building and running
# the image needs an engine: the container tier does that
# (docs/containers.md).
echo "== container image binary (scripts/test-image.sh --binary-only)"
bash scripts/test-image.sh --binary-only
# The fuzz targets live outside the workspace (cargo-fuzz's layout); this
# keeps them compiling. Running them is in docs/fuzzing.md.
echo "== fuzz targets compile"
cargo check --locked --manifest-path fuzz/Cargo.toml
