# syntax=docker/dockerfile:1
# Two stages: build with the full Rust toolchain, run on a small distroless
# image (glibc and CA certificates; no shell, no package manager) as a
# non-root user.
#   docker build -t auth-service .
#   docker run -p 8080:8080 -e SMTP_URL=smtp://mail.example.com:587 auth-service
# or `docker compose up --build` for the whole stack (docker-compose.yml).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The crate registry and target/ are BuildKit cache mounts: after a code
# change only the service itself recompiles, never its dependencies. (The
# build needs no protoc: build.rs compiles the .proto files in Rust.)
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin auth-service \
    && cp target/release/auth-service /usr/local/bin/auth-service \
    && mkdir /data

# cc-debian12 matches the build stage's Debian 12 glibc; :nonroot runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/auth-service /usr/local/bin/auth-service
# The SQLite file and a generated secrets.key live here unless DATABASE_URL
# and SECRETS_KEY say otherwise.
COPY --from=build --chown=65532:65532 /data /data
USER nonroot:nonroot
# Production refuses to start without SMTP_URL. TLS: mount a certificate and
# set TLS_CERT_FILE and TLS_KEY_FILE (read again when the files change).
ENV BIND_ADDR=0.0.0.0 \
    DATA_DIR=/data \
    PORT=8080 \
    GRPC_PORT=50051 \
    APP_ENV=production \
    LOG_FORMAT=json
VOLUME /data
EXPOSE 8080 50051
# GET /healthz over HTTP or HTTPS (as configured) by the binary itself: no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/auth-service", "healthcheck"]
# `docker stop` sends SIGTERM: the service drains within SHUTDOWN_TIMEOUT
# (30s by default); give `docker stop -t` (or stop_grace_period) a little more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/auth-service"]
