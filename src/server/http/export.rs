//! Streamed exports: the admin's download `GET /projects/{slug}/export.jsonl?format=…` and
//! (through [`stream_export`]) the API's. Rows go from the database cursor to the response
//! body through a bounded pipe.

use super::session::current_user;
use crate::model::api::Scope;
use crate::model::export::ExportRequest;
use crate::server::services::export::{ExportFilters, export_jsonl, export_parquet};
use crate::server::services::{Actor, projects};
use crate::server::{AppState, Error};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use tower_sessions::Session;

pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(request): Query<ExportRequest>,
) -> Result<Response, Error> {
    let user = current_user(&state.pool, &session)
        .await?
        .ok_or(Error::Unauthenticated)?;
    stream_export(state.pool.clone(), Actor::from(&user), slug, request).await
}

/// `GET /projects/{slug}/export.parquet?format=dpo_pairs|dpo_conversational…`: the pairs
/// are written to a temporary file (Parquet's footer comes last), which is then streamed.
pub async fn download_parquet(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(request): Query<ExportRequest>,
) -> Result<Response, Error> {
    let user = current_user(&state.pool, &session)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let actor = Actor::from(&user);
    projects::authorize(&state.pool, &actor, &slug, &[Scope::ExportRead]).await?;
    let options = request.options()?;
    let filters = ExportFilters::from_request(&request)?;
    let path =
        std::env::temp_dir().join(format!("verdict-export-{}.parquet", uuid::Uuid::new_v4()));
    let file = std::fs::File::create(&path)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
    let written = export_parquet(
        &state.pool,
        &actor,
        &slug,
        &options,
        &filters,
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
        &mut |_| {},
    )
    .await;
    let opened = match written {
        Ok(_) => tokio::fs::File::open(&path)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    // The open file stays readable after its name is gone.
    let _ = std::fs::remove_file(&path);
    let file = opened?;
    let filename = format!("{slug}-{}.parquet", options.format.as_str());
    let headers = [
        (
            header::CONTENT_TYPE,
            "application/vnd.apache.parquet".to_owned(),
        ),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ),
    ];
    Ok((
        headers,
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

/// Checks everything, then streams the export as the response body.
pub async fn stream_export(
    pool: PgPool,
    actor: Actor,
    slug: String,
    request: ExportRequest,
) -> Result<Response, Error> {
    // Refuse before the first byte: a stream cannot change its status later.
    projects::authorize(&pool, &actor, &slug, &[Scope::ExportRead]).await?;
    let options = request.options()?;
    let filters = ExportFilters::from_request(&request)?;
    let filename = format!("{slug}-{}.jsonl", options.format.as_str());
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Err(e) = export_jsonl(
            &pool,
            &actor,
            &slug,
            &options,
            &filters,
            &mut writer,
            &mut |_| {},
        )
        .await
        {
            // The response has started; ending it early is all that is left to do.
            e.to_app_error();
        }
    });
    let headers = [
        (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ),
    ];
    Ok((
        headers,
        Body::from_stream(tokio_util::io::ReaderStream::new(reader)),
    )
        .into_response())
}
