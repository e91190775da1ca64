use crate::model::project::ResponseView;
use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn insert(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    ordinal: i16,
    model: Option<&str>,
    content: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO responses (item_id, ordinal, model, content) VALUES ($1, $2, $3, $4) RETURNING response_id",
        item_id,
        ordinal,
        model,
        content
    )
    .fetch_one(db)
    .await
}

/// The answers of the given items, each item's in their original order.
pub async fn for_items(
    db: impl PgExecutor<'_>,
    item_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, ResponseView)>> {
    let rows = sqlx::query!(
        "SELECT item_id, response_id, ordinal, model, content
         FROM responses WHERE item_id = ANY($1) ORDER BY item_id, ordinal",
        item_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let view = ResponseView {
                response_id: r.response_id,
                ordinal: r.ordinal,
                model: r.model,
                content: r.content,
            };
            (r.item_id, view)
        })
        .collect())
}

/// The answers of one item, in their original order.
pub async fn for_item(db: impl PgExecutor<'_>, item_id: Uuid) -> sqlx::Result<Vec<ResponseView>> {
    sqlx::query_as!(
        ResponseView,
        "SELECT response_id, ordinal, model, content FROM responses WHERE item_id = $1 ORDER BY ordinal",
        item_id
    )
    .fetch_all(db)
    .await
}

/// Inserts the answers of many items in one statement.
pub async fn insert_batch(
    db: impl PgExecutor<'_>,
    response_ids: &[Uuid],
    item_ids: &[Uuid],
    ordinals: &[i16],
    models: &[Option<String>],
    contents: &[String],
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO responses (response_id, item_id, ordinal, model, content)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int2[], $4::text[], $5::text[])",
        response_ids,
        item_ids,
        ordinals,
        models as &[Option<String>],
        contents,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The answer of the item with exactly this text, if there is one.
pub async fn find_by_content(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    content: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT response_id FROM responses WHERE item_id = $1 AND content = $2 ORDER BY ordinal LIMIT 1",
        item_id,
        content
    )
    .fetch_optional(db)
    .await
}

/// Adds an answer after the item's last one (the caller holds the item's lock). Returns its
/// id and ordinal.
pub async fn append(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    model: Option<&str>,
    content: &str,
) -> sqlx::Result<(Uuid, i16)> {
    let row = sqlx::query!(
        r#"INSERT INTO responses (item_id, ordinal, model, content)
           SELECT $1, coalesce(max(ordinal) + 1, 0), $2, $3 FROM responses WHERE item_id = $1
           RETURNING response_id, ordinal"#,
        item_id,
        model,
        content
    )
    .fetch_one(db)
    .await?;
    Ok((row.response_id, row.ordinal))
}
