//! Dataset versions: list, make, read the manifest of, and download a version's files.

use super::{ApiActor, ApiError, CommonErrors, JsonBodyErrors, int_param};
use crate::server::dataset::ExportSpec;
use crate::server::dataset::version::{FileKind, Manifest};
use crate::server::http::export::serve_version_file;
use crate::server::services::datasets::{self, NewVersion, VersionPage};
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the page before.
    pub after: Option<String>,
    /// Versions per page, 1 to 200 (default 50).
    pub limit: Option<String>,
}

/// The project's dataset versions, newest first, with their manifests.
#[utoipa::path(
    get,
    path = "/projects/{slug}/datasets",
    tag = "datasets",
    params(("slug" = String, Path, description = "The project's slug"), ListQuery),
    responses((status = 200, description = "A page of versions", body = VersionPage), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<VersionPage>, Error> {
    let limit = int_param("limit", &query.limit)?;
    Ok(Json(
        datasets::list(&state.pool, &actor, &slug, query.after.as_deref(), limit).await?,
    ))
}

/// Save an export spec as a new immutable version: what it selects now is frozen, and its
/// files (and their SHA-256) are made at once.
#[utoipa::path(
    post,
    path = "/projects/{slug}/datasets",
    tag = "datasets",
    params(("slug" = String, Path, description = "The project's slug")),
    request_body = NewVersion,
    responses((status = 201, description = "The version's manifest", body = Manifest), CommonErrors, JsonBodyErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    body: Result<Json<NewVersion>, JsonRejection>,
) -> Result<(StatusCode, Json<Manifest>), ApiError> {
    // Out of scope is said before anything about the body.
    actor.require_scope(crate::model::api::Scope::ExportRead)?;
    let Json(body) = body?;
    let spec = ExportSpec::from_query(&body.spec).map_err(|mut e| {
        e.field = e.field.map(|f| format!("spec.{f}"));
        Error::Invalid(e)
    })?;
    let manifest =
        datasets::create(&state.pool, &actor, &slug, &body.name, body.version, &spec).await?;
    Ok((StatusCode::CREATED, Json(manifest)))
}

/// A version's manifest: spec, counts, lineage and its files' SHA-256.
#[utoipa::path(
    get,
    path = "/projects/{slug}/datasets/{name}/{version}",
    tag = "datasets",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("name" = String, Path, description = "The dataset's name"),
        ("version" = i32, Path, description = "The version number")
    ),
    responses((status = 200, description = "The manifest", body = Manifest), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn show(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, name, version)): Path<(String, String, i32)>,
) -> Result<Json<Manifest>, Error> {
    Ok(Json(
        datasets::show(&state.pool, &actor, &slug, &name, version).await?,
    ))
}

/// Download one of a version's files (`jsonl`, `parquet` for pair formats, or `card`: a
/// folder as .tar that `datasets.load_dataset` reads), made again from its members and
/// checked against its recorded SHA-256 (sent as `ETag` and `X-Verdict-SHA256`).
#[utoipa::path(
    get,
    path = "/projects/{slug}/datasets/{name}/{version}/files/{file}",
    tag = "datasets",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("name" = String, Path, description = "The dataset's name"),
        ("version" = i32, Path, description = "The version number"),
        ("file" = String, Path, description = "jsonl, parquet or card")
    ),
    responses((status = 200, description = "The file", body = String), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn download(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, name, version, file)): Path<(String, String, i32, String)>,
) -> Result<Response, Error> {
    let kind = FileKind::parse(&file)
        .ok_or_else(|| Error::invalid("file", "must be jsonl, parquet or card"))?;
    let (manifest, made) =
        datasets::download(&state.pool, &actor, &slug, &name, version, kind).await?;
    serve_version_file(&manifest, kind, made).await
}
