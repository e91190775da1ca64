//! While the database cannot be reached, requests answer fast and clearly: 503 with
//! `Retry-After` and a message that says the database is unavailable, from the health
//! check, the API, the server functions the browser calls and the server-rendered pages;
//! not a generic 500 after waiting out a long pool timeout.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, body_text};
use std::time::{Duration, Instant};

/// A session cookie of the shape tower-sessions issues, so that the session store is asked.
const COOKIE: &str = "verdict_session=AAAAAAAAAAAAAAAAAAAAAA";

async fn ask(
    app: &TestApp,
    request: Request<Body>,
) -> (StatusCode, Option<String>, String, Duration) {
    let started = Instant::now();
    let response = app.send(request).await;
    let took = started.elapsed();
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, body_text(response).await, took)
}

#[tokio::test]
async fn without_the_database_every_kind_of_request_answers_503_with_retry_after() {
    // The pool waits 300 ms for a connection; the health check at most its own second.
    let app = TestApp::without_database(300);
    let get = |uri: &str, cookie: Option<&str>| {
        let mut r = Request::builder().uri(uri);
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    };

    let (status, retry, body, took) = ask(&app, get("/healthz", None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(body.contains("unreachable"), "{body}");
    assert!(took < Duration::from_secs(2), "health check took {took:?}");

    // The API: the token lookup needs the database.
    let api = Request::builder()
        .uri("/api/v1/projects/p/feedback")
        .header(
            header::AUTHORIZATION,
            "Bearer vdt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .body(Body::empty())
        .unwrap();
    let (status, retry, body, took) = ask(&app, api).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(body.contains("\"code\":\"unavailable\""), "{body}");
    assert!(body.contains("the database is unavailable"), "{body}");
    assert!(took < Duration::from_secs(2), "API took {took:?}");

    // A server function, as the workspace's submit calls it, with a session cookie.
    let submit = Request::builder()
        .method("POST")
        .uri("/serverfn/next_task")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, COOKIE)
        .body(Body::from("slug=demo"))
        .unwrap();
    let (status, retry, body, took) = ask(&app, submit).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(body.contains("the database is unavailable"), "{body}");
    assert!(
        took < Duration::from_secs(2),
        "server function took {took:?}"
    );

    // A server-rendered page.
    let (status, retry, body, _) = ask(&app, get("/projects/p/dashboard", Some(COOKIE))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(body.contains("the database is unavailable"), "{body}");
}
