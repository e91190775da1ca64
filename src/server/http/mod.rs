//! The HTTP surface: the Leptos UI (pages and server functions), the login form
//! endpoints, health, and the layers around them. [`router`] builds it all without
//! binding a socket, so tests drive it directly.

pub mod api;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod dashboard;
pub mod datasets;
pub mod export;
pub mod health;
pub mod leaderboard;
pub mod limits;
pub mod members;
pub mod page;
pub mod quality;
pub mod quality_model;
pub mod review;
pub mod security;
pub mod serve;
pub mod session;
pub mod upload;

use super::AppState;
use crate::app::{App, shell};
use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler, generate_route_list};
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

/// A route outside the hydrated app and the API: where, which methods, its handlers, and
/// whether it answers without a session. [`router`] is built from [`page_routes`], and the
/// permission test walks the same list, so a route cannot be added without being checked.
pub struct PageRoute {
    pub path: &'static str,
    pub methods: Vec<&'static str>,
    /// Answers anyone (the login form, health).
    pub public: bool,
    handlers: MethodRouter<AppState>,
}

impl PageRoute {
    fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            path,
            methods: vec!["GET"],
            public: false,
            handlers: get(handler),
        }
    }

    fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            path,
            methods: vec!["POST"],
            public: false,
            handlers: post(handler),
        }
    }

    fn and_post<H: Handler<T, AppState>, T: 'static>(mut self, handler: H) -> Self {
        self.methods.push("POST");
        self.handlers = self.handlers.post(handler);
        self
    }

    fn public(mut self) -> Self {
        self.public = true;
        self
    }
}

/// The server-rendered pages and forms, downloads, uploads, login forms and health.
pub fn page_routes() -> Vec<PageRoute> {
    vec![
        // Browser forms that must work without JavaScript.
        PageRoute::post("/auth/login", auth::login).public(),
        PageRoute::post("/auth/logout", auth::logout).public(),
        // Admin downloads, streamed.
        PageRoute::get("/projects/{slug}/export.jsonl", export::download),
        PageRoute::get("/projects/{slug}/export.parquet", export::download_parquet),
        // Server-rendered pages outside the hydrated app (no WASM).
        PageRoute::get("/projects/{slug}/datasets", datasets::list).and_post(datasets::create),
        PageRoute::get("/projects/{slug}/datasets/diff", datasets::diff),
        PageRoute::get("/projects/{slug}/datasets/{name}/{version}", datasets::show),
        PageRoute::get(
            "/projects/{slug}/datasets/{name}/{version}/files/{file}",
            datasets::file,
        ),
        PageRoute::get("/projects/{slug}/members", members::show).and_post(members::save),
        PageRoute::post("/projects/{slug}/members/remove", members::remove),
        PageRoute::get("/projects/{slug}/review", review::show),
        PageRoute::post("/projects/{slug}/review/decide", review::decide),
        PageRoute::post("/projects/{slug}/review/settings", review::save_settings),
        PageRoute::get("/admin/audit", audit::show),
        PageRoute::get("/admin/audit.jsonl", audit::download),
        PageRoute::get("/projects/{slug}/dashboard", dashboard::show),
        PageRoute::get("/projects/{slug}/dashboard.json", dashboard::json),
        PageRoute::get("/projects/{slug}/dashboard.csv", dashboard::csv),
        PageRoute::post("/projects/{slug}/dashboard/fields", dashboard::save_fields),
        PageRoute::get("/projects/{slug}/burnup.svg", dashboard::burnup),
        PageRoute::get("/projects/{slug}/leaderboard", leaderboard::show),
        PageRoute::get("/projects/{slug}/leaderboard.json", leaderboard::download),
        PageRoute::get("/projects/{slug}/leaderboard.svg", leaderboard::svg),
        PageRoute::get("/projects/{slug}/quality", quality::show),
        PageRoute::post("/projects/{slug}/quality/gold", quality::save_gold),
        PageRoute::post(
            "/projects/{slug}/quality/overlap",
            quality_model::save_overlap,
        ),
        PageRoute::get("/projects/{slug}/quality/me", quality::mine),
        PageRoute::get("/projects/{slug}/quality/item", quality::find_item),
        PageRoute::get(
            "/projects/{slug}/items/{external_id}/gold",
            quality::item_gold,
        )
        .and_post(quality::save_item_gold),
        PageRoute::post("/projects/{slug}/quality/resume", quality::resume),
        // Admin uploads of items, streamed to disk, then imported.
        PageRoute::post("/projects/{slug}/import", upload::upload),
        // Operations.
        PageRoute::get("/healthz", health::healthz).public(),
    ]
}

/// The app's page routes, generated once per process. Generating them runs the app with
/// resource loading suppressed by a process-wide flag (leptos_server's
/// `SuppressResourceLoad`): a resource first polled on another thread meanwhile waits for
/// ever, so an SSR response never ends. Several routers in one process (the tests, two
/// servers) therefore share one list, made before any of them serves a page.
pub fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::LazyLock<Vec<AxumRouteListing>> =
        std::sync::LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name("verdict_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies);

    let origins = std::sync::Arc::new(security::Origins::new(state.config.public_url.as_deref()));
    let routes = app_routes();
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    let mut router = Router::new();
    for route in page_routes() {
        router = router.route(route.path, route.handlers);
    }
    router
        // The model-backend API: bearer tokens, no sessions.
        .nest(api::PREFIX, api::router(state.config.api.max_body_bytes))
        // Pages, and the server functions they call (under /serverfn).
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                security::provide_nonce();
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.config.small_bodies,
            limits::small_bodies,
        ))
        .layer(sessions)
        // Outside the sessions: a refused request never reaches the session store.
        .layer(axum::middleware::from_fn_with_state(
            origins,
            security::same_origin,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    limits::overloaded,
                ))
                .load_shed()
                // One count for the whole server: the router applies layers route by route.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    state.config.max_concurrent_requests,
                )),
        )
        .layer(axum::middleware::from_fn(security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
