use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

pub struct ItemRow {
    pub item_id: Uuid,
    pub item_seq: i64,
    pub external_id: Option<String>,
    pub messages: serde_json::Value,
}

/// Inserts an item unless the project already has one with this `external_id`.
/// Returns the new item's id, or `None` when it was already there.
pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    external_id: Option<&str>,
    messages: &serde_json::Value,
    metadata: &serde_json::Value,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        r#"INSERT INTO items (project_id, external_id, messages, metadata)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (project_id, external_id) DO NOTHING
           RETURNING item_id"#,
        project_id,
        external_id,
        Json(messages) as _,
        Json(metadata) as _,
    )
    .fetch_optional(db)
    .await
}

/// Up to `limit` items after `after` (an `item_seq`), in insertion order.
pub async fn page(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<ItemRow>> {
    sqlx::query_as!(
        ItemRow,
        r#"SELECT item_id, item_seq, external_id, messages
           FROM items WHERE project_id = $1 AND item_seq > $2
           ORDER BY item_seq LIMIT $3"#,
        project_id,
        after,
        limit
    )
    .fetch_all(db)
    .await
}
