use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn insert(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    user_id: Uuid,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO skips (item_id, user_id, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        item_id,
        user_id,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}
