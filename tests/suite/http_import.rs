//! The admin's browser upload for import, over HTTP: streamed to disk, size-limited,
//! imported like the CLI does, answered with the report.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, error_code, json_body};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use verdict::model::user::Role;
use verdict::server::config::AppConfig;
use verdict::server::services::{Actor, projects};

const GOOD: &str = r#"{"external_id": "a", "prompt": "Q1?", "responses": ["x", "y"]}
{"external_id": "b", "messages": [{"role": "user", "content": "Q2?"}], "responses": [{"content": "z", "model": "m"}, "w"]}
"#;

async fn setup(pool: sqlx::PgPool, config: AppConfig) -> (TestApp, String, String) {
    let app = TestApp::with_config(pool, config).await;
    projects::create(&app.pool, &Actor::cli(), "qa", "Q&A")
        .await
        .unwrap();
    app.user("root@example.org", Role::Admin).await;
    app.user("ann@example.org", Role::Annotator).await;
    let admin = app.session_for("root@example.org").await;
    let ann = app.session_for("ann@example.org").await;
    (app, admin, ann)
}

async fn upload(
    app: &TestApp,
    query: &str,
    cookie: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::post(format!("/projects/qa/import{query}"))
        .header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.send(request.body(Body::from(body)).unwrap()).await;
    let status = response.status();
    (status, json_body(response).await)
}

async fn items(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn an_admin_uploads_jsonl_or_gzip_and_gets_the_report(pool: sqlx::PgPool) {
    let (app, admin, _) = setup(pool, AppConfig::default()).await;
    let (status, report) = upload(&app, "", Some(&admin), GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 2);
    assert_eq!(report["format"], "verdict");
    assert_eq!(report["committed"], true);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(GOOD.as_bytes()).unwrap();
    let (status, report) =
        upload(&app, "?format=verdict", Some(&admin), gz.finish().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            report["imported"].as_u64(),
            report["already_present"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(items(&app).await, 2);
}

#[sqlx::test]
async fn bad_lines_are_reported_and_nothing_is_stored_unless_skipped(pool: sqlx::PgPool) {
    let (app, admin, _) = setup(pool, AppConfig::default()).await;
    let body = format!("{GOOD}{{\"prompt\": \"only one\", \"responses\": [\"x\"]}}\nnot json\n");
    let (status, report) = upload(&app, "", Some(&admin), body.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["committed"], false);
    assert_eq!(report["invalid_count"], 2);
    assert_eq!(report["invalid"][0]["line"], 3);
    assert_eq!(report["invalid"][0]["field"], "responses");
    assert_eq!(report["invalid"][1]["line"], 4);
    assert_eq!(items(&app).await, 0);
    let (_, report) = upload(&app, "?skip_invalid=1", Some(&admin), body.into_bytes()).await;
    assert_eq!(
        (report["committed"].as_bool(), report["imported"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(items(&app).await, 2);
}

#[sqlx::test]
async fn uploads_over_the_limit_get_413_and_leave_nothing(pool: sqlx::PgPool) {
    let config = AppConfig {
        max_upload_bytes: 1024,
        ..AppConfig::default()
    };
    let (app, admin, _) = setup(pool, config).await;
    let big = GOOD.repeat(40).into_bytes();
    assert!(big.len() > 1024);
    let leftovers = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("verdict-upload-")
            })
            .count()
    };
    let before = leftovers();
    let (status, body) = upload(&app, "", Some(&admin), big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );
    // Without a declared length too (a streamed body).
    let stream =
        futures::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(GOOD.as_bytes().to_vec())));
    let request = Request::post("/projects/qa/import")
        .header(header::COOKIE, &admin)
        .body(Body::from_stream(stream))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(items(&app).await, 0);
    // Other tests upload at the same time: wait for theirs to go too.
    let mut left = leftovers();
    for _ in 0..100 {
        if left <= before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        left = leftovers();
    }
    assert!(left <= before, "temporary files are removed");
}

#[sqlx::test]
async fn uploads_need_an_admin_and_known_options(pool: sqlx::PgPool) {
    let (app, admin, ann) = setup(pool, AppConfig::default()).await;
    let (status, body) = upload(&app, "", None, GOOD.as_bytes().to_vec()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, _) = upload(&app, "", Some(&ann), GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = upload(&app, "?format=xml", Some(&admin), GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "format");
    let (status, body) = upload(&app, "", Some(&admin), Vec::new()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "file");
    let (status, body) = upload(&app, "", Some(&admin), vec![0x1f, 0x8b, 0x08, 0x00, 0x01]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(items(&app).await, 0);
}
