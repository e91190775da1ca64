use crate::server::AppState;
use crate::server::error::RETRY_AFTER_SECS;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// How long the health check waits for the database (a connection and a ping) before it
/// says 503: a balancer's probe should not hang while PostgreSQL is down.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// 200 when the database answers within [`HEALTH_TIMEOUT`], 503 (with `Retry-After`) when
/// it does not.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let check = async {
        let mut conn = state.pool.acquire().await?;
        sqlx::Connection::ping(&mut *conn).await
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        )
            .into_response(),
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(_) => unavailable("no answer within the health check's timeout"),
    }
}

fn unavailable(why: &str) -> Response {
    tracing::warn!(error = why, "health check: database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
        Json(json!({ "status": "unavailable", "database": "unreachable" })),
    )
        .into_response()
}
