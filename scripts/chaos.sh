#!/usr/bin/env bash
# The fault run (not part of the test command; its short version is tests/suite/fault.rs):
# two Verdict servers on one throwaway PostgreSQL, annotators labeling through the server
# functions the browser calls, spread over both servers. During the run PostgreSQL is
# killed with SIGKILL and started again, one Verdict server is killed with SIGKILL and
# started again, and backends are terminated with pg_terminate_backend while they are in a
# statement or a transaction. Afterwards it checks that every acknowledged label is stored
# exactly once, that no item has more labels than its overlap, that the leases of the
# annotators who left with the killed server came back to the pool (every item ends with its
# full overlap), and that both servers answer again on their own (/healthz 503 while the
# database was down, 200 after). Prints a JSON summary; exits non-zero if a check failed.
#
#   bash scripts/chaos.sh
#
# CHAOS_ANNOTATORS  annotators (default 12; two of them leave with the killed server)
# CHAOS_ITEMS       items (default 150), each labeled by CHAOS_OVERLAP (default 2)
# CHAOS_SECONDS     bound on the whole labeling run (default 240)
# Uses the debug build (cargo build --features ssr --bin verdict); VERDICT_BIN overrides.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/throwaway-pg.sh
BIN=${VERDICT_BIN:-target/debug/verdict}
trap throwaway_pg_stop EXIT
[ -n "${VERDICT_BIN:-}" ] || cargo build --quiet --features ssr --bin verdict
throwaway_pg "${CHAOS_PG_PORT:-25450}"
psql -q "$DATABASE_URL" -c "CREATE DATABASE chaos"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/chaos"
export VERDICT_DATA_DIR="$PG_DIR/verdict-data"
$BIN migrate >/dev/null
$BIN project create --slug p --name Chaos >/dev/null
# Overlap, and leases of a minute so that a lease left behind comes back within the run.
psql -q "$DATABASE_URL" -c \
  "UPDATE projects SET overlap = ${CHAOS_OVERLAP:-2}, lease_seconds = 60 WHERE slug = 'p'"
python3 - "${CHAOS_ITEMS:-150}" >"$PG_DIR/items.jsonl" <<'EOF'
import json, sys
for n in range(int(sys.argv[1])):
    print(json.dumps({"external_id": f"c{n}", "prompt": f"Question {n}?",
                      "responses": [f"Answer {a} to {n}" for a in range(3)]}))
EOF
$BIN import "$PG_DIR/items.jsonl" --project p >/dev/null
PASSWORD=chaos-annotator-password
for i in $(seq 0 $((${CHAOS_ANNOTATORS:-12} - 1))); do
  $BIN user add --email "a$i@chaos.local" --name "A$i" --password "$PASSWORD" >/dev/null
  $BIN project members add --project p --email "a$i@chaos.local" >/dev/null
done
python3 scripts/chaos.py --bin "$BIN" --pg-dir "$PG_DIR" --pg-bin "$PG_BIN" \
  --pg-port "$PG_PORT" --database-url "$DATABASE_URL" --password "$PASSWORD" \
  --annotators "${CHAOS_ANNOTATORS:-12}" --items "${CHAOS_ITEMS:-150}" \
  --overlap "${CHAOS_OVERLAP:-2}" --seconds "${CHAOS_SECONDS:-240}" \
  --ports "${CHAOS_PORTS:-3350,3351}"
