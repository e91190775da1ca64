-- Richer judgments. A project's judgment schema (preference strength, rubric criteria,
-- "none acceptable", a required rationale) is versioned with its guidelines: changing
-- either makes a new guideline version, and a label records the version it was made under.
ALTER TABLE projects ADD COLUMN judgment jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE guideline_versions ADD COLUMN judgment jsonb NOT NULL DEFAULT '{}'::jsonb;
-- {"strengths": [..], "ratings": {answer: {criterion: score}}, "none_acceptable": reason,
--  "rationale": text}, each key only when given.
ALTER TABLE annotations ADD COLUMN judgments jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE OR REPLACE FUNCTION guidelines_first_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guideline_versions (project_id, version, guidelines, judgment)
    VALUES (NEW.project_id, NEW.guideline_version, NEW.guidelines, NEW.judgment);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION guidelines_new_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.guideline_version := OLD.guideline_version + 1;
    INSERT INTO guideline_versions (project_id, version, guidelines, judgment)
    VALUES (NEW.project_id, NEW.guideline_version, NEW.guidelines, NEW.judgment);
    RETURN NEW;
END
$$;

DROP TRIGGER projects_guidelines_version ON projects;
CREATE TRIGGER projects_guidelines_version BEFORE UPDATE OF guidelines, judgment ON projects
    FOR EACH ROW WHEN (OLD.guidelines IS DISTINCT FROM NEW.guidelines
                       OR OLD.judgment IS DISTINCT FROM NEW.judgment)
    EXECUTE FUNCTION guidelines_new_version();

-- A label is made under the version its item was shown with, when the statement names one
-- (the service has checked it exists), else under the current one.
CREATE OR REPLACE FUNCTION annotation_guideline_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.guideline_version IS NULL THEN
        NEW.guideline_version :=
            (SELECT guideline_version FROM projects WHERE project_id = NEW.project_id);
    END IF;
    RETURN NEW;
END
$$;

-- The kept version carries the judgments; the new one is made under the version the
-- statement names (an edit names the version it was shown with; NULL: the current one).
CREATE OR REPLACE FUNCTION annotation_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO annotation_versions (annotation_id, version, body)
    VALUES (OLD.annotation_id, OLD.version,
            jsonb_build_object('ranking', OLD.ranking, 'thumbs', OLD.thumbs,
                               'ideal_answer', OLD.ideal_answer, 'ideal_from', OLD.ideal_from,
                               'flags', OLD.flags, 'comment', OLD.comment,
                               'shown_order', OLD.shown_order, 'time_spent_ms', OLD.time_spent_ms,
                               'updated_at', OLD.updated_at,
                               'guideline_version', OLD.guideline_version)
            || CASE WHEN OLD.judgments = '{}'::jsonb THEN '{}'::jsonb
                    ELSE jsonb_build_object('judgments', OLD.judgments) END)
    ON CONFLICT (annotation_id, version) DO NOTHING;
    IF NEW.guideline_version IS NULL THEN
        NEW.guideline_version :=
            (SELECT guideline_version FROM projects WHERE project_id = NEW.project_id);
    END IF;
    RETURN NEW;
END
$$;

-- Dataset versions read labels through the history: it carries the judgments too (last,
-- in the view and in the retired table alike, as item_retire copies h.* across).
ALTER TABLE retired_annotations ADD COLUMN judgments jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE OR REPLACE VIEW annotation_history AS
    SELECT annotation_id, version, item_id, user_id, end_user_id, source, ranking, thumbs,
           ideal_answer, ideal_from, flags, comment, shown_order, proposal_id, proposal_outcome,
           time_spent_ms, created_at, updated_at, guideline_version, judgments
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
           (v.body ->> 'guideline_version')::integer,
           coalesce(v.body -> 'judgments', '{}'::jsonb)
    FROM annotation_versions v JOIN annotations a USING (annotation_id)
    UNION ALL
    SELECT annotation_id, version, item_id, user_id, end_user_id, source, ranking, thumbs,
           ideal_answer, ideal_from, flags, comment, shown_order, proposal_id, proposal_outcome,
           time_spent_ms, created_at, updated_at, guideline_version, judgments
    FROM retired_annotations;
