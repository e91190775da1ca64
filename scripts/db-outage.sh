#!/usr/bin/env bash
# What a database outage looks like from outside (not part of the tests): one Verdict server
# on a throwaway PostgreSQL; PostgreSQL is killed with SIGKILL while the server runs, then
# started again. Prints, for the health check and an API request, the status, Retry-After
# and time taken before, during and after the outage, and whether the server answered
# again without a restart. Uses the debug build (cargo build --features ssr --bin verdict).
# Usage: scripts/db-outage.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/throwaway-pg.sh
PORT=${VERDICT_OUTAGE_PORT:-3303}
BIN=target/debug/verdict
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; throwaway_pg_stop' EXIT
cargo build --quiet --features ssr --bin verdict
throwaway_pg "${VERDICT_OUTAGE_PG_PORT:-25444}"
psql -q "$DATABASE_URL" -c "CREATE DATABASE outage"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/outage"
$BIN project create --slug p --name Outage >/dev/null
SECRET=$($BIN token create --name outage --scope feedback:read | sed -n 's/^secret (shown once): //p')
VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_DEMO=1 VERDICT_ADMIN_PASSWORD=outage-admin-password \
  VERDICT_NO_WORKER=1 RUST_LOG=warn $BIN serve >"$PG_DIR/verdict.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

probe() { # WHEN
  local out
  for what in healthz api; do
    if [ "$what" = healthz ]; then
      out=$(curl -s -o /dev/null -D - -w 'status %{http_code} in %{time_total} s' "http://127.0.0.1:$PORT/healthz")
    else
      out=$(curl -s -o /dev/null -D - -w 'status %{http_code} in %{time_total} s' \
        -H "Authorization: Bearer $SECRET" "http://127.0.0.1:$PORT/api/v1/projects/p/feedback")
    fi
    retry=$(printf '%s' "$out" | tr -d '\r' | sed -n 's/^[Rr]etry-[Aa]fter: //p')
    printf '%-22s %-8s %s%s\n' "$1" "$what" "$(printf '%s' "$out" | tail -1)" "${retry:+, Retry-After $retry}"
  done
}
probe "before"
kill -9 "$(head -1 "$PG_DIR/data/postmaster.pid")"
sleep 1
probe "PostgreSQL killed"
probe "still down"
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
started=$(date +%s.%N)
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.1; done
printf 'back: /healthz 200 again %.1f s after PostgreSQL started, the server not restarted\n' \
  "$(echo "$(date +%s.%N) - $started" | bc -l)"
probe "after"
