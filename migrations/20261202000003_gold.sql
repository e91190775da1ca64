-- Gold items: items with a known correct label, mixed into annotators' queues to measure
-- their accuracy. They stay out of the project's progress and the training exports.

-- The expectation (model::gold::Gold, answers by position); `is_gold` says whether there is
-- one. The old `gold_answer` was never written.
ALTER TABLE items ADD COLUMN gold jsonb;
ALTER TABLE items DROP COLUMN gold_answer;
ALTER TABLE items ADD CONSTRAINT items_gold_flag CHECK (is_gold = (gold IS NOT NULL));

-- A project's gold settings (absent: no gold mixing, nobody flagged).
CREATE TABLE project_gold (
    project_id  uuid PRIMARY KEY REFERENCES projects (project_id) ON DELETE CASCADE,
    -- The share of an annotator's items that are gold, after onboarding.
    rate        double precision NOT NULL DEFAULT 0 CHECK (rate BETWEEN 0 AND 1),
    -- The first items of a new annotator that are gold.
    onboarding  integer NOT NULL DEFAULT 0 CHECK (onboarding BETWEEN 0 AND 1000),
    -- Below this accuracy after `minimum` gold items, the annotator is flagged.
    threshold   double precision NOT NULL DEFAULT 0 CHECK (threshold BETWEEN 0 AND 1),
    minimum     integer NOT NULL DEFAULT 5 CHECK (minimum BETWEEN 1 AND 1000),
    -- Accuracy "over the last N" gold items.
    recent      integer NOT NULL DEFAULT 20 CHECK (recent BETWEEN 1 AND 1000),
    -- A flagged annotator is also paused on the project until an admin resumes them.
    pause       boolean NOT NULL DEFAULT false,
    -- After a miss, the annotator sees the expected label's explanation.
    feedback    boolean NOT NULL DEFAULT false
);

-- Each gold label, checked once when it is first submitted.
CREATE TABLE gold_results (
    annotation_id uuid PRIMARY KEY REFERENCES annotations (annotation_id) ON DELETE CASCADE,
    project_id    uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    item_id       uuid NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
    correct       boolean NOT NULL,
    checked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gold_results_user ON gold_results (project_id, user_id, checked_at DESC);

-- Annotators flagged (and maybe paused) on a project by their gold accuracy.
-- Once resumed, only gold labels checked after `resumed_at` count toward a new flag.
CREATE TABLE annotator_status (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    flagged    boolean NOT NULL DEFAULT true,
    paused     boolean NOT NULL DEFAULT false,
    reason     text NOT NULL,
    flagged_at timestamptz NOT NULL DEFAULT now(),
    resumed_at timestamptz,
    PRIMARY KEY (project_id, user_id)
);

-- Progress counts the items annotators label for the dataset: not gold ones.
CREATE OR REPLACE FUNCTION progress_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign bigint := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO project_progress AS p (project_id, slot, items, completed)
    SELECT project_id, 64 + txid_current(), sign * count(*), sign * count(completed_at)
    FROM changed_items c WHERE origin = 'import' AND NOT is_gold
        AND EXISTS (SELECT 1 FROM projects pr WHERE pr.project_id = c.project_id)
    GROUP BY project_id ORDER BY project_id
    ON CONFLICT (project_id, slot) DO UPDATE
        SET items = p.items + excluded.items, completed = p.completed + excluded.completed;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION progress_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was boolean := OLD.origin = 'import' AND NOT OLD.is_gold;
    now_counted boolean := NEW.origin = 'import' AND NOT NEW.is_gold;
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

DROP TRIGGER items_progress_update ON items;
CREATE CONSTRAINT TRIGGER items_progress_update AFTER UPDATE OF completed_at, origin, is_gold ON items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.completed_at IS DISTINCT FROM NEW.completed_at OR OLD.origin IS DISTINCT FROM NEW.origin
          OR OLD.is_gold IS DISTINCT FROM NEW.is_gold)
    EXECUTE FUNCTION progress_change();

-- Gold items an annotator has not labeled yet, for the queue.
CREATE INDEX items_gold ON items (project_id, item_seq) WHERE is_gold;

-- Agreement is counted beside the submissions instead of inside them: a submission or edit
-- marks its item here (in the statement that stores it), and every server counts marked items
-- in batches a few seconds later (`quality::count_marked`), so labeling pays one index entry
-- per submission instead of five statements.
CREATE TABLE agreement_marks (
    item_id    uuid PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE
);
