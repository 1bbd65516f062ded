# Sourced by the flash-sale benchmarks: driving wrk with
# benches/support/reserve.lua, and where the CPU went meanwhile.

to_ms() { # wrk prints 1.23ms / 456.78us / 1.02s
  awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v); print v } else { sub(/s$/,"",v); print v*1000 } }'
}

# The CPU time of some processes (clock ticks; a process that has ended
# counts nothing), and the machine's idle and total ticks.
ticks_of() {
  local total=0 pid
  for pid in "$@"; do
    total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
machine_ticks() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
pg_backends() { pgrep -f "postgres: .* $1 " || true; }

# One wrk run against port $1 ($CONNECTIONS clients, $THREADS threads,
# $DURATION s; NONCE, SKU, FLASH_KEYS and PAY as reserve.lua reads them);
# prints "answers/s p50 p99 held short other seconds", the last being how
# long wrk counted answers: a little over $DURATION, and what rates and
# CPU per answer are taken over. wrk's output is left in $WORK/wrk.txt and
# $WORK/wrk.err.
run_wrk() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s benches/support/reserve.lua \
    "http://127.0.0.1:$1/graphql" >"$WORK/wrk.txt" 2>"$WORK/wrk.err"
  echo "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk.txt")" \
    "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.txt" | to_ms)" \
    "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt" | to_ms)" \
    "$(sed -n 's/^answers held=\([0-9]*\) short=\([0-9]*\) other=\([0-9]*\)$/\1 \2 \3/p' "$WORK/wrk.txt")" \
    "$(sed -n 's/^ *[0-9]* requests in \([0-9.]*\)\(m*\)s*,.*/\1 \2/p' "$WORK/wrk.txt" | awk '{ print ($2 == "m" ? $1 * 60 : $1) }')"
}

# The reservation queue's counters from /metrics ($1 the port, $2 an admin
# key): "batches requests batches-that-wrote seconds-the-stock-row-was-held".
queue_counters() {
  curl -fs -H "authorization: Bearer $2" "http://127.0.0.1:$1/metrics" | awk '
    $1 == "stockroute_reservation_batches_total" { b = $2 }
    $1 == "stockroute_reservation_batch_requests_total" { r = $2 }
    $1 == "stockroute_reservation_batches_written_total" { w = $2 }
    $1 == "stockroute_reservation_rows_held_seconds_total" { h = $2 }
    END { printf "%d %d %d %f\n", b, r, w, h }'
}

# The holds check of a sale in which every request should hold: prints
# nothing when it passed. $1 holds that exist, $2 answered held, $3
# answered short.
all_held_check() {
  # wrk stops counting with up to $CONNECTIONS requests in flight; those
  # are held without wrk seeing the answer.
  [ "$1" -ge "$2" ] && [ "$1" -le $(( $2 + CONNECTIONS )) ] && [ "$3" = 0 ] \
    || echo "$1 holds, $2 answered held, $3 answered short"
}

# What the checks after a sale say: "ok", or "FAIL: " and the last that
# failed. $1 the holds check's failure (empty when it passed), $2 answers
# that were errors, $3 the books' failed checks.
verdict_of() {
  local verdict=ok
  [ -z "$1" ] || verdict="FAIL: $1"
  [ "$2" = 0 ] || verdict="FAIL: $2 answers were errors ($(head -c 300 "$WORK/wrk.err"))"
  [ -z "$3" ] || verdict="FAIL: $3"
  echo "$verdict"
}
