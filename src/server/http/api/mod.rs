//! The model-backend REST API under `/api/v1`: bearer tokens, JSON in and out, one error
//! envelope, body limits, per-token rate limits. Every route is registered through
//! [`OpenApiRouter`], so the OpenAPI document at `/api/v1/openapi.json` lists exactly the
//! routes that exist. Handlers are thin: they parse, call a service, and shape the answer.

mod datasets;
mod docs;
mod export;
mod feedback;
mod items;
mod leaderboard;
mod members;
mod quality;

use crate::server::error::envelope;
use crate::server::services::{Actor, tokens};
use crate::server::{AppState, Error};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verdict API",
        version = "1",
        description = "Push items, capture end-user feedback and pull feedback batches. \
                       Authenticate with `Authorization: Bearer <token>`; admins create tokens \
                       with scopes on the Tokens page or with `verdict token create`."
    ),
    servers((url = "/api/v1")),
    // The export spec's query parameters refer to these by name.
    components(schemas(
        crate::model::export::ExportFormat,
        crate::model::export::PairStrategy,
        crate::model::export::ReviewMode
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "items", description = "Items to label"),
        (name = "feedback", description = "End-user feedback in; the feedback stream out"),
        (name = "export", description = "Whole-project exports"),
        (name = "datasets", description = "Immutable dataset versions: manifests and files"),
        (name = "quality", description = "Agreement between annotators"),
        (name = "members", description = "Who works on a project, with their limits"),
        (name = "meta", description = "This document")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document, served as built.
#[derive(Clone)]
struct Document(Arc<String>);

/// The API's routes (relative to [`PREFIX`]) and their OpenAPI document.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(items::push))
        .routes(routes!(items::status, items::delete))
        .routes(routes!(items::set_gold))
        .routes(routes!(feedback::capture, feedback::page))
        .routes(routes!(feedback::capture_batch))
        .routes(routes!(feedback::consumer_pull))
        .routes(routes!(feedback::consumer_ack))
        .routes(routes!(export::export))
        .routes(routes!(datasets::list, datasets::create))
        .routes(routes!(datasets::show))
        .routes(routes!(datasets::download))
        .routes(routes!(quality::report))
        .routes(routes!(quality::scorecards))
        .routes(routes!(quality::judge_by))
        .routes(routes!(leaderboard::show))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::remove))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(docs::page))
        .split_for_parts()
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The API router, to nest at [`PREFIX`].
pub fn router(max_body_bytes: usize) -> Router<AppState> {
    let (router, doc) = routes();
    let json = doc
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    router
        .fallback(|| async { Error::NotFound("API route") })
        .layer(Extension(Document(Arc::new(json))))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn(move |request, next| {
            enveloped(request, next, max_body_bytes)
        }))
}

/// Turns every error answer that is not already the JSON envelope (axum's rejections of
/// bodies, sizes, methods and content types are plain text) into the envelope, keeping the
/// status: 422 (a body that does not fit the schema) becomes `invalid` naming `body`.
async fn enveloped(request: Request, next: Next, max_body_bytes: usize) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge {
            limit_bytes: max_body_bytes,
        },
        StatusCode::UNPROCESSABLE_ENTITY => Error::invalid("body", message),
        StatusCode::METHOD_NOT_ALLOWED => {
            Error::BadRequest("this route does not take that method".into())
        }
        _ if message.is_empty() => Error::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_owned(),
        ),
        _ => Error::BadRequest(message),
    };
    let mut out = (status, axum::Json(envelope(&error.to_app_error()))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// What a handler with a JSON body can fail with: the service's error, or axum's rejection
/// of the body (kept as axum answers it, status included, then put in the envelope by
/// [`enveloped`]). Handlers check the token's scope before looking at the body.
pub enum ApiError {
    Service(Error),
    Body(axum::extract::rejection::JsonRejection),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Service(e)
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::Body(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Service(e) => e.into_response(),
            ApiError::Body(e) => e.into_response(),
        }
    }
}

/// The caller of an API route, from its bearer token (checked, rate-limited, use recorded).
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::BadToken)?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(Error::BadToken)?
            .trim();
        let actor =
            tokens::authenticate(&state.pool, secret, state.config.api.rate_per_minute).await?;
        Ok(ApiActor(actor))
    }
}

/// `{"error": {"code", "message", "details"}}`; `code` is one of the stable codes.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// unauthenticated, forbidden, not_found, invalid, conflict, too_many_requests,
    /// payload_too_large, bad_request, internal
    pub code: String,
    pub message: String,
    /// `field` names the input field (or item index) an `invalid` error is about.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The errors every authenticated route may answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only
pub enum CommonErrors {
    /// The request cannot be read: a path or query parameter of the wrong type (a number
    /// out of range, say) or a body that is not JSON; the message says which.
    #[response(status = 400)]
    BadRequest(ErrorEnvelope),
    /// Bad input; `details.field` names it.
    #[response(status = 422)]
    Invalid(ErrorEnvelope),
    /// No valid token: missing, wrong or revoked.
    #[response(status = 401)]
    Unauthenticated(ErrorEnvelope),
    /// The token lacks the scope, or is limited to another project.
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// No such project or item.
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// Over the token's requests per minute; see the Retry-After header.
    #[response(status = 429)]
    TooManyRequests(ErrorEnvelope),
    /// The database is unavailable or the server is overloaded; nothing was changed. Try
    /// again after the Retry-After header's seconds.
    #[response(status = 503)]
    Unavailable(ErrorEnvelope),
}

/// The errors of an operation whose body must be JSON, besides [`CommonErrors`].
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only
pub enum JsonBodyErrors {
    /// The body is not sent as `Content-Type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorEnvelope),
}

/// Export options as query parameters; flags are on when present (any value).
/// Parses an optional integer query parameter, naming it when it is not one.
fn int_param<T: std::str::FromStr>(name: &str, value: &Option<String>) -> Result<Option<T>, Error> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(name, "must be a whole number")),
    }
}

/// The entries of a list body (a push's items, a batch's events), before each is checked
/// on its own: `{"<field>": [...]}`, a bare JSON array, or JSON Lines (with
/// `Content-Type: application/x-ndjson`).
pub(super) fn parse_list(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    field: &str,
) -> Result<Vec<serde_json::Value>, Error> {
    use axum::http::header;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let text =
        std::str::from_utf8(body).map_err(|e| Error::invalid("body", format!("not UTF-8: {e}")))?;
    if content_type.starts_with("application/x-ndjson")
        || content_type.starts_with("application/jsonl")
    {
        let mut values = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value = serde_json::from_str(line).map_err(|e| {
                Error::invalid(format!("line {}", n + 1), format!("invalid JSON: {e}"))
            })?;
            values.push(value);
        }
        return Ok(values);
    }
    if !content_type.starts_with("application/json") {
        return Err(Error::BadRequest(format!(
            "Content-Type {content_type} is not application/json or application/x-ndjson"
        )));
    }
    match serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| Error::invalid("body", format!("invalid JSON: {e}")))?
    {
        serde_json::Value::Array(items) => Ok(items),
        serde_json::Value::Object(mut map) => match map.remove(field) {
            Some(serde_json::Value::Array(items)) => Ok(items),
            _ => Err(Error::invalid(field, "must be an array")),
        },
        _ => Err(Error::invalid(
            "body",
            format!("must be {{\"{field}\": [...]}} or an array"),
        )),
    }
}
