use crate::model::annotation::FeedbackKinds;
use crate::model::project::{ProjectSettings, ProjectSummary};
use sqlx::PgExecutor;
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

pub async fn list_summaries(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ProjectSummary>> {
    sqlx::query_as!(
        ProjectSummary,
        r#"SELECT p.project_id, p.slug, p.name,
                  (SELECT count(*) FROM items i WHERE i.project_id = p.project_id) AS "item_count!"
           FROM projects p ORDER BY p.name"#
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
                  (SELECT count(*) FROM items i WHERE i.project_id = p.project_id) AS "item_count!"
           FROM projects p WHERE p.slug = $1"#,
        slug
    )
    .fetch_optional(db)
    .await
}

pub async fn find_settings(
    db: impl PgExecutor<'_>,
    slug: &str,
) -> sqlx::Result<Option<ProjectSettings>> {
    let row = sqlx::query!(
        "SELECT project_id, slug, name, guidelines, thumbs_enabled, ranking_enabled, ideal_enabled,
                flags_enabled, comment_enabled, allow_ties, overlap, shuffle_answers, lease_seconds
         FROM projects WHERE slug = $1",
        slug
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
        shuffle_answers: r.shuffle_answers,
        lease_seconds: r.lease_seconds,
    }))
}

/// Changes a project's settings; returns false when there is no such project.
pub async fn update_settings(db: impl PgExecutor<'_>, s: &ProjectSettings) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE projects SET name = $2, guidelines = $3, thumbs_enabled = $4, ranking_enabled = $5,
                ideal_enabled = $6, flags_enabled = $7, comment_enabled = $8, allow_ties = $9,
                overlap = $10, shuffle_answers = $11, lease_seconds = $12, updated_at = now()
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
