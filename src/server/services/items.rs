//! Adding items with their answers.

use super::Result;
use crate::model::project::NewItem;
use crate::server::store::{items, responses};
use sqlx::PgConnection;
use uuid::Uuid;

/// Validates and inserts an item with its answers on `conn` (the caller's transaction).
/// Returns `None` when the project already has an item with this `external_id`.
pub async fn add(
    conn: &mut PgConnection,
    project_id: Uuid,
    item: &NewItem,
) -> Result<Option<Uuid>> {
    item.validate()?;
    let messages = serde_json::to_value(&item.messages).map_err(anyhow::Error::from)?;
    let Some(item_id) = items::insert(
        &mut *conn,
        project_id,
        item.external_id.as_deref(),
        &messages,
        &item.metadata,
    )
    .await?
    else {
        return Ok(None);
    };
    for (ordinal, response) in item.responses.iter().enumerate() {
        let ordinal = i16::try_from(ordinal).map_err(anyhow::Error::from)?;
        responses::insert(
            &mut *conn,
            item_id,
            ordinal,
            response.model.as_deref(),
            &response.content,
        )
        .await?;
    }
    Ok(Some(item_id))
}
