//! Streamed exports: the admin's download `GET /projects/{slug}/export.jsonl?format=…` and
//! (through [`stream_export`]) the API's. Rows go from the database cursor to the response
//! body through a bounded pipe.

use super::{TempFile, session};
use crate::model::api::Scope;
use crate::server::dataset::ExportSpec;
use crate::server::services::export::{export_jsonl, export_parquet, require_parquet};
use crate::server::services::{Actor, projects};
use crate::server::{AppState, Error};
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sqlx::PgPool;
use tower_sessions::Session;

/// The export spec of a request's query string (the one parser of `ExportSpec` queries).
pub struct Spec(pub ExportSpec);

impl<S: Send + Sync> FromRequestParts<S> for Spec {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Error> {
        Ok(Spec(ExportSpec::from_query(
            parts.uri.query().unwrap_or(""),
        )?))
    }
}

pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Spec(spec): Spec,
) -> Result<Response, Error> {
    let actor = session::actor(&state.pool, &session).await?;
    stream_export(state.pool.clone(), actor, slug, spec).await
}

/// `GET /projects/{slug}/export.parquet?format=dpo_pairs|dpo_conversational…`: the pairs
/// are written to a temporary file (Parquet's footer comes last), which is then streamed.
pub async fn download_parquet(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Spec(spec): Spec,
) -> Result<Response, Error> {
    let actor = session::actor(&state.pool, &session).await?;
    projects::authorize(&state.pool, &actor, &slug, &[Scope::ExportRead]).await?;
    let (options, filters) = spec.resolve(None)?;
    require_parquet(options.format)?;
    let temp = TempFile::new("export");
    let file = std::fs::File::create(&temp.0)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", temp.0.display()))?;
    export_parquet(
        &state.pool,
        &actor,
        &slug,
        &options,
        &filters,
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
        &mut |_| {},
    )
    .await?;
    let file = tokio::fs::File::open(&temp.0)
        .await
        .map_err(anyhow::Error::from)?;
    // The open file stays readable after its name is gone with `temp`.
    drop(temp);
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
    spec: ExportSpec,
) -> Result<Response, Error> {
    // Refuse before the first byte: a stream cannot change its status later.
    projects::authorize(&pool, &actor, &slug, &[Scope::ExportRead]).await?;
    let (options, filters) = spec.resolve(None)?;
    let filename = format!("{slug}-{}.jsonl", options.format.as_str());
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let (finished, outcome) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = export_jsonl(
            &pool,
            &actor,
            &slug,
            &options,
            &filters,
            &mut writer,
            &mut |_| {},
        )
        .await;
        if let Err(e) = &result {
            // Logs it; the response has started, so its status cannot say it.
            e.to_app_error();
        }
        // Told before the pipe closes: the body reads the outcome when it reads the end.
        let _ = finished.send(result.is_ok());
        drop(writer);
    });
    // A failed export breaks the response off (an error in the body) instead of ending it
    // cleanly: the client then reports a failed download, not a shorter file that looks
    // whole.
    let end = futures::stream::once(async move {
        match outcome.await {
            Ok(true) => None,
            _ => Some(Err(std::io::Error::other(
                "the export failed before its end",
            ))),
        }
    })
    .filter_map(std::future::ready);
    let body = tokio_util::io::ReaderStream::new(reader).chain(end);
    let headers = [
        (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ),
    ];
    Ok((headers, Body::from_stream(body)).into_response())
}

/// Streams a dataset version's file (already checked against its digest) as the answer.
pub async fn serve_version_file(
    manifest: &crate::server::dataset::version::Manifest,
    kind: crate::server::dataset::version::FileKind,
    made: crate::server::dataset::version::MadeFile,
) -> Result<Response, Error> {
    let file = tokio::fs::File::open(&made.path.0)
        .await
        .map_err(anyhow::Error::from)?;
    // The open file stays readable after its name is gone with `made`.
    let name = manifest
        .file(kind)
        .map_or_else(|| "dataset".to_owned(), |f| f.name.clone());
    let headers = [
        (header::CONTENT_TYPE, kind.content_type().to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
        (header::ETAG, format!("\"{}\"", made.sha256)),
        (
            header::HeaderName::from_static("x-verdict-sha256"),
            made.sha256.clone(),
        ),
        (header::CONTENT_LENGTH, made.bytes.to_string()),
    ];
    drop(made);
    Ok((
        headers,
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
