-- Feedback batches sent with an Idempotency-Key: the answer given, so that a retried batch
-- gets the same answer and stores nothing twice. The row is inserted in the batch's own
-- transaction before its events: a concurrent retry waits on it, then reads the answer.
-- Kept 24 hours (pruned by later batches).
CREATE TABLE feedback_batches (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    key text NOT NULL,
    report jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, key)
);
CREATE INDEX feedback_batches_created_at ON feedback_batches (created_at);
