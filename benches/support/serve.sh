# Sourced by the benchmark scripts: their servers, started and stopped.
#
# start_server runs the release binary on a fresh PostgreSQL database
# $PG_SERVER/$DB at 127.0.0.1:$PORT with the demo data, logging to
# $WORK/server.log, and waits until it is ready; on exit the server stops,
# the database is dropped and $WORK removed.
start_server() {
  DATABASE_URL="$PG_SERVER/$DB" STOCKROUTE_ADDR="127.0.0.1:$PORT" STOCKROUTE_COST_BUDGETS=off RUST_LOG=warn \
    target/release/stockroute serve >"$WORK/server.log" 2>&1 &
  server=$!
  trap stop_server EXIT
  wait_ready "$PORT"
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}

# Waits until the server on port $1 is ready; if it never is, prints its
# log ($WORK/server.log) and fails.
wait_ready() {
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "the server on port $1 did not become ready; its log:" >&2
  cat "$WORK/server.log" >&2
  return 1
}

# Stops $server, drops the PostgreSQL database $db and removes $WORK,
# whichever of them there are.
tidy_up() {
  [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -n "$db" ] && psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}
