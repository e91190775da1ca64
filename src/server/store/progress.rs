//! The progress counters of `project_progress` (kept by triggers on `items`; see the
//! migration `progress_counters`).

use sqlx::PgExecutor;

/// Folds the rows that inserting and deleting transactions left (slots from 64 up, one per
/// transaction) into the 16 item slots. Rows of transactions still running are not
/// visible here and stay for a later pass. Returns how many rows were folded.
pub async fn fold(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let folded = sqlx::query_scalar!(
        r#"WITH moved AS (
               DELETE FROM project_progress WHERE slot >= 64
               RETURNING project_id, slot, items, completed),
           added AS (
               INSERT INTO project_progress AS p (project_id, slot, items, completed)
               SELECT project_id, slot % 16, sum(items)::bigint, sum(completed)::bigint
               FROM moved GROUP BY 1, 2 ORDER BY 1, 2
               ON CONFLICT (project_id, slot) DO UPDATE
                   SET items = p.items + excluded.items, completed = p.completed + excluded.completed)
           SELECT count(*) AS "folded!" FROM moved"#
    )
    .fetch_one(db)
    .await?;
    Ok(folded as u64)
}
