#!/usr/bin/env bash
# Load benchmark of the labeling loop (not part of the tests): N annotators doing
# next → submit over HTTP against a release build, next to pgbench's single-row insert
# rate at the same concurrency, on a throwaway PostgreSQL with default durability.
# Usage: scripts/bench.sh [--levels 1,10,50] [--items 10000] [--seconds 10]
# VERDICT_BIN=path serves another build (to compare two), VERDICT_BENCH_BIN=path drives it
# with another build of verdict-bench (an older one seeds an older schema), VERDICT_NO_BUILD=1
# skips the build; BENCH_PG_EXTRA adds postgres -c settings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

source scripts/throwaway-pg.sh
PORT=${VERDICT_BENCH_PORT:-3300}
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
  throwaway_pg_stop
}
trap cleanup EXIT

[ -n "${VERDICT_NO_BUILD:-}" ] || cargo build --release --features ssr --bins
# Default durability: the comparison with pgbench is about committed writes.
# pg_stat_statements shows where the database's time went (printed at the end).
throwaway_pg "${VERDICT_BENCH_PG_PORT:-25440}" shared_preload_libraries=pg_stat_statements ${BENCH_PG_EXTRA:-}
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_bench"
psql -q "$DATABASE_URL" -c "CREATE EXTENSION pg_stat_statements"

VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_DEMO=1 VERDICT_ADMIN_PASSWORD="bench-admin-password" \
  RUST_LOG=warn "${VERDICT_BIN:-target/release/verdict}" serve >"$PG_DIR/verdict.log" 2>&1 &
SERVER_PID=$!
export VERDICT_BENCH_SERVER_PID=$SERVER_PID # the soak samples its memory
healthy=no
for _ in $(seq 150); do
  if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; then healthy=yes; break; fi
  sleep 0.2
done
if [ "$healthy" = no ]; then echo "the server did not start:" >&2; cat "$PG_DIR/verdict.log" >&2; exit 1; fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"${VERDICT_BENCH_BIN:-target/release/verdict-bench}" --base-url "http://127.0.0.1:$PORT" --pgbench "$PG_BIN/pgbench" "$@"

echo
echo "The database's time by statement (all levels and pgbench):"
psql -q "$DATABASE_URL" -P pager=off -c "
  SELECT calls, round(total_exec_time::numeric / 1000, 1) AS total_s,
         round(mean_exec_time::numeric, 3) AS mean_ms, rows,
         left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  ORDER BY total_exec_time DESC LIMIT 15"
