#!/usr/bin/env bash
# Import benchmark (not part of the tests): ITEMS items in Verdict's JSONL (a prompt and
# four answers of a few hundred characters each, like bench-export.sh's) are written to a
# file, then `verdict import` loads them into a project on a throwaway PostgreSQL with
# default durability, timed with its peak memory. A second import of the same file shows
# the idempotent path (every item already present). Last, PostgreSQL alone: the same items
# loaded by COPY from a file on the server, each item one row (prompt and answers together)
# in a table with a primary key only, by one connection (an import is one transaction, so
# one backend writes it all) and by two at once: how fast this machine's database can take
# items in at best, with no parsing and no schema.
# Usage: scripts/bench-import.sh [ITEMS]   (default 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ITEMS=${1:-1000000}
bench_start import-bench
bench_project_db "${VERDICT_BENCH_PG_PORT:-25442}" verdict_import_bench bench "Import benchmark" \
  max_wal_size=4GB

# The JSONL to import, and the same items as COPY text (one row each) for the floor.
python3 - "$ITEMS" "$OUT/items.jsonl" "$OUT/rows.tsv" <<'PY'
import json, sys, uuid
n, path, rows = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w") as f, open(rows, "w") as r:
    for g in range(1, n + 1):
        prompt = f"Question {g}: " + "how would you explain this? " * 8
        answers = [{"model": f"model-{o}",
                    "content": f"Answer {o} to i{g}. " + "It depends on the details. " * 12}
                   for o in range(4)]
        f.write(json.dumps({"external_id": f"i{g}", "prompt": prompt, "responses": answers}) + "\n")
        messages = json.dumps([{"role": "user", "content": prompt}])
        row = "\t".join([str(uuid.uuid4()), f"i{g}", messages, json.dumps(answers)])
        r.write(row.replace("\\", "\\\\") + "\n")
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

# PostgreSQL alone (the server reads the file itself: the directory must be readable).
chmod 755 "$OUT"
split -n l/2 -d "$OUT/rows.tsv" "$OUT/rows.part"
chmod 644 "$OUT"/rows.*
floor_table() {
  psql -q "$DATABASE_URL" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS floor_items" \
    -c "CREATE TABLE floor_items (item_id uuid PRIMARY KEY, external_id text, messages jsonb, answers jsonb)" \
    -c "CHECKPOINT"
}
floor() {
  local label=$1 started ended pids=() pid loaded
  shift
  started=$(date +%s.%N)
  for file in "$@"; do
    psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "COPY floor_items FROM '$file'" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  ended=$(date +%s.%N)
  loaded=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM floor_items")
  if [ "$loaded" -ne "$ITEMS" ]; then echo "COPY loaded $loaded of $ITEMS rows" >&2; exit 1; fi
  printf '%-22s %d items in %6.1f s = %8.0f items/s\n' "$label" "$ITEMS" \
    "$(echo "$ended - $started" | bc -l)" "$(echo "$ITEMS / ($ended - $started)" | bc -l)"
}
echo "PostgreSQL alone (COPY, one row per item, primary key only):"
floor_table
floor "  one connection" "$OUT/rows.tsv"
floor_table
floor "  two connections" "$OUT"/rows.part*
