-- The dashboard's statement triggers ran their upsert through EXECUTE, which plans the query
-- anew on every statement: a single-row label insert took 2.2 ms with the trigger against
-- 0.14 ms without (scripts/bench-dashboard.sh measures it). Here each table gets a trigger
-- function of its own whose SQL is static, so PL/pgSQL keeps its plans. The functions are
-- written from one template, so the six cannot drift apart.
DO $do$
DECLARE
    t record;
    upsert constant text := $q$
        INSERT INTO project_days AS d (project_id, facet, day, user_id, metric, key, slot, n)
        SELECT c.project_id, f.facet, c.day, c.user_id, c.metric, c.key, c.slot, sum(%1$s c.n)
        FROM %2$s r CROSS JOIN LATERAL %3$I(r) c CROSS JOIN LATERAL unnest(c.facets) f (facet)
        WHERE c.day IS NOT NULL
          AND EXISTS (SELECT 1 FROM projects p WHERE p.project_id = c.project_id)
        GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(%1$s c.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (project_id, facet, day, user_id, metric, key, slot)
        DO UPDATE SET n = d.n + excluded.n;$q$;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('annotations', 'annotation_days'), ('items', 'item_days'),
                                   ('skips', 'skip_days'), ('gold_results', 'gold_days'),
                                   ('reviews', 'review_days'), ('item_agreement', 'agreement_days'))
                           v (tab, per_row) LOOP
        EXECUTE format($f$
            CREATE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                IF TG_OP <> 'INSERT' THEN %2$s
                END IF;
                IF TG_OP <> 'DELETE' THEN %3$s
                END IF;
                RETURN NULL;
            END
            $body$$f$,
            t.tab || '_count_days',
            format(upsert, '-', 'old_rows', t.per_row),
            format(upsert, '', 'new_rows', t.per_row));
    END LOOP;
END
$do$;

DROP TRIGGER annotations_days_insert ON annotations;
DROP TRIGGER annotations_days_update ON annotations;
DROP TRIGGER annotations_days_delete ON annotations;
DROP TRIGGER items_days_insert ON items;
DROP TRIGGER items_days_delete ON items;
DROP TRIGGER skips_days_insert ON skips;
DROP TRIGGER skips_days_delete ON skips;
DROP TRIGGER gold_days_insert ON gold_results;
DROP TRIGGER gold_days_update ON gold_results;
DROP TRIGGER gold_days_delete ON gold_results;
DROP TRIGGER reviews_days_insert ON reviews;
DROP TRIGGER reviews_days_update ON reviews;
DROP TRIGGER reviews_days_delete ON reviews;
DROP TRIGGER agreement_days_insert ON item_agreement;
DROP TRIGGER agreement_days_update ON item_agreement;
DROP TRIGGER agreement_days_delete ON item_agreement;
DROP FUNCTION count_days();

CREATE TRIGGER annotations_days_insert AFTER INSERT ON annotations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_count_days();
CREATE TRIGGER annotations_days_update AFTER UPDATE ON annotations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_count_days();
CREATE TRIGGER annotations_days_delete AFTER DELETE ON annotations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_count_days();

CREATE TRIGGER items_days_insert AFTER INSERT ON items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION items_count_days();
CREATE TRIGGER items_days_delete AFTER DELETE ON items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION items_count_days();

CREATE TRIGGER skips_days_insert AFTER INSERT ON skips REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION skips_count_days();
CREATE TRIGGER skips_days_delete AFTER DELETE ON skips REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION skips_count_days();

CREATE TRIGGER gold_days_insert AFTER INSERT ON gold_results REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gold_results_count_days();
CREATE TRIGGER gold_days_update AFTER UPDATE ON gold_results
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gold_results_count_days();
CREATE TRIGGER gold_days_delete AFTER DELETE ON gold_results REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gold_results_count_days();

CREATE TRIGGER reviews_days_insert AFTER INSERT ON reviews REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_count_days();
CREATE TRIGGER reviews_days_update AFTER UPDATE ON reviews
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_count_days();
CREATE TRIGGER reviews_days_delete AFTER DELETE ON reviews REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reviews_count_days();

CREATE TRIGGER agreement_days_insert AFTER INSERT ON item_agreement REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION item_agreement_count_days();
CREATE TRIGGER agreement_days_update AFTER UPDATE ON item_agreement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION item_agreement_count_days();
CREATE TRIGGER agreement_days_delete AFTER DELETE ON item_agreement REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION item_agreement_count_days();
