//! The audit log: every admin and reviewer action that changes who can do what or what a
//! dataset will contain is recorded here, with its actor, time and before/after, in the
//! transaction that makes the change where there is one. Admins browse, filter and export it.

use super::{Actor, Result};
use crate::model::user::Role;
use crate::server::Error;
use crate::server::store::{audit, projects, users};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

pub use crate::server::store::audit::Row as Entry;

/// Entries a page shows at once, and the most one export holds.
pub const PAGE: i64 = 100;
pub const EXPORT_MAX: i64 = 1_000_000;

/// Records that `actor` did `action` (`member.add`, `review.reject`...) on `target`.
pub async fn record(
    db: impl PgExecutor<'_>,
    actor: &Actor,
    action: &str,
    project_id: Option<Uuid>,
    target: Option<&str>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    audit::append(
        db,
        &audit::Entry {
            actor_id: actor.user_id,
            token_id: actor.grant.as_ref().map(|g| g.token_id),
            action,
            project_id,
            target,
            before: before.as_ref(),
            after: after.as_ref(),
        },
    )
    .await?;
    Ok(())
}

/// A value as the log stores it.
pub fn json(value: impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// What an admin asks of the log, as a form or query gives it: blank is no filter.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Query {
    /// A project's slug.
    pub project: Option<String>,
    /// An action (`member.add`) or its kind (`member`).
    pub action: Option<String>,
    /// The actor's email.
    pub actor: Option<String>,
    /// Entries at or after this day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// Entries up to and including this day.
    pub to: Option<String>,
    /// Entries older than this sequence number (the next page).
    pub before: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

async fn filter(pool: &PgPool, q: &Query) -> Result<audit::Filter> {
    let project_id = match blank(&q.project) {
        Some(slug) => Some(
            projects::find_settings(pool, slug, None)
                .await?
                .ok_or_else(|| Error::invalid("project", format!("no project is called {slug:?}")))?
                .project_id,
        ),
        None => None,
    };
    let actor_id = match blank(&q.actor) {
        Some(email) => Some(
            users::find_by_email(pool, email)
                .await?
                .ok_or_else(|| Error::invalid("actor", format!("no user has the email {email:?}")))?
                .user_id,
        ),
        None => None,
    };
    let action = blank(&q.action).map(str::to_owned);
    if let Some(a) = &action
        && !a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
    {
        return Err(Error::invalid(
            "action",
            "an action is lowercase words joined by a dot, such as member.add or member",
        ));
    }
    Ok(audit::Filter {
        project_id,
        action,
        actor_id,
        from: super::form::day("from", blank(&q.from), false)?,
        to: super::form::day("to", blank(&q.to), true)?,
    })
}

fn cursor(q: &Query) -> Result<Option<i64>> {
    blank(&q.before)
        .map(|v| {
            v.parse()
                .map_err(|_| Error::invalid("before", format!("not a sequence number: {v:?}")))
        })
        .transpose()
}

/// A page of the log, newest first (admins).
pub async fn list(pool: &PgPool, actor: &Actor, q: &Query) -> Result<Vec<Entry>> {
    actor.require(Role::Admin)?;
    let f = filter(pool, q).await?;
    Ok(audit::page(pool, &f, cursor(q)?, PAGE).await?)
}

/// The whole filtered log as JSON Lines, oldest first (admins).
pub async fn export_jsonl(pool: &PgPool, actor: &Actor, q: &Query) -> Result<String> {
    actor.require(Role::Admin)?;
    let f = filter(pool, q).await?;
    let mut rows = Vec::new();
    let mut before = cursor(q)?;
    loop {
        let page = audit::page(pool, &f, before, 10_000).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        rows.extend(page);
        if rows.len() as i64 >= EXPORT_MAX {
            break;
        }
    }
    let mut out = String::new();
    for row in rows.iter().rev() {
        out.push_str(&serde_json::to_string(row).map_err(anyhow::Error::from)?);
        out.push('\n');
    }
    Ok(out)
}
