#!/usr/bin/env bash
# Storefront read benchmark: `availability` for 20 SKUs with shipTo over the
# demo data, against the release build on PostgreSQL, at $CONNECTIONS
# connections for $DURATION seconds; then, in the same run and at the same
# concurrency, pgbench running the raw SQL the endpoint needs (the per-SKU
# sums and the per-warehouse rows). Prints requests/s and p50/p99 for both
# and their ratio.
#
#   bash benches/availability.sh              # defaults: 64 connections, 20 s
#   CONNECTIONS=32 DURATION=10 bash benches/availability.sh
#
# Needs a PostgreSQL server ($PG_SERVER, default the local one, trust auth);
# installs wrk from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
DB="stockroute_bench_$$"
WORK=$(mktemp -d)

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin stockroute

DATABASE_URL="$PG_SERVER/$DB" STOCKROUTE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  target/release/stockroute serve >"$WORK/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

# 20 SKUs of the demo catalogue, every third one, so that the set mixes
# SKUs stocked everywhere, in one warehouse, and sold out.
mapfile -t SKUS < <(psql -Atq "$PG_SERVER/$DB" -c \
  "SELECT sku FROM (SELECT sku, row_number() OVER (ORDER BY sku) AS n FROM products) s WHERE n % 3 = 0 ORDER BY sku LIMIT 20")
json_skus=$(printf '"%s",' "${SKUS[@]}"); json_skus="[${json_skus%,}]"
sql_skus=$(printf "'%s'," "${SKUS[@]}"); sql_skus="${sql_skus%,}"

body=$(printf '{"query":"query($skus:[String!]!,$to:LocationInput){availability(skus:$skus,shipTo:$to){sku onHand reserved available inStock warehouses{available distanceKm warehouse{code}}}}","variables":{"skus":%s,"to":{"latitude":48.1351,"longitude":11.582}}}' "$json_skus")
# One request by hand first: the benchmark is void if it answers errors.
if curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -d "$body" | grep -q '"errors"'; then
  echo "the availability request answers errors; not benchmarking" >&2
  exit 1
fi
cat >"$WORK/availability.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA

# What the endpoint reads, as plain SQL: totals per SKU over active
# warehouses, and the active warehouses with stock (with their position, for
# the distance).
cat >"$WORK/availability.sql" <<SQL
SELECT p.sku, COALESCE(SUM(i.quantity), 0), COALESCE(SUM(i.reserved), 0)
  FROM products p
  LEFT JOIN inventory i ON i.product_id = p.id
   AND i.warehouse_id IN (SELECT id FROM warehouses WHERE active)
 WHERE p.sku IN ($sql_skus)
 GROUP BY p.sku;
SELECT p.sku, w.code, w.latitude, w.longitude, i.quantity - i.reserved
  FROM inventory i
  JOIN products p ON p.id = i.product_id
  JOIN warehouses w ON w.id = i.warehouse_id
 WHERE w.active AND i.quantity > i.reserved AND p.sku IN ($sql_skus);
SQL

echo "== stockroute: availability(20 SKUs, shipTo), $CONNECTIONS connections, ${DURATION}s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/availability.lua" \
  "http://127.0.0.1:$PORT/graphql" | tee "$WORK/wrk.txt"

echo "== pgbench: the same reads as raw SQL, $CONNECTIONS clients, ${DURATION}s"
(cd "$WORK" && pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" \
  -f availability.sql --log --log-prefix=pgb "$PG_SERVER/$DB" | tee pgbench.txt)

to_ms() { # wrk prints 1.23ms / 456.78us / 1.02s
  awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v } else { sub(/s$/,"",v); print v*1000 } }'
}
ours_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.txt")
ours_p50=$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.txt" | to_ms)
ours_p99=$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt" | to_ms)
pg_rps=$(awk '/^tps = / { print $3 }' "$WORK/pgbench.txt")
sort -n -k3 "$WORK"/pgb.* | awk '{ print $3 / 1000 }' >"$WORK/pg_latencies"
n=$(wc -l <"$WORK/pg_latencies")
pg_p50=$(sed -n "$(( (n * 50 + 99) / 100 ))p" "$WORK/pg_latencies")
pg_p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$WORK/pg_latencies")

printf '\n%-22s %12s %10s %10s\n' "" "requests/s" "p50 ms" "p99 ms"
printf '%-22s %12.0f %10.2f %10.2f\n' "stockroute (GraphQL)" "$ours_rps" "$ours_p50" "$ours_p99"
printf '%-22s %12.0f %10.2f %10.2f\n' "pgbench (raw SQL)" "$pg_rps" "$pg_p50" "$pg_p99"
awk -v a="$ours_rps" -v b="$pg_rps" 'BEGIN { printf "ratio stockroute / pgbench: %.2f (goal >= 0.70)\n", a / b }'
