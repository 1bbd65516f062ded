# Build stage: the release binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin stockroute

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
