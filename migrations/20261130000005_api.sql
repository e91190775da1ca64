-- The model-backend API: tokens, end-user feedback, and cursors for pulling feedback.

-- API tokens. Only a SHA-256 hash of the secret is kept (the secret is 256 random bits, so
-- a fast hash is enough); the prefix identifies a token in lists without revealing it.
CREATE TABLE api_tokens (
    token_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL,
    secret_hash   bytea NOT NULL UNIQUE,
    scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['items:write', 'feedback:write', 'feedback:read', 'export:read']),
    -- When set, the token reaches only this project.
    project_id    uuid REFERENCES projects (project_id) ON DELETE CASCADE,
    created_by    uuid REFERENCES users (user_id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    -- Rate limiting: requests counted in the current one-minute window.
    window_start  timestamptz NOT NULL DEFAULT now(),
    window_count  integer NOT NULL DEFAULT 0
);

-- Items created by end-user feedback carry a single answer: they are not offered to
-- annotators and do not count towards the project's labeling progress.
ALTER TABLE items ADD COLUMN origin text NOT NULL DEFAULT 'import' CHECK (origin IN ('import', 'end_user'));

-- Feedback from a model backend's own users sits beside annotators' annotations.
ALTER TABLE annotations
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN source text NOT NULL DEFAULT 'annotator' CHECK (source IN ('annotator', 'end_user')),
    -- The backend's opaque id of its user.
    ADD COLUMN end_user_id text CHECK (length(end_user_id) BETWEEN 1 AND 200),
    -- The transaction that last wrote the row. Cursors order by (tx, seq) and read only rows
    -- of transactions older than every running one, so a late commit is never skipped.
    ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD CONSTRAINT annotations_source_author CHECK (
        (source = 'annotator' AND user_id IS NOT NULL AND end_user_id IS NULL)
        OR (source = 'end_user' AND user_id IS NULL AND end_user_id IS NOT NULL)),
    ADD CONSTRAINT annotations_item_end_user UNIQUE (item_id, end_user_id);

DROP INDEX annotations_project_seq;
CREATE INDEX annotations_project_cursor ON annotations (project_id, tx, seq);

-- Named consumers: a model backend's server-side cursor and its one outstanding batch.
CREATE TABLE consumers (
    project_id        uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
    cursor_tx         xid8 NOT NULL DEFAULT '0',
    cursor_seq        bigint NOT NULL DEFAULT 0,
    batch_id          uuid,
    batch_end_tx      xid8,
    batch_end_seq     bigint,
    batch_expires_at  timestamptz,
    acked_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name)
);

-- One annotation as the exporter and the feedback stream read it. Annotators and end users
-- appear as pseudonyms that are stable within a project.
CREATE FUNCTION annotation_json(a annotations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'annotation_id', a.annotation_id,
        'annotator', CASE a.source
            WHEN 'end_user' THEN 'end-user-' || left(encode(sha256(convert_to(a.end_user_id || a.project_id::text, 'UTF8')), 'hex'), 12)
            ELSE 'annotator-' || left(encode(sha256(convert_to(a.user_id::text || a.project_id::text, 'UTF8')), 'hex'), 12)
        END,
        'source', a.source,
        'ranking', a.ranking, 'thumbs', a.thumbs,
        'ideal_answer', a.ideal_answer, 'ideal_from', a.ideal_from,
        'flags', to_jsonb(a.flags), 'comment', a.comment,
        'shown_order', to_jsonb(a.shown_order), 'proposal_id', a.proposal_id,
        'time_spent_ms', a.time_spent_ms, 'version', a.version,
        'created_at', a.created_at, 'updated_at', a.updated_at)
$$;

-- An item's answers in their original order, as the exporter reads them.
CREATE FUNCTION item_answers_json(item uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'response_id', r.response_id, 'ordinal', r.ordinal,
               'model', r.model, 'content', r.content) ORDER BY r.ordinal), '[]'::jsonb)
    FROM responses r WHERE r.item_id = item
$$;

-- Progress counts only the items annotators label, still over indexes only.
DROP INDEX items_completed;
CREATE INDEX items_completed ON items (project_id) WHERE completed_at IS NOT NULL AND origin = 'import';
CREATE INDEX items_labeled ON items (project_id) WHERE origin = 'import';
