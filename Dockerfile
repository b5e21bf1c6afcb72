# pf-render as a container image: one statically linked binary on an empty
# base (about 9 MB, no shell, no package manager, nothing else to patch).
#
# The binary is built first, on the host, and is the whole build context:
#
#   RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --locked --release --target x86_64-unknown-linux-gnu -p pf-cli
#   mkdir -p /tmp/pf-render-image
#   cp target/x86_64-unknown-linux-gnu/release/pf-render /tmp/pf-render-image/
#   docker build -f Dockerfile -t pf-render:0.1.0 /tmp/pf-render-image
#
# scripts/test-image.sh does exactly this and smoke-tests the image. Use it:
#
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" pf-render:0.1.0 \
#     swarm topologies/prod.toml
#
# (glibc, linked statically: rustup's musl target is not needed, and the
# renderer resolves no host or user names, which static glibc cannot.)
FROM scratch

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="pf-render" \
      org.opencontainers.image.description="Turn one typed topology file into a complete, checked HA deployment, and lint deployable files" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="https://github.com/promptforge/ha-codegen"

# The mode comes from the build context (cargo writes 0755); `--chmod`
# would need BuildKit.
COPY pf-render /usr/local/bin/pf-render

# No user database in an empty image: a numeric user, not root. Pass
# `-u "$(id -u):$(id -g)"` so that rendered files belong to you.
USER 65534:65534
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/pf-render"]
CMD ["--help"]
