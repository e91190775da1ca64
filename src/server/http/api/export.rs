//! `GET /projects/{slug}/export`: a whole project in any export format, streamed.

use super::{ApiActor, CommonErrors};
use crate::server::dataset::ExportSpec;
use crate::server::http::export::{Spec, stream_export};
use crate::server::{AppState, Error};
use axum::extract::{Path, State};
use axum::response::Response;

/// Export the whole project as JSON Lines in `format` (required), streamed from the
/// database: consensus (Borda) over annotators, pairs, filters and split as in the admin's
/// export page.
#[utoipa::path(
    get,
    path = "/projects/{slug}/export",
    tag = "export",
    params(("slug" = String, Path, description = "The project's slug"), ExportSpec),
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
    Spec(spec): Spec,
) -> Result<Response, Error> {
    actor.require_scope(crate::model::api::Scope::ExportRead)?;
    stream_export(state.pool.clone(), actor, slug, spec).await
}
