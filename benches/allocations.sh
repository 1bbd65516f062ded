#!/usr/bin/env bash
# What a flash-sale hold allocates, and where: the server run under
# valgrind's DHAT, which counts every allocation with its call stack, through
# a 1,000,000-unit sale on a fresh PostgreSQL database (1,000 keep-alive
# clients calling reserveOrder, one stockLevelChanged subscriber), then a
# summary per hold: allocations and bytes, split by the part of the server
# that made them, and the call sites that make the most.
#
#   bash benches/allocations.sh                 # -> target/allocations/dhat.json
#   TOOL=callgrind bash benches/allocations.sh  # -> target/allocations/callgrind.out
#
# With TOOL=callgrind the same sale is run under callgrind instead, which
# counts instructions (on mimalloc, as served), switched on for the
# measured sale only, and the summary is instructions per hold: in all,
# and the inclusive cost of the parts a hold goes through
# (benches/support/callgrind_summary.py).
#
# Counts, not seconds: for the same code and load they repeat within a few
# per cent whatever else the machine does, where flash_pairs.sh's rates move
# by ±10 % from run to run. So they show what a change to the hold path
# saves in allocations; what that buys in holds/s is flash_pairs.sh's and
# flash.sh's to say. Under valgrind the server runs ~50 times slower, so a
# batch gathers fewer requests than in flash.sh and the batch's share per
# hold reads higher; compare runs of this script with each other only.
#
# The build: the `allocations` profile (release without LTO, with line
# tables, so that it builds in minutes and the stacks name files and lines)
# with the `system-allocator` feature (DHAT sees only the C allocator,
# which mimalloc would replace). ~6 minutes from cold, then ~2 minutes of
# sale. Needs valgrind, wrk and the local PostgreSQL ($PG_SERVER).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18900}
CONNECTIONS=${CONNECTIONS:-1000}
DURATION=${DURATION:-40}
export SKU=DROP-SNEAKER-LTD
OUT=target/allocations
WORK=$(mktemp -d)
server=
db=

# shellcheck source=benches/support/serve.sh
source benches/support/serve.sh
trap tidy_up EXIT

for tool in valgrind wrk; do
  command -v "$tool" >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  }
done
TOOL=${TOOL:-dhat}
case "$TOOL" in
  dhat) features=(--features system-allocator) ;;
  callgrind) features=() ;;
  *) echo "TOOL is dhat or callgrind, not $TOOL" >&2; exit 2 ;;
esac
cargo build --quiet --profile allocations "${features[@]}" --bin stockroute --example feed_lag
bin=$OUT/stockroute
mkdir -p "$OUT"
if [ "$TOOL" = dhat ]; then
  profiler=(--tool=dhat --dhat-out-file="$OUT/dhat.json")
else
  command -v callgrind_control >/dev/null || { echo "callgrind_control (valgrind) is missing" >&2; exit 1; }
  # Counting starts with the measured sale, not at start-up.
  profiler=(--tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out")
fi

db="allocations_$$"
psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $db"
url="$PG_SERVER/$db"
DATABASE_URL="$url" STOCKROUTE_ADDR="127.0.0.1:$PORT" STOCKROUTE_COST_BUDGETS=off RUST_LOG=warn \
  valgrind "${profiler[@]}" "$bin" serve >"$WORK/server.log" 2>&1 &
server=$!
# Under valgrind the server starts in seconds, not milliseconds.
ready=
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && { ready=1; break; }
  sleep 0.5
done
[ -n "$ready" ] || { echo "the server under valgrind did not become ready; its log:" >&2; cat "$WORK/server.log" >&2; exit 1; }
FLASH_KEYS=$(DATABASE_URL="$url" "$bin" api-key create --role checkout --name flash 2>/dev/null | tail -1)
export FLASH_KEYS
admin=$(DATABASE_URL="$url" "$bin" api-key create --role admin --name flash-admin 2>/dev/null | tail -1)
curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -H "authorization: Bearer $admin" \
  -d "{\"query\":\"mutation{setStock(input:{sku:\\\"$SKU\\\",warehouseCode:\\\"BER1\\\",quantity:1000000}){quantity}}\"}" >/dev/null

wrk_sale() { # $1 the nonce, $2 seconds
  NONCE=$1 wrk -t2 -c"$CONNECTIONS" -d"$2s" --timeout 30s -s benches/support/reserve.lua \
    "http://127.0.0.1:$PORT/graphql" | sed -n 's/^answers //p'
}
# The subscriber first, so that every hold's event is counted.
"$OUT/examples/feed_lag" --addr "127.0.0.1:$PORT" --key "$admin" --sku "$SKU" --idle-seconds 10 \
  >"$WORK/feed.txt" 2>&1 &
feed=$!
for _ in $(seq 1 100); do grep -q subscribed "$WORK/feed.txt" && break; sleep 0.2; done
echo "warm-up: $(wrk_sale 1 15)"
held() { psql -Atq "$url" -c "SELECT COUNT(*) FROM reservations"; }
if [ "$TOOL" = callgrind ]; then
  sleep 2
  before=$(held)
  callgrind_control -i on "$server" >/dev/null
  echo "sale: $(wrk_sale 2 "$DURATION")"
  # Until the subscriber has had the sale's last events.
  sleep 3
  callgrind_control -i off "$server" >/dev/null
  holds=$(($(held) - before))
else
  echo "sale: $(wrk_sale 2 "$DURATION")"
  sleep 2
  holds=$(held)
fi
kill -INT "$server"
wait "$server" || true
server=
wait "$feed" || true
echo "subscriber: $(grep '^feed:' "$WORK/feed.txt" || cat "$WORK/feed.txt")"
if [ "$TOOL" = callgrind ]; then
  echo "holds in the measured sale: $holds"
  python3 benches/support/callgrind_summary.py "$OUT/callgrind.out" "$holds"
else
  echo "holds, warm-up and sale: $holds"
  python3 benches/support/dhat_summary.py "$OUT/dhat.json" "$holds"
fi
