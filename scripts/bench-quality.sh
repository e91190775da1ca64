#!/usr/bin/env bash
# Agreement benchmark (not part of the tests): a project with ANNOTATIONS annotations (four
# annotators on every item, four answers each, random rankings with ties and random
# thumbs) is generated in SQL on a throwaway PostgreSQL. Then:
#   1. `verdict quality rebuild` counts every item from its labels (what the server does once
#      for projects labeled before agreement was counted), timed;
#   2. the agreement report over the API, ROUNDS times (default 20), each timed by curl:
#      the figures come from the running sums, not from the labels;
#   3. the annotators' scorecards over the API, 5 times (these read the labels).
# Usage: scripts/bench-quality.sh [ANNOTATIONS]   (default 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ANNOTATIONS=${1:-1000000}
ITEMS=$((ANNOTATIONS / 4))
ROUNDS=${ROUNDS:-20}
PORT=${VERDICT_BENCH_PORT:-3301}
bench_start quality-bench
bench_project_db "${VERDICT_BENCH_PG_PORT:-25442}" verdict_quality_bench bench "Quality benchmark" \
  fsync=off synchronous_commit=off
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; throwaway_pg_stop; rm -rf "$OUT"' EXIT

echo "generating $ITEMS items, $((ITEMS * 4)) answers, $((ITEMS * 4)) annotations…"
started=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -v items="$ITEMS" "$DATABASE_URL" <<'SQL'
SELECT project_id AS p FROM projects WHERE slug = 'bench' \gset
UPDATE projects SET overlap = 4, allow_ties = true WHERE project_id = :'p';
INSERT INTO users (email, display_name, password_hash)
SELECT 'bench' || g || '@example.org', 'Bench ' || g, 'x' FROM generate_series(1, 4) g;
INSERT INTO items (project_id, external_id, messages, annotation_count, completed_at)
SELECT :'p', 'i' || g, jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Question ' || g)),
       4, now()
FROM generate_series(1, :items) g;
INSERT INTO responses (item_id, ordinal, content)
SELECT i.item_id, o, 'Answer ' || o FROM items i CROSS JOIN generate_series(0, 3) o WHERE i.project_id = :'p';
-- Each annotator orders the answers by a random key; keys that round alike are a tie.
INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, thumbs, shown_order)
SELECT gen_random_uuid(), k.item_id, :'p', k.user_id,
       (SELECT jsonb_agg(tier ORDER BY key) FROM (
            SELECT round(r.key * 3) AS key, jsonb_agg(r.response_id) AS tier
            FROM unnest(k.ids, k.keys) AS r (response_id, key) GROUP BY 1) t),
       (SELECT jsonb_object_agg(r.response_id, r.key > 0.4) FROM unnest(k.ids, k.keys) AS r (response_id, key)),
       k.ids
FROM (SELECT r.item_id, u.user_id, array_agg(r.response_id ORDER BY r.ordinal) AS ids,
             -- an answer's own quality plus the annotator's noise: annotators mostly agree
             array_agg(least(1, greatest(0, (r.ordinal / 4.0) + (random() - 0.5) * 0.6)) ORDER BY r.ordinal) AS keys
      FROM responses r JOIN items i ON i.item_id = r.item_id
      CROSS JOIN (SELECT user_id FROM users WHERE email LIKE 'bench%') u
      WHERE i.project_id = :'p' GROUP BY r.item_id, u.user_id) k;
ANALYZE;
SQL
echo "generated in $(( $(date +%s) - started )) s; database $(psql -Atq "$DATABASE_URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/time -f "%e %M" -o "$OUT/time" target/release/verdict quality rebuild --project bench
read -r seconds kb <"$OUT/time"
printf 'rebuild: %d items in %.1f s = %.0f items/s (%.0f annotations/s), peak RSS %d MB\n' \
  "$ITEMS" "$seconds" "$(echo "$ITEMS / $seconds" | bc -l)" "$(echo "$ANNOTATIONS / $seconds" | bc -l)" $((kb / 1024))
echo "running sums: $(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM agreement_cells") project cells, $(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM agreement_pairs") pair cells"

SECRET=$(target/release/verdict token create --name bench --scope export:read | sed -n 's/^secret (shown once): //p')
VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_DEMO=1 VERDICT_ADMIN_PASSWORD="bench-admin-password" \
  VERDICT_NO_WORKER=1 RUST_LOG=warn target/release/verdict serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
URL="http://127.0.0.1:$PORT/api/v1/projects/bench/quality"
for _ in $(seq "$ROUNDS"); do
  curl -s -o "$OUT/report.json" -w '%{time_total}\n' -H "Authorization: Bearer $SECRET" "$URL"
done | sort -n >"$OUT/times"
printf 'report over the API, %d requests: median %.1f ms, slowest %.1f ms\n' "$ROUNDS" \
  "$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)] * 1000}' "$OUT/times")" \
  "$(tail -1 "$OUT/times" | awk '{print $1 * 1000}')"
# The scorecards read the labels themselves (per annotator: counts, median time, first picks).
for _ in $(seq 5); do
  curl -s -o "$OUT/cards.json" -w '%{time_total}\n' -H "Authorization: Bearer $SECRET" "$URL/annotators"
done | sort -n >"$OUT/card-times"
printf 'scorecards over the API, 5 requests: median %.0f ms\n' \
  "$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)] * 1000}' "$OUT/card-times")"
target/release/verdict quality report --project bench
