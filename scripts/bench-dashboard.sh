#!/usr/bin/env bash
# Dashboard benchmark (not part of the tests): a project with ANNOTATIONS labels (default
# 1,000,000) made over 90 days by 20 annotators, three answers an item, overlap 3, a
# `category` metadata field with 8 values as a dashboard field, generated in SQL on a
# throwaway PostgreSQL (the triggers keep the daily sums as the rows go in). Then:
#   1. the dashboard page over HTTP as a signed-in admin, ROUNDS times (default 20), each
#      timed by curl: the whole page, every chart drawn;
#   2. the same with an annotator filter and with a metadata facet;
#   3. `verdict dashboard --rebuild`: the daily sums computed anew from every label;
#   4. what the triggers cost a submission: 4,000 single-row label inserts (one statement
#      each, as a submit makes), 500 at a time, with the dashboard's insert trigger and
#      without, interleaved.
# Usage: scripts/bench-dashboard.sh [ANNOTATIONS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ANNOTATIONS=${1:-1000000}
ITEMS=$((ANNOTATIONS / 3))
ROUNDS=${ROUNDS:-20}
PORT=${VERDICT_BENCH_PORT:-3302}
PASSWORD=bench-admin-password
bench_start dashboard-bench
bench_project_db "${VERDICT_BENCH_PG_PORT:-25443}" verdict_dashboard_bench bench "Dashboard benchmark" \
  fsync=off synchronous_commit=off
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; throwaway_pg_stop; rm -rf "$OUT"' EXIT

# The server first: it creates the admin (the database has no users yet).
VERDICT_ADDR="127.0.0.1:$PORT" VERDICT_NO_DEMO=1 VERDICT_ADMIN_PASSWORD="$PASSWORD" \
  VERDICT_NO_WORKER=1 RUST_LOG=warn target/release/verdict serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

echo "generating $ITEMS items, $((ITEMS * 3)) answers, $((ITEMS * 3)) labels over 90 days…"
started=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -v items="$ITEMS" "$DATABASE_URL" <<'SQL'
SELECT project_id AS p FROM projects WHERE slug = 'bench' \gset
UPDATE projects SET overlap = 3, dashboard_fields = '{category}' WHERE project_id = :'p';
INSERT INTO users (email, display_name, password_hash)
SELECT 'bench' || g || '@example.org', 'Bench ' || g, 'x' FROM generate_series(1, 20) g;
-- Item g is made on day g * 90 / items before today and completed that day.
INSERT INTO items (project_id, external_id, messages, metadata, annotation_count, created_at, completed_at)
SELECT :'p', 'i' || g, jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Question ' || g)),
       jsonb_build_object('category', 'c' || (g % 8)), 3,
       now() - make_interval(days => 90 - (g * 90 / :items)),
       now() - make_interval(days => 90 - (g * 90 / :items))
FROM generate_series(1, :items) g;
INSERT INTO responses (item_id, ordinal, content, model)
SELECT i.item_id, o, 'Answer ' || o, 'model-' || o FROM items i CROSS JOIN generate_series(0, 2) o
WHERE i.project_id = :'p';
-- Three of the twenty annotators label each item, in a random order of its answers.
INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, shown_order,
                         time_spent_ms, created_at, updated_at)
SELECT gen_random_uuid(), k.item_id, :'p', k.user_id,
       (SELECT jsonb_agg(jsonb_build_array(x) ORDER BY random()) FROM unnest(k.ids) x),
       k.ids, (1000 + random() * 60000)::integer, k.created_at, k.created_at
FROM (SELECT i.item_id, i.created_at, u.user_id,
             (SELECT array_agg(r.response_id ORDER BY r.ordinal) FROM responses r WHERE r.item_id = i.item_id) AS ids
      FROM items i
      CROSS JOIN LATERAL (SELECT user_id FROM users WHERE email LIKE 'bench%'
                          ORDER BY md5(i.item_id::text || user_id::text) LIMIT 3) u
      WHERE i.project_id = :'p') k;
ANALYZE;
SQL
echo "generated in $(( $(date +%s) - started )) s (with the triggers); database $(psql -Atq "$DATABASE_URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
echo "labels: $(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM annotations"); daily-sum rows: $(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM project_days")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

curl -s -c "$OUT/cookies" -o /dev/null --data-urlencode "email=admin@verdict.local" \
  --data-urlencode "password=$PASSWORD" "http://127.0.0.1:$PORT/auth/login"
time_page() { # NAME QUERY
  for _ in $(seq "$ROUNDS"); do
    curl -s -b "$OUT/cookies" -o "$OUT/page.html" -w '%{http_code} %{time_total}\n' \
      "http://127.0.0.1:$PORT/projects/bench/dashboard?$2"
  done | sort -k2 -n >"$OUT/times"
  grep -qv '^200 ' "$OUT/times" && { echo "$1: a request failed"; cat "$OUT/times"; exit 1; }
  printf '%s, %d requests: median %.0f ms, slowest %.0f ms (%d KB of HTML, %d charts)\n' "$1" "$ROUNDS" \
    "$(awk '{a[NR]=$2} END {print a[int((NR+1)/2)] * 1000}' "$OUT/times")" \
    "$(tail -1 "$OUT/times" | awk '{print $2 * 1000}')" \
    $(( $(wc -c <"$OUT/page.html") / 1024 )) "$(grep -o '<svg' "$OUT/page.html" | wc -l)"
}
time_page "dashboard, last 30 days" ""
time_page "dashboard, 90 days" "from=$(date -u -d '-89 days' +%F)"
time_page "dashboard, one annotator" "annotator=bench7%40example.org"
time_page "dashboard, category=c3" "facet=category%3Dc3"

/usr/bin/time -f "%e" -o "$OUT/time" target/release/verdict dashboard --project bench --rebuild >/dev/null
printf 'rebuild of the daily sums from %d labels: %.1f s\n' "$ANNOTATIONS" "$(cat "$OUT/time")"

# The triggers' cost per label: single-row inserts of labels on items without one (new items,
# one answer pair each), 500 at a time, alternately with and without the dashboard's insert
# trigger on annotations, 4 rounds each.
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" <<'SQL'
SELECT project_id AS p FROM projects WHERE slug = 'bench' \gset
INSERT INTO items (project_id, external_id, messages)
SELECT :'p', 'cost' || g, '[{"role": "user", "content": "Cost?"}]' FROM generate_series(1, 4000) g;
INSERT INTO responses (item_id, ordinal, content, model)
SELECT i.item_id, o, 'Answer ' || o, 'model-' || o FROM items i CROSS JOIN generate_series(0, 1) o
WHERE i.external_id LIKE 'cost%';
CREATE TABLE cost_runs (triggers boolean, ms double precision);
CREATE PROCEDURE cost_round(with_triggers boolean, skip integer) LANGUAGE plpgsql AS $$
DECLARE
    r record;
    started timestamptz;
    u uuid := (SELECT user_id FROM users WHERE email = 'bench1@example.org');
BEGIN
    IF NOT with_triggers THEN
        ALTER TABLE annotations DISABLE TRIGGER annotations_days_insert;
    END IF;
    started := clock_timestamp();
    FOR r IN SELECT i.item_id, i.project_id, array_agg(x.response_id ORDER BY x.ordinal) AS ids
             FROM items i JOIN responses x ON x.item_id = i.item_id
             WHERE i.external_id LIKE 'cost%' GROUP BY i.item_id, i.item_seq
             ORDER BY i.item_seq OFFSET skip LIMIT 500 LOOP
        INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, shown_order, time_spent_ms)
        VALUES (gen_random_uuid(), r.item_id, r.project_id, u,
                jsonb_build_array(jsonb_build_array(r.ids[1]), jsonb_build_array(r.ids[2])), r.ids, 5000);
    END LOOP;
    INSERT INTO cost_runs VALUES (with_triggers, extract(epoch FROM clock_timestamp() - started) * 1000);
    ALTER TABLE annotations ENABLE TRIGGER annotations_days_insert;
END
$$;
CALL cost_round(true, 0);
CALL cost_round(false, 500);
CALL cost_round(true, 1000);
CALL cost_round(false, 1500);
CALL cost_round(true, 2000);
CALL cost_round(false, 2500);
CALL cost_round(true, 3000);
CALL cost_round(false, 3500);
SQL
psql -Atq "$DATABASE_URL" -c "SELECT format('label inserts, 500 a round: %s ms a label with the dashboard trigger, %s ms without (medians of 4 rounds)',
    round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE triggers) / 500)::numeric, 3),
    round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE NOT triggers) / 500)::numeric, 3)) FROM cost_runs"
