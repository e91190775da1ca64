//! A project's members: `GET`/`POST /projects/{slug}/members` and
//! `DELETE /projects/{slug}/members/{email}` (scope `members:write`).

use super::{ApiActor, ApiError, CommonErrors, JsonBodyErrors};
use crate::model::api::Scope;
use crate::server::services::members::{self, Member};
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

/// A member to add, or whose limits to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// An annotator's or reviewer's account.
    pub email: String,
    /// The most items they may label in the project; absent or `null`: no limit.
    #[serde(default)]
    pub max_items: Option<i32>,
    /// The most per day (UTC); absent or `null`: no limit.
    #[serde(default)]
    pub daily_max: Option<i32>,
}

/// The project's members with their limits and labels.
#[utoipa::path(
    get,
    path = "/projects/{slug}/members",
    tag = "members",
    params(("slug" = String, Path, description = "The project's slug")),
    responses((status = 200, description = "The members", body = Vec<Member>), CommonErrors),
    security(("bearer" = ["members:write"]))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Member>>, Error> {
    Ok(Json(members::list(&state.pool, &actor, &slug).await?))
}

/// Adds a member, or changes a member's limits; answers the member as stored.
#[utoipa::path(
    post,
    path = "/projects/{slug}/members",
    tag = "members",
    params(("slug" = String, Path, description = "The project's slug")),
    request_body = NewMember,
    responses((status = 200, description = "The member", body = Member), CommonErrors, JsonBodyErrors),
    security(("bearer" = ["members:write"]))
)]
pub async fn add(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    body: Result<Json<NewMember>, JsonRejection>,
) -> Result<Json<Member>, ApiError> {
    actor.require_scope(Scope::MembersWrite)?;
    let Json(body) = body?;
    members::add(
        &state.pool,
        &actor,
        &slug,
        &body.email,
        body.max_items,
        body.daily_max,
    )
    .await?;
    let email = body.email.trim().to_lowercase();
    let member = members::list(&state.pool, &actor, &slug)
        .await?
        .into_iter()
        .find(|m| m.email.to_lowercase() == email)
        .ok_or(Error::NotFound("member"))?;
    Ok(Json(member))
}

/// Removes a member; their labels stay. 404 when they were not a member.
#[utoipa::path(
    delete,
    path = "/projects/{slug}/members/{email}",
    tag = "members",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("email" = String, Path, description = "The member's email")
    ),
    responses((status = 204, description = "Removed"), CommonErrors),
    security(("bearer" = ["members:write"]))
)]
pub async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, email)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    if members::remove(&state.pool, &actor, &slug, &email).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("member"))
    }
}
