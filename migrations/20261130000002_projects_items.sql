-- A project groups items that share guidelines and labeling settings.
CREATE TABLE projects (
    project_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    guidelines          text NOT NULL DEFAULT '',
    -- Which kinds of feedback annotators give in this project.
    thumbs_enabled      boolean NOT NULL DEFAULT true,
    ranking_enabled     boolean NOT NULL DEFAULT true,
    ideal_enabled       boolean NOT NULL DEFAULT true,
    flags_enabled       boolean NOT NULL DEFAULT true,
    comment_enabled     boolean NOT NULL DEFAULT true,
    allow_ties          boolean NOT NULL DEFAULT false,
    -- How many different annotators label each item.
    overlap             integer NOT NULL DEFAULT 1 CHECK (overlap BETWEEN 1 AND 100),
    shuffle_answers     boolean NOT NULL DEFAULT true,
    lease_seconds       integer NOT NULL DEFAULT 900 CHECK (lease_seconds BETWEEN 30 AND 86400),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- A prompt: a list of chat messages {role, content}; a single question is one user message.
CREATE TABLE items (
    item_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    -- Insertion order: a stable key for listing and paging without OFFSET.
    item_seq     bigint GENERATED ALWAYS AS IDENTITY,
    -- The caller's id for the item; makes imports and API pushes idempotent.
    external_id  text CHECK (length(external_id) BETWEEN 1 AND 200),
    messages     jsonb NOT NULL CHECK (jsonb_typeof(messages) = 'array'),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_gold      boolean NOT NULL DEFAULT false,
    gold_answer  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, external_id)
);

CREATE INDEX items_project_seq ON items (project_id, item_seq);

-- The candidate answers of an item, in their original order.
CREATE TABLE responses (
    response_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    item_id      uuid NOT NULL REFERENCES items (item_id) ON DELETE CASCADE,
    ordinal      smallint NOT NULL CHECK (ordinal >= 0),
    model        text,
    content      text NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (item_id, ordinal)
);
