#!/usr/bin/env bash
# Live-event fan-out benchmark: the release server on PostgreSQL with the
# demo data; the load tool (examples/fanout.rs) opens N websocket
# subscribers to stockLevelChanged for one SKU and drives receiveStock on
# that SKU. For each N in $SUBSCRIBERS it runs twice: writers at a steady
# $RATE changes/s (fan-out latency p50/p99 from each movement's timestamp to
# its receipt, and whether every subscriber got every event), and writers
# flat out (throughput, to compare with N = 0).
#
#   bash benches/fanout.sh                        # N = 0, 1000, 10000
#   SUBSCRIBERS="0 1000" RATE=50 DURATION=10 bash benches/fanout.sh
#   UNSHARED=1 bash benches/fanout.sh             # one execution per subscriber
#
# Needs a PostgreSQL server ($PG_SERVER, default the local one, trust auth).
# Raises the open-file limit for the server and the tool (one descriptor
# per websocket on each side).
set -euo pipefail
cd "$(dirname "$0")/.."

SUBSCRIBERS=${SUBSCRIBERS:-"0 1000 10000"}
RATE=${RATE:-20}
DURATION=${DURATION:-15}
WRITERS=${WRITERS:-4}
PORT=${PORT:-18091}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
DB="stockroute_fanout_$$"
WORK=$(mktemp -d)

ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet --bin stockroute --example fanout

# shellcheck source=benches/support/serve.sh
source benches/support/serve.sh
start_server
export DATABASE_URL="$PG_SERVER/$DB"
KEY=$(target/release/stockroute api-key create --role admin --name "fanout-$$" | tail -1)

# The server's CPU time so far (user + system), in milliseconds.
server_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$server/stat"; }
# One run of the tool with rate $2 for $1 subscribers; then the server's CPU
# time over the run (connecting included) per 1,000 events delivered: the
# steadier figure when comparing builds on a shared machine.
run_tool() {
  local before
  before=$(server_ms)
  target/release/examples/fanout --addr "127.0.0.1:$PORT" --key "$KEY" ${UNSHARED:+--unshared} \
    --subscribers "$1" --writers "$WRITERS" --rate "$2" --seconds "$DURATION" | tee "$WORK/tool.txt"
  awk -v ms="$(( $(server_ms) - before ))" \
    '/^fan-out: / && $2 > 0 { printf "server CPU: %.1f ms per 1,000 deliveries\n", ms * 1000 / $2 }' "$WORK/tool.txt"
}

for n in $SUBSCRIBERS; do
  echo "== $n subscribers, steady $RATE changes/s"
  run_tool "$n" "$RATE"
  [ -n "${STEADY_ONLY:-}" ] && continue
  echo "== $n subscribers, writers flat out"
  run_tool "$n" 0
done
