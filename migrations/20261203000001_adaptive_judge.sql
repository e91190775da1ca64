-- Adaptive overlap: an item whose annotators disagree gets another one, up to a maximum.

-- A project's rule (absent: every item stops at the project's overlap).
CREATE TABLE project_adaptive (
    project_id    uuid PRIMARY KEY REFERENCES projects (project_id) ON DELETE CASCADE,
    -- The most annotators an item may get; the project's overlap is the least.
    max_overlap   integer NOT NULL CHECK (max_overlap BETWEEN 1 AND 100),
    -- Another annotator when the item's pairwise agreement (rankings: answer pairs ordered
    -- alike; thumbs: answers thumbed alike) is below this share.
    min_agreement double precision CHECK (min_agreement BETWEEN 0 AND 1),
    -- ... or when its Kendall's W is below this.
    min_kendall_w double precision CHECK (min_kendall_w BETWEEN 0 AND 1),
    -- ... or when the human consensus contradicts the model's proposal.
    on_proposal_conflict boolean NOT NULL DEFAULT false
);

-- How many annotators the item needs now, when disagreement raised it above the project's
-- overlap (NULL: the overlap). The effective target is greatest(target_overlap, overlap).
ALTER TABLE items ADD COLUMN target_overlap integer CHECK (target_overlap BETWEEN 1 AND 100);

-- Judge calibration: a share of pre-labeled items is judged a second time with the
-- answers in reverse order, to see whether the model prefers a position.
CREATE TABLE proposal_swaps (
    item_id     uuid PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    proposal_id uuid NOT NULL REFERENCES proposals (proposal_id) ON DELETE CASCADE,
    project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    model       text NOT NULL,
    -- The answers in the order the model saw them the second time.
    shown_order uuid[] NOT NULL,
    ranking     jsonb NOT NULL,
    thumbs      jsonb NOT NULL,
    confidence  real NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposal_swaps_project ON proposal_swaps (project_id);

-- Items are counted anew when a proposal arrives (its agreement with the humans is part of
-- the item's figures): existing ones are counted once.
INSERT INTO agreement_marks (item_id, project_id)
SELECT p.item_id, p.project_id FROM proposals p
WHERE p.status = 'done'
  AND EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = p.item_id)
ON CONFLICT (item_id) DO NOTHING;

-- The raw export says whether an item is gold and the author's standing (active, flagged,
-- paused) as they were when a dataset version was made, so its files stay the same. NULL:
-- a version made before these were recorded (its records do not carry them).
ALTER TABLE dataset_items ADD COLUMN gold boolean;
ALTER TABLE dataset_annotations ADD COLUMN annotator_status text
    CHECK (annotator_status IN ('active', 'flagged', 'paused'));
