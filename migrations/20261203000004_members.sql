-- People and review: who may work on which project.

-- Reviewers check annotators' work (between annotator and admin).
ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'reviewer' BEFORE 'admin';

-- An annotator or reviewer sees and works only on the projects they are a member of (admins
-- reach every project). Limits: the most items the member may label in the project, and
-- per day (UTC); NULL: no limit.
CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    max_items  integer CHECK (max_items >= 0),
    daily_max  integer CHECK (daily_max >= 0),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

-- Everyone who already worked on a project stays a member of it.
INSERT INTO project_members (project_id, user_id)
SELECT DISTINCT a.project_id, a.user_id FROM annotations a
JOIN users u ON u.user_id = a.user_id
WHERE a.user_id IS NOT NULL AND u.role <> 'admin'
ON CONFLICT DO NOTHING;
