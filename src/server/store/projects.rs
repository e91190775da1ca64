use crate::model::project::ProjectSummary;
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
