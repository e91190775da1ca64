#!/usr/bin/env bash
# Runs every check and test: formatting, clippy (ssr and hydrate), unit, database and HTTP
# tests against a throwaway PostgreSQL, then the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh --test

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

# A private PostgreSQL cluster for this run only (fsync off: its data is thrown away).
PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")
PG_PORT=${VERDICT_TEST_PG_PORT:-54331}
PG_DIR=$(mktemp -d /tmp/verdict-test-pg.XXXXXX)
chmod 755 "$PG_DIR"
pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
step "starting a throwaway PostgreSQL on port $PG_PORT"
pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o \
  "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
  start >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (ssr)"
cargo clippy --features ssr --all-targets -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

step "unit, database and HTTP tests"
RUST_LOG_FILE="$PG_DIR/cargo-test.log"
cargo test --features ssr 2>&1 | tee "$RUST_LOG_FILE"
rust_passed=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' "$RUST_LOG_FILE")

step "building the site for the browser tests"
cargo leptos build

step "browser tests"
E2E_PORT=${VERDICT_E2E_PORT:-3107}
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_e2e"
export VERDICT_E2E_URL="http://127.0.0.1:$E2E_PORT"
export VERDICT_ADMIN_EMAIL=admin@verdict.local
export VERDICT_ADMIN_PASSWORD="e2e-admin-$RANDOM$RANDOM"
export VERDICT_DEMO_PASSWORD="e2e-demo-$RANDOM$RANDOM"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_e2e" VERDICT_ADDR="127.0.0.1:$E2E_PORT" \
  RUST_LOG=warn target/debug/verdict serve >"$PG_DIR/verdict.log" 2>&1 &
SERVER_PID=$!
if ! (cd end2end && npx playwright test 2>&1 | tee "$PG_DIR/e2e.log"); then
  echo "--- server log ---" >&2
  tail -50 "$PG_DIR/verdict.log" >&2
  exit 1
fi
e2e_passed=$(grep -Eo '^ +[0-9]+ passed' "$PG_DIR/e2e.log" | tr -dc '0-9')

echo
echo "verdict: $((rust_passed + e2e_passed)) passed, 0 failed"
