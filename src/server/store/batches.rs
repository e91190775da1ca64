//! Feedback batches' idempotency keys and the answers they got (see the migration
//! `feedback_batches`).

use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

/// Claims the key for this transaction's batch: true when it is new. When another
/// transaction holds it, this waits for that one to end.
pub async fn claim(db: impl PgExecutor<'_>, project_id: Uuid, key: &str) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        "INSERT INTO feedback_batches (project_id, key) VALUES ($1, $2)
         ON CONFLICT (project_id, key) DO NOTHING",
        project_id,
        key
    )
    .execute(db)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// The answer stored with a key (`None` while its batch has not finished).
pub async fn report(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<serde_json::Value>> {
    let row = sqlx::query_scalar!(
        r#"SELECT report AS "report: Json<serde_json::Value>" FROM feedback_batches
           WHERE project_id = $1 AND key = $2"#,
        project_id,
        key
    )
    .fetch_optional(db)
    .await?;
    Ok(row.flatten().map(|r| r.0))
}

pub async fn save_report(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
    report: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE feedback_batches SET report = $3 WHERE project_id = $1 AND key = $2",
        project_id,
        key,
        Json(report) as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets keys older than a day.
pub async fn prune(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done =
        sqlx::query!("DELETE FROM feedback_batches WHERE created_at < now() - interval '24 hours'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}

/// Holds the project's batch lock until the transaction ends: batches of one project are
/// stored one after the other. Each touches many of the project's daily counter rows (by
/// item), in no order two batches could agree on; one at a time, they cannot deadlock.
pub async fn lock_project(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('feedback_batch:' || $1::uuid::text, 0))",
        project_id
    )
    .fetch_one(db)
    .await?;
    Ok(())
}
