#!/usr/bin/env bash
# The REST API against its own document: schemathesis (pinned in
# scripts/requirements-apifuzz.txt, in a cached virtualenv) generates requests for every
# operation of /api/v1/openapi.json, valid and invalid, with a token of every scope, and
# checks that no answer is a 500 and that every answer (status, content type, headers, body)
# is one the document describes. Part of the test command; also runs alone:
#
#   bash scripts/api-fuzz.sh
#
# API_FUZZ_EXAMPLES  test cases per operation and phase (default 100)
# API_FUZZ_SEED      schemathesis' random seed (default: a new one each run, printed)
# Uses the debug build (cargo build --features ssr --bin verdict); VERDICT_BIN overrides.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/throwaway-pg.sh
BIN=${VERDICT_BIN:-target/debug/verdict}
PORT=${API_FUZZ_PORT:-3352}
SERVER_PID=
REPORT=$(mktemp -d /tmp/verdict-apifuzz.XXXXXX)
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  throwaway_pg_stop
  rm -rf "$REPORT"
}
trap cleanup EXIT
[ -n "${VERDICT_BIN:-}" ] || cargo build --quiet --features ssr --bin verdict
ST_PYTHON=$(bash scripts/pyenv.sh --for apifuzz python)

throwaway_pg "${API_FUZZ_PG_PORT:-25452}" fsync=off synchronous_commit=off
psql -q "$DATABASE_URL" -c "CREATE DATABASE apifuzz"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/apifuzz"
export VERDICT_DATA_DIR="$PG_DIR/verdict-data"
# The demo project gives the operations on a project something to find.
VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_ADMIN_PASSWORD=apifuzz-admin-password \
  VERDICT_DEMO_PASSWORD=apifuzz-demo-password VERDICT_NO_WORKER=1 \
  VERDICT_API_RATE_PER_MINUTE=1000000 RUST_LOG=warn "$BIN" serve >"$PG_DIR/verdict.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$PG_DIR/verdict.log" >&2; exit 1; }
SECRET=$("$BIN" token create --name apifuzz --scope items:write --scope feedback:write \
  --scope feedback:read --scope export:read --scope members:write | sed -n 's/^secret (shown once): //p')

# Every operation on the demo project and on things in it (an item, a dataset version, a
# consumer), so that requests get past "no such project" to the operations' own logic.
for n in 1 2 3; do
  curl -sf -o /dev/null -H "Authorization: Bearer $SECRET" -H 'Content-Type: application/json' \
    -d "{\"external_id\": \"fuzz-$n\", \"prompt\": \"Question $n?\", \"answer\": \"Answer $n.\", \"end_user\": \"u$n\", \"thumb\": \"up\"}" \
    "http://127.0.0.1:$PORT/api/v1/projects/demo/feedback"
done
"$BIN" dataset create --project demo --name fuzz --format raw >/dev/null
cat >"$REPORT/schemathesis.toml" <<'TOML'
[parameters]
slug = "demo"
external_id = "demo-02"
name = "fuzz"
version = 1
TOML

SEED=${API_FUZZ_SEED:-$RANDOM$RANDOM}
echo "schemathesis seed $SEED (API_FUZZ_SEED=$SEED repeats this run)" >&2
status=0
# From the scratch directory: schemathesis keeps a cache in .schemathesis/ where it runs.
(cd "$REPORT" && "$(dirname "$ST_PYTHON")/st" --config-file "$REPORT/schemathesis.toml" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --header "Authorization: Bearer $SECRET" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${API_FUZZ_EXAMPLES:-100}" --seed "$SEED" --workers 1 \
  --request-timeout 30 --no-color --report junit --report-dir "$REPORT") || status=$?
cases=$(grep -o 'tests="[0-9]*"' "$REPORT"/*.xml 2>/dev/null | head -1 | tr -dc 0-9)
echo "schemathesis: ${cases:-?} operations checked; exit status $status" >&2
if [ "$status" != 0 ]; then tail -n 30 "$PG_DIR/verdict.log" >&2; fi
exit "$status"
