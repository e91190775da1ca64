//! `GET /projects/{slug}/export.jsonl?format=…`: the admin's download, streamed from the
//! database cursor to the response body through a bounded pipe.

use super::session::current_user;
use crate::model::export::ExportRequest;
use crate::server::services::export::{ExportFilters, export_jsonl};
use crate::server::services::{Actor, projects};
use crate::server::{AppState, Error};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
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
    let actor = Actor::from(&user);
    let options = request.options()?;
    // Refuse before the first byte: a stream cannot change its status later.
    projects::settings(&state.pool, &actor, &slug).await?;
    let filters = ExportFilters {
        complete_only: request.complete_only(),
        ..ExportFilters::default()
    };
    let filename = format!("{slug}-{}.jsonl", options.format.as_str());
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let pool = state.pool.clone();
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
