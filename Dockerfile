# Build stage: the release binary. The dependencies are built first, from
# the manifests alone, in a layer of their own: a change to the sources
# rebuilds only stockroute and its migrations.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src migration/src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > migration/src/main.rs && touch migration/src/lib.rs \
 && echo 'fn main() {}' > benches/planner.rs \
 && cargo build --release --locked --bin stockroute \
 && rm -rf src migration/src benches
COPY . .
# COPY keeps the sources' own times, which may be older than the stand-ins.
RUN touch src/main.rs src/lib.rs migration/src/main.rs migration/src/lib.rs \
 && cargo build --release --locked --bin stockroute

# Run stage: the binary, curl for the healthcheck, a writable data directory
# for the SQLite default.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data stockroute
COPY --from=build /src/target/release/stockroute /usr/local/bin/stockroute
USER stockroute
WORKDIR /data
ENV STOCKROUTE_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["stockroute"]
CMD ["serve"]
