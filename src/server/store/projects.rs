use crate::model::annotation::FeedbackKinds;
use crate::model::judgment::JudgmentSchema;
use crate::model::project::{ProjectSettings, ProjectSummary};
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

/// Creates the project unless one with this slug exists; returns its id either way.
pub async fn ensure(
    db: impl PgExecutor<'_>,
    slug: &str,
    name: &str,
    guidelines: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        r#"INSERT INTO projects (slug, name, guidelines) VALUES ($1, $2, $3)
           ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
           RETURNING project_id"#,
        slug,
        name,
        guidelines
    )
    .fetch_one(db)
    .await
}

/// Every project (with `member`, only those that user is a member of).
pub async fn list_summaries(
    db: impl PgExecutor<'_>,
    member: Option<Uuid>,
) -> sqlx::Result<Vec<ProjectSummary>> {
    sqlx::query_as!(
        ProjectSummary,
        r#"SELECT p.project_id, p.slug, p.name,
                  (SELECT coalesce(sum(g.items), 0)::bigint FROM project_progress g WHERE g.project_id = p.project_id) AS "item_count!",
                  (SELECT count(*) FROM annotations a WHERE a.project_id = p.project_id AND a.source = 'end_user') AS "feedback_count!",
                  0::bigint AS "completed!", 0::bigint AS "labels_today!", 0::bigint AS "my_labels!",
                  0::bigint AS "all_labels!", NULL::bigint AS agreement_percent, NULL::bigint AS review_due
           FROM projects p
           WHERE $1::uuid IS NULL OR EXISTS (SELECT 1 FROM project_members m
                                             WHERE m.project_id = p.project_id AND m.user_id = $1)
           ORDER BY p.name"#,
        member
    )
    .fetch_all(db)
    .await
}

pub async fn find_summary(
    db: impl PgExecutor<'_>,
    slug: &str,
) -> sqlx::Result<Option<ProjectSummary>> {
    sqlx::query_as!(
        ProjectSummary,
        r#"SELECT p.project_id, p.slug, p.name,
                  (SELECT coalesce(sum(g.items), 0)::bigint FROM project_progress g WHERE g.project_id = p.project_id) AS "item_count!",
                  (SELECT count(*) FROM annotations a WHERE a.project_id = p.project_id AND a.source = 'end_user') AS "feedback_count!",
                  0::bigint AS "completed!", 0::bigint AS "labels_today!", 0::bigint AS "my_labels!",
                  0::bigint AS "all_labels!", NULL::bigint AS agreement_percent, NULL::bigint AS review_due
           FROM projects p WHERE p.slug = $1"#,
        slug
    )
    .fetch_optional(db)
    .await
}

/// The project's settings; with `member`, only if that user is a member of it.
pub async fn find_settings(
    db: impl PgExecutor<'_>,
    slug: &str,
    member: Option<Uuid>,
) -> sqlx::Result<Option<ProjectSettings>> {
    let row = sqlx::query!(
        r#"SELECT p.project_id, p.slug, p.name, p.guidelines, p.thumbs_enabled, p.ranking_enabled,
                  p.ideal_enabled, p.flags_enabled, p.comment_enabled, p.allow_ties, p.overlap,
                  greatest(a.max_overlap, p.overlap) AS "max_overlap!", p.shuffle_answers, p.lease_seconds,
                  p.guideline_version, p.judgment AS "judgment!: Json<JudgmentSchema>"
           FROM projects p LEFT JOIN project_adaptive a ON a.project_id = p.project_id
           WHERE p.slug = $1
             AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM project_members m
                                              WHERE m.project_id = p.project_id AND m.user_id = $2))"#,
        slug,
        member
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ProjectSettings {
        project_id: r.project_id,
        slug: r.slug,
        name: r.name,
        guidelines: r.guidelines,
        kinds: FeedbackKinds {
            thumbs: r.thumbs_enabled,
            ranking: r.ranking_enabled,
            ideal: r.ideal_enabled,
            flags: r.flags_enabled,
            comment: r.comment_enabled,
            allow_ties: r.allow_ties,
        },
        overlap: r.overlap,
        max_overlap: r.max_overlap,
        shuffle_answers: r.shuffle_answers,
        lease_seconds: r.lease_seconds,
        guideline_version: r.guideline_version,
        judgment: r.judgment.0,
    }))
}

/// Changes a project's settings; returns false when there is no such project.
pub async fn update_settings(db: impl PgExecutor<'_>, s: &ProjectSettings) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE projects SET name = $2, guidelines = $3, thumbs_enabled = $4, ranking_enabled = $5,
                ideal_enabled = $6, flags_enabled = $7, comment_enabled = $8, allow_ties = $9,
                overlap = $10, shuffle_answers = $11, lease_seconds = $12, judgment = $13,
                updated_at = now()
         WHERE project_id = $1",
        s.project_id,
        s.name,
        s.guidelines,
        s.kinds.thumbs,
        s.kinds.ranking,
        s.kinds.ideal,
        s.kinds.flags,
        s.kinds.comment,
        s.kinds.allow_ties,
        s.overlap,
        s.shuffle_answers,
        s.lease_seconds,
        Json(&s.judgment) as _,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert(db: impl PgExecutor<'_>, slug: &str, name: &str) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO projects (slug, name) VALUES ($1, $2) RETURNING project_id",
        slug,
        name
    )
    .fetch_one(db)
    .await
}

/// A project's model-assist settings (NULL: the deployment's value).
pub struct AssistRow {
    pub project_id: Uuid,
    pub guidelines: String,
    pub inference_base_url: Option<String>,
    pub inference_model: Option<String>,
    pub inference_api_key: Option<String>,
    pub inference_timeout_secs: Option<i32>,
    pub inference_concurrency: Option<i32>,
    pub judge_prompt: Option<String>,
    pub auto_prelabel: bool,
    pub proposal_holdout: f32,
}

pub async fn assist_by_id(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Option<AssistRow>> {
    sqlx::query_as!(
        AssistRow,
        "SELECT project_id, guidelines, inference_base_url, inference_model, inference_api_key,
                inference_timeout_secs, inference_concurrency, judge_prompt, auto_prelabel, proposal_holdout
         FROM projects WHERE project_id = $1",
        project_id
    )
    .fetch_optional(db)
    .await
}

/// Every project's stored inference API key (sealed, or plain from before sealing).
pub async fn inference_keys(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        r#"SELECT project_id, inference_api_key AS "key!" FROM projects
           WHERE inference_api_key IS NOT NULL ORDER BY project_id"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.project_id, r.key)).collect())
}

/// Replaces a project's stored API key if it is still `old`; false when it changed meanwhile.
pub async fn replace_inference_key(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    old: &str,
    new: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE projects SET inference_api_key = $3 WHERE project_id = $1 AND inference_api_key = $2",
        project_id,
        old,
        new
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves the model-assist settings; `api_key` `None` keeps the stored key unless `clear_key`.
pub async fn update_assist(
    db: impl PgExecutor<'_>,
    a: &AssistRow,
    clear_key: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE projects SET inference_base_url = $2, inference_model = $3,
                inference_api_key = CASE WHEN $9 THEN NULL ELSE coalesce($4, inference_api_key) END,
                inference_timeout_secs = $5, inference_concurrency = $6, judge_prompt = $7,
                auto_prelabel = $8, proposal_holdout = $10, updated_at = now()
         WHERE project_id = $1",
        a.project_id,
        a.inference_base_url,
        a.inference_model,
        a.inference_api_key,
        a.inference_timeout_secs,
        a.inference_concurrency,
        a.judge_prompt,
        a.auto_prelabel,
        clear_key,
        a.proposal_holdout,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The judgment schema of one of the project's guideline versions; `None` when the
/// project has no such version.
pub async fn judgment_of_version(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    version: i32,
) -> sqlx::Result<Option<JudgmentSchema>> {
    let row = sqlx::query_scalar!(
        r#"SELECT judgment AS "judgment!: Json<JudgmentSchema>" FROM guideline_versions
           WHERE project_id = $1 AND version = $2"#,
        project_id,
        version
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|j| j.0))
}

/// The judgment schemas of every guideline version of the project, by version.
pub async fn judgments_by_version(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<std::collections::BTreeMap<i32, JudgmentSchema>> {
    let rows = sqlx::query!(
        r#"SELECT version, judgment AS "judgment!: Json<JudgmentSchema>" FROM guideline_versions
           WHERE project_id = $1"#,
        project_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.version, r.judgment.0))
        .collect())
}
