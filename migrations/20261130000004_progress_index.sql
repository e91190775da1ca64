-- Progress bars count completed items on every task; this keeps that count on an index.
CREATE INDEX items_completed ON items (project_id) WHERE completed_at IS NOT NULL;
