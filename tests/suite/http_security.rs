//! Security headers on every response, and state-changing requests from another origin
//! refused, through the real router.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, body_text, form_encode, form_post, session_cookie};
use verdict::model::user::Role;

fn header_of(response: &axum::response::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[sqlx::test]
async fn every_kind_of_response_carries_the_security_headers(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("admin@example.org", Role::Admin).await;
    let cookie = app.session_for("admin@example.org").await;
    let mut nonces = Vec::new();
    for (path, cookie) in [
        ("/login", None),
        ("/", Some(cookie.as_str())),
        ("/projects/nope/quality", Some(cookie.as_str())),
        ("/admin/audit", Some(cookie.as_str())),
        ("/healthz", None),
        ("/api/v1/openapi.json", None),
        ("/api/v1/docs", None),
        ("/no/such/page", None),
    ] {
        let response = app.get(path, cookie).await;
        let policy = header_of(&response, "content-security-policy");
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("object-src 'none'"), "{path}: {policy}");
        assert_eq!(
            header_of(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            header_of(&response, "referrer-policy"),
            "same-origin",
            "{path}"
        );
        assert_eq!(header_of(&response, "x-frame-options"), "DENY", "{path}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in script-src")
            .to_owned();
        assert_eq!(nonce.len(), 22, "128 random bits, base64url: {nonce}");
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 8, "a fresh nonce per response");
}

#[sqlx::test]
async fn the_apps_inline_scripts_carry_the_nonce_of_the_policy(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/login", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = header_of(&response, "content-security-policy");
    let html = body_text(response).await;
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the hydrated page has its scripts");
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        let external = tag.contains(" src=");
        assert!(
            external || tag.contains(&format!("nonce=\"{nonce}\"")),
            "an inline script without this response's nonce: <script{tag}>"
        );
    }
}

fn login_from(origin: Option<&str>, site: Option<&str>) -> Request<Body> {
    let body = format!(
        "email={}&password={}",
        form_encode("ann@example.org"),
        form_encode(PASSWORD)
    );
    let mut request = form_post("/auth/login", &body, None);
    let headers = request.headers_mut();
    headers.insert(header::HOST, "verdict.test".parse().unwrap());
    if let Some(origin) = origin {
        headers.insert(header::ORIGIN, origin.parse().unwrap());
    }
    if let Some(site) = site {
        headers.insert("sec-fetch-site", site.parse().unwrap());
    }
    request
}

#[sqlx::test]
async fn a_login_posted_from_another_site_is_refused(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("ann@example.org", Role::Annotator).await;

    for (origin, site) in [
        (Some("https://evil.example"), Some("cross-site")),
        (Some("https://evil.example"), None),
        (None, Some("same-site")),
        (Some("null"), None),
    ] {
        let response = app.send(login_from(origin, site)).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
        assert!(session_cookie(&response).is_none(), "no session was made");
        let body = common::json_body(response).await;
        assert_eq!(common::error_code(&body), "forbidden");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("another"),
            "{body}"
        );
    }
    // The same form from Verdict's own pages signs in.
    for (origin, site) in [
        (Some("http://verdict.test"), Some("same-origin")),
        (Some("http://verdict.test"), None),
        (None, None),
    ] {
        let response = app.send(login_from(origin, site)).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{origin:?} {site:?}"
        );
        assert!(session_cookie(&response).is_some());
    }
}

#[sqlx::test]
async fn a_server_function_called_from_another_site_changes_nothing(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("admin@example.org", Role::Admin).await;
    let cookie = app.session_for("admin@example.org").await;
    let create = |site: &str| {
        let mut request = form_post(
            "/serverfn/create_project",
            "name=Stolen&slug=stolen",
            Some(&cookie),
        );
        request
            .headers_mut()
            .insert("sec-fetch-site", site.parse().unwrap());
        request
    };

    let response = app.send(create("cross-site")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects WHERE slug = 'stolen'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was created");

    let response = app.send(create("same-origin")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        body_text(response).await
    );
}

#[sqlx::test]
async fn api_calls_with_a_token_are_not_browser_requests(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("admin@example.org", Role::Admin).await;
    let token = common::token(&app, &["items:write"], None).await;
    let request = Request::post("/api/v1/projects/nope/items")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "https://backend.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("[]"))
        .unwrap();
    let response = app.send(request).await;
    // Past the origin check: the API itself answers (no such project).
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
