//! Bounds on what one request may cost the server.
//!
//! - [`small_bodies`]: the bodies of forms and server functions (everything but the API,
//!   which has its own limit, and the import upload, which streams) are read whole before
//!   the handler runs, within a size limit (413 at once when `Content-Length` says more)
//!   and a time limit (408 for a client that sends too slowly), so a slow or huge body
//!   holds no handler and no database connection.
//! - [`overloaded`]: beyond `--max-concurrent-requests` in flight, requests are answered
//!   503 with `Retry-After` at once instead of queueing without bound.

use crate::model::AppError;
use crate::model::error::ErrorCode;
use crate::server::error::envelope;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::time::Duration;

/// The largest form or server-function body: an annotation with a long ideal answer is a
/// few hundred kilobytes.
pub const MAX_SMALL_BODY_BYTES: usize = 2 << 20;

#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub read_timeout: Duration,
}

/// Routes whose bodies are not small: the API (its own limit, and bodies of megabytes) and
/// the import upload (streamed to a file, gigabytes).
fn large_body_route(path: &str) -> bool {
    path.starts_with("/api/") || (path.starts_with("/projects/") && path.ends_with("/import"))
}

/// An error in the shape the caller reads: server functions decode an `AppError`, other
/// endpoints answer the JSON envelope.
fn refusal(path: &str, status: StatusCode, code: ErrorCode, message: String) -> Response {
    let error = AppError {
        code,
        message,
        field: None,
    };
    if path.starts_with("/serverfn/") {
        (status, axum::Json(error)).into_response()
    } else {
        (status, axum::Json(envelope(&error))).into_response()
    }
}

/// Reads a small body whole within the limits, then runs the handler with it.
pub async fn small_bodies(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || large_body_route(&path)
    {
        return next.run(request).await;
    }
    let too_large = || {
        refusal(
            &path,
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "the request body is over the limit of {} bytes",
                limits.max_bytes
            ),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, limits.max_bytes).collect();
    let bytes = match tokio::time::timeout(limits.read_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Ok(Err(e)) => {
            return refusal(
                &path,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("the request body could not be read: {e}"),
            );
        }
        Err(_) => {
            return refusal(
                &path,
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BadRequest,
                format!(
                    "the request body did not arrive within {} s",
                    limits.read_timeout.as_secs_f64()
                ),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The answer to a request over the concurrency limit (tower's load shedding).
pub async fn overloaded(_: tower::BoxError) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(envelope(&AppError {
            code: ErrorCode::Unavailable,
            message: "the server is at its limit of requests at once; try again in a moment"
                .to_owned(),
            field: None,
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::large_body_route;

    #[test]
    fn the_api_and_the_upload_keep_their_own_limits() {
        assert!(large_body_route("/api/v1/projects/demo/items"));
        assert!(large_body_route("/projects/demo/import"));
        assert!(!large_body_route("/serverfn/submit_annotation"));
        assert!(!large_body_route("/auth/login"));
        assert!(!large_body_route("/projects/demo/quality/gold"));
        assert!(!large_body_route("/projects/import/members"));
    }
}
