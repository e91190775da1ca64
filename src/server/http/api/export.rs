//! `GET /projects/{slug}/export`: a whole project in any export format, streamed.

use super::{ApiActor, CommonErrors, FormatQuery};
use crate::server::http::export::stream_export;
use crate::server::{AppState, Error};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Present: only items that have all the annotations the project's overlap asks for.
    pub complete_only: Option<String>,
    /// Only annotations last changed at or after this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    pub from: Option<String>,
    /// Only annotations last changed before this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    pub to: Option<String>,
}

/// Export the whole project as JSON Lines in `format` (required), streamed from the
/// database: consensus (Borda) over annotators, pairs, filters and split as in the admin's
/// export page.
#[utoipa::path(
    get,
    path = "/projects/{slug}/export",
    tag = "export",
    params(("slug" = String, Path, description = "The project's slug"), FormatQuery, ExportQuery),
    responses(
        (status = 200, description = "One record per line", content_type = "application/x-ndjson", body = String),
        CommonErrors
    ),
    security(("bearer" = ["export:read"]))
)]
pub async fn export(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    Query(format): Query<FormatQuery>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, Error> {
    actor.require_scope(crate::model::api::Scope::ExportRead)?;
    if format.format.is_none() {
        return Err(Error::invalid("format", "choose an export format"));
    }
    let mut request = format.request("raw");
    request.complete_only = query.complete_only;
    request.from = query.from;
    request.to = query.to;
    stream_export(state.pool.clone(), actor, slug, request).await
}
