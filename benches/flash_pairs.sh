#!/usr/bin/env bash
# Two builds of the server against each other, in alternating flash
# sales: what a change to the checkout's write path bought. It compares
# the code with itself, so read its figures as that, never as where the
# service stands (benches/flash.sh measures that, against the seed
# pattern and the stack's ceiling).
#
# Each sale runs on a fresh PostgreSQL database: $CONNECTIONS keep-alive
# clients calling reserveOrder for 1 unit of one SKU with 1,000,000 units
# in stock, a $WARMUP s warm-up with ids of its own, then $DURATION s
# measured, with one stockLevelChanged subscriber (examples/feed_lag)
# unless SUBSCRIBER=0. After each sale it checks the books as flash.sh
# does. It prints each sale (holds/s, p50, p99, the server's and
# PostgreSQL's CPU per hold, the machine's idle share, the batches and
# how long each held the stock row), then per build the mean and range,
# and B against A per pair: this machine moves by ±10 % and more from
# run to run, so only a difference that holds across the pairs says
# anything.
#
#   A=/tmp/before/stockroute bash benches/flash_pairs.sh     # B: target/release/stockroute
#   A=target/release/stockroute B=target/release/stockroute \
#     B_ENV="STOCKROUTE_POOL_SIZE=16" PAIRS=6 bash benches/flash_pairs.sh
#
# A_ENV and B_ENV are extra environment for that build's server only.
set -euo pipefail
cd "$(dirname "$0")/.."

A=${A:?A=path/to/the stockroute binary to compare against}
B=${B:-target/release/stockroute}
A_ENV=${A_ENV:-}
B_ENV=${B_ENV:-}
PAIRS=${PAIRS:-4}
CONNECTIONS=${CONNECTIONS:-1000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
PORT=${PORT:-18500}
SUBSCRIBER=${SUBSCRIBER:-1}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
export SKU=DROP-SNEAKER-LTD
WAREHOUSE=BER1
UNITS=1000000
RESULTS=$(mktemp)
WORK=
server=
db=

# shellcheck source=benches/support/measure.sh
source benches/support/measure.sh
# shellcheck source=benches/support/serve.sh
source benches/support/serve.sh

trap 'tidy_up; rm -f "$RESULTS"' EXIT

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --example feed_lag
for bin in "$A" "$B"; do
  [ -x "$bin" ] || { echo "no server binary at $bin" >&2; exit 1; }
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "A: $A ${A_ENV:+($A_ENV)}"
echo "B: $B ${B_ENV:+($B_ENV)}"
echo "each sale: $CONNECTIONS clients, $UNITS units, ${WARMUP} s warm-up, $DURATION s measured, subscriber: $SUBSCRIBER"

# One sale with build $1 ($2 the binary, $3 its extra environment); prints
# a line and appends "label holds/s p99 server-us pg-us" to $RESULTS.
sale() {
  local label=$1 bin=$2 extra=$3
  WORK=$(mktemp -d)
  db="flash_pairs_$$_$(date +%s%N)"
  psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $db"
  local url="$PG_SERVER/$db"
  # shellcheck disable=SC2086 # the extra environment is words by design
  env $extra DATABASE_URL="$url" STOCKROUTE_ADDR="127.0.0.1:$PORT" STOCKROUTE_COST_BUDGETS=off RUST_LOG=warn \
    "$bin" serve >"$WORK/server.log" 2>&1 &
  server=$!
  wait_ready "$PORT" || { echo "(build $label)" >&2; exit 1; }
  FLASH_KEYS=$(DATABASE_URL="$url" "$bin" api-key create --role checkout --name flash 2>/dev/null | tail -1)
  export FLASH_KEYS
  local admin
  admin=$(DATABASE_URL="$url" "$bin" api-key create --role admin --name flash-admin 2>/dev/null | tail -1)
  curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -H "authorization: Bearer $admin" \
    -d "{\"query\":\"mutation{setStock(input:{sku:\\\"$SKU\\\",warehouseCode:\\\"$WAREHOUSE\\\",quantity:$UNITS}){quantity}}\"}" >/dev/null
  # The warm-up's ids are its own: the same ids again would be retries.
  local nonce=$(( $(date +%s%N) / 1000 % 4294967296 ))
  NONCE=$nonce DURATION=$WARMUP run_wrk "$PORT" >/dev/null
  sleep 1
  local feed=
  if [ "$SUBSCRIBER" = 1 ]; then
    target/release/examples/feed_lag --addr "127.0.0.1:$PORT" --key "$admin" --sku "$SKU" --idle-seconds 3 \
      >"$WORK/feed.txt" 2>&1 &
    feed=$!
    for _ in $(seq 1 50); do grep -q subscribed "$WORK/feed.txt" && break; sleep 0.1; done
    sleep 0.5
  fi
  local holds_before
  holds_before=$(psql -Atq "$url" -c "SELECT COUNT(*) FROM reservations")
  declare -A pg_before=()
  local pid
  for pid in $(pg_backends "$db"); do pg_before[$pid]=$(ticks_of "$pid"); done
  local server_before idle_before all_before counters_before
  server_before=$(ticks_of "$server")
  counters_before=$(queue_counters "$PORT" "$admin")
  read -r idle_before all_before <<<"$(machine_ticks)"
  local rps p50 p99 held short other seconds
  read -r rps p50 p99 held short other seconds <<<"$(NONCE=$(( (nonce + 1) % 4294967296 )) run_wrk "$PORT")"
  local idle_after all_after server_ticks pg_ticks=0 counters_after
  read -r idle_after all_after <<<"$(machine_ticks)"
  server_ticks=$(( $(ticks_of "$server") - server_before ))
  for pid in $(pg_backends "$db"); do pg_ticks=$(( pg_ticks + $(ticks_of "$pid") - ${pg_before[$pid]:-0} )); done
  counters_after=$(queue_counters "$PORT" "$admin")
  sleep 1 # requests in flight when wrk stopped finish
  local holds verdict
  holds=$(( $(psql -Atq "$url" -c "SELECT COUNT(*) FROM reservations") - holds_before ))
  verdict=$(verdict_of "$(all_held_check "$holds" "$held" "$short")" "$other" \
    "$(psql -Atq "$url" -f benches/support/books.sql)")
  local line
  line=$(awk -v l="$label" -v h="$held" -v d="$seconds" -v p50="$p50" -v p99="$p99" -v s="$server_ticks" -v p="$pg_ticks" \
    -v hz="$(getconf CLK_TCK)" -v idle=$(( idle_after - idle_before )) -v all=$(( all_after - all_before )) \
    -v c0="$counters_before" -v c1="$counters_after" 'BEGIN {
      split(c0, x, " "); split(c1, y, " ")
      batches = y[3] - x[3]; held_s = y[4] - x[4]
      rate = h / d; per = 1e6 / hz / h
      printf "%s %.0f %.1f %.1f %.1f %.1f %.1f %d %.2f %.0f\n", l, rate, p50, p99, s * per, p * per,
        100 * idle / all, batches, (batches > 0 ? 1000 * held_s / batches : 0), 100 * held_s / d
    }')
  read -r _ rate p50 p99 server_us pg_us idle batches window held_share <<<"$line"
  printf '%s: %6s holds/s, p50 %6.1f ms, p99 %6.1f ms; CPU per hold: server %5.1f us, PostgreSQL %4.1f us; idle %4.1f %%; %s batches, the stock row held %s ms each, %s %% of the time; %s\n' \
    "$label" "$rate" "$p50" "$p99" "$server_us" "$pg_us" "$idle" "$batches" "$window" "$held_share" "$verdict"
  if [ -n "$feed" ]; then
    wait "$feed" || true
    echo "   subscriber: $(grep '^feed:' "$WORK/feed.txt" || cat "$WORK/feed.txt")"
  fi
  echo "$label $rate $p99 $server_us $pg_us" >>"$RESULTS"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE $db WITH (FORCE)"; db=
  rm -rf "$WORK"; WORK=
  [ "$verdict" = ok ]
}

# The second sale of a pair runs slower than the first, whichever build it
# is (round 22: 10 - 20 % on one day), so the pairs take turns: A first in
# odd pairs, B first in even ones. Use an even number of pairs.
for pair in $(seq 1 "$PAIRS"); do
  echo "pair $pair"
  if (( pair % 2 == 1 )); then
    sale A "$A" "$A_ENV"
    sale B "$B" "$B_ENV"
  else
    sale B "$B" "$B_ENV"
    sale A "$A" "$A_ENV"
  fi
done

echo
awk '
  { n[$1]++; rate[$1] += $2; p99[$1] += $3; srv[$1] += $4; pg[$1] += $5
    if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2
    if (!($1 in hi) || $2 > hi[$1]) hi[$1] = $2
    if ($1 == "A") a[n["A"]] = $2; else b[n["B"]] = $2 }
  END {
    for (l = 1; l <= 2; l++) {
      k = (l == 1 ? "A" : "B")
      printf "%s: mean %.0f holds/s (%d - %d), p99 %.1f ms, server %.1f us and PostgreSQL %.1f us per hold\n",
        k, rate[k] / n[k], lo[k], hi[k], p99[k] / n[k], srv[k] / n[k], pg[k] / n[k]
    }
    ahead = 0; pairs = ""
    for (i = 1; i <= n["A"]; i++) {
      pairs = pairs sprintf("%s%+.1f %%", (i > 1 ? ", " : ""), 100 * (b[i] / a[i] - 1))
      if (b[i] > a[i]) ahead++
    }
    printf "B against A: %+.1f %% in the means; per pair %s; B ahead in %d of %d\n",
      100 * (rate["B"] / n["B"] / (rate["A"] / n["A"]) - 1), pairs, ahead, n["A"]
  }' "$RESULTS"
