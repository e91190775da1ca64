//! The server's error type. Services return it; it is mapped once to an HTTP status and a
//! user-facing [`AppError`]. Database and internal errors are logged here, once, and reach
//! the client only as a generic message.

use crate::model::{AppError, ErrorCode};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sign in first")]
    Unauthenticated,
    #[error("you are not allowed to do this")]
    Forbidden,
    /// The annotator may take no new item on the project: paused by their gold accuracy, or
    /// at a limit of their membership; the message says why.
    #[error("{0}")]
    Paused(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Bad input; the `AppError` names the field.
    #[error("{0}")]
    Invalid(AppError),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// An API request without a live token.
    #[error("send a valid API token: Authorization: Bearer <token> (missing, wrong or revoked)")]
    BadToken,
    #[error("the request body is over the limit of {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("{0}")]
    BadRequest(String),
    /// The database is out of reach (found by another part than sqlx: the session store).
    #[error("{UNAVAILABLE}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(AppError::invalid(field, message))
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Unauthenticated | Error::BadToken => ErrorCode::Unauthenticated,
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::BadRequest(_) => ErrorCode::BadRequest,
            Error::Forbidden | Error::Paused(_) => ErrorCode::Forbidden,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Invalid(_) => ErrorCode::Invalid,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Database(e) if database_unavailable(e) => ErrorCode::Unavailable,
            Error::Database(e) if unstorable_text(e) => ErrorCode::BadRequest,
            Error::Database(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.code() {
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client may see. Logs internal errors, since their detail is withheld.
    pub fn to_app_error(&self) -> AppError {
        match self {
            Error::Invalid(e) => e.clone(),
            Error::Unavailable(why) => {
                tracing::warn!(error = why, "database unavailable");
                AppError::new(ErrorCode::Unavailable, UNAVAILABLE)
            }
            Error::Database(e) if database_unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::new(ErrorCode::Unavailable, UNAVAILABLE)
            }
            Error::Database(e) if unstorable_text(e) => {
                tracing::warn!(error = %e, "unstorable text refused");
                AppError::new(ErrorCode::BadRequest, UNSTORABLE)
            }
            Error::Database(e) => {
                tracing::error!(error = %e, "database error");
                AppError::new(ErrorCode::Internal, "internal error; see the server log")
            }
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                AppError::new(ErrorCode::Internal, "internal error; see the server log")
            }
            other => AppError::new(other.code(), other.to_string()),
        }
    }
}

/// What a request answers while the database cannot be reached.
pub const UNAVAILABLE: &str =
    "the database is unavailable; nothing was changed: try again in a few seconds";
/// What a request answers when a text it sent cannot be stored: a safety net behind the
/// services' own checks, which name the field.
pub const UNSTORABLE: &str =
    "the request holds a NUL character, which no text may contain; nothing was changed";

/// Whether PostgreSQL refused a text it cannot hold (a NUL character: SQLSTATE 22021,
/// or 22P05 for one inside JSON).
pub fn unstorable_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")))
}

/// Whether PostgreSQL ended the statement to break a deadlock (SQLSTATE 40P01): the
/// transaction was rolled back and may be run again.
pub fn deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("40P01"))
}

/// Seconds a client should wait before trying again (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 5;

/// Whether the error says the database cannot be reached (rather than that a statement
/// failed): no connection within the acquire timeout, a broken connection, or PostgreSQL
/// shutting down, starting up, or ending the session (SQLSTATE classes 08 and 57P).
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        match e.code {
            ErrorCode::Invalid => Error::Invalid(e),
            ErrorCode::Unauthenticated => Error::Unauthenticated,
            ErrorCode::Forbidden => Error::Forbidden,
            ErrorCode::Conflict => Error::Conflict(e.message),
            _ => Error::Internal(anyhow::anyhow!(e.message)),
        }
    }
}

/// Maps a unique-constraint violation to a friendlier error.
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Error) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|e| match e.into() {
            Error::Database(sqlx::Error::Database(db)) if db.constraint() == Some(name) => f(),
            other => other,
        })
    }
}

/// The JSON error envelope of every HTTP endpoint outside the server functions:
/// `{"error": {"code", "message", "details"}}`, `details` naming the field when there is one.
pub fn envelope(error: &AppError) -> serde_json::Value {
    let details = match &error.field {
        Some(field) => serde_json::json!({ "field": field }),
        None => serde_json::json!({}),
    };
    serde_json::json!({
        "error": { "code": error.code, "message": error.message, "details": details }
    })
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = axum::Json(envelope(&self.to_app_error()));
        let mut response = (status, body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        if let Error::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}
