//! Projects as people see them.

use super::{Actor, Result};
use crate::model::project::{
    ItemPage, ItemView, Message, ProjectForm, ProjectSettings, ProjectSummary, validate_slug,
};
use crate::model::user::Role;
use crate::server::error::{Error, ResultExt};
use crate::server::markdown::render_item;
use crate::server::store::{items, progress, projects, responses};
use anyhow::Context;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

pub const ITEMS_PER_PAGE: i64 = 25;

/// The projects the signed-in person may see (admins: all; others: their memberships), with
/// item counts.
pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<ProjectSummary>> {
    Ok(projects::list_summaries(pool, member_filter(actor)).await?)
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
            let responses = answers.remove(&row.item_id).unwrap_or_default();
            Ok(ItemView {
                item_id: row.item_id,
                item_seq: row.item_seq,
                external_id: row.external_id,
                html: render_item(&messages, &responses),
                messages,
                responses,
                gold: row.is_gold,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ItemPage {
        project,
        items,
        next_after,
    })
}

pub async fn settings(pool: &PgPool, actor: &Actor, slug: &str) -> Result<ProjectSettings> {
    actor.require(Role::Admin)?;
    projects::find_settings(pool, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))
}

/// The project `slug` as the signed-in actor may see it: admins (and the CLI) see every
/// project, annotators and reviewers only those they are members of; any other is "not
/// found", so that a non-member learns nothing of it. The one place the membership rule is.
pub async fn visible(
    db: impl sqlx::PgExecutor<'_>,
    actor: &Actor,
    slug: &str,
) -> Result<ProjectSettings> {
    projects::find_settings(db, slug, member_filter(actor))
        .await?
        .ok_or(Error::NotFound("project"))
}

/// The user whose memberships limit what the actor sees: none for admins, the CLI and API
/// tokens (tokens are limited by their own project and scopes).
pub fn member_filter(actor: &Actor) -> Option<Uuid> {
    (actor.grant.is_none() && actor.role < Role::Admin).then_some(actor.user_id)
}

/// The project `slug` for work that API tokens may do too (see [`Actor::require_scope`]).
/// A token limited to another project is refused whether or not `slug` exists.
pub async fn authorize(
    db: impl sqlx::PgExecutor<'_>,
    actor: &Actor,
    slug: &str,
    scopes: &[crate::model::api::Scope],
) -> Result<ProjectSettings> {
    actor.require_any_scope(scopes)?;
    let project = projects::find_settings(db, slug, None).await?;
    let limit = actor.grant.as_ref().and_then(|g| g.project_id);
    match (project, limit) {
        (Some(p), Some(only)) if p.project_id != only => Err(Error::Forbidden),
        (None, Some(_)) => Err(Error::Forbidden),
        (None, None) => Err(Error::NotFound("project")),
        (Some(p), _) => Ok(p),
    }
}

/// Saves the settings form; when the overlap changes, items' completion follows.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    form: &ProjectForm,
) -> Result<ProjectSettings> {
    actor.require(Role::Admin)?;
    let mut tx = pool.begin().await?;
    let current = projects::find_settings(&mut *tx, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    let updated = form.apply(current.clone())?;
    projects::update_settings(&mut *tx, &updated).await?;
    // As stored: a change of the guidelines or the judgment schema made a new version.
    let updated = projects::find_settings(&mut *tx, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    if updated.overlap != current.overlap {
        items::recompute_completion(&mut *tx, updated.project_id, updated.overlap).await?;
    }
    super::audit::record(
        &mut *tx,
        actor,
        "project.settings",
        Some(updated.project_id),
        Some(slug),
        super::audit::json(&current),
        super::audit::json(&updated),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project.slug = slug, "project settings saved");
    Ok(updated)
}

/// Creates an empty project with default settings.
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
) -> Result<ProjectSummary> {
    actor.require(Role::Admin)?;
    let slug = slug.trim();
    validate_slug(slug)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must be 1 to 200 characters"));
    }
    let mut tx = pool.begin().await?;
    let project_id = projects::insert(&mut *tx, slug, name)
        .await
        .on_constraint("projects_slug_key", || {
            Error::invalid("slug", "a project with this slug exists")
        })?;
    super::audit::record(
        &mut *tx,
        actor,
        "project.create",
        Some(project_id),
        Some(slug),
        None,
        super::audit::json(serde_json::json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    projects::find_summary(pool, slug)
        .await?
        .ok_or(Error::NotFound("project"))
}

/// Folds the progress counters' per-transaction rows (see [`progress::fold`]) every
/// `every`, for as long as the server runs.
pub async fn fold_progress_forever(pool: PgPool, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        fold_progress(&pool).await;
    }
}

/// Folds the progress counters once; a failure is only logged (the counts stay exact,
/// the rows just wait for the next pass).
pub async fn fold_progress(pool: &PgPool) {
    match progress::fold(pool).await {
        Ok(0) => {}
        Ok(rows) => tracing::debug!(rows, "progress counters folded"),
        Err(e) => tracing::warn!(error = %e, "folding the progress counters failed"),
    }
}

/// The judgment schema of guideline version `version` of the project (the settings' own
/// for the current version, without a query); refused, naming `guideline_version`, when
/// the project has no such version.
pub async fn judgment_schema(
    db: &mut sqlx::PgConnection,
    project: &ProjectSettings,
    version: i32,
) -> Result<crate::model::judgment::JudgmentSchema> {
    if version == project.guideline_version {
        return Ok(project.judgment.clone());
    }
    projects::judgment_of_version(&mut *db, project.project_id, version)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "guideline_version",
                format!("this project has no guideline version {version}"),
            )
        })
}
