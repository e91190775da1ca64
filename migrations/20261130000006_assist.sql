-- Model-assisted labeling: a local model proposes labels, people confirm or correct them.

-- Per-project inference settings; NULL falls back to the deployment's (flags/environment).
ALTER TABLE projects
    ADD COLUMN inference_base_url text CHECK (length(inference_base_url) <= 500),
    ADD COLUMN inference_model text CHECK (length(inference_model) <= 200),
    ADD COLUMN inference_api_key text CHECK (length(inference_api_key) <= 500),
    ADD COLUMN inference_timeout_secs integer CHECK (inference_timeout_secs BETWEEN 1 AND 600),
    ADD COLUMN inference_concurrency integer CHECK (inference_concurrency BETWEEN 1 AND 64),
    -- The judge prompt; NULL is the built-in one.
    ADD COLUMN judge_prompt text CHECK (length(judge_prompt) <= 20000),
    -- Pre-label new items as they arrive.
    ADD COLUMN auto_prelabel boolean NOT NULL DEFAULT false,
    -- Share of annotators (0 to 1, by a stable hash) who never see proposals.
    ADD COLUMN proposal_holdout real NOT NULL DEFAULT 0 CHECK (proposal_holdout BETWEEN 0 AND 1);

-- Background work on a project's items, shared by every server process through the queue below.
CREATE TABLE jobs (
    job_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('prelabel', 'generate')),
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused', 'cancelled', 'done')),
    -- Created by the project's auto-prelabel setting; new items keep joining it.
    auto        boolean NOT NULL DEFAULT false,
    -- For `generate`: {"answers": N, "models": [...], "temperature": T}.
    options     jsonb NOT NULL DEFAULT '{}'::jsonb,
    total       integer NOT NULL DEFAULT 0,
    done        integer NOT NULL DEFAULT 0,
    failed      integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE UNIQUE INDEX jobs_one_auto ON jobs (project_id) WHERE auto AND status <> 'cancelled';

-- One row per item of a job. Workers claim rows with FOR UPDATE SKIP LOCKED and hold them
-- for a lease; a row whose lease ran out (its worker died) is claimed again.
CREATE TABLE job_items (
    job_id        uuid NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    item_id       uuid NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
    item_seq      bigint NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    error         text,
    leased_until  timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (job_id, item_id)
);

CREATE INDEX job_items_open ON job_items (job_id, item_seq) WHERE status IN ('pending', 'running');

-- What the model proposed for an item: its latest attempt, done or failed.
CREATE TABLE proposals (
    proposal_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    item_id      uuid NOT NULL UNIQUE REFERENCES items (item_id) ON DELETE CASCADE,
    project_id   uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('done', 'failed')),
    model        text NOT NULL,
    -- Best to worst, tiers of response ids, like annotations.
    ranking      jsonb,
    thumbs       jsonb,
    rationale    text,
    confidence   real,
    latency_ms   integer NOT NULL,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX proposals_project ON proposals (project_id, status);

-- How the annotator treated the proposal they were shown.
ALTER TABLE annotations
    ADD COLUMN proposal_outcome text CHECK (proposal_outcome IN ('accepted', 'modified', 'replaced')),
    ADD CONSTRAINT annotations_proposal FOREIGN KEY (proposal_id) REFERENCES proposals (proposal_id) ON DELETE SET NULL;
