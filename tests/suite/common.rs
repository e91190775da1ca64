//! Helpers for driving the whole application in-process, without `main` or a socket.

#![allow(dead_code)] // each module uses its own subset

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::Value;
use sqlx::PgPool;
use std::sync::Arc;
use tower::ServiceExt;
use verdict::model::user::{NewUser, Role, UserView};
use verdict::server::config::AppConfig;
use verdict::server::services::users;
use verdict::server::{AppState, db, http};

pub const PASSWORD: &str = "a long test password";

pub struct TestApp {
    pub pool: PgPool,
    router: Router,
}

impl TestApp {
    pub async fn new(pool: PgPool) -> Self {
        Self::with_config(pool, AppConfig::default()).await
    }

    pub async fn with_config(pool: PgPool, config: AppConfig) -> Self {
        // #[sqlx::test] applied our migrations; this adds the session table too.
        db::migrate(&pool).await.expect("migrate");
        let leptos_options = LeptosOptions::builder().output_name("verdict").build();
        let state = AppState {
            pool: pool.clone(),
            config: Arc::new(config),
            leptos_options,
        };
        Self {
            pool,
            router: http::router(state),
        }
    }

    /// The app over a database that is not there: a pool of connections to a port nobody
    /// listens on, waiting `acquire_ms` for one (as `--db-acquire-timeout-ms` sets).
    pub fn without_database(acquire_ms: u64) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(acquire_ms))
            .connect_lazy(&format!("postgres://postgres@127.0.0.1:{port}/gone"))
            .expect("a lazy pool");
        let leptos_options = LeptosOptions::builder().output_name("verdict").build();
        let state = AppState {
            pool: pool.clone(),
            config: Arc::new(AppConfig::default()),
            leptos_options,
        };
        Self {
            pool,
            router: http::router(state),
        }
    }

    /// A new user; an annotator or reviewer becomes a member of every project there is.
    pub async fn user(&self, email: &str, role: Role) -> UserView {
        let user = self.outsider(email, role).await;
        join_every_project(&self.pool, &user).await;
        user
    }

    /// A new user who is a member of no project.
    pub async fn outsider(&self, email: &str, role: Role) -> UserView {
        let new = NewUser::parse(email, "Test Person", PASSWORD, role).expect("valid user");
        users::create_account(&self.pool, new)
            .await
            .expect("create user")
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router")
    }

    /// Posts the login form; returns the response (a 303 either way).
    pub async fn login(&self, email: &str, password: &str) -> Response<Body> {
        let body = format!(
            "email={}&password={}",
            form_encode(email),
            form_encode(password)
        );
        self.send(form_post("/auth/login", &body, None)).await
    }

    /// Logs in and returns the session cookie (`name=value`).
    pub async fn session_for(&self, email: &str) -> String {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/", "login should succeed for {email}");
        session_cookie(&response).expect("a session cookie after login")
    }

    /// Calls a server function the way the browser does; returns status and JSON body.
    pub async fn server_fn(
        &self,
        name: &str,
        form: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, Value) {
        let response = self
            .send(form_post(&format!("/serverfn/{name}"), form, cookie))
            .await;
        let status = response.status();
        (status, json_body(response).await)
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response<Body> {
        // As a browser navigating: leptos only answers a page's redirect with a 302 then.
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }
}

pub fn form_post(path: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn location(response: &Response<Body>) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The full Set-Cookie header of the session cookie, if one was set.
pub fn set_cookie_header(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("verdict_session="))
}

pub fn session_cookie(response: &Response<Body>) -> Option<String> {
    set_cookie_header(response).map(|v| v.split(';').next().unwrap().to_owned())
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn json_body(response: Response<Body>) -> Value {
    let text = body_text(response).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Calls the REST API: `body` is sent as JSON when given. Returns status, headers and the
/// body parsed as JSON (`Value::Null` when empty, a string when not JSON).
pub async fn api_call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    let response = app.send(request.unwrap()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let text = body_text(response).await;
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, value)
}

/// Creates an API token with these scopes (optionally limited to a project); returns its secret.
pub async fn token(app: &TestApp, scopes: &[&str], project: Option<&str>) -> String {
    use verdict::model::api::{NewToken, Scope};
    let new = NewToken {
        name: format!("test {}", scopes.join(" ")),
        scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
        project: project.map(str::to_owned),
    };
    verdict::server::services::tokens::create(
        &app.pool,
        &verdict::server::services::Actor::cli(),
        &new,
    )
    .await
    .expect("create token")
    .secret
}

/// The envelope's error code, asserting the envelope's shape.
pub fn error_code(body: &Value) -> String {
    let error = &body["error"];
    assert!(error["message"].is_string(), "no message in {body}");
    assert!(error["details"].is_object(), "no details in {body}");
    error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
        .to_owned()
}

/// Makes an annotator or reviewer a member of every project there is (admins reach them all).
pub async fn join_every_project(pool: &PgPool, user: &UserView) {
    if user.role == Role::Admin {
        return;
    }
    let cli = verdict::server::services::Actor::cli();
    for project in verdict::server::services::projects::list(pool, &cli)
        .await
        .expect("projects")
    {
        verdict::server::services::members::add(pool, &cli, &project.slug, &user.email, None, None)
            .await
            .expect("membership");
    }
}

/// A complete annotation of the task: its answers ranked in the order shown.
pub fn ranked_as_shown(
    task: &verdict::model::annotation::Task,
    time_spent_ms: u32,
) -> verdict::model::annotation::AnnotationInput {
    use verdict::model::annotation::{AnnotationBody, AnnotationInput};
    let shown: Vec<uuid::Uuid> = task.answers.iter().map(|a| a.response_id).collect();
    AnnotationInput {
        annotation_id: uuid::Uuid::new_v4(),
        item_id: task.item_id,
        body: AnnotationBody {
            ranking: Some(shown.iter().map(|id| vec![*id]).collect()),
            ..Default::default()
        },
        shown_order: shown,
        time_spent_ms,
        ..Default::default()
    }
}

/// The settings form of a project that collects rankings only, with this overlap.
pub fn rankings_form(
    name: &str,
    overlap: i32,
    allow_ties: bool,
) -> verdict::model::project::ProjectForm {
    verdict::model::project::ProjectForm {
        name: name.into(),
        guidelines: String::new(),
        overlap,
        lease_minutes: 30,
        shuffle_answers: Some("on".into()),
        thumbs: None,
        ranking: Some("on".into()),
        ideal: None,
        flags: None,
        comment: None,
        allow_ties: allow_ties.then(|| "on".into()),
        judgment: String::new(),
    }
}

/// `n` annotators `{prefix}{i}@example.org`, members of every project.
pub async fn annotators(
    pool: &PgPool,
    prefix: &str,
    n: usize,
) -> Vec<verdict::server::services::Actor> {
    let mut actors = Vec::new();
    for i in 0..n {
        let new = verdict::model::user::NewUser::parse(
            &format!("{prefix}{i}@example.org"),
            "A",
            "a long test password",
            Role::Annotator,
        )
        .unwrap();
        let user = verdict::server::services::users::create_account(pool, new)
            .await
            .unwrap();
        join_every_project(pool, &user).await;
        actors.push(verdict::server::services::Actor::from(&user));
    }
    actors
}

/// Project `p` exported with `options` (every filter off), a JSON value per record.
pub async fn export_records(
    pool: &PgPool,
    options: verdict::server::dataset::ExportOptions,
) -> Vec<Value> {
    let mut out = Vec::new();
    verdict::server::services::export::export_jsonl(
        pool,
        &verdict::server::services::Actor::cli(),
        "p",
        &options,
        &verdict::server::services::export::ExportFilters::default(),
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
