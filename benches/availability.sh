#!/usr/bin/env bash
# Storefront read benchmark: `availability` for 20 SKUs with shipTo over the
# demo data, against the release build on PostgreSQL, at $CONNECTIONS
# connections for $DURATION seconds; then, in the same run and at the same
# concurrency, pgbench running the raw SQL the endpoint needs (the per-SKU
# sums and the per-warehouse rows). stockroute runs twice on the same
# database: as configured by default, answering repeated SKUs from memory
# until their stock changes, and with that cache off, reading the database
# on every request. After a warm-up, $ROUNDS rounds alternate the three;
# prints requests/s and p50/p99 per round, their medians, and the ratios of
# the median rates.
#
#   bash benches/availability.sh              # defaults: 64 connections, 3 rounds of 20 s
#   CONNECTIONS=32 DURATION=10 ROUNDS=5 bash benches/availability.sh
#   WRITES=50 bash benches/availability.sh    # meanwhile, 50 receiveStock/s on those SKUs
#
# With WRITES, one more connection sends receiveStock for the benchmarked
# SKUs in turn, at about that many per second, through all rounds: each
# write sends its SKU's next read to the database.
#
# Needs a PostgreSQL server ($PG_SERVER, default the local one, trust auth);
# installs wrk from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
WRITES=${WRITES:-0}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
DB="stockroute_bench_$$"
WORK=$(mktemp -d)

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin stockroute

# shellcheck source=benches/support/serve.sh
source benches/support/serve.sh
start_server
# The second server: same database, no demo load (the first did it), no
# cache. Stopped before the first, whose exit trap drops the database.
UNCACHED_PORT=$((PORT + 1))
DATABASE_URL="$PG_SERVER/$DB" STOCKROUTE_ADDR="127.0.0.1:$UNCACHED_PORT" STOCKROUTE_DEMO=false \
  STOCKROUTE_AVAILABILITY_CACHE_TTL=off STOCKROUTE_COST_BUDGETS=off RUST_LOG=warn \
  target/release/stockroute serve >"$WORK/uncached.log" 2>&1 &
uncached=$!
writer=
trap 'kill $writer "$uncached" 2>/dev/null || true; wait "$uncached" 2>/dev/null || true; stop_server' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$UNCACHED_PORT/readyz" >/dev/null 2>&1 && break
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

# The writer: receiveStock, one SKU after the other, paced by wrk's delay().
if [ "$WRITES" != 0 ]; then
  key=$(DATABASE_URL="$PG_SERVER/$DB" target/release/stockroute api-key create --role admin --name "bench-$$" | tail -1)
  lua_skus=$(printf '"%s",' "${SKUS[@]}")
  cat >"$WORK/writes.lua" <<LUA
local skus = { ${lua_skus%,} }
local i = 0
request = function()
  i = i % #skus + 1
  local body = '{"query":"mutation(\$i:StockChangeInput!){receiveStock(input:\$i){quantity}}",'
    .. '"variables":{"i":{"sku":"' .. skus[i] .. '","warehouseCode":"BER1","quantity":1}}}'
  return wrk.format("POST", "/graphql",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $key" }, body)
end
delay = function() return $(( 1000 / WRITES )) end
LUA
fi

to_ms() { # wrk prints 1.23ms / 456.78us / 1.02s
  awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v } else { sub(/s$/,"",v); print v*1000 } }'
}
# A process's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# One wrk run of $1 seconds against the server with port $2 and pid $3;
# prints "requests/s p50 p99 cpu", cpu being the server's CPU milliseconds
# per request: steadier than requests/s on a shared machine, so it is the
# figure to compare when tuning.
run_wrk() {
  local before after
  before=$(cpu_ticks "$3")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1s" --latency -s "$WORK/availability.lua" \
    "http://127.0.0.1:$2/graphql" >"$WORK/wrk.txt"
  after=$(cpu_ticks "$3")
  echo "$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.txt")" \
    "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.txt" | to_ms)" \
    "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt" | to_ms)" \
    "$(awk -v t="$(( after - before ))" -v hz="$(getconf CLK_TCK)" \
        '/ requests in / { printf "%.3f", t * 1000 / hz / $1 }' "$WORK/wrk.txt")"
}
# One pgbench run; prints "transactions/s p50 p99" (latencies from its log).
run_pgbench() {
  rm -f "$WORK"/pgb.*
  (cd "$WORK" && pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$1" \
    -f availability.sql --log --log-prefix=pgb "$PG_SERVER/$DB" >pgbench.txt 2>&1)
  sort -n -k3 "$WORK"/pgb.* | awk '{ print $3 / 1000 }' >"$WORK/pg_latencies"
  local n
  n=$(wc -l <"$WORK/pg_latencies")
  echo "$(awk '/^tps = / { print $3 }' "$WORK/pgbench.txt")" \
    "$(sed -n "$(( (n * 50 + 99) / 100 ))p" "$WORK/pg_latencies")" \
    "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$WORK/pg_latencies")"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Both sides warm up (connections, caches, prepared statements) before any
# round counts; then the rounds alternate, so that drift in the machine
# affects both alike.
echo "== warming up: 5 s each"
run_wrk 5 "$PORT" "$server" >/dev/null
run_wrk 5 "$UNCACHED_PORT" "$uncached" >/dev/null
run_pgbench 5 >/dev/null
if [ "$WRITES" != 0 ]; then
  wrk -t1 -c1 -d"$(( (DURATION * 3 + 10) * ROUNDS ))s" -s "$WORK/writes.lua" \
    "http://127.0.0.1:$PORT/graphql" >"$WORK/writes.txt" &
  writer=$!
  writes_started=$(date +%s)
  echo "== meanwhile about $WRITES writes/s (receiveStock on the same SKUs)"
fi
CACHED="stockroute (GraphQL)"
UNCACHED="  the same, cache off"
PGBENCH="pgbench (raw SQL)"
printf '\n%-8s %-22s %12s %10s %10s %14s\n' "round" "" "requests/s" "p50 ms" "p99 ms" "CPU ms/request"
: >"$WORK/cached"
: >"$WORK/uncached"
: >"$WORK/pgbench"
for round in $(seq 1 "$ROUNDS"); do
  for side in cached uncached; do
    if [ "$side" = cached ]; then
      read -r rps p50 p99 cpu <<<"$(run_wrk "$DURATION" "$PORT" "$server")"
      name=$CACHED
    else
      read -r rps p50 p99 cpu <<<"$(run_wrk "$DURATION" "$UNCACHED_PORT" "$uncached")"
      name=$UNCACHED
    fi
    echo "$rps $p50 $p99" >>"$WORK/$side"
    printf '%-8s %-22s %12.0f %10.2f %10.2f %14.3f\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu"
  done
  read -r rps p50 p99 <<<"$(run_pgbench "$DURATION")"
  echo "$rps $p50 $p99" >>"$WORK/pgbench"
  printf '%-8s %-22s %12.0f %10.2f %10.2f\n' "$round" "$PGBENCH" "$rps" "$p50" "$p99"
done
for side in cached uncached pgbench; do
  case $side in cached) name=$CACHED ;; uncached) name=$UNCACHED ;; *) name=$PGBENCH ;; esac
  printf '%-8s %-22s %12.0f %10.2f %10.2f\n' "median" "$name" \
    "$(cut -d' ' -f1 "$WORK/$side" | median)" \
    "$(cut -d' ' -f2 "$WORK/$side" | median)" \
    "$(cut -d' ' -f3 "$WORK/$side" | median)"
done
if [ "$WRITES" != 0 ]; then
  kill -INT "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  # A refused write answers 200 with errors, so count what the ledger got.
  recorded=$(psql -Atq "$PG_SERVER/$DB" -c "SELECT COUNT(*) FROM inventory_movements WHERE created_by = 'bench-$$'")
  awk -v recorded="$recorded" -v seconds="$(( $(date +%s) - writes_started ))" \
    '/ requests in / { printf "writes: %d sent in %d s (%.1f/s), %d recorded\n", $1, seconds, $1 / seconds, recorded }' "$WORK/writes.txt"
fi
pg=$(cut -d' ' -f1 "$WORK/pgbench" | median)
awk -v a="$(cut -d' ' -f1 "$WORK/cached" | median)" -v u="$(cut -d' ' -f1 "$WORK/uncached" | median)" -v b="$pg" \
  'BEGIN { printf "ratio of the medians, stockroute / pgbench: %.2f (goal >= 0.70); with the cache off: %.2f\n", a / b, u / b }'
