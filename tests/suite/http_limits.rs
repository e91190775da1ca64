//! What one request may cost: bodies of forms and server functions bounded in size and
//! time, and load shed beyond the requests the server takes at once.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, json_body};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use verdict::server::config::AppConfig;
use verdict::server::http::limits::BodyLimits;

/// A form post whose body sends `first` and then nothing more, ever; `started` counts the
/// requests whose body the server began to read.
fn stalled_counted(
    path: &str,
    first: &'static str,
    started: Option<Arc<AtomicUsize>>,
) -> Request<Body> {
    let chunks = futures::stream::once(async move {
        if let Some(started) = started {
            started.fetch_add(1, Ordering::SeqCst);
        }
        Ok::<_, std::io::Error>(first)
    })
    .chain(futures::stream::pending());
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(chunks))
        .unwrap()
}

fn stalled(path: &str, first: &'static str) -> Request<Body> {
    stalled_counted(path, first, None)
}

use futures::StreamExt as _;

/// Answers within `secs` or fails the test (bounded: a hang is the bug these look for).
async fn within(app: &TestApp, request: Request<Body>, secs: u64) -> axum::response::Response {
    tokio::time::timeout(Duration::from_secs(secs), app.send(request))
        .await
        .expect("an answer, not a hang")
}

#[sqlx::test]
async fn oversized_bodies_get_413_whether_declared_or_streamed(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let big = format!("name={}&slug=big", "x".repeat(3 << 20));

    // Declared by Content-Length: refused before a byte is read.
    let mut request = common::form_post("/serverfn/create_project", &big, None);
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, big.len().into());
    let response = within(&app, request, 10).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json_body(response).await;
    assert_eq!(
        body["code"], "payload_too_large",
        "a server function's error: {body}"
    );

    // Streamed without a length: refused once it passes the limit.
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(64 << 10)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(chunks))
        .unwrap();
    let response = within(&app, request, 10).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json_body(response).await;
    assert_eq!(common::error_code(&body), "payload_too_large");
}

#[sqlx::test]
async fn a_client_that_sends_its_body_too_slowly_is_cut_off(pool: sqlx::PgPool) {
    let config = AppConfig {
        small_bodies: BodyLimits {
            max_bytes: 1 << 20,
            read_timeout: Duration::from_millis(300),
        },
        ..AppConfig::default()
    };
    let app = TestApp::with_config(pool, config).await;
    let response = within(&app, stalled("/auth/login", "email=slow"), 10).await;
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    let body = json_body(response).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not arrive within 0.3 s"),
        "{body}"
    );
}

#[sqlx::test]
async fn beyond_the_requests_it_takes_at_once_the_server_answers_503(pool: sqlx::PgPool) {
    let config = AppConfig {
        max_concurrent_requests: 2,
        small_bodies: BodyLimits {
            max_bytes: 1 << 20,
            read_timeout: Duration::from_secs(60),
        },
        ..AppConfig::default()
    };
    let app = Arc::new(TestApp::with_config(pool, config).await);
    // Two slow clients hold both places (the server reading their bodies means they are in).
    let started = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let (app, started) = (app.clone(), started.clone());
            tokio::spawn(async move {
                app.send(stalled_counted("/auth/login", "email=a", Some(started)))
                    .await
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(10), async {
        while started.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("both slow requests are in");
    let health = || Request::get("/healthz").body(Body::empty()).unwrap();
    let response = within(&app, health(), 10).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let body = json_body(response).await;
    assert_eq!(common::error_code(&body), "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of requests at once")
    );

    // Once they are gone, the server answers again.
    for task in slow {
        task.abort();
        let _ = task.await;
    }
    let response = within(
        &app,
        Request::get("/healthz").body(Body::empty()).unwrap(),
        10,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}
