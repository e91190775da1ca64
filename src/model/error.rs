//! The error every client sees: a stable code, a readable message and, for invalid input,
//! the field it is about. Server internals never reach this type (see `server::error`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable, machine-readable error codes. Clients match on these, never on messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    Invalid,
    Conflict,
    TooManyRequests,
    /// The request body is over the size limit.
    PayloadTooLarge,
    /// The request is malformed: not JSON, wrong content type, a method the route lacks.
    BadRequest,
    /// The database cannot be reached now: try again shortly (`Retry-After` says when).
    Unavailable,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field (or line) the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Invalid,
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AppError {}

/// Lets server functions return `AppError` directly: transport failures (network down,
/// undecodable response) become an `Internal` error with their description.
impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match value {
            // The request did not get an answer: the network or the server is down.
            ServerFnErrorErr::Request(reason) => AppError::new(
                ErrorCode::Unavailable,
                format!("the server cannot be reached ({reason})"),
            ),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_field() {
        let e = AppError::invalid("email", "must contain @");
        assert_eq!(e.to_string(), "email: must contain @");
    }

    #[test]
    fn codes_serialize_snake_case() {
        let json = serde_json::to_string(&ErrorCode::TooManyRequests).unwrap();
        assert_eq!(json, "\"too_many_requests\"");
    }
}
