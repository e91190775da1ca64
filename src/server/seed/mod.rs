//! The demo: a project of realistic items and an annotator account, created once so that
//! a new user sees real content. Running it again changes nothing.

use super::Result;
use super::services::users::{self, Created};
use crate::model::project::NewItem;
use crate::model::user::Role;
use crate::server::services;
use crate::server::store::projects;
use anyhow::Context;
use sqlx::PgPool;

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ANNOTATOR_EMAIL: &str = "annotator@verdict.local";

const DEMO_GUIDELINES: &str = "\
Rank the answers from best to worst for **helpfulness, correctness and clarity**.

- Prefer the answer you would want to receive; a short correct answer beats a long wrong one.
- Mark an answer *factually wrong* when it states something false, even if it is otherwise good.
- Write the ideal answer by editing the best one: fix errors, cut padding, keep the format.";

pub struct DemoSeed {
    /// The annotator account, when this run created it.
    pub annotator: Option<Created>,
    pub items_added: usize,
}

pub async fn seed_demo(pool: &PgPool, annotator_password: Option<&str>) -> Result<DemoSeed> {
    let items: Vec<NewItem> =
        serde_json::from_str(include_str!("demo_items.json")).context("the bundled demo items")?;
    let mut tx = pool.begin().await?;
    let project_id = projects::ensure(
        &mut *tx,
        DEMO_SLUG,
        "Demo: assistant answers",
        DEMO_GUIDELINES,
    )
    .await?;
    let mut items_added = 0;
    for item in &items {
        if services::items::add(&mut tx, project_id, item)
            .await?
            .is_some()
        {
            items_added += 1;
        }
    }
    tx.commit().await?;
    let annotator = users::ensure_account(
        pool,
        DEMO_ANNOTATOR_EMAIL,
        "Demo Annotator",
        annotator_password,
        Role::Annotator,
    )
    .await?;
    // The demo annotator works on the demo project.
    if let Some(user) =
        crate::server::store::users::find_by_email(pool, DEMO_ANNOTATOR_EMAIL).await?
    {
        crate::server::store::members::ensure(pool, project_id, user.user_id).await?;
    }
    Ok(DemoSeed {
        annotator,
        items_added,
    })
}
