-- People and review: a reviewer's second look at annotators' labels, adjudicated final
-- labels of contentious items, and the audit log of who changed what.

-- Which labels a project's reviewers check: every one, a random share, those of annotators
-- below a gold accuracy, or those of items whose annotators disagree (worst first).
CREATE TYPE review_selection AS ENUM ('all', 'sample', 'below_gold', 'disagreement');

CREATE TABLE project_review (
    project_id    uuid PRIMARY KEY REFERENCES projects (project_id) ON DELETE CASCADE,
    enabled       boolean NOT NULL DEFAULT false,
    selection     review_selection NOT NULL DEFAULT 'all',
    -- `sample`: the share of labels reviewed (by a stable hash of the annotation id).
    share         double precision NOT NULL DEFAULT 0.1 CHECK (share > 0 AND share <= 1),
    -- `below_gold`: labels of annotators whose gold accuracy is below this.
    min_accuracy  double precision NOT NULL DEFAULT 0.8 CHECK (min_accuracy BETWEEN 0 AND 1),
    -- `disagreement`: items whose Kendall's W (or, without rankings, share of agreeing
    -- answer pairs) is below this.
    max_agreement double precision NOT NULL DEFAULT 0.5 CHECK (max_agreement BETWEEN 0 AND 1),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Whether the project's review selection takes this label (a human's label of a finished,
-- non-gold item is assumed by the caller).
CREATE FUNCTION review_selects(a annotations, r project_review) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE r.selection
        WHEN 'all' THEN true
        WHEN 'sample' THEN (abs(hashtextextended(a.annotation_id::text, 0)) % 1000000) < r.share * 1000000
        WHEN 'below_gold' THEN coalesce(
            (SELECT avg(g.correct::int) < r.min_accuracy FROM gold_results g
             WHERE g.project_id = a.project_id AND g.user_id = a.user_id), false)
        WHEN 'disagreement' THEN coalesce(
            (SELECT coalesce(q.kendall_w, q.pref_agree::float8 / nullif(q.pref_compared, 0)) < r.max_agreement
             FROM item_agreement q WHERE q.item_id = a.item_id), false)
    END
$$;

-- A reviewer's hold on an item: one reviewer per item; an expired hold is taken over.
CREATE TABLE review_leases (
    item_id     uuid PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    reviewer_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    leased_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX review_leases_reviewer ON review_leases (reviewer_id, project_id, expires_at);

CREATE TYPE review_outcome AS ENUM ('accepted', 'fixed', 'rejected');

-- The decision on one label (the latest: a label edited after its review is due again).
-- No foreign key to the annotation: a rejection removes the label, its review stays, with
-- the label as the annotator submitted it.
CREATE TABLE reviews (
    annotation_id    uuid PRIMARY KEY,
    item_id          uuid NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
    project_id       uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    annotator_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    reviewer_id      uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    outcome          review_outcome NOT NULL,
    reason           text CHECK (length(reason) <= 2000),
    -- A rejection sent the item back to the queue for another annotator.
    requeued         boolean NOT NULL DEFAULT false,
    -- The label as reviewed (`to_jsonb` of its row), and as the reviewer fixed it.
    original         jsonb NOT NULL,
    fixed            jsonb,
    -- The label's version the decision is about (after a fix: the fixed version).
    reviewed_version integer NOT NULL,
    decided_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (outcome <> 'rejected' OR reason IS NOT NULL),
    CHECK ((outcome = 'fixed') = (fixed IS NOT NULL))
);
CREATE INDEX reviews_item ON reviews (item_id);
CREATE INDEX reviews_annotator ON reviews (project_id, annotator_id, decided_at DESC);

-- Whether the label is due for this reviewer: a person's label (not the reviewer's own) the
-- selection takes, not yet decided at its current version (an edit makes it due again).
CREATE FUNCTION review_pending(a annotations, r project_review, reviewer uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT a.user_id IS NOT NULL AND a.user_id <> reviewer AND review_selects(a, r)
       AND NOT EXISTS (SELECT 1 FROM reviews v
                       WHERE v.annotation_id = a.annotation_id AND v.reviewed_version = a.version)
$$;

-- The final label of an item, as a reviewer decided it: one of its labels (after their fix).
CREATE TABLE adjudications (
    item_id       uuid PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    project_id    uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    annotation_id uuid NOT NULL REFERENCES annotations (annotation_id) ON DELETE CASCADE,
    reviewer_id   uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    decided_at    timestamptz NOT NULL DEFAULT now()
);

-- Who changed who can do what, or what a dataset will contain. Append-only: the triggers
-- below refuse to change or remove a row. No foreign keys, so that nothing deleted later
-- takes its history with it.
CREATE TABLE audit_log (
    seq        bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    -- The person (nil: the command line), and the API token when one acted.
    actor_id   uuid NOT NULL,
    token_id   uuid,
    action     text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    project_id uuid,
    -- What was acted on: a user's email, an item's id, a token's name...
    target     text,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_project ON audit_log (project_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- API tokens may manage a project's members.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check
    CHECK (scopes <@ ARRAY['items:write', 'feedback:write', 'feedback:read', 'export:read', 'members:write']);
