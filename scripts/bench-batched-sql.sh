#!/usr/bin/env bash
# What PostgreSQL alone could give the labeling loop if submissions were batched (not part
# of the tests; the companion of bench.sh). No HTTP, no Rust: pgbench runs the loop's SQL
# for K annotators per transaction, each statement set-based — take K next items (the
# candidate query with its capacity test, row locks, SKIP LOCKED) and lease them, read
# their content, lock and store K annotations (count them, end the leases, tally the
# annotators' day and the project's progress) — with 50/K connections, so 50 annotators
# in all, next to pgbench's single-row insert of an annotation's size at 50 connections,
# as in bench.sh. A batched server could not beat these rates: it would do this and HTTP,
# JSON and validation besides, on the same two cores.
#
# One change to the schema, on the throwaway database only: the per-row progress trigger
# is off, and each batch adds its completed items to the progress slots in one statement in
# slot order instead (per-row updates of K items in arbitrary order deadlock between
# batches; a batched server would have to do the same).
# Usage: scripts/bench-batched-sql.sh [ITEMS] [SECONDS]   (defaults 300000 and 8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
source scripts/throwaway-pg.sh
ITEMS=${1:-300000}
SECONDS_EACH=${2:-8}
bench_start batched-sql
# Default durability, as bench.sh; room for the seeding's WAL, so that no checkpoint it
# forces falls into the timed runs (the seeding ends with one).
bench_project_db "${VERDICT_BENCH_PG_PORT:-25443}" verdict_batched batched "Batched SQL" \
  max_wal_size=8GB
PROJECT=$(psql -Atq "$DATABASE_URL" -c "SELECT project_id FROM projects WHERE slug = 'batched'")

echo "seeding $ITEMS items (a prompt of 40 words, four answers of 300) and 50 annotators…"
psql -q -v ON_ERROR_STOP=1 -v items="$ITEMS" -v p="$PROJECT" "$DATABASE_URL" <<'SQL'
INSERT INTO users (email, display_name, password_hash)
SELECT 'batched' || g || '@bench.local', 'Batched ' || g, 'x' FROM generate_series(1, 50) g;
CREATE TABLE bench_users AS
SELECT row_number() OVER (ORDER BY user_id)::int AS n, user_id FROM users WHERE email LIKE 'batched%';
ALTER TABLE bench_users ADD PRIMARY KEY (n);
INSERT INTO items (project_id, external_id, messages)
SELECT :'p', 'i' || g, jsonb_build_array(jsonb_build_object('role', 'user', 'content',
       'Question ' || g || ': ' || repeat('how would you explain this to a new colleague? ', 4)))
FROM generate_series(1, :items) g;
INSERT INTO responses (item_id, ordinal, model, content)
SELECT i.item_id, o, 'model-' || o, 'Answer ' || o || ' to ' || i.external_id || '. '
       || repeat('It depends on the details of the setting, and here they are. ', 30)
FROM items i CROSS JOIN generate_series(0, 3) o WHERE i.project_id = :'p';
INSERT INTO project_progress (project_id, slot, items, completed) VALUES (:'p', 0, :items, 0);
ALTER TABLE items DISABLE TRIGGER items_progress_update;
CREATE TABLE bench_insert (id uuid PRIMARY KEY, ranking jsonb, thumbs jsonb, comment text, shown uuid[]);
VACUUM ANALYZE;
CHECKPOINT;
SQL

# One transaction: K annotators each take their next item and store an annotation of it
# (the row work of a submission and the next lease), then the K tasks are read.
batch_script() {
  local k=$1
  cat <<SQL
\set lo :client_id * $k + 1
\set hi :client_id * $k + $k
BEGIN;
SELECT count(pg_advisory_xact_lock(n)) FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) n;
WITH u AS (SELECT user_id, row_number() OVER (ORDER BY n) AS k
           FROM bench_users WHERE n BETWEEN CAST(:lo AS int) AND CAST(:hi AS int)),
candidates AS (
    SELECT i.item_id, i.item_seq,
           (SELECT array_agg(r.response_id ORDER BY r.ordinal) FROM responses r WHERE r.item_id = i.item_id) AS answers
    FROM items i
    WHERE i.project_id = '$PROJECT' AND i.completed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.item_id AND a.user_id IN (SELECT user_id FROM u))
      AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.item_id AND s.user_id IN (SELECT user_id FROM u))
      AND i.annotation_count + (SELECT count(*) FROM assignments l
                                WHERE l.item_id = i.item_id AND l.expires_at > now()) < 1
    ORDER BY i.item_seq LIMIT $k
    FOR NO KEY UPDATE OF i SKIP LOCKED),
numbered AS (SELECT item_id, answers, row_number() OVER (ORDER BY item_seq) AS k FROM candidates)
INSERT INTO assignments (item_id, user_id, project_id, shown_order, expires_at)
SELECT c.item_id, u.user_id, '$PROJECT', c.answers, now() + interval '15 minutes'
FROM numbered c JOIN u USING (k);
SELECT i.messages, a.shown_order,
       (SELECT array_agg(r.content ORDER BY r.ordinal) FROM responses r WHERE r.item_id = i.item_id),
       (SELECT sum(p.completed) FROM project_progress p WHERE p.project_id = i.project_id)
FROM items i JOIN assignments a ON a.item_id = i.item_id
WHERE a.user_id IN (SELECT user_id FROM bench_users WHERE n BETWEEN CAST(:lo AS int) AND CAST(:hi AS int));
SELECT i.item_id, i.annotation_count FROM items i JOIN assignments a ON a.item_id = i.item_id
WHERE a.user_id IN (SELECT user_id FROM bench_users WHERE n BETWEEN CAST(:lo AS int) AND CAST(:hi AS int))
FOR NO KEY UPDATE OF i;
WITH held AS (
    SELECT item_id, user_id, shown_order FROM assignments
    WHERE user_id IN (SELECT user_id FROM bench_users WHERE n BETWEEN CAST(:lo AS int) AND CAST(:hi AS int))),
stored AS (
    INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, thumbs, comment,
                             shown_order, time_spent_ms)
    SELECT gen_random_uuid(), h.item_id, '$PROJECT', h.user_id,
           jsonb_build_array(jsonb_build_array(h.shown_order[1]), jsonb_build_array(h.shown_order[2]),
                             jsonb_build_array(h.shown_order[3]), jsonb_build_array(h.shown_order[4])),
           jsonb_build_object(h.shown_order[1]::text, true), 'Answer one is clearer and cites its source.',
           h.shown_order, 4321
    FROM held h
    ON CONFLICT (annotation_id) DO NOTHING
    RETURNING item_id, user_id),
released AS (DELETE FROM assignments a USING stored s WHERE a.item_id = s.item_id AND a.user_id = s.user_id),
counted AS (
    UPDATE items i SET annotation_count = annotation_count + 1, completed_at = now()
    FROM stored s WHERE i.item_id = s.item_id),
tallied AS (
    INSERT INTO annotator_days AS d (user_id, project_id, day, annotations)
    SELECT user_id, '$PROJECT', current_date, count(*) FROM stored GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id, project_id, day) DO UPDATE SET annotations = d.annotations + excluded.annotations),
progressed AS (
    INSERT INTO project_progress AS p (project_id, slot, items, completed)
    SELECT '$PROJECT', progress_slot(item_id), 0, count(*) FROM stored GROUP BY 2 ORDER BY 2
    ON CONFLICT (project_id, slot) DO UPDATE SET completed = p.completed + excluded.completed)
SELECT count(*) FROM stored;
COMMIT;
SQL
}

cat >"$OUT/insert.sql" <<'SQL'
INSERT INTO bench_insert (id, ranking, thumbs, comment, shown) VALUES (gen_random_uuid(), '[["d5b8f010-c242-49f5-9fb2-2bcf5d127c4d"],["f5246a87-c046-498a-b62b-d818a7c3d3c8"],["978cceb6-40a1-4560-b2a6-0efc16fe69d2"],["7dacadb5-1e28-4572-b37b-f6312f587a27"]]', '{"d5b8f010-c242-49f5-9fb2-2bcf5d127c4d": true}', 'Answer one is clearer and cites its source.', '{d5b8f010-c242-49f5-9fb2-2bcf5d127c4d,f5246a87-c046-498a-b62b-d818a7c3d3c8,978cceb6-40a1-4560-b2a6-0efc16fe69d2,7dacadb5-1e28-4572-b37b-f6312f587a27}');
SQL

tps() { grep -Eo '^tps = [0-9.]+' | awk '{print $3}'; }
# A warm-up, so that the planner's statistics know annotations and leases (prepared
# statements planned on empty tables walk them whole).
batch_script 10 >"$OUT/warm-up.sql"
"$PG_BIN/pgbench" -n -M prepared -c 5 -j 2 -T 3 -f "$OUT/warm-up.sql" "$DATABASE_URL" >/dev/null
psql -q "$DATABASE_URL" -c "VACUUM ANALYZE items, assignments, annotations"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| annotators per transaction | connections | annotations/s |"
echo "|---:|---:|---:|"
for k in 1 2 5 10 25 50; do
  batch_script "$k" >"$OUT/batch-$k.sql"
  before=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM annotations")
  "$PG_BIN/pgbench" -n -M prepared -c $((50 / k)) -j 2 -T "$SECONDS_EACH" -f "$OUT/batch-$k.sql" \
    "$DATABASE_URL" >"$OUT/pgbench-$k.log" 2>&1 || { cat "$OUT/pgbench-$k.log" >&2; exit 1; }
  after=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM annotations")
  if [ $((after - before)) -eq 0 ]; then echo "no annotation stored with $k per transaction" >&2; exit 1; fi
  printf '| %d | %d | %.0f |\n' "$k" $((50 / k)) "$(echo "($after - $before) / $SECONDS_EACH" | bc -l)"
  left=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM items WHERE completed_at IS NULL")
  if [ "$left" -lt $((ITEMS / 10)) ]; then echo "only $left items left: pass more ITEMS" >&2; exit 1; fi
  psql -q "$DATABASE_URL" -c "VACUUM ANALYZE items, assignments, annotations"
done
inserts=$("$PG_BIN/pgbench" -n -c 50 -j 2 -T "$SECONDS_EACH" -f "$OUT/insert.sql" "$DATABASE_URL" 2>&1 | tps)
printf 'pgbench single-row inserts at 50 connections: %.0f/s\n' "$inserts"
