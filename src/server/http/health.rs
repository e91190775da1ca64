use crate::server::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// 200 when the database answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.pool.acquire().await {
        Ok(mut conn) => match sqlx::Connection::ping(&mut *conn).await {
            Ok(()) => (
                StatusCode::OK,
                Json(json!({ "status": "ok", "database": "ok" })),
            ),
            Err(e) => unavailable(&e),
        },
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &sqlx::Error) -> (StatusCode, Json<Value>) {
    tracing::warn!(error = %e, "health check: database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "database": "unreachable" })),
    )
}
