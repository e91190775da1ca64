//! End-user feedback in, and the feedback stream out (stateless cursors, named consumers).

use super::{ApiActor, ApiError, CommonErrors, ErrorEnvelope, JsonBodyErrors, int_param};
use crate::model::api::Scope;
use crate::model::api::{
    Ack, AckReceipt, BatchReport, ConsumerBatch, EndUserFeedback, FeedbackPage, FeedbackReceipt,
};
use crate::server::dataset::{ExportFormat, ExportSpec};
use crate::server::http::export::Spec;
use crate::server::services::feedback;
use crate::server::{AppState, Error};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::IntoParams;

/// Record end-user feedback: the prompt, the answer the backend's model gave, and what the
/// end user said (thumbs, a correction, a comment). Stored with source `end_user` on the
/// item of that prompt (by `external_id`, else a new item); a repeat from the same end user
/// on the same item updates their feedback. Exported like any other feedback.
#[utoipa::path(
    post,
    path = "/projects/{slug}/feedback",
    tag = "feedback",
    params(("slug" = String, Path, description = "The project's slug")),
    request_body = EndUserFeedback,
    responses(
        (status = 200, description = "Where the feedback was stored", body = FeedbackReceipt),
        (status = 413, description = "The body is over the size limit", body = ErrorEnvelope),
        CommonErrors,
        JsonBodyErrors
    ),
    security(("bearer" = ["feedback:write"]))
)]
pub async fn capture(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    input: Result<Json<EndUserFeedback>, JsonRejection>,
) -> Result<Json<FeedbackReceipt>, ApiError> {
    actor.require_scope(Scope::FeedbackWrite)?;
    let Json(input) = input?;
    Ok(Json(
        feedback::capture(&state.pool, &actor, &slug, &input).await?,
    ))
}

/// A feedback batch: `{"events": [...]}`, or a bare JSON array, or JSON Lines (one event
/// per line, with `Content-Type: application/x-ndjson`).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the body is read leniently, event by event
pub struct BatchBody {
    pub events: Vec<EndUserFeedback>,
}

/// Record a batch of end-user feedback (up to 1000 events, and the body size limit), each
/// event as `POST …/feedback` takes it, in one transaction. Every event gets a result by its
/// index: `stored` with where, or `invalid` with the field and why (the others are stored
/// all the same). With an `Idempotency-Key` header, sending the same batch again (a retry
/// after a lost answer) answers what the first answer said, with `replayed: true`, and
/// stores nothing twice; a key is kept a day, per project.
#[utoipa::path(
    post,
    path = "/projects/{slug}/feedback/batch",
    tag = "feedback",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 characters naming this batch, the same on a retry")
    ),
    request_body(
        content((BatchBody = "application/json"), (String = "application/x-ndjson")),
        description = "Events as {\"events\": [...]}, a JSON array, or JSON Lines"
    ),
    responses(
        (status = 200, description = "What happened to each event", body = BatchReport),
        (status = 413, description = "The body is over the size limit", body = ErrorEnvelope),
        CommonErrors
    ),
    security(("bearer" = ["feedback:write"]))
)]
pub async fn capture_batch(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BatchReport>, Error> {
    actor.require_scope(Scope::FeedbackWrite)?;
    let key =
        match headers.get("idempotency-key") {
            Some(value) => Some(value.to_str().map_err(|_| {
                Error::invalid("Idempotency-Key", "must be visible ASCII characters")
            })?),
            None => None,
        };
    let events = super::parse_list(&headers, &body, "events")?;
    Ok(Json(
        feedback::capture_batch(&state.pool, &actor, &slug, key, &events).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// A cursor from an earlier page (`next_cursor` or an entry's `cursor`); from the start
    /// when absent.
    pub after: Option<String>,
    /// Entries per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
}

/// Read the feedback stream: annotations and end-user feedback in a stable order after
/// `after`, each with its records in `format` (default `raw`). Stateless: keep
/// `next_cursor`. An edited annotation comes again, later, with its new version.
#[utoipa::path(
    get,
    path = "/projects/{slug}/feedback",
    tag = "feedback",
    params(("slug" = String, Path, description = "The project's slug"), PageQuery, ExportSpec),
    responses((status = 200, description = "A page of the stream", body = FeedbackPage), CommonErrors),
    security(("bearer" = ["feedback:read"]))
)]
pub async fn page(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    Query(page): Query<PageQuery>,
    Spec(spec): Spec,
) -> Result<Json<FeedbackPage>, Error> {
    spec.records_only()?;
    let (options, _) = spec.resolve(Some(ExportFormat::Raw))?;
    let limit = int_param("limit", &page.limit)?;
    Ok(Json(
        feedback::page(
            &state.pool,
            &actor,
            &slug,
            page.after.as_deref(),
            limit,
            &options,
        )
        .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Entries per batch, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// Seconds to ack the batch before it is delivered again, 1 to 3600 (default 60).
    pub ack_timeout_secs: Option<String>,
}

/// Pull the next batch for the named consumer (created on first use, at the start of the
/// stream). Ack the batch id to move the consumer's cursor past it; unacked, the batch is
/// delivered again once it expires. While a batch is outstanding other pulls get 409.
#[utoipa::path(
    post,
    path = "/projects/{slug}/consumers/{name}/pull",
    tag = "feedback",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("name" = String, Path, description = "The consumer: letters, digits, '_', '.', '-'"),
        PullQuery,
        ExportSpec
    ),
    responses(
        (status = 200, description = "The batch (no batch_id when nothing was new)", body = ConsumerBatch),
        (status = 409, description = "A batch is outstanding", body = ErrorEnvelope),
        CommonErrors
    ),
    security(("bearer" = ["feedback:read"]))
)]
pub async fn consumer_pull(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, name)): Path<(String, String)>,
    Query(pull): Query<PullQuery>,
    Spec(spec): Spec,
) -> Result<Json<ConsumerBatch>, Error> {
    spec.records_only()?;
    let (options, _) = spec.resolve(Some(ExportFormat::Raw))?;
    let limit = int_param("limit", &pull.limit)?;
    let ttl = int_param("ack_timeout_secs", &pull.ack_timeout_secs)?;
    Ok(Json(
        feedback::consumer_pull(&state.pool, &actor, &slug, &name, limit, ttl, &options).await?,
    ))
}

/// Acknowledge the consumer's outstanding batch: its entries will not be delivered again.
#[utoipa::path(
    post,
    path = "/projects/{slug}/consumers/{name}/ack",
    tag = "feedback",
    params(
        ("slug" = String, Path, description = "The project's slug"),
        ("name" = String, Path, description = "The consumer")
    ),
    request_body = Ack,
    responses(
        (status = 200, description = "The consumer's cursor moved", body = AckReceipt),
        (status = 409, description = "Not the outstanding batch (acked, or expired and delivered again)", body = ErrorEnvelope),
        CommonErrors,
        JsonBodyErrors
    ),
    security(("bearer" = ["feedback:read"]))
)]
pub async fn consumer_ack(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path((slug, name)): Path<(String, String)>,
    ack: Result<Json<Ack>, JsonRejection>,
) -> Result<Json<AckReceipt>, ApiError> {
    actor.require_scope(Scope::FeedbackRead)?;
    let Json(ack) = ack?;
    Ok(Json(
        feedback::consumer_ack(&state.pool, &actor, &slug, &name, ack.batch_id).await?,
    ))
}
