-- The dashboard's daily figures, kept as running sums so that a project with a million labels
-- draws its charts from a few thousand rows. Triggers on the tables the figures come from add
-- each change (an insert adds a row's part, a delete subtracts it, an update does both), in
-- the writing statement's transaction; `project_days_rebuild` computes a project's rows anew
-- from those tables and must agree with the triggers (a test holds them to it).
--
-- A row is one figure of one day (UTC), optionally of one annotator (the nil uuid: a figure of
-- the project), in one facet: '' for all items, 'field=value' for the items whose metadata
-- field (one of the project's `dashboard_fields`) has that value.
--
-- One gap, closed by a rebuild: labels, skips and agreement of items that are deleted are
-- taken out of the '' facet, but not of the other facets (the item's metadata is gone by the
-- time its labels are). Verdict never changes an item's metadata; a change made by hand
-- moves the item's own rows but not its labels' until a rebuild.
CREATE TABLE project_days (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    facet      text NOT NULL,
    day        date NOT NULL,
    user_id    uuid NOT NULL,
    metric     text NOT NULL,
    key        text NOT NULL,
    -- Figures of the whole project are spread over 16 slots by item, as the progress
    -- counters are, so that concurrent writers rarely wait on one row.
    slot       smallint NOT NULL,
    n          double precision NOT NULL,
    PRIMARY KEY (project_id, facet, day, user_id, metric, key, slot)
) WITH (fillfactor = 70);

-- The metadata fields the dashboard can filter by (at most five: each adds rows per label).
ALTER TABLE projects ADD COLUMN dashboard_fields text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(dashboard_fields) <= 5);

CREATE FUNCTION utc_day(t timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (t AT TIME ZONE 'UTC')::date;

CREATE FUNCTION day_slot(item_id uuid) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (get_byte(uuid_send(item_id), 15) % 16)::smallint;

-- The facets of an item with this metadata in this project.
CREATE FUNCTION metadata_facets(project uuid, metadata jsonb) RETURNS text[]
    LANGUAGE sql STABLE
    RETURN ARRAY[''] || ARRAY(
        SELECT f || '=' || (metadata ->> f)
        FROM projects p, unnest(p.dashboard_fields) f
        WHERE p.project_id = project
          AND jsonb_typeof(metadata -> f) IN ('string', 'number', 'boolean')
          AND length(metadata ->> f) <= 200
        ORDER BY f);

-- The facets of a stored item (only '' once the item is gone).
CREATE FUNCTION item_facets(project uuid, item uuid) RETURNS text[]
    LANGUAGE sql STABLE
    RETURN coalesce((SELECT metadata_facets(project, i.metadata) FROM items i WHERE i.item_id = item),
                    ARRAY['']);

-- Time spent on a label, in buckets of a quarter of a doubling from 250 ms: bucket 0 is
-- under 250 ms, bucket b covers [250 * 2^((b-1)/4), 250 * 2^(b/4)) ms, up to bucket 80
-- (about 72 hours). The dashboard's medians are the geometric middle of a bucket: within
-- 9% of the exact median. (`services::dashboard::bucket_middle_ms` is the inverse.)
CREATE FUNCTION time_bucket(ms integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ms < 250 THEN 0
                ELSE least(80, floor(4 * log(2, ms / 250.0))::integer + 1) END;

-- The figures one row adds, as (project_id, facets, day, user_id, metric, key, slot, n).
CREATE FUNCTION annotation_days(a annotations) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    WITH f AS (SELECT item_facets(a.project_id, a.item_id) AS facets)
    -- Annotators: labels, time, where their best pick was shown, proposals taken.
    SELECT a.project_id, f.facets, utc_day(a.created_at), a.user_id, m.metric, m.key,
           0::smallint, m.n
    FROM f, (VALUES ('labels', '', 1::double precision),
                    ('seconds', time_bucket(a.time_spent_ms)::text, 1),
                    ('time_ms', '', a.time_spent_ms)) m (metric, key, n)
    WHERE a.source = 'annotator'
    UNION ALL
    SELECT a.project_id, f.facets, utc_day(a.created_at), a.user_id, 'best_at',
           cardinality(a.shown_order) || ':' || array_position(a.shown_order, (a.ranking -> 0 ->> 0)::uuid),
           0, 1
    FROM f
    WHERE a.source = 'annotator' AND cardinality(a.shown_order) >= 2
      AND jsonb_array_length(a.ranking -> 0) = 1
      AND array_position(a.shown_order, (a.ranking -> 0 ->> 0)::uuid) IS NOT NULL
    UNION ALL
    SELECT a.project_id, f.facets, utc_day(a.created_at), a.user_id, 'proposal',
           a.proposal_outcome, 0, 1
    FROM f
    WHERE a.source = 'annotator' AND a.proposal_outcome IS NOT NULL
    UNION ALL
    -- End users: events, corrections, thumbs per model.
    SELECT a.project_id, f.facets, utc_day(a.created_at), '00000000-0000-0000-0000-000000000000',
           m.metric, '', day_slot(a.item_id), 1
    FROM f, (VALUES ('feedback_events'), ('corrections')) m (metric)
    WHERE a.source = 'end_user' AND (m.metric = 'feedback_events' OR a.ideal_answer IS NOT NULL)
    UNION ALL
    SELECT a.project_id, f.facets, utc_day(a.created_at), '00000000-0000-0000-0000-000000000000',
           'thumbs', CASE WHEN t.value = 'true'::jsonb THEN 'up:' ELSE 'down:' END
                     || coalesce(r.model, ''),
           day_slot(a.item_id), 1
    FROM f, jsonb_each(a.thumbs) t LEFT JOIN responses r ON r.response_id = t.key::uuid
    WHERE a.source = 'end_user'
$$;

-- Items annotators label (as the progress counters count them), gold items, completions.
CREATE FUNCTION item_days(i items) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    SELECT i.project_id, metadata_facets(i.project_id, i.metadata), m.day,
           '00000000-0000-0000-0000-000000000000'::uuid, m.metric, '', day_slot(i.item_id), 1
    FROM (VALUES ('items', utc_day(i.created_at), i.origin = 'import' AND NOT i.is_gold),
                 ('completed', utc_day(i.completed_at),
                  i.origin = 'import' AND NOT i.is_gold AND i.completed_at IS NOT NULL),
                 ('gold_items', utc_day(i.created_at), i.is_gold)) m (metric, day, counted)
    WHERE m.counted
$$;

CREATE FUNCTION skip_days(s skips) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    SELECT i.project_id, metadata_facets(i.project_id, i.metadata), utc_day(s.skipped_at),
           s.user_id, 'skips', '', 0::smallint, 1
    FROM items i WHERE i.item_id = s.item_id
$$;

CREATE FUNCTION gold_days(g gold_results) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    SELECT g.project_id, item_facets(g.project_id, g.item_id), utc_day(g.checked_at), g.user_id,
           'gold', CASE WHEN g.correct THEN 'right' ELSE 'wrong' END, 0::smallint, 1
$$;

CREATE FUNCTION review_days(v reviews) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    SELECT v.project_id, item_facets(v.project_id, v.item_id), utc_day(v.decided_at),
           v.annotator_id, 'review', v.outcome::text, 0::smallint, 1
$$;

-- Agreement by the day of an item's latest change: agreeing and compared preference pairs,
-- and the sum and count of Kendall's W.
CREATE FUNCTION agreement_days(q item_agreement) RETURNS TABLE (
    project_id uuid, facets text[], day date, user_id uuid, metric text, key text, slot smallint,
    n double precision)
LANGUAGE sql STABLE AS $$
    SELECT q.project_id, item_facets(q.project_id, q.item_id), utc_day(q.updated_at),
           '00000000-0000-0000-0000-000000000000'::uuid, 'agreement', m.key, day_slot(q.item_id),
           m.n
    FROM (VALUES ('pref_agree', q.pref_agree::double precision, q.pref_compared > 0),
                 ('pref_compared', q.pref_compared, q.pref_compared > 0),
                 ('w_sum', q.kendall_w, q.kendall_w IS NOT NULL),
                 ('w_items', 1, q.kendall_w IS NOT NULL)) m (key, n, counted)
    WHERE m.counted
$$;

-- Statement triggers: TG_ARGV[0] names the per-row function; the transition tables are
-- old_rows and new_rows.
CREATE FUNCTION count_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    upsert constant text := 'INSERT INTO project_days AS d (project_id, facet, day, user_id, metric, key, slot, n)
        SELECT c.project_id, f.facet, c.day, c.user_id, c.metric, c.key, c.slot, sum(%s * c.n)
        FROM %I r CROSS JOIN LATERAL %I(r) c CROSS JOIN LATERAL unnest(c.facets) f (facet)
        WHERE c.day IS NOT NULL
          AND EXISTS (SELECT 1 FROM projects p WHERE p.project_id = c.project_id)
        GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(%s * c.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (project_id, facet, day, user_id, metric, key, slot)
        DO UPDATE SET n = d.n + excluded.n';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        EXECUTE format(upsert, '-1', 'old_rows', TG_ARGV[0], '-1');
    END IF;
    IF TG_OP <> 'DELETE' THEN
        EXECUTE format(upsert, '1', 'new_rows', TG_ARGV[0], '1');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER annotations_days_insert AFTER INSERT ON annotations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('annotation_days');
CREATE TRIGGER annotations_days_update AFTER UPDATE ON annotations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('annotation_days');
CREATE TRIGGER annotations_days_delete AFTER DELETE ON annotations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('annotation_days');

CREATE TRIGGER items_days_insert AFTER INSERT ON items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('item_days');
CREATE TRIGGER items_days_delete AFTER DELETE ON items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('item_days');

-- Completing an item writes a row of the whole project: deferred, as the progress counters
-- are, so that the row is locked only while the transaction commits.
CREATE FUNCTION item_days_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_days AS d (project_id, facet, day, user_id, metric, key, slot, n)
    SELECT c.project_id, f.facet, c.day, c.user_id, c.metric, c.key, c.slot, sum(c.sign * c.n)
    FROM (SELECT -1 AS sign, * FROM item_days(OLD) UNION ALL SELECT 1, * FROM item_days(NEW)) c
         CROSS JOIN LATERAL unnest(c.facets) f (facet)
    WHERE c.day IS NOT NULL
      AND EXISTS (SELECT 1 FROM projects p WHERE p.project_id = c.project_id)
    GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(c.sign * c.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (project_id, facet, day, user_id, metric, key, slot)
    DO UPDATE SET n = d.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER items_days_update AFTER UPDATE OF completed_at, origin, is_gold, metadata
    ON items DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.completed_at IS DISTINCT FROM NEW.completed_at OR OLD.origin IS DISTINCT FROM NEW.origin
          OR OLD.is_gold IS DISTINCT FROM NEW.is_gold OR OLD.metadata IS DISTINCT FROM NEW.metadata)
    EXECUTE FUNCTION item_days_change();

CREATE TRIGGER skips_days_insert AFTER INSERT ON skips REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('skip_days');
CREATE TRIGGER skips_days_delete AFTER DELETE ON skips REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('skip_days');

CREATE TRIGGER gold_days_insert AFTER INSERT ON gold_results REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('gold_days');
CREATE TRIGGER gold_days_update AFTER UPDATE ON gold_results
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('gold_days');
CREATE TRIGGER gold_days_delete AFTER DELETE ON gold_results REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('gold_days');

CREATE TRIGGER reviews_days_insert AFTER INSERT ON reviews REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('review_days');
CREATE TRIGGER reviews_days_update AFTER UPDATE ON reviews
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('review_days');
CREATE TRIGGER reviews_days_delete AFTER DELETE ON reviews REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('review_days');

CREATE TRIGGER agreement_days_insert AFTER INSERT ON item_agreement REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('agreement_days');
CREATE TRIGGER agreement_days_update AFTER UPDATE ON item_agreement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('agreement_days');
CREATE TRIGGER agreement_days_delete AFTER DELETE ON item_agreement REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_days('agreement_days');

-- A project's rows computed anew from its tables (after a change of `dashboard_fields`, and
-- for the labels made before this migration). Writers of the project's figures wait for it.
CREATE FUNCTION project_days_rebuild(project uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE project_days IN EXCLUSIVE MODE;
    DELETE FROM project_days WHERE project_id = project;
    INSERT INTO project_days (project_id, facet, day, user_id, metric, key, slot, n)
    SELECT c.project_id, f.facet, c.day, c.user_id, c.metric, c.key, c.slot, sum(c.n)
    FROM (SELECT c.* FROM annotations r, annotation_days(r) c WHERE r.project_id = project
          UNION ALL SELECT c.* FROM items r, item_days(r) c WHERE r.project_id = project
          UNION ALL SELECT c.* FROM skips r JOIN items i ON i.item_id = r.item_id, skip_days(r) c
                    WHERE i.project_id = project
          UNION ALL SELECT c.* FROM gold_results r, gold_days(r) c WHERE r.project_id = project
          UNION ALL SELECT c.* FROM reviews r, review_days(r) c WHERE r.project_id = project
          UNION ALL SELECT c.* FROM item_agreement r, agreement_days(r) c WHERE r.project_id = project
         ) c CROSS JOIN LATERAL unnest(c.facets) f (facet)
    WHERE c.day IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(c.n) <> 0;
END
$$;

SELECT project_days_rebuild(project_id) FROM projects;
