//! `POST /projects/{slug}/items` and `GET /projects/{slug}/items/{external_id}`.

use super::{ApiActor, CommonErrors, ErrorEnvelope};
use crate::model::api::{ItemStatus, PushReport};
use crate::model::project::NewItem;
use crate::server::services::items;
use crate::server::{AppState, Error};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

/// A push: `{"items": [...]}`, or a bare JSON array, or JSON Lines (one item per line, with
/// `Content-Type: application/x-ndjson`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // documentation only: the body is read leniently, item by item
pub struct PushBody {
    pub items: Vec<NewItem>,
}

/// Push items (Verdict's import schema). Idempotent by `external_id`: an item the project
/// already has is reported `already_present` and left alone. Valid items are stored even
/// when others are invalid; each result says which, by index, with the field and why.
#[utoipa::path(
    post,
    path = "/projects/{slug}/items",
    tag = "items",
    params(("slug" = String, Path, description = "The project's slug")),
    request_body(
        content((PushBody = "application/json"), (String = "application/x-ndjson")),
        description = "Items as {\"items\": [...]}, a JSON array, or JSON Lines"
    ),
    responses(
        (status = 200, description = "What happened to each item", body = PushReport),
        (status = 413, description = "The body is over the size limit", body = ErrorEnvelope),
        CommonErrors
    ),
    security(("bearer" = ["items:write"]))
)]
pub async fn push(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PushReport>, Error> {
    actor.require_scope(crate::model::api::Scope::ItemsWrite)?;
    let values = super::parse_list(&headers, &body, "items")?;
    Ok(Json(
        items::push(&state.pool, &actor, &slug, &values).await?,
    ))
}

/// An item's labeling status by its `external_id`: annotations so far, end-user feedback,
/// and the consensus ranking (Borda count) once it has all its annotations.
#[utoipa::path(
    get,
    path = "/projects/{slug}/items/{external_id}",
    tag = "items",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("external_id" = String, Path, description = "The id the item was pushed with")
    ),
    responses((status = 200, description = "The item's status", body = ItemStatus), CommonErrors),
    security(("bearer" = ["items:write"]), ("bearer" = ["feedback:read"]))
)]
pub async fn status(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, external_id)): Path<(String, String)>,
) -> Result<Json<ItemStatus>, Error> {
    Ok(Json(
        items::status(&state.pool, &actor, &slug, &external_id).await?,
    ))
}

/// Delete an item by its `external_id`, with its answers and labels. Dataset versions that
/// hold it are unchanged: what they need of it is kept with them.
#[utoipa::path(
    delete,
    path = "/projects/{slug}/items/{external_id}",
    tag = "items",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("external_id" = String, Path, description = "The id the item was pushed or imported with")
    ),
    responses((status = 204, description = "Deleted"), CommonErrors),
    security(("bearer" = ["items:write"]))
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, external_id)): Path<(String, String)>,
) -> Result<axum::http::StatusCode, Error> {
    items::delete(&state.pool, &actor, &slug, &external_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Make the item a gold item with this expected label (answers named by position, 0-based,
/// in the item's order), or, with `null`, an ordinary item again. Gold items are mixed into
/// annotators' queues at the project's gold rate, served like any other item, and left out
/// of progress and training exports.
#[utoipa::path(
    put,
    path = "/projects/{slug}/items/{external_id}/gold",
    tag = "items",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("external_id" = String, Path, description = "The id the item was pushed or imported with")
    ),
    request_body(content = Option<crate::model::gold::Gold>, description = "The expected label, or null"),
    responses((status = 204, description = "Set"), CommonErrors),
    security(("bearer" = ["items:write"]))
)]
pub async fn set_gold(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, external_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<axum::http::StatusCode, Error> {
    let gold: Option<crate::model::gold::Gold> = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid("gold", format!("not a gold label: {e}")))?;
    crate::server::services::gold::set_item(
        &state.pool,
        &actor,
        &slug,
        &external_id,
        gold.as_ref(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
