-- Agreement between annotators, kept as running sums so that a project's figures read a few
-- hundred rows however many labels it has. An item's labels change in a transaction that
-- holds the item's lock; that transaction computes the item's part of every sum anew and adds
-- the difference to what the item contributed before (kept in `item_agreement.part`).

-- Per item: its own figures, and its part of the sums.
CREATE TABLE item_agreement (
    item_id       uuid PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    project_id    uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    annotators    integer NOT NULL,
    -- Kendall's W of the item's rankings (NULL with fewer than two, or undefined).
    kendall_w     double precision,
    -- Annotator pairs x answer pairs ordered alike, and compared.
    pref_agree    integer NOT NULL DEFAULT 0,
    pref_compared integer NOT NULL DEFAULT 0,
    part          jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The most contentious items first.
CREATE INDEX item_agreement_contentious ON item_agreement (project_id, kendall_w)
    WHERE kendall_w IS NOT NULL;

-- Per project: coincidence matrices and counters (metric, value pair), spread over the same
-- 16 slots as the progress counters so that concurrent submissions rarely wait on one row.
CREATE TABLE agreement_cells (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    metric     text NOT NULL,
    a          integer NOT NULL,
    b          integer NOT NULL,
    slot       smallint NOT NULL,
    n          double precision NOT NULL,
    PRIMARY KEY (project_id, metric, a, b, slot)
) WITH (fillfactor = 50);

-- Per annotator pair (user_a < user_b): their thumbs table and counters.
CREATE TABLE agreement_pairs (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    user_a     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    user_b     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    metric     text NOT NULL,
    a          integer NOT NULL,
    b          integer NOT NULL,
    n          double precision NOT NULL,
    PRIMARY KEY (project_id, user_a, user_b, metric, a, b),
    CHECK (user_a < user_b)
);

-- Projects whose sums are still to be computed from their labels (those labeled before
-- this migration); the server works through them at start-up (`verdict quality rebuild`).
CREATE TABLE agreement_rebuilds (
    project_id uuid PRIMARY KEY REFERENCES projects (project_id) ON DELETE CASCADE
);
INSERT INTO agreement_rebuilds (project_id)
SELECT DISTINCT project_id FROM annotations WHERE user_id IS NOT NULL;
