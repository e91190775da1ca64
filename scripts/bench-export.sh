#!/usr/bin/env bash
# Export benchmark (not part of the tests): a project with ANNOTATIONS annotations (four
# annotators on every item, four answers of a few hundred characters each) is generated in
# SQL on a throwaway PostgreSQL, then `verdict export` writes it as raw JSONL (one record
# per annotation), DPO pairs and Parquet pairs, each timed with its peak memory.
# Usage: scripts/bench-export.sh [ANNOTATIONS]   (default 1000000)
# With BASELINE=path/to/an/older/verdict, the same data is also generated in a second
# database migrated by that binary, and every export runs interleaved with it, ROUNDS
# times (default 2): a before/after in one sitting, on the same machine load.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ANNOTATIONS=${1:-1000000}
ITEMS=$((ANNOTATIONS / 4))
bench_start export-bench
bench_project_db "${VERDICT_BENCH_PG_PORT:-25441}" verdict_export_bench bench "Export benchmark" \
  fsync=off synchronous_commit=off

CURRENT_URL=$DATABASE_URL
BASELINE=${BASELINE:-}
ROUNDS=${ROUNDS:-2}
if [ -n "$BASELINE" ]; then
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE verdict_export_baseline"
  BASELINE_URL="postgres://postgres@127.0.0.1:$PG_PORT/verdict_export_baseline"
  DATABASE_URL=$BASELINE_URL "$BASELINE" project create --slug bench --name "Export benchmark" >/dev/null
fi

generate() {
echo "generating $ITEMS items, $((ITEMS * 4)) answers, $((ITEMS * 4)) annotations in $1…"
started=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -v items="$ITEMS" "$1" <<'SQL'
SELECT project_id AS p FROM projects WHERE slug = 'bench' \gset
INSERT INTO users (email, display_name, password_hash)
SELECT 'bench' || g || '@example.org', 'Bench ' || g, 'x' FROM generate_series(1, 4) g;
INSERT INTO items (project_id, external_id, messages, annotation_count, completed_at)
SELECT :'p', 'i' || g,
       jsonb_build_array(jsonb_build_object('role', 'user', 'content',
           'Question ' || g || ': ' || repeat('how would you explain this? ', 8))),
       4, now()
FROM generate_series(1, :items) g;
INSERT INTO responses (item_id, ordinal, model, content)
SELECT i.item_id, o, 'model-' || o, 'Answer ' || o || ' to ' || i.external_id || '. ' || repeat('It depends on the details. ', 12)
FROM items i CROSS JOIN generate_series(0, 3) o WHERE i.project_id = :'p';
INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, thumbs, shown_order)
SELECT gen_random_uuid(), r.item_id, :'p', u.user_id,
       -- each annotator ranks the answers in a rotation of the original order
       jsonb_build_array(jsonb_build_array(r.ids[1 + (u.n) % 4]), jsonb_build_array(r.ids[1 + (u.n + 1) % 4]),
                         jsonb_build_array(r.ids[1 + (u.n + 2) % 4]), jsonb_build_array(r.ids[1 + (u.n + 3) % 4])),
       jsonb_build_object(r.ids[1 + u.n % 4]::text, true, r.ids[1 + (u.n + 3) % 4]::text, false),
       r.ids
FROM (SELECT r.item_id, array_agg(r.response_id ORDER BY r.ordinal) AS ids
      FROM responses r JOIN items i ON i.item_id = r.item_id WHERE i.project_id = :'p' GROUP BY r.item_id) r
CROSS JOIN (SELECT user_id, (row_number() OVER (ORDER BY email))::int % 2 AS n FROM users WHERE email LIKE 'bench%') u;
ANALYZE;
SQL
echo "generated in $(( $(date +%s) - started )) s; database $(psql -Atq "$1" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
}
generate "$CURRENT_URL"
[ -z "$BASELINE" ] || generate "$BASELINE_URL"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL BINARY DATABASE_URL EXPORT-ARGS…
run() {
  local label=$1 binary=$2 url=$3; shift 3
  DATABASE_URL=$url /usr/bin/time -f "%e %M" -o "$OUT/time" "$binary" export --project bench "$@" 2>"$OUT/log"
  read -r seconds kb <"$OUT/time"
  local summary
  summary=$(grep -Eo 'exported [0-9]+ records from [0-9]+ items' "$OUT/log")
  local records
  records=$(echo "$summary" | awk '{print $2}')
  printf '%-36s %s in %6.1f s = %8.0f records/s, peak RSS %4d MB\n' \
    "$label" "$summary" "$seconds" "$(echo "$records / $seconds" | bc -l)" $((kb / 1024))
}
CURRENT=target/release/verdict
exports=("raw (JSONL)|--format raw --out $OUT/raw.jsonl"
         "dpo_pairs (JSONL)|--format dpo_pairs --out $OUT/pairs.jsonl"
         "dpo_pairs (Parquet)|--format dpo_pairs --out $OUT/pairs.parquet")
for export in "${exports[@]}"; do
  label=${export%%|*}
  read -r -a args <<<"${export#*|}"
  if [ -z "$BASELINE" ]; then
    run "$label" "$CURRENT" "$CURRENT_URL" "${args[@]}"
  else
    # Odd rounds run the baseline first, even rounds this build: neither always pays for
    # the other's file still being written back.
    for round in $(seq 1 "$ROUNDS"); do
      if [ $((round % 2)) = 1 ]; then
        run "$label, baseline #$round" "$BASELINE" "$BASELINE_URL" "${args[@]}"
        run "$label, this build #$round" "$CURRENT" "$CURRENT_URL" "${args[@]}"
      else
        run "$label, this build #$round" "$CURRENT" "$CURRENT_URL" "${args[@]}"
        run "$label, baseline #$round" "$BASELINE" "$BASELINE_URL" "${args[@]}"
      fi
    done
  fi
done
ls -l "$OUT" | awk 'NR > 1 && $NF != "time" && $NF != "log" { printf "  %s: %d MB\n", $NF, $5 / 1048576 }'
