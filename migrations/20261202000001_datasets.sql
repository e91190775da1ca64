-- Dataset versions: a saved export spec frozen as exactly the annotation versions, items
-- and answers it contains. Membership rows hold ids and version numbers only; the text
-- stays where it is, and moves to the retired_* tables when an item in a version is deleted.

-- Guideline versions: editing a project's guidelines makes a new version, and every
-- annotation records the version in force when it was made (or last edited).
CREATE TABLE guideline_versions (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    version    integer NOT NULL,
    guidelines text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, version)
);

ALTER TABLE projects ADD COLUMN guideline_version integer NOT NULL DEFAULT 1;
INSERT INTO guideline_versions (project_id, version, guidelines)
SELECT project_id, 1, guidelines FROM projects;

-- NULL: made before guideline versions were recorded.
ALTER TABLE annotations ADD COLUMN guideline_version integer;

CREATE FUNCTION guidelines_first_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guideline_versions (project_id, version, guidelines)
    VALUES (NEW.project_id, NEW.guideline_version, NEW.guidelines);
    RETURN NULL;
END
$$;

CREATE FUNCTION guidelines_new_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.guideline_version := OLD.guideline_version + 1;
    INSERT INTO guideline_versions (project_id, version, guidelines)
    VALUES (NEW.project_id, NEW.guideline_version, NEW.guidelines);
    RETURN NEW;
END
$$;

CREATE TRIGGER projects_guidelines_first AFTER INSERT ON projects
    FOR EACH ROW EXECUTE FUNCTION guidelines_first_version();
CREATE TRIGGER projects_guidelines_version BEFORE UPDATE OF guidelines ON projects
    FOR EACH ROW WHEN (OLD.guidelines IS DISTINCT FROM NEW.guidelines)
    EXECUTE FUNCTION guidelines_new_version();

CREATE FUNCTION annotation_guideline_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.guideline_version :=
        (SELECT guideline_version FROM projects WHERE project_id = NEW.project_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER annotations_guideline_version BEFORE INSERT ON annotations
    FOR EACH ROW EXECUTE FUNCTION annotation_guideline_version();

-- Every edit keeps the replaced version (annotators' edits and end users' feedback alike),
-- with all it takes to export it again.
CREATE FUNCTION annotation_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO annotation_versions (annotation_id, version, body)
    VALUES (OLD.annotation_id, OLD.version,
            jsonb_build_object('ranking', OLD.ranking, 'thumbs', OLD.thumbs,
                               'ideal_answer', OLD.ideal_answer, 'ideal_from', OLD.ideal_from,
                               'flags', OLD.flags, 'comment', OLD.comment,
                               'shown_order', OLD.shown_order, 'time_spent_ms', OLD.time_spent_ms,
                               'updated_at', OLD.updated_at,
                               'guideline_version', OLD.guideline_version))
    ON CONFLICT (annotation_id, version) DO NOTHING;
    NEW.guideline_version :=
        (SELECT guideline_version FROM projects WHERE project_id = NEW.project_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER annotations_keep_version BEFORE UPDATE ON annotations
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION annotation_keep_version();

CREATE TABLE dataset_versions (
    version_id  uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,79}$'),
    version     integer NOT NULL CHECK (version >= 1),
    -- The export spec, as JSON (see server::dataset::spec).
    spec        jsonb NOT NULL,
    -- Who made it: a person's id, or NULL for the command line or an API token (`created_via`).
    created_by  uuid REFERENCES users (user_id) ON DELETE SET NULL,
    created_via text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Counts, lineage and the SHA-256 of each file, computed once when the version is made;
    -- NULL while it is being made.
    manifest    jsonb,
    UNIQUE (project_id, name, version)
);

CREATE INDEX dataset_versions_project ON dataset_versions (project_id, created_at DESC, version_id);

-- A version's items in their order, with the answers they had (answers added later are not
-- in it). No foreign key: a version outlives a deleted item.
CREATE TABLE dataset_items (
    version_id uuid NOT NULL REFERENCES dataset_versions (version_id) ON DELETE CASCADE,
    ord        bigint NOT NULL,
    item_id    uuid NOT NULL,
    answers    uuid[] NOT NULL,
    PRIMARY KEY (version_id, ord)
);

CREATE INDEX dataset_items_item ON dataset_items (item_id);

-- A version's annotations: which version of each.
CREATE TABLE dataset_annotations (
    version_id         uuid NOT NULL REFERENCES dataset_versions (version_id) ON DELETE CASCADE,
    ord                bigint NOT NULL,
    annotation_id      uuid NOT NULL,
    annotation_version integer NOT NULL,
    PRIMARY KEY (version_id, ord, annotation_id)
);

-- What a deleted item of some version was: moved here, not copied.
CREATE TABLE retired_items (
    item_id     uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    external_id text,
    messages    jsonb NOT NULL,
    retired_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE retired_responses (
    response_id uuid PRIMARY KEY,
    item_id     uuid NOT NULL REFERENCES retired_items (item_id) ON DELETE CASCADE,
    ordinal     smallint NOT NULL,
    model       text,
    content     text NOT NULL
);

-- Every version of an annotation as it can be exported: the current one, the replaced ones,
-- and those of deleted items that some dataset version holds.
CREATE TABLE retired_annotations (
    annotation_id     uuid NOT NULL,
    version           integer NOT NULL,
    item_id           uuid NOT NULL REFERENCES retired_items (item_id) ON DELETE CASCADE,
    user_id           uuid,
    end_user_id       text,
    source            text NOT NULL,
    ranking           jsonb,
    thumbs            jsonb NOT NULL,
    ideal_answer      text,
    ideal_from        uuid,
    flags             annotation_flag[] NOT NULL,
    comment           text,
    shown_order       uuid[] NOT NULL,
    proposal_id       uuid,
    proposal_outcome  text,
    time_spent_ms     integer NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    guideline_version integer,
    PRIMARY KEY (annotation_id, version)
);

CREATE VIEW annotation_history AS
    SELECT annotation_id, version, item_id, user_id, end_user_id, source, ranking, thumbs,
           ideal_answer, ideal_from, flags, comment, shown_order, proposal_id, proposal_outcome,
           time_spent_ms, created_at, updated_at, guideline_version
    FROM annotations
    UNION ALL
    SELECT v.annotation_id, v.version, a.item_id, a.user_id, a.end_user_id, a.source,
           nullif(v.body -> 'ranking', 'null'::jsonb), v.body -> 'thumbs',
           v.body ->> 'ideal_answer', (v.body ->> 'ideal_from')::uuid,
           ARRAY(SELECT jsonb_array_elements_text(v.body -> 'flags'))::annotation_flag[],
           v.body ->> 'comment',
           CASE WHEN v.body ? 'shown_order'
                THEN ARRAY(SELECT jsonb_array_elements_text(v.body -> 'shown_order'))::uuid[]
                ELSE a.shown_order END,
           a.proposal_id, a.proposal_outcome, (v.body ->> 'time_spent_ms')::integer,
           a.created_at, (v.body ->> 'updated_at')::timestamptz,
           (v.body ->> 'guideline_version')::integer
    FROM annotation_versions v JOIN annotations a USING (annotation_id)
    UNION ALL
    SELECT annotation_id, version, item_id, user_id, end_user_id, source, ranking, thumbs,
           ideal_answer, ideal_from, flags, comment, shown_order, proposal_id, proposal_outcome,
           time_spent_ms, created_at, updated_at, guideline_version
    FROM retired_annotations;

-- Deleting an item that a dataset version holds first moves what the version needs of it.
CREATE FUNCTION item_retire() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nothing to keep for a project being deleted: its versions go with it.
    IF NOT EXISTS (SELECT 1 FROM dataset_items WHERE item_id = OLD.item_id)
       OR NOT EXISTS (SELECT 1 FROM projects WHERE project_id = OLD.project_id) THEN
        RETURN OLD;
    END IF;
    INSERT INTO retired_items (item_id, project_id, external_id, messages)
    VALUES (OLD.item_id, OLD.project_id, OLD.external_id, OLD.messages)
    ON CONFLICT (item_id) DO NOTHING;
    INSERT INTO retired_responses (response_id, item_id, ordinal, model, content)
    SELECT response_id, item_id, ordinal, model, content FROM responses WHERE item_id = OLD.item_id
    ON CONFLICT (response_id) DO NOTHING;
    INSERT INTO retired_annotations
    SELECT DISTINCT ON (h.annotation_id, h.version) h.*
    FROM annotation_history h
    JOIN dataset_annotations d
      ON d.annotation_id = h.annotation_id AND d.annotation_version = h.version
    WHERE h.item_id = OLD.item_id
    ON CONFLICT (annotation_id, version) DO NOTHING;
    RETURN OLD;
END
$$;

CREATE TRIGGER items_retire BEFORE DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION item_retire();

-- The feedback stream and item status now read flat rows through the export's page reader
-- (pseudonyms made in one place, in Rust): the JSON builders they used are gone.
DROP FUNCTION annotation_json(annotations);
DROP FUNCTION item_answers_json(uuid);
