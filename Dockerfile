# syntax=docker/dockerfile:1
#
# conferenceli for linux/arm64 (the booth's Raspberry Pi 5) and linux/amd64:
#
#   docker buildx build --platform linux/arm64,linux/amd64 \
#     --build-arg VERSION=0.1.0 -t ghcr.io/conferenceli/conferenceli:0.1.0 --push .
#
# Each platform builds natively (buildx runs the foreign one under QEMU), with the same command
# CI's checks use (`cargo … --locked`). Every dependency is pure Rust or builds with the image's
# C compiler (ring); the USB (hidraw) and GPIO backends need no system library, so the binary
# only needs glibc and runs on distroless/cc as a non-root user. tests/it/shipping.rs checks
# this file against Cargo.toml. The binary is not stripped further here: the release profile
# already drops debug info and keeps the symbol table, so a panic's backtrace names its functions
# (docs/pi.md, which also says how `.ci/aarch64` cross-builds and tests it without Docker).

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Cargo reads every target the manifest declares, so benches/ and tests/ come along.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY benches ./benches
COPY tests ./tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin conferenceli \
 && install -m 0755 target/release/conferenceli /conferenceli

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="conferenceli" \
      org.opencontainers.image.description="A conference booth's Kubernetes show in one binary" \
      org.opencontainers.image.source="https://github.com/conferenceli/conferenceli" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /conferenceli /usr/local/bin/conferenceli
USER 65532:65532
# The private listener, the contact form, the health listener (probes and metrics).
EXPOSE 8080 8081 8082
# Kubernetes ignores HEALTHCHECK; the Deployment's probes ask /healthz and /readyz on 8082.
# checkov:skip=CKV_DOCKER_2:Kubernetes runs the probes (deploy/base/deployment.yaml), not HEALTHCHECK
ENTRYPOINT ["/usr/local/bin/conferenceli"]
CMD ["run"]
