#!/usr/bin/env bash
# Load benchmark of the labeling loop (not part of the tests): N annotators doing
# next → submit over HTTP against a release build, next to pgbench's single-row insert
# rate at the same concurrency, on a throwaway PostgreSQL with default durability.
# Usage: scripts/bench.sh [--levels 1,10,50] [--items 10000] [--seconds 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
PG_PORT=${VERDICT_BENCH_PG_PORT:-54340}
PORT=${VERDICT_BENCH_PORT:-3300}
DIR=$(mktemp -d /tmp/verdict-bench.XXXXXX)
chmod 755 "$DIR"
pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

cargo build --release --features ssr --bins
pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-p $PG_PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_bench"

VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_DEMO=1 VERDICT_ADMIN_PASSWORD="bench-admin-password" \
  VERDICT_DB_MAX_CONNECTIONS=60 RUST_LOG=warn target/release/verdict serve >"$DIR/verdict.log" 2>&1 &
SERVER_PID=$!
healthy=no
for _ in $(seq 150); do
  if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; then healthy=yes; break; fi
  sleep 0.2
done
if [ "$healthy" = no ]; then echo "the server did not start:" >&2; cat "$DIR/verdict.log" >&2; exit 1; fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/verdict-bench --base-url "http://127.0.0.1:$PORT" --pgbench "$PG_BIN/pgbench" "$@"
