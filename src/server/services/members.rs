//! Project membership: which annotators and reviewers work on which project, with their
//! limits. Admins reach every project; anyone else only the projects they are a member of,
//! and to them any other project does not exist (see [`super::projects::visible`]).

use super::{Actor, Result, audit};
use crate::model::user::Role;
use crate::server::Error;
use crate::server::store::{members, users};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A member as the members page, the CLI and the API show them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    /// The most items they may label in the project (`null`: no limit).
    pub max_items: Option<i32>,
    /// The most per day, UTC (`null`: no limit).
    pub daily_max: Option<i32>,
    /// Labels they made in the project.
    pub labels: i64,
    pub added_at: chrono::DateTime<chrono::Utc>,
}

/// A member's limits as a form or the command line gives them: blank is no limit.
pub fn parse_limit(field: &str, value: Option<&str>) -> Result<Option<i32>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<i32>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(Error::invalid(
                field,
                format!(
                    "must be a whole number of items, 0 or more (or blank for no limit), not {v:?}"
                ),
            )),
        },
    }
}

/// The project, for an admin or a token with `members:write` (limited to it, if limited).
async fn project_id(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Uuid> {
    let project =
        super::projects::authorize(pool, actor, slug, &[crate::model::api::Scope::MembersWrite])
            .await?;
    Ok(project.project_id)
}

/// The user with `email`; an unknown one is refused naming the field.
async fn user(pool: &PgPool, email: &str) -> Result<crate::model::user::UserView> {
    // No account's email holds a control character, and PostgreSQL refuses a NUL in text
    // (found by schemathesis: it was a 500).
    if email.chars().any(char::is_control) {
        return Err(Error::invalid(
            "email",
            "must not contain control characters",
        ));
    }
    users::find_by_email(pool, email.trim())
        .await?
        .ok_or_else(|| Error::invalid("email", format!("no user has the email {:?}", email.trim())))
}

pub async fn list(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Vec<Member>> {
    let project_id = project_id(pool, actor, slug).await?;
    Ok(members::list(pool, project_id)
        .await?
        .into_iter()
        .map(|m| Member {
            user_id: m.user_id,
            email: m.email,
            display_name: m.display_name,
            role: m.role.as_str().to_owned(),
            max_items: m.max_items,
            daily_max: m.daily_max,
            labels: m.labels,
            added_at: m.added_at,
        })
        .collect())
}

/// Makes the user with `email` a member of the project with these limits (or changes the
/// limits of a member). Admins reach every project and are not members.
pub async fn add(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    email: &str,
    max_items: Option<i32>,
    daily_max: Option<i32>,
) -> Result<()> {
    let project_id = project_id(pool, actor, slug).await?;
    for (field, limit) in [("max_items", max_items), ("daily_max", daily_max)] {
        if limit.is_some_and(|n| n < 0) {
            return Err(Error::invalid(field, "must be 0 or more"));
        }
    }
    let user = user(pool, email).await?;
    if user.role == Role::Admin {
        return Err(Error::invalid(
            "email",
            "admins reach every project; only annotators and reviewers are members",
        ));
    }
    let mut tx = pool.begin().await?;
    members::upsert(&mut *tx, project_id, user.user_id, max_items, daily_max).await?;
    audit::record(
        &mut *tx,
        actor,
        "member.add",
        Some(project_id),
        Some(&user.email),
        None,
        audit::json(serde_json::json!({ "max_items": max_items, "daily_max": daily_max })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project = slug, user.id = %user.user_id, ?max_items, ?daily_max, "member added");
    Ok(())
}

/// Removes the user with `email` from the project; false when they were not a member.
/// Their labels stay.
pub async fn remove(pool: &PgPool, actor: &Actor, slug: &str, email: &str) -> Result<bool> {
    let project_id = project_id(pool, actor, slug).await?;
    let user = user(pool, email).await?;
    let mut tx = pool.begin().await?;
    let removed = members::remove(&mut *tx, project_id, user.user_id).await?;
    if removed {
        audit::record(
            &mut *tx,
            actor,
            "member.remove",
            Some(project_id),
            Some(&user.email),
            None,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    if removed {
        tracing::info!(project = slug, user.id = %user.user_id, "member removed");
    }
    Ok(removed)
}
