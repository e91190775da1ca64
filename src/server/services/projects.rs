//! Projects as people see them.

use super::{Actor, Result};
use crate::model::project::{ItemPage, ItemView, Message, ProjectSummary};
use crate::model::user::Role;
use crate::server::error::Error;
use crate::server::store::{items, projects, responses};
use anyhow::Context;
use sqlx::PgPool;
use std::collections::HashMap;

pub const ITEMS_PER_PAGE: i64 = 25;

/// Every signed-in person sees the project list with item counts.
pub async fn list(pool: &PgPool, _actor: &Actor) -> Result<Vec<ProjectSummary>> {
    Ok(projects::list_summaries(pool).await?)
}

/// Admins browse a project's items with their answers, a page at a time.
pub async fn items_page(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    after: Option<i64>,
) -> Result<ItemPage> {
    actor.require(Role::Admin)?;
    let project = projects::find_summary(pool, slug)
        .await?
        .ok_or(Error::NotFound("project"))?;
    // One row more than a page tells whether another page follows.
    let mut rows = items::page(
        pool,
        project.project_id,
        after.unwrap_or(0),
        ITEMS_PER_PAGE + 1,
    )
    .await?;
    let more = rows.len() as i64 > ITEMS_PER_PAGE;
    rows.truncate(ITEMS_PER_PAGE as usize);

    let ids: Vec<_> = rows.iter().map(|r| r.item_id).collect();
    let mut answers: HashMap<_, Vec<_>> = HashMap::new();
    for (item_id, response) in responses::for_items(pool, &ids).await? {
        answers.entry(item_id).or_default().push(response);
    }
    let next_after = if more {
        rows.last().map(|r| r.item_seq)
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|row| {
            let messages: Vec<Message> = serde_json::from_value(row.messages)
                .with_context(|| format!("item {} has unreadable messages", row.item_id))?;
            Ok(ItemView {
                item_id: row.item_id,
                item_seq: row.item_seq,
                external_id: row.external_id,
                messages,
                responses: answers.remove(&row.item_id).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ItemPage {
        project,
        items,
        next_after,
    })
}
