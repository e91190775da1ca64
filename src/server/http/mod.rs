//! The HTTP surface: the Leptos UI (pages and server functions), the login form
//! endpoints, health, and the layers around them. [`router`] builds it all without
//! binding a socket, so tests drive it directly.

pub mod api;
pub mod audit;
pub mod auth;
pub mod datasets;
pub mod export;
pub mod health;
pub mod members;
pub mod page;
pub mod quality;
pub mod quality_model;
pub mod review;
pub mod session;
pub mod upload;

use super::AppState;
use crate::app::{App, shell};
use axum::Router;
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::trace::TraceLayer;
use tower_sessions::SessionManagerLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions_sqlx_store::PostgresStore;

/// A temporary file deleted however the request that made it ends (an error, a dropped
/// connection): uploads and Parquet downloads pass through one.
pub(crate) struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn new(kind: &str) -> Self {
        Self(std::env::temp_dir().join(format!("verdict-{kind}-{}", uuid::Uuid::new_v4())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name("verdict_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies);

    let routes = generate_route_list(App);
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    Router::new()
        // The model-backend API: bearer tokens, no sessions.
        .nest(api::PREFIX, api::router(state.config.api.max_body_bytes))
        // Browser forms that must work without JavaScript.
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        // Admin downloads, streamed.
        .route("/projects/{slug}/export.jsonl", get(export::download))
        .route(
            "/projects/{slug}/export.parquet",
            get(export::download_parquet),
        )
        // Dataset versions: server-rendered pages outside the hydrated app (no WASM).
        .route(
            "/projects/{slug}/datasets",
            get(datasets::list).post(datasets::create),
        )
        .route("/projects/{slug}/datasets/diff", get(datasets::diff))
        .route(
            "/projects/{slug}/members",
            get(members::show).post(members::save),
        )
        .route("/projects/{slug}/members/remove", post(members::remove))
        .route("/projects/{slug}/review", get(review::show))
        .route("/projects/{slug}/review/decide", post(review::decide))
        .route(
            "/projects/{slug}/review/settings",
            post(review::save_settings),
        )
        .route("/admin/audit", get(audit::show))
        .route("/admin/audit.jsonl", get(audit::download))
        .route("/projects/{slug}/quality", get(quality::show))
        .route("/projects/{slug}/quality/gold", post(quality::save_gold))
        .route(
            "/projects/{slug}/quality/overlap",
            post(quality_model::save_overlap),
        )
        .route("/projects/{slug}/quality/me", get(quality::mine))
        .route("/projects/{slug}/quality/item", get(quality::find_item))
        .route(
            "/projects/{slug}/items/{external_id}/gold",
            get(quality::item_gold).post(quality::save_item_gold),
        )
        .route("/projects/{slug}/quality/resume", post(quality::resume))
        .route(
            "/projects/{slug}/datasets/{name}/{version}",
            get(datasets::show),
        )
        .route(
            "/projects/{slug}/datasets/{name}/{version}/files/{file}",
            get(datasets::file),
        )
        // Admin uploads of items, streamed to disk, then imported.
        .route("/projects/{slug}/import", post(upload::upload))
        // Operations.
        .route("/healthz", get(health::healthz))
        // Pages, and the server functions they call (under /serverfn).
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
