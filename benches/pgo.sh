#!/usr/bin/env bash
# The release build optimised by profile: the server (and
# examples/ceiling, so that benches/flash.sh compares like with like) is
# built instrumented, run through a training workload, and built again
# with what that run recorded (profile-guided optimisation, PGO: the
# compiler inlines and lays out code for the paths a busy service takes);
# that build is then instrumented by BOLT, trained again, and its machine
# code rearranged by LLVM's post-link optimiser (hot blocks and functions
# together, cold ones apart). Measured against the plain release build:
# README, "The optimised build".
#
#   bash benches/pgo.sh     # -> target/pgo/optimised/stockroute
#                           #    and target/pgo/optimised/ceiling
#
# The training workload, on a fresh PostgreSQL database and then on a
# SQLite file, with the demo data: checkouts for one SKU from 1,000 clients
# (a sale of 100 units, most of them told it is sold out; holds on
# 1,000,000 units watched by a stockLevelChanged subscriber; the same
# orders again, as retries; their payments), then storefront availability
# reads for 20 SKUs near an address; and the ceiling under the same
# checkouts. A workload unlike it gains less from the build.
#
# ~15 minutes on 2 cores from cold (~27 on a fresh clone): two release
# builds and ~3 minutes of training. A build whose sources (src, migration,
# examples, assets, the manifests, this script and its training scripts,
# rustc, the BOLT found) have not changed since the last is kept:
# REBUILD=1 builds it anyway.
# Needs the local PostgreSQL ($PG_SERVER, trust auth), wrk, and LLVM's
# tools of the version rustc is built on (llvm-profdata, llvm-bolt),
# installed from Debian's llvm-N and bolt-N packages when missing. Where no
# llvm-bolt can be had, the build stops at PGO and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18700}
THREADS=${THREADS:-2}
export SKU=DROP-SNEAKER-LTD
WAREHOUSE=BER1
DATA=$PWD/target/pgo-data
OUT=target/pgo/optimised
WORK=$(mktemp -d)
server=
db=

# shellcheck source=benches/support/measure.sh
source benches/support/measure.sh
# shellcheck source=benches/support/serve.sh
source benches/support/serve.sh

trap tidy_up EXIT

# What the optimised build is made from: the contents of every file that
# goes into it (the assets are embedded) or trains it, the compiler, and
# the BOLT it could use (a build made without one is PGO only).
sources() {
  {
    rustc -vV
    echo "bolt: $bolt"
    find src migration examples assets benches/support -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock benches/pgo.sh
  } | sha256sum | cut -d' ' -f1
}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# llvm-profdata must read what this rustc's LLVM writes: the same major
# version.
llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
profdata=$(command -v "llvm-profdata-$llvm" || true)
if [ -z "$profdata" ]; then
  profdata=$(find "$(rustc --print sysroot)/lib/rustlib" -name llvm-profdata -type f 2>/dev/null | head -1)
fi
if [ -z "$profdata" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "llvm-$llvm" >/dev/null
  profdata=$(command -v "llvm-profdata-$llvm")
fi
bolt=$(command -v "llvm-bolt-$llvm" || true)
if [ -z "$bolt" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "bolt-$llvm" >/dev/null 2>&1 || true
  bolt=$(command -v "llvm-bolt-$llvm" || true)
fi

# The subscriber is a client: built plainly, as the benchmarks use it.
cargo build --release --locked --quiet --example feed_lag
if [ "${REBUILD:-0}" != 1 ] && [ -x "$OUT/stockroute" ] && [ -x "$OUT/ceiling" ] \
  && [ "$(cat "$OUT/sources" 2>/dev/null)" = "$(sources)" ]; then
  echo "the optimised build in $OUT is of these sources already (REBUILD=1 builds it again)"
  exit 0
fi
rm -rf "$DATA" "$OUT"
mkdir -p "$DATA/raw" "$DATA/bolt" "$OUT"
echo "== the build instrumented for PGO"
RUSTFLAGS="-Cprofile-generate=$DATA/raw" \
  cargo build --release --locked --quiet --bin stockroute --example ceiling --target-dir target/pgo-generate
# What the build's own scripts and macros recorded is not the service's.
rm -f "$DATA"/raw/*

# One wrk run of the checkouts ($1 seconds; NONCE and PAY as reserve.lua
# reads them); fails on answers that are neither holds nor sold out.
checkouts() {
  local other
  read -r _ _ _ _ _ other _ <<<"$(CONNECTIONS=1000 DURATION=$1 run_wrk "$PORT")"
  [ "$other" = 0 ] || { echo "training: $other checkouts answered errors: $(head -c 300 "$WORK/wrk.err")" >&2; return 1; }
}

set_stock() { # $1 units of $SKU at $WAREHOUSE
  curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -H "authorization: Bearer $admin" \
    -d "{\"query\":\"mutation{setStock(input:{sku:\\\"$SKU\\\",warehouseCode:\\\"$WAREHOUSE\\\",quantity:$1}){quantity}}\"}" \
    | grep -q '"quantity"'
}

train_on() { # $1 the database URL, $2 the instrumented server
  local url=$1 trainee=$2
  DATABASE_URL="$url" STOCKROUTE_ADDR="127.0.0.1:$PORT" STOCKROUTE_COST_BUDGETS=off RUST_LOG=warn \
    "$trainee" serve >"$WORK/server.log" 2>&1 &
  server=$!
  wait_ready "$PORT"
  FLASH_KEYS=$(DATABASE_URL="$url" "$trainee" api-key create --role checkout --name train 2>/dev/null | tail -1)
  export FLASH_KEYS
  admin=$(DATABASE_URL="$url" "$trainee" api-key create --role admin --name train-admin 2>/dev/null | tail -1)

  set_stock 100
  NONCE=1 checkouts 3
  set_stock 1000000
  target/release/examples/feed_lag --addr "127.0.0.1:$PORT" --key "$admin" --sku "$SKU" --idle-seconds 2 \
    >"$WORK/feed.txt" 2>&1 &
  local feed=$!
  for _ in $(seq 1 50); do grep -q subscribed "$WORK/feed.txt" && break; sleep 0.1; done
  NONCE=2 checkouts 8
  NONCE=2 checkouts 2
  PAY=1 NONCE=2 checkouts 3
  wait "$feed" || { echo "training: the subscriber failed: $(cat "$WORK/feed.txt")" >&2; return 1; }

  local skus body
  skus=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    -d '{"query":"{products(first:60){edges{node{sku}}}}"}' | grep -o '"sku":"[^"]*"' | awk 'NR % 3 == 0' | cut -d'"' -f4 \
    | awk '{ printf "%s\\\"%s\\\"", (NR > 1 ? "," : ""), $0 }')
  body="{\"query\":\"query(\$to:LocationInput){availability(skus:[$skus],shipTo:\$to){sku onHand reserved available inStock warehouses{available distanceKm warehouse{code}}}}\",\"variables\":{\"to\":{\"latitude\":48.1351,\"longitude\":11.582}}}"
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$body" >"$WORK/availability.lua"
  wrk -t"$THREADS" -c64 -d3s -s "$WORK/availability.lua" "http://127.0.0.1:$PORT/graphql" >"$WORK/reads.txt"
  grep -q 'Non-2xx' "$WORK/reads.txt" && { echo "training: availability reads failed" >&2; return 1; }

  # The profile is written when the server exits.
  kill "$server"; wait "$server" || true; server=
}

train() { # $1 the instrumented server, $2 the instrumented ceiling
  echo "== training on PostgreSQL"
  db="pgo_$$_$(date +%s)"
  psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $db"
  train_on "$PG_SERVER/$db" "$1"
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE $db WITH (FORCE)"; db=
  echo "== training on SQLite"
  rm -f "$WORK"/train.db*
  train_on "sqlite://$WORK/train.db?mode=rwc" "$1"
  echo "== training the ceiling"
  "$2" "127.0.0.1:$PORT" 2>/dev/null &
  server=$!
  sleep 1
  FLASH_KEYS='' NONCE=3 checkouts 3
  kill -INT "$server"; wait "$server" || true; server=
}

train target/pgo-generate/release/stockroute target/pgo-generate/release/examples/ceiling
"$profdata" merge -o "$DATA/merged.profdata" "$DATA"/raw/*.profraw
echo "== the build optimised by PGO"
# BOLT rearranges a binary only where the linker kept its relocations.
RUSTFLAGS="-Cprofile-use=$DATA/merged.profdata -Clink-arg=-Wl,--emit-relocs" \
  cargo build --release --locked --quiet --bin stockroute --example ceiling --target-dir target/pgo
built=target/pgo/release
if [ -z "$bolt" ]; then
  echo "no llvm-bolt-$llvm to be had: the build is optimised by PGO only"
  cp "$built/stockroute" "$built/examples/ceiling" "$OUT/"
  sources >"$OUT/sources"
  exit 0
fi

echo "== the builds instrumented for BOLT"
for bin in stockroute examples/ceiling; do
  name=$(basename "$bin")
  "$bolt" "$built/$bin" -instrument -o "$DATA/bolt/$name" \
    --instrumentation-file="$DATA/bolt/$name" --instrumentation-file-append-pid >"$WORK/bolt.log" 2>&1 \
    || { cat "$WORK/bolt.log" >&2; exit 1; }
done
train "$DATA/bolt/stockroute" "$DATA/bolt/ceiling"
echo "== the builds optimised by BOLT"
for bin in stockroute examples/ceiling; do
  name=$(basename "$bin")
  "$(dirname "$bolt")/merge-fdata-$llvm" "$DATA/bolt/$name".*.fdata >"$DATA/bolt/$name.fdata" 2>/dev/null
  "$bolt" "$built/$bin" -o "$OUT/$name" -data="$DATA/bolt/$name.fdata" \
    -reorder-blocks=ext-tsp -reorder-functions=cdsort -split-functions -split-all-cold -split-eh \
    -icf=1 -use-gnu-stack >"$WORK/bolt.log" 2>&1 || { cat "$WORK/bolt.log" >&2; exit 1; }
done
sources >"$OUT/sources"
echo "built $OUT/stockroute and $OUT/ceiling"
