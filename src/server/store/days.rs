//! The dashboard's daily figures (`project_days`, kept by triggers; see its migration).

use chrono::NaiveDate;
use sqlx::PgExecutor;
use uuid::Uuid;

pub struct DayRow {
    pub day: NaiveDate,
    /// Nil: a figure of the whole project.
    pub user_id: Uuid,
    pub metric: String,
    pub key: String,
    pub n: f64,
}

/// Every figure of one facet ('' for all items), summed over slots, oldest day first; with
/// `user`, only that annotator's figures and the project's.
pub async fn figures(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    facet: &str,
    user: Option<Uuid>,
) -> sqlx::Result<Vec<DayRow>> {
    sqlx::query_as!(
        DayRow,
        r#"SELECT day AS "day: NaiveDate", user_id, metric, key, sum(n) AS "n!"
           FROM project_days
           WHERE project_id = $1 AND facet = $2
             AND ($3::uuid IS NULL OR user_id = $3 OR user_id = '00000000-0000-0000-0000-000000000000')
           GROUP BY day, user_id, metric, key HAVING sum(n) <> 0
           ORDER BY day"#,
        project_id,
        facet,
        user
    )
    .fetch_all(db)
    .await
}

/// The facets with any figure ('' first), for the filter's choices.
pub async fn facets(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<String>> {
    // A loose index scan: one probe per facet, however many rows each has.
    sqlx::query_scalar!(
        r#"WITH RECURSIVE f (facet) AS (
               (SELECT facet FROM project_days WHERE project_id = $1 ORDER BY facet LIMIT 1)
               UNION ALL
               SELECT (SELECT d.facet FROM project_days d
                       WHERE d.project_id = $1 AND d.facet > f.facet ORDER BY d.facet LIMIT 1)
               FROM f WHERE f.facet IS NOT NULL)
           SELECT facet AS "facet!" FROM f WHERE facet IS NOT NULL"#,
        project_id
    )
    .fetch_all(db)
    .await
}

/// Items leased to an annotator now, of one facet.
pub async fn leased(db: impl PgExecutor<'_>, project_id: Uuid, facet: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM assignments a JOIN items i ON i.item_id = a.item_id
           WHERE a.project_id = $1 AND a.expires_at > now()
             AND ($2 = '' OR metadata_facets(i.project_id, i.metadata) @> ARRAY[$2])"#,
        project_id,
        facet
    )
    .fetch_one(db)
    .await
}

/// Sets the metadata fields the dashboard filters by, and computes the project's figures
/// anew for them (in the caller's transaction).
pub async fn set_fields(
    db: &mut sqlx::PgConnection,
    project_id: Uuid,
    fields: &[String],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE projects SET dashboard_fields = $2, updated_at = now() WHERE project_id = $1",
        project_id,
        fields
    )
    .execute(&mut *db)
    .await?;
    rebuild(&mut *db, project_id).await
}

pub async fn fields(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT dashboard_fields FROM projects WHERE project_id = $1",
        project_id
    )
    .fetch_one(db)
    .await
}

/// The project's figures computed anew from its labels, items, skips, gold checks, reviews
/// and agreement.
pub async fn rebuild(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("SELECT project_days_rebuild($1)", project_id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct GlanceRow {
    pub project_id: Uuid,
    pub completed: f64,
    pub labels_today: f64,
    pub my_labels: f64,
    pub all_labels: f64,
    pub pref_agree: f64,
    pub pref_compared: f64,
}

/// Per project: completions, labels today and in all, `user`'s labels, agreement sums.
pub async fn glances(
    db: impl PgExecutor<'_>,
    project_ids: &[Uuid],
    user: Uuid,
    today: NaiveDate,
) -> sqlx::Result<Vec<GlanceRow>> {
    sqlx::query_as!(
        GlanceRow,
        r#"SELECT project_id,
                  coalesce(sum(n) FILTER (WHERE metric = 'completed'), 0) AS "completed!",
                  coalesce(sum(n) FILTER (WHERE metric = 'labels' AND day = $3), 0) AS "labels_today!",
                  coalesce(sum(n) FILTER (WHERE metric = 'labels' AND user_id = $2), 0) AS "my_labels!",
                  coalesce(sum(n) FILTER (WHERE metric = 'labels'), 0) AS "all_labels!",
                  coalesce(sum(n) FILTER (WHERE key = 'pref_agree'), 0) AS "pref_agree!",
                  coalesce(sum(n) FILTER (WHERE key = 'pref_compared'), 0) AS "pref_compared!"
           FROM project_days
           WHERE project_id = ANY($1) AND facet = '' AND metric IN ('completed', 'labels', 'agreement')
           GROUP BY project_id"#,
        project_ids,
        user,
        today as _
    )
    .fetch_all(db)
    .await
}
