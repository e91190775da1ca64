//! What the model leaderboard reads: annotators' rankings, and which model wrote each answer.

use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

pub struct RankingRow {
    pub item_id: Uuid,
    pub ranking: Json<Vec<Vec<Uuid>>>,
    /// The item's value of the metadata field asked for, as text.
    pub slice: Option<String>,
}

/// Every annotator's ranking in the project (not of gold items), by item, last changed in
/// [`from`, `to`) when given, with the item's value of the metadata field `by`.
pub async fn rankings(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    by: Option<&str>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<Vec<RankingRow>> {
    sqlx::query_as!(
        RankingRow,
        r#"SELECT a.item_id, a.ranking AS "ranking!: Json<Vec<Vec<Uuid>>>",
                  CASE WHEN $2::text IS NULL THEN NULL ELSE i.metadata ->> $2 END AS slice
           FROM annotations a JOIN items i ON i.item_id = a.item_id
           WHERE a.project_id = $1 AND a.ranking IS NOT NULL AND a.source = 'annotator'
             AND NOT i.is_gold
             AND ($3::timestamptz IS NULL OR a.updated_at >= $3)
             AND ($4::timestamptz IS NULL OR a.updated_at < $4)
           ORDER BY i.item_seq, a.created_at"#,
        project_id,
        by,
        from as _,
        to as _
    )
    .fetch_all(db)
    .await
}

/// The project's answers that name their model: (answer, model).
pub async fn answer_models(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        r#"SELECT r.response_id, r.model AS "model!"
           FROM responses r JOIN items i ON i.item_id = r.item_id
           WHERE i.project_id = $1 AND r.model IS NOT NULL AND r.model <> ''"#,
        project_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.response_id, r.model)).collect())
}
