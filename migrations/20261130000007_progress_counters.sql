-- Progress without counting. Every task showed "items done / total" by counting the
-- project's items (two partial indexes, but still a pass over the whole project per task:
-- 8 ms on 10,000 items under load, growing with the project). These rows hold the same two
-- numbers, exact and transactional; a project's counts are the sum of its rows.
--
-- Who writes which row, so that writers rarely wait for one another:
-- * completing an item (or an overlap change) adds to one of 64 slots chosen by the item's
--   id, from a deferred trigger, so the row is locked only while the transaction commits;
-- * inserting or deleting items (imports, API pushes) adds to a row of its own transaction
--   (slot 64 + its xid), never shared: a long import blocks nobody. `fold_progress` (run
--   by every server now and then) folds committed transaction rows into the 64 slots.
CREATE TABLE project_progress (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    slot       bigint NOT NULL,
    -- Items annotators label (origin 'import'), and those of them that are complete.
    items      bigint NOT NULL DEFAULT 0,
    completed  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, slot)
);

CREATE FUNCTION progress_slot(item_id uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN get_byte(uuid_send(item_id), 15) % 64;

-- Inserted rows count +1, deleted ones -1 (both triggers name their rows changed_items).
CREATE FUNCTION progress_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO project_progress AS p (project_id, slot, items, completed)
    SELECT project_id, 64 + txid_current(), sign * count(*), sign * count(completed_at)
    FROM changed_items c WHERE origin = 'import'
        -- Nothing to count for a project being deleted.
        AND EXISTS (SELECT 1 FROM projects pr WHERE pr.project_id = c.project_id)
    GROUP BY project_id ORDER BY project_id
    ON CONFLICT (project_id, slot) DO UPDATE
        SET items = p.items + excluded.items, completed = p.completed + excluded.completed;
    RETURN NULL;
END
$$;

CREATE FUNCTION progress_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := OLD.origin = 'import';
    now_counted boolean := NEW.origin = 'import';
    more_items bigint := now_counted::int - was::int;
    more_completed bigint := (now_counted AND NEW.completed_at IS NOT NULL)::int
                             - (was AND OLD.completed_at IS NOT NULL)::int;
BEGIN
    IF (more_items <> 0 OR more_completed <> 0)
       AND EXISTS (SELECT 1 FROM projects p WHERE p.project_id = NEW.project_id) THEN
        INSERT INTO project_progress AS p (project_id, slot, items, completed)
        VALUES (NEW.project_id, progress_slot(NEW.item_id), more_items, more_completed)
        ON CONFLICT (project_id, slot) DO UPDATE
            SET items = p.items + excluded.items, completed = p.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER items_progress_insert AFTER INSERT ON items
    REFERENCING NEW TABLE AS changed_items FOR EACH STATEMENT EXECUTE FUNCTION progress_rows();
CREATE TRIGGER items_progress_delete AFTER DELETE ON items
    REFERENCING OLD TABLE AS changed_items FOR EACH STATEMENT EXECUTE FUNCTION progress_rows();
CREATE CONSTRAINT TRIGGER items_progress_update AFTER UPDATE OF completed_at, origin ON items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.completed_at IS DISTINCT FROM NEW.completed_at OR OLD.origin IS DISTINCT FROM NEW.origin)
    EXECUTE FUNCTION progress_change();

INSERT INTO project_progress (project_id, slot, items, completed)
SELECT project_id, progress_slot(item_id), count(*), count(completed_at)
FROM items WHERE origin = 'import' GROUP BY 1, 2;

-- The counters replace the indexes the counts used.
DROP INDEX items_completed;
DROP INDEX items_labeled;
