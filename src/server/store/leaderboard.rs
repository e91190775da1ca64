//! What the model leaderboard reads: rankings and thumbs (of annotators, of the model's
//! proposals, of end users), and which model wrote each answer.

use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One judgment of an item's answers: a ranking (tiers, best first) or thumbs.
pub struct JudgmentRow {
    pub item_id: Uuid,
    pub ranking: Option<Json<Vec<Vec<Uuid>>>>,
    pub thumbs: Option<Json<BTreeMap<Uuid, bool>>>,
    /// The item's value of the metadata field asked for, as text.
    pub slice: Option<String>,
}

/// Every annotator's label in the project with a ranking or thumbs (not of gold items), by
/// item, last changed in [`from`, `to`) when given, with the item's value of the metadata
/// field `by`.
pub async fn labels(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    by: Option<&str>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<Vec<JudgmentRow>> {
    sqlx::query_as!(
        JudgmentRow,
        r#"SELECT a.item_id, a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.thumbs AS "thumbs: Json<BTreeMap<Uuid, bool>>",
                  CASE WHEN $2::text IS NULL THEN NULL ELSE i.metadata ->> $2 END AS slice
           FROM annotations a JOIN items i ON i.item_id = a.item_id
           WHERE a.project_id = $1 AND a.source = 'annotator' AND NOT i.is_gold
             AND (a.ranking IS NOT NULL OR a.thumbs <> '{}'::jsonb)
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

/// The model's done proposals (not of gold items), made in [`from`, `to`) when given.
pub async fn proposals(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    by: Option<&str>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<Vec<JudgmentRow>> {
    sqlx::query_as!(
        JudgmentRow,
        r#"SELECT p.item_id, p.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  p.thumbs AS "thumbs: Json<BTreeMap<Uuid, bool>>",
                  CASE WHEN $2::text IS NULL THEN NULL ELSE i.metadata ->> $2 END AS slice
           FROM proposals p JOIN items i ON i.item_id = p.item_id
           WHERE p.project_id = $1 AND p.status = 'done' AND NOT i.is_gold
             AND ($3::timestamptz IS NULL OR p.created_at >= $3)
             AND ($4::timestamptz IS NULL OR p.created_at < $4)
           ORDER BY i.item_seq"#,
        project_id,
        by,
        from as _,
        to as _
    )
    .fetch_all(db)
    .await
}

/// End users' thumbs, summed per prompt and model: each feedback is an item of its own,
/// so the unit is the prompt (the same messages), with one of the model's answers to it.
pub struct EndUserRow {
    /// The prompt, as a uuid made of the hash of its messages.
    pub prompt: Uuid,
    pub response_id: Uuid,
    /// Thumbs up minus thumbs down.
    pub net: i64,
    pub slice: Option<String>,
}

pub async fn end_user_thumbs(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    by: Option<&str>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<Vec<EndUserRow>> {
    sqlx::query_as!(
        EndUserRow,
        r#"SELECT md5(i.messages::text)::uuid AS "prompt!",
                  min(r.response_id::text)::uuid AS "response_id!",
                  sum(CASE WHEN t.value = 'true'::jsonb THEN 1 ELSE -1 END) AS "net!",
                  CASE WHEN $2::text IS NULL THEN NULL ELSE min(i.metadata ->> $2) END AS slice
           FROM annotations a JOIN items i ON i.item_id = a.item_id
                CROSS JOIN LATERAL jsonb_each(a.thumbs) t
                JOIN responses r ON r.response_id = t.key::uuid
           WHERE a.project_id = $1 AND a.source = 'end_user'
             AND r.model IS NOT NULL AND r.model <> ''
             AND ($3::timestamptz IS NULL OR a.updated_at >= $3)
             AND ($4::timestamptz IS NULL OR a.updated_at < $4)
           GROUP BY 1, r.model
           ORDER BY 1, r.model"#,
        project_id,
        by,
        from as _,
        to as _
    )
    .fetch_all(db)
    .await
}

/// The project's answers that name their model: (answer, model, length in characters).
pub async fn answer_models(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<(Uuid, String, i32)>> {
    let rows = sqlx::query!(
        r#"SELECT r.response_id, r.model AS "model!", char_length(r.content) AS "length!"
           FROM responses r JOIN items i ON i.item_id = r.item_id
           WHERE i.project_id = $1 AND r.model IS NOT NULL AND r.model <> ''"#,
        project_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.response_id, r.model, r.length))
        .collect())
}

/// Annotators' mean rubric score per model and criterion (not of gold items), of labels last
/// changed in [`from`, `to`) when given: (model, criterion, mean, scores).
pub async fn rubric_means(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<Vec<(String, String, f64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT r.model AS "model!", s.key AS "criterion!",
                  avg(s.value::float8) AS "mean!", count(*) AS "scores!"
           FROM annotations a
           JOIN items i ON i.item_id = a.item_id
           CROSS JOIN LATERAL jsonb_each(a.judgments -> 'ratings') AS per (answer, scores)
           CROSS JOIN LATERAL jsonb_each_text(per.scores) AS s (key, value)
           JOIN responses r ON r.response_id = per.answer::uuid AND r.item_id = a.item_id
           WHERE a.project_id = $1 AND a.source = 'annotator' AND NOT i.is_gold
             AND a.judgments ? 'ratings'
             AND r.model IS NOT NULL AND r.model <> ''
             AND ($2::timestamptz IS NULL OR a.updated_at >= $2)
             AND ($3::timestamptz IS NULL OR a.updated_at < $3)
           GROUP BY r.model, s.key
           ORDER BY r.model, s.key"#,
        project_id,
        from as _,
        to as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.model, r.criterion, r.mean, r.scores))
        .collect())
}
