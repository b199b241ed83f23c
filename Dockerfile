# Two stages: build with the full toolchain, run on a small Debian image as a
# non-root user. Build: docker build -t auth-service .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked && rm -rf src
COPY build.rs ./
COPY proto proto
COPY migrations migrations
COPY templates templates
COPY src src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /nonexistent auth \
    && mkdir /data && chown auth /data
COPY --from=build /src/target/release/auth-service /usr/local/bin/auth-service
USER auth
ENV BIND_ADDR=0.0.0.0 \
    DATA_DIR=/data \
    PORT=8080 \
    GRPC_PORT=50051 \
    APP_ENV=production \
    LOG_FORMAT=json
# The SQLite file lives here unless DATABASE_URL points at PostgreSQL.
VOLUME /data
EXPOSE 8080 50051
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT} || exit 1"]
ENTRYPOINT ["/usr/local/bin/auth-service"]
