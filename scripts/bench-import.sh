#!/usr/bin/env bash
# Import benchmark (not part of the tests): ITEMS items in Verdict's JSONL (a prompt and
# four answers of a few hundred characters each, like bench-export.sh's) are written to a
# file, then `verdict import` loads them into a project on a throwaway PostgreSQL with
# default durability, timed with its peak memory. A second import of the same file shows
# the idempotent path (every item already present).
# Usage: scripts/bench-import.sh [ITEMS]   (default 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ITEMS=${1:-1000000}
OUT=$(mktemp -d /tmp/verdict-import-bench.XXXXXX)
trap 'throwaway_pg_stop; rm -rf "$OUT"' EXIT

cargo build --release --features ssr --bin verdict
throwaway_pg "${VERDICT_BENCH_PG_PORT:-54342}" max_wal_size=4GB
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_import_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_import_bench"
target/release/verdict project create --slug bench --name "Import benchmark" >/dev/null

python3 - "$ITEMS" "$OUT/items.jsonl" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for g in range(1, n + 1):
        f.write(json.dumps({
            "external_id": f"i{g}",
            "prompt": f"Question {g}: " + "how would you explain this? " * 8,
            "responses": [{"model": f"model-{o}",
                           "content": f"Answer {o} to i{g}. " + "It depends on the details. " * 12}
                          for o in range(4)],
        }) + "\n")
PY
echo "file: $ITEMS items, $(( $(stat -c %s "$OUT/items.jsonl") / 1048576 )) MB"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

run() {
  local label=$1
  /usr/bin/time -f "%e %M" -o "$OUT/time" \
    target/release/verdict import "$OUT/items.jsonl" --project bench >"$OUT/log" 2>&1
  read -r seconds kb <"$OUT/time"
  printf '%-22s %d items in %6.1f s = %8.0f items/s, peak RSS %4d MB\n' \
    "$label" "$ITEMS" "$seconds" "$(echo "$ITEMS / $seconds" | bc -l)" $((kb / 1024))
  tail -1 "$OUT/log" | sed 's/^/  /'
}
run "import"
run "again (all present)"
echo "database: $(psql -Atq "$DATABASE_URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
