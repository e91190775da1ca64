//! `POST /projects/{slug}/import?format=…&skip_invalid=1&strict=1`: the admin's browser upload. The
//! body (the file, gzip or not) streams to a temporary file, refused past the size limit
//! with 413 before anything is stored, then goes through the same import as the CLI; the
//! answer is the import report as JSON.

use super::{TempFile, session};
use crate::model::import::{ImportFormat, ImportReport};
use crate::server::services::{import, projects};
use crate::server::{AppState, Error};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use futures::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::io::AsyncWriteExt;
use tower_sessions::Session;

#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    pub format: Option<String>,
    pub skip_invalid: Option<String>,
    pub strict: Option<String>,
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, Error> {
    let actor = session::actor(&state.pool, &session).await?;
    // Refuse before reading a byte: the role, the project, the options, the declared size.
    projects::settings(&state.pool, &actor, &slug).await?;
    let format = match query
        .format
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty() && *f != "auto")
    {
        Some(f) => Some(
            ImportFormat::parse(f)
                .ok_or_else(|| Error::invalid("format", format!("unknown import format {f:?}")))?,
        ),
        None => None,
    };
    let limit = state.config.max_upload_bytes;
    let too_large = || Error::PayloadTooLarge { limit_bytes: limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let temp = TempFile::new("upload");
    let mut file = tokio::fs::File::create(&temp.0)
        .await
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", temp.0.display()))?;
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the upload broke off: {e}")))?;
        received += chunk.len() as u64;
        if received > limit as u64 {
            return Err(too_large());
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| anyhow::anyhow!("writing the upload: {e}"))?;
    }
    file.flush()
        .await
        .map_err(|e| anyhow::anyhow!("writing the upload: {e}"))?;
    drop(file);
    if received == 0 {
        return Err(Error::invalid("file", "the file is empty"));
    }
    let report = import::import_file(
        &state.pool,
        &actor,
        &slug,
        &temp.0,
        import::ImportOptions {
            format,
            skip_invalid: query.skip_invalid.is_some(),
            strict: query.strict.is_some(),
        },
        Arc::new(AtomicU64::new(0)),
    )
    .await?;
    Ok(Json(report))
}
