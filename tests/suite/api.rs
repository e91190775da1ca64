//! The model-backend REST API over HTTP: tokens, push, status, end-user feedback, the
//! feedback stream with cursors and consumers, export, limits and the error envelope.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, api_call, error_code, token};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput};
use verdict::model::user::Role;
use verdict::server::config::AppConfig;
use verdict::server::services::{Actor, labeling, projects};

async fn app_with_project(pool: sqlx::PgPool) -> TestApp {
    let app = TestApp::new(pool).await;
    projects::create(&app.pool, &Actor::cli(), "qa", "Q&A")
        .await
        .unwrap();
    app
}

fn item(external_id: &str, answers: usize) -> Value {
    let responses: Vec<Value> = (0..answers)
        .map(|i| json!({"content": format!("answer {i} to {external_id}"), "model": format!("m{i}")}))
        .collect();
    json!({"external_id": external_id, "prompt": format!("question {external_id}?"), "responses": responses})
}

/// Waits until every transaction that wrote annotations has ended, as seen by the stream.
/// The stream reads only rows of transactions older than the oldest one still running in
/// the whole cluster, and tests in parallel run their own transactions in other databases.
async fn caught_up(pool: &sqlx::PgPool) {
    for _ in 0..500 {
        let done: bool = sqlx::query_scalar(
            "SELECT coalesce((SELECT max(tx) FROM annotations), '0') < pg_snapshot_xmin(pg_current_snapshot())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if done {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("transactions still running after 10 s");
}

/// An annotator ranks answers in their original order and thumbs the first up, on every
/// item the queue gives them; returns the annotation ids.
async fn label_all(app: &TestApp, email: &str, slug: &str) -> Vec<Uuid> {
    let user = app.user(email, Role::Annotator).await;
    let actor = Actor::from(&user);
    let mut ids = Vec::new();
    let mut task = labeling::next(&app.pool, &actor, slug).await.unwrap();
    while let Some(t) = task {
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: t.item_id,
            body: AnnotationBody {
                ranking: Some(t.answers.iter().map(|a| vec![a.response_id]).collect()),
                thumbs: [(t.answers[0].response_id, true)].into_iter().collect(),
                ..Default::default()
            },
            shown_order: t.answers.iter().map(|a| a.response_id).collect(),
            ..Default::default()
        };
        ids.push(input.annotation_id);
        task = labeling::submit(&app.pool, &actor, slug, input)
            .await
            .unwrap()
            .next;
    }
    ids
}

#[sqlx::test]
async fn tokens_store_only_a_hash_record_use_and_stop_working_when_revoked(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let secret = token(&app, &["feedback:read"], None).await;
    assert!(secret.starts_with("vdt_") && secret.len() > 40, "{secret}");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(
        stored,
        secret.as_bytes(),
        "the secret itself must not be stored"
    );
    assert_eq!(stored.len(), 32, "a SHA-256 hash");
    let listed = verdict::server::services::tokens::list(&app.pool, &Actor::cli())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_none());
    assert!(secret.starts_with(&listed[0].prefix) && listed[0].prefix.len() < 16);

    let (status, _, _) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/feedback",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let listed = verdict::server::services::tokens::list(&app.pool, &Actor::cli())
        .await
        .unwrap();
    assert!(listed[0].last_used_at.is_some(), "use is recorded");

    verdict::server::services::tokens::revoke(&app.pool, &Actor::cli(), listed[0].token_id)
        .await
        .unwrap();
    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/feedback",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthenticated");
}

#[sqlx::test]
async fn annotators_cannot_manage_tokens(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let new = verdict::model::api::NewToken {
        name: "mine".into(),
        scopes: vec![verdict::model::api::Scope::ExportRead],
        project: None,
    };
    let refused =
        verdict::server::services::tokens::create(&app.pool, &Actor::from(&ann), &new).await;
    assert!(matches!(refused, Err(verdict::server::Error::Forbidden)));
    let cookie = app.session_for("ann@example.org").await;
    let (status, _) = app.server_fn("list_tokens", "", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// Every documented operation, as (method, path with the project `qa` filled in).
fn operations() -> Vec<(String, String)> {
    let doc = serde_json::to_value(verdict::server::http::api::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path = path
                .replace("{slug}", "qa")
                .replace("{external_id}", "x")
                .replace("{name}", "trainer")
                .replace("{version}", "1")
                .replace("{file}", "jsonl")
                .replace("{email}", "ann@example.org");
            out.push((method.to_uppercase(), format!("/api/v1{path}")));
        }
    }
    out
}

#[sqlx::test]
async fn every_route_refuses_missing_wrong_and_out_of_scope_tokens(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    projects::create(&app.pool, &Actor::cli(), "other", "Other")
        .await
        .unwrap();
    let wrong_scope = token(&app, &["export:read"], None).await;
    let all_scopes = &["items:write", "feedback:write", "feedback:read"];
    let other_project = token(&app, all_scopes, Some("other")).await;
    let ops: Vec<_> = operations()
        .into_iter()
        .filter(|(_, path)| !path.ends_with("/openapi.json") && !path.ends_with("/docs"))
        .collect();
    assert_eq!(ops.len(), 21, "{ops:?}");
    let body = json!({});
    for (method, path) in &ops {
        let body = (method == "POST" || method == "PUT").then_some(&body);
        for bad in [None, Some("vdt_not-a-real-token"), Some("garbage")] {
            let (status, _, reply) = api_call(&app, method, path, bad, body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}"
            );
            assert_eq!(error_code(&reply), "unauthenticated");
        }
        // The export, dataset and quality routes are the ones the export:read token may use.
        let (scope_token, expected) = if path.ends_with("/export")
            || path.contains("/datasets")
            || path.contains("/quality")
            || path.ends_with("/leaderboard")
        {
            (&other_project, StatusCode::FORBIDDEN)
        } else {
            (&wrong_scope, StatusCode::FORBIDDEN)
        };
        let (status, _, reply) = api_call(&app, method, path, Some(scope_token), body).await;
        assert_eq!(status, expected, "{method} {path} out of scope: {reply}");
        assert_eq!(error_code(&reply), "forbidden");
    }
    // A token limited to another project learns nothing about whether a project exists.
    let feedback = |slug: &str| format!("/api/v1/projects/{slug}/feedback");
    let (s1, _, b1) = api_call(&app, "GET", &feedback("qa"), Some(&other_project), None).await;
    let (s2, _, b2) = api_call(&app, "GET", &feedback("nope"), Some(&other_project), None).await;
    assert_eq!((s1, s2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(b1, b2);
    // An unlimited token is told a project does not exist.
    let reader = token(&app, &["feedback:read"], None).await;
    let (status, _, body) = api_call(&app, "GET", &feedback("nope"), Some(&reader), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

#[sqlx::test]
async fn the_openapi_document_covers_every_route_and_each_exists(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let (status, headers, doc) = api_call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<String> = operations()
        .into_iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    documented.sort();
    let expected = [
        "DELETE /api/v1/projects/qa/items/x",
        "DELETE /api/v1/projects/qa/members/ann@example.org",
        "GET /api/v1/docs",
        "GET /api/v1/openapi.json",
        "GET /api/v1/projects/qa/datasets",
        "GET /api/v1/projects/qa/datasets/trainer/1",
        "GET /api/v1/projects/qa/datasets/trainer/1/files/jsonl",
        "GET /api/v1/projects/qa/export",
        "GET /api/v1/projects/qa/feedback",
        "GET /api/v1/projects/qa/items/x",
        "GET /api/v1/projects/qa/leaderboard",
        "GET /api/v1/projects/qa/members",
        "GET /api/v1/projects/qa/quality",
        "GET /api/v1/projects/qa/quality/annotators",
        "GET /api/v1/projects/qa/quality/judge",
        "POST /api/v1/projects/qa/consumers/trainer/ack",
        "POST /api/v1/projects/qa/consumers/trainer/pull",
        "POST /api/v1/projects/qa/datasets",
        "POST /api/v1/projects/qa/feedback",
        "POST /api/v1/projects/qa/feedback/batch",
        "POST /api/v1/projects/qa/items",
        "POST /api/v1/projects/qa/members",
        "PUT /api/v1/projects/qa/items/x/gold",
    ];
    assert_eq!(documented, expected);
    // Each documented route exists: with a token of every scope it is never "no such route".
    let all = token(
        &app,
        &[
            "items:write",
            "feedback:write",
            "feedback:read",
            "export:read",
            "members:write",
        ],
        None,
    )
    .await;
    for (method, path) in operations() {
        let body = json!({"items": []});
        let body = (method == "POST" || method == "PUT").then_some(&body);
        let (status, _, reply) = api_call(&app, &method, &path, Some(&all), body).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let missing_route = reply["error"]["message"].as_str() == Some("API route not found");
        assert!(!missing_route, "{method} {path}: {reply}");
    }
    // And an undocumented one is a 404 in the envelope.
    let (status, _, reply) = api_call(&app, "GET", "/api/v1/nothing", Some(&all), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&reply), "not_found");
    let docs = app.get("/api/v1/docs", None).await;
    let page = common::body_text(docs).await;
    assert!(page.contains("/api/v1/projects/{slug}/consumers/{name}/pull"));
    assert!(page.contains("feedback:read"));
}

#[sqlx::test]
async fn pushing_items_reports_each_by_index_and_is_idempotent(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let writer = token(&app, &["items:write"], Some("qa")).await;
    let push = json!({"items": [
        item("a", 2),
        item("b", 3),
        {"external_id": "c", "prompt": "one answer only", "responses": ["lonely"]},
        {"prompt": "no answers"},
        item("a", 2),
    ]});
    let (status, _, report) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&writer),
        Some(&push),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["already_present"].as_u64(),
            report["invalid"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    let results = report["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "created",
            "created",
            "invalid",
            "invalid",
            "already_present"
        ]
    );
    assert_eq!(results[2]["index"], 2);
    assert_eq!(results[2]["external_id"], "c");
    assert_eq!(results[2]["errors"][0]["field"], "responses");
    assert_eq!(results[3]["errors"][0]["field"], "responses");
    assert!(results[0]["item_id"].is_string());

    // Again, as a bare array and as JSON Lines: nothing new.
    let again = json!([item("a", 2), item("b", 3)]);
    let (_, _, report) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&writer),
        Some(&again),
    )
    .await;
    assert_eq!(report["already_present"], 2);
    // The push that stored items is in the audit log, with the token; the repeat is not.
    let pushes: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT (after->>'created')::bigint, token_id IS NOT NULL FROM audit_log \
         WHERE action = 'items.push' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert!(pushes[0].0 > 0 && pushes[0].1, "{pushes:?}");
    let lines = format!("{}\n\n{}\n", item("b", 3), item("d", 4));
    let request = Request::post("/api/v1/projects/qa/items")
        .header(header::AUTHORIZATION, format!("Bearer {writer}"))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from(lines))
        .unwrap();
    let report = common::json_body(app.send(request).await).await;
    assert_eq!(
        (
            report["created"].as_u64(),
            report["already_present"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 3);
    let answers: i64 = sqlx::query_scalar("SELECT count(*) FROM responses")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(answers, 2 + 3 + 4);

    // Malformed bodies: the envelope, nothing stored.
    let request = Request::post("/api/v1/projects/qa/items")
        .header(header::AUTHORIZATION, format!("Bearer {writer}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"items\": [ {"))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = common::json_body(response).await;
    assert_eq!(error_code(&body), "invalid");
    assert_eq!(body["error"]["details"]["field"], "body");
    let request = Request::post("/api/v1/projects/qa/items")
        .header(header::AUTHORIZATION, format!("Bearer {writer}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from("a,b"))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&common::json_body(response).await),
        "bad_request"
    );
}

#[sqlx::test]
async fn bodies_over_the_limit_get_413_in_the_envelope(pool: sqlx::PgPool) {
    let mut config = AppConfig::default();
    config.api.max_body_bytes = 64 * 1024;
    let app = TestApp::with_config(pool, config).await;
    projects::create(&app.pool, &Actor::cli(), "qa", "Q&A")
        .await
        .unwrap();
    let writer = token(&app, &["items:write", "feedback:write"], None).await;
    let big = json!({"items": [{"prompt": "x".repeat(100 * 1024), "responses": ["a", "b"]}]});
    let (status, _, body) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&writer),
        Some(&big),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("65536"),
        "{body}"
    );
    let feedback =
        json!({"prompt": "q", "answer": "x".repeat(100 * 1024), "end_user": "u", "thumb": "up"});
    let (status, _, body) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/feedback",
        Some(&writer),
        Some(&feedback),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn tokens_over_their_rate_get_429_with_retry_after(pool: sqlx::PgPool) {
    let mut config = AppConfig::default();
    config.api.rate_per_minute = 3;
    let app = TestApp::with_config(pool, config).await;
    projects::create(&app.pool, &Actor::cli(), "qa", "Q&A")
        .await
        .unwrap();
    let reader = token(&app, &["feedback:read"], None).await;
    let other = token(&app, &["feedback:read"], None).await;
    let path = "/api/v1/projects/qa/feedback";
    for _ in 0..3 {
        let (status, _, _) = api_call(&app, "GET", path, Some(&reader), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = api_call(&app, "GET", path, Some(&reader), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "too_many_requests");
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Limits are per token.
    let (status, _, _) = api_call(&app, "GET", path, Some(&other), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test]
async fn item_status_gives_counts_and_the_consensus_once_complete(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let writer = token(&app, &["items:write"], None).await;
    let push = json!([item("a", 3)]);
    api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&writer),
        Some(&push),
    )
    .await;
    let (status, _, before) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/items/a",
        Some(&writer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["annotations"], 0);
    assert_eq!(before["complete"], false);
    assert!(before["consensus"].is_null());
    assert_eq!(before["answers"].as_array().unwrap().len(), 3);

    label_all(&app, "ann@example.org", "qa").await;
    let (_, _, after) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/items/a",
        Some(&writer),
        None,
    )
    .await;
    assert_eq!(after["annotations"], 1);
    assert_eq!(after["complete"], true);
    let ranked: Value = sqlx::query_scalar("SELECT ranking FROM annotations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after["consensus"], ranked, "one annotator: their ranking");
    assert_eq!(ranked.as_array().unwrap().len(), 3);

    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/items/zzz",
        Some(&writer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

#[sqlx::test]
async fn end_user_feedback_lands_as_feedback_and_exports(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let backend = token(
        &app,
        &[
            "feedback:write",
            "feedback:read",
            "items:write",
            "export:read",
        ],
        None,
    )
    .await;
    let send = |body: Value| {
        let app = &app;
        let backend = backend.clone();
        async move {
            api_call(
                app,
                "POST",
                "/api/v1/projects/qa/feedback",
                Some(&backend),
                Some(&body),
            )
            .await
        }
    };
    let first = json!({"external_id": "conv-1", "prompt": "Capital of France?", "answer": "Lyon",
                       "model": "small-1", "end_user": "user-7", "thumb": "down"});
    let (status, _, receipt) = send(first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["version"], 1);
    // A retry changes nothing.
    let (_, _, retry) = send(first).await;
    assert_eq!(retry, receipt);
    // The same user adds a correction: their feedback is updated.
    let (_, _, corrected) = send(
        json!({"external_id": "conv-1", "prompt": "Capital of France?", "answer": "Lyon",
                                        "end_user": "user-7", "correction": "Paris."}),
    )
    .await;
    assert_eq!(corrected["feedback_id"], receipt["feedback_id"]);
    assert_eq!(corrected["version"], 2);
    // Another user likes a regenerated answer to the same turn: a second answer on the item.
    let (_, _, other) = send(
        json!({"external_id": "conv-1", "prompt": "Capital of France?", "answer": "Paris",
                                    "end_user": "user-8", "thumb": "up"}),
    )
    .await;
    assert_eq!(other["item_id"], receipt["item_id"]);
    assert_ne!(other["response_id"], receipt["response_id"]);

    // Bad input names the field and stores nothing.
    for (body, field) in [
        (
            json!({"prompt": "q", "answer": "a", "end_user": "", "thumb": "up"}),
            "end_user",
        ),
        (
            json!({"prompt": "q", "answer": "a", "end_user": "u"}),
            "thumb",
        ),
        (
            json!({"answer": "a", "end_user": "u", "thumb": "up"}),
            "messages",
        ),
    ] {
        let (status, _, reply) = send(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply["error"]["details"]["field"], field, "{reply}");
    }
    let (status, _, reply) =
        send(json!({"prompt": "q", "answer": "a", "end_user": "u", "thumb": "sideways"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&reply), "invalid");
    // Feedback on a pushed item must name one of its answers.
    api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&backend),
        Some(&json!([item("p", 2)])),
    )
    .await;
    let (status, _, reply) = send(
        json!({"external_id": "p", "prompt": "question p?", "answer": "something else",
                                         "end_user": "u", "thumb": "up"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["error"]["details"]["field"], "answer");
    let (status, _, _) = send(
        json!({"external_id": "p", "prompt": "question p?", "answer": "answer 1 to p",
                                     "end_user": "u", "thumb": "up"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM annotations WHERE source = 'end_user'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 3);

    // End-user items stay out of the annotators' queue and progress.
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let task = labeling::next(&app.pool, &Actor::from(&ann), "qa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.progress.total, 1, "only the pushed item counts");

    // Exports: KTO from the thumbs, SFT from the correction, a pair correction > answer.
    let export = |format: &str| {
        let app = &app;
        let path = format!("/api/v1/projects/qa/export?format={format}");
        let backend = backend.clone();
        async move {
            let request = Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {backend}"))
                .body(Body::empty())
                .unwrap();
            let response = app.send(request).await;
            assert_eq!(response.status(), StatusCode::OK);
            let text = common::body_text(response).await;
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let kto = export("kto").await;
    assert!(
        kto.contains(
            &json!({"prompt": "Capital of France?", "completion": "Lyon", "label": false})
        ),
        "{kto:?}"
    );
    assert!(
        kto.contains(
            &json!({"prompt": "Capital of France?", "completion": "Paris", "label": true})
        ),
        "{kto:?}"
    );
    let sft = export("sft_prompt_completion").await;
    assert!(
        sft.contains(&json!({"prompt": "Capital of France?", "completion": "Paris."})),
        "{sft:?}"
    );
    let pairs = export("dpo_pairs").await;
    assert!(
        pairs
            .iter()
            .any(|p| p["chosen"] == "Paris." && p["rejected"] == "Lyon"),
        "{pairs:?}"
    );
    let raw = export("raw").await;
    let end_users: BTreeSet<&str> = raw
        .iter()
        .filter(|r| r["source"] == "end_user")
        .map(|r| r["annotator"].as_str().unwrap())
        .collect();
    assert_eq!(
        end_users.len(),
        3,
        "pseudonymous end-user ids: {end_users:?}"
    );
    assert!(end_users.iter().all(|a| {
        let hash = a.strip_prefix("end-user-").unwrap_or("");
        hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit())
    }));
    let (status, _, reply) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/export",
        Some(&backend),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["error"]["details"]["field"], "format");
}

#[sqlx::test]
async fn the_stateless_stream_pages_with_cursors_and_redelivers_edits(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let backend = token(&app, &["items:write", "feedback:read"], None).await;
    let push = json!([item("a", 2), item("b", 2), item("c", 2)]);
    api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&backend),
        Some(&push),
    )
    .await;
    let ids = label_all(&app, "ann@example.org", "qa").await;
    assert_eq!(ids.len(), 3);
    caught_up(&app.pool).await;

    let page = |after: Option<String>, extra: &str| {
        let app = &app;
        let backend = backend.clone();
        let extra = extra.to_owned();
        async move {
            let after = after.map(|c| format!("&after={c}")).unwrap_or_default();
            let path = format!("/api/v1/projects/qa/feedback?limit=2{after}{extra}");
            let (status, _, body) = api_call(app, "GET", &path, Some(&backend), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let first = page(None, "").await;
    assert_eq!(first["feedback"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let second = page(first["next_cursor"].as_str().map(str::to_owned), "").await;
    assert_eq!(second["feedback"].as_array().unwrap().len(), 1);
    assert_eq!(second["has_more"], false);
    let seen: Vec<Value> = first["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["feedback"].as_array().unwrap())
        .map(|e| e["annotation_id"].clone())
        .collect();
    let expected: Vec<Value> = ids.iter().map(|id| json!(id)).collect();
    assert_eq!(seen, expected, "every annotation once, in submission order");
    let raw = &first["feedback"][0]["records"][0];
    assert_eq!(raw["external_id"], "a");
    assert!(raw["ranking"].is_array());
    // The stream and the export name the annotator by the same pseudonym.
    let exporter = token(&app, &["export:read"], None).await;
    let request = Request::get("/api/v1/projects/qa/export?format=raw")
        .header(header::AUTHORIZATION, format!("Bearer {exporter}"))
        .body(Body::empty())
        .unwrap();
    let exported = common::body_text(app.send(request).await).await;
    let first_export: Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    assert_eq!(first_export["annotation_id"], raw["annotation_id"]);
    assert_eq!(first_export["annotator"], raw["annotator"]);
    assert!(raw["annotator"].as_str().unwrap().starts_with("annotator-"));
    let end = second["next_cursor"].as_str().unwrap().to_owned();
    let empty = page(Some(end.clone()), "").await;
    assert!(empty["feedback"].as_array().unwrap().is_empty());
    assert_eq!(empty["next_cursor"], end.as_str());

    // The annotator edits the first: it comes again after the cursor, as version 2.
    let ann =
        sqlx::query_scalar::<_, Uuid>("SELECT user_id FROM users WHERE email = 'ann@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let actor = Actor {
        user_id: ann,
        role: Role::Annotator,
        grant: None,
    };
    let task = labeling::reopen(&app.pool, &actor, "qa", ids[0])
        .await
        .unwrap();
    let existing = task.existing.unwrap();
    let edit = AnnotationInput {
        annotation_id: ids[0],
        item_id: existing.item_id,
        body: AnnotationBody {
            ranking: existing.body.ranking.clone().map(|mut r| {
                r.reverse();
                r
            }),
            thumbs: existing.body.thumbs.clone(),
            ..Default::default()
        },
        shown_order: existing.shown_order.clone(),
        base_version: Some(1),
        ..Default::default()
    };
    labeling::submit(&app.pool, &actor, "qa", edit)
        .await
        .unwrap();
    caught_up(&app.pool).await;
    let again = page(Some(end), "&format=kto").await;
    let entries = again["feedback"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["annotation_id"], json!(ids[0]));
    assert_eq!(entries[0]["version"], 2);
    assert_eq!(
        entries[0]["records"][0]["label"], true,
        "records in the asked format"
    );

    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/feedback?after=banana",
        Some(&backend),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "after");
    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/qa/feedback?limit=5000",
        Some(&backend),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "limit");
}

#[sqlx::test]
async fn consumers_ack_batches_and_get_unacked_ones_again(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let backend = token(&app, &["items:write", "feedback:read"], None).await;
    api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&backend),
        Some(&json!([item("a", 2), item("b", 2), item("c", 2)])),
    )
    .await;
    label_all(&app, "ann@example.org", "qa").await;
    caught_up(&app.pool).await;
    let pull = |query: &str| {
        let app = &app;
        let backend = backend.clone();
        let path = format!("/api/v1/projects/qa/consumers/trainer/pull?{query}");
        async move { api_call(app, "POST", &path, Some(&backend), None).await }
    };
    let ack = |batch: &Value| {
        let app = &app;
        let backend = backend.clone();
        let body = json!({"batch_id": batch});
        async move {
            api_call(
                app,
                "POST",
                "/api/v1/projects/qa/consumers/trainer/ack",
                Some(&backend),
                Some(&body),
            )
            .await
        }
    };
    let (status, _, batch) = pull("limit=2&ack_timeout_secs=1").await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(batch["feedback"].as_array().unwrap().len(), 2);
    let (status, _, busy) = pull("limit=2").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&busy), "conflict");
    // Not acked in time: delivered again, under a new id; the old id no longer acks.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, _, again) = pull("limit=2").await;
    assert_eq!(again["feedback"], batch["feedback"]);
    assert_ne!(again["batch_id"], batch["batch_id"]);
    let (status, _, stale) = ack(&batch["batch_id"]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (status, _, acked) = ack(&again["batch_id"]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(acked["cursor"], again["feedback"][1]["cursor"]);
    let (_, _, rest) = pull("limit=2").await;
    assert_eq!(rest["feedback"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);
    ack(&rest["batch_id"]).await;
    let (_, _, none) = pull("").await;
    assert!(none["batch_id"].is_null());
    assert!(none["feedback"].as_array().unwrap().is_empty());
    let (status, _, body) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/consumers/bad%20name/pull",
        Some(&backend),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "consumer");
}

/// A trainer pulls and acks while annotators keep submitting (and editing): the union of
/// acked batches is exactly the set of (annotation, version) pairs, none twice.
#[sqlx::test]
async fn a_consumer_pulling_during_submissions_gets_everything_exactly_once(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let backend = token(&app, &["items:write", "feedback:read"], None).await;
    let items: Vec<Value> = (0..60).map(|i| item(&format!("i{i}"), 2)).collect();
    api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&backend),
        Some(&json!(items)),
    )
    .await;
    let mut people = Vec::new();
    for n in 0..4 {
        people.push(
            app.user(&format!("p{n}@example.org"), Role::Annotator)
                .await,
        );
    }
    let writers: Vec<_> = people
        .into_iter()
        .map(|person| {
            let pool = app.pool.clone();
            tokio::spawn(async move {
                let actor = Actor::from(&person);
                let mut written = Vec::new();
                let mut task = labeling::next(&pool, &actor, "qa").await.unwrap();
                while let Some(t) = task {
                    let input = AnnotationInput {
                        annotation_id: Uuid::new_v4(),
                        item_id: t.item_id,
                        body: AnnotationBody {
                            ranking: Some(t.answers.iter().map(|a| vec![a.response_id]).collect()),
                            ..Default::default()
                        },
                        shown_order: t.answers.iter().map(|a| a.response_id).collect(),
                        ..Default::default()
                    };
                    let id = input.annotation_id;
                    let stored = labeling::submit(&pool, &actor, "qa", input).await.unwrap();
                    written.push((id, 1));
                    // Every third one is edited right away: version 2 must arrive too.
                    if written.len() % 3 == 0 {
                        let edit = AnnotationInput {
                            annotation_id: id,
                            item_id: t.item_id,
                            body: AnnotationBody {
                                ranking: Some(
                                    t.answers
                                        .iter()
                                        .rev()
                                        .map(|a| vec![a.response_id])
                                        .collect(),
                                ),
                                ..Default::default()
                            },
                            shown_order: t.answers.iter().map(|a| a.response_id).collect(),
                            base_version: Some(1),
                            ..Default::default()
                        };
                        labeling::submit(&pool, &actor, "qa", edit).await.unwrap();
                        written.push((id, 2));
                    }
                    task = stored.next;
                }
                written
            })
        })
        .collect();
    let mut acked: Vec<(Uuid, i64)> = Vec::new();
    let mut writers_done = false;
    loop {
        let (status, _, batch) = api_call(
            &app,
            "POST",
            "/api/v1/projects/qa/consumers/trainer/pull?limit=7",
            Some(&backend),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{batch}");
        let entries = batch["feedback"].as_array().unwrap();
        if entries.is_empty() {
            if writers_done {
                break;
            }
            if writers.iter().all(|w| w.is_finished()) {
                // One more pull once every write is visible to the stream.
                caught_up(&app.pool).await;
                writers_done = true;
            }
            tokio::task::yield_now().await;
            continue;
        }
        for e in entries {
            let id: Uuid = serde_json::from_value(e["annotation_id"].clone()).unwrap();
            acked.push((id, e["version"].as_i64().unwrap()));
        }
        let body = json!({"batch_id": batch["batch_id"]});
        let (status, _, _) = api_call(
            &app,
            "POST",
            "/api/v1/projects/qa/consumers/trainer/ack",
            Some(&backend),
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut written: Vec<(Uuid, i64)> = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap().into_iter().map(|(id, v)| (id, v as i64)));
    }
    assert_eq!(written.iter().filter(|(_, v)| *v == 1).count(), 60);
    // An edit that lands before the first version was pulled replaces it in the stream, so
    // per annotation the consumer sees its latest version, and any earlier one it was sent.
    let acked_set: HashSet<(Uuid, i64)> = acked.iter().copied().collect();
    assert_eq!(
        acked_set.len(),
        acked.len(),
        "nothing delivered twice once acked"
    );
    for (id, version) in &written {
        let latest = written
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, v)| *v)
            .max()
            .unwrap();
        if *version == latest {
            assert!(
                acked_set.contains(&(*id, *version)),
                "missing {id} v{version}"
            );
        }
    }
    assert!(
        acked_set.iter().all(|pair| written.contains(pair)),
        "only what was written"
    );
    let acked_ids: HashSet<Uuid> = acked.iter().map(|(id, _)| *id).collect();
    let written_ids: HashSet<Uuid> = written.iter().map(|(id, _)| *id).collect();
    assert_eq!(acked_ids, written_ids, "every annotation, exactly");
}

/// Every `$ref` of the OpenAPI document names a schema the document holds.
#[test]
fn every_schema_reference_resolves() {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(verdict::server::http::api::openapi()).unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
}

/// Findings of schemathesis (`scripts/api-fuzz.sh`): answers the OpenAPI document did not
/// list. A path or query parameter that does not parse (a version past i32, a negative
/// count) answers 400, and a JSON body sent without its content type 415; each must be a
/// status the document gives for that operation, in the error envelope.
#[sqlx::test]
async fn unreadable_requests_get_statuses_the_document_lists(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let secret = token(
        &app,
        &[
            "items:write",
            "feedback:write",
            "feedback:read",
            "export:read",
            "members:write",
        ],
        None,
    )
    .await;
    let (_, _, doc) = api_call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    let cases = [
        (
            "GET",
            "/projects/qa/datasets/x/2147483648",
            "/projects/{slug}/datasets/{name}/{version}",
            None,
            400,
        ),
        (
            "GET",
            "/projects/qa/datasets/x/2147483648/files/jsonl",
            "/projects/{slug}/datasets/{name}/{version}/files/{file}",
            None,
            400,
        ),
        (
            "GET",
            "/projects/qa/leaderboard?rounds=-1",
            "/projects/{slug}/leaderboard",
            None,
            400,
        ),
        (
            "POST",
            "/projects/qa/consumers/c/ack",
            "/projects/{slug}/consumers/{name}/ack",
            Some(None),
            415,
        ),
        (
            "POST",
            "/projects/qa/consumers/c/ack",
            "/projects/{slug}/consumers/{name}/ack",
            Some(Some("\0")),
            400,
        ),
        (
            "POST",
            "/projects/qa/datasets",
            "/projects/{slug}/datasets",
            Some(None),
            415,
        ),
        (
            "POST",
            "/projects/qa/feedback",
            "/projects/{slug}/feedback",
            Some(None),
            415,
        ),
        (
            "POST",
            "/projects/qa/members",
            "/projects/{slug}/members",
            Some(None),
            415,
        ),
        (
            "POST",
            "/projects/qa/members",
            "/projects/{slug}/members",
            Some(Some("{")),
            400,
        ),
        // Found by schemathesis: a NUL in the email reached PostgreSQL, which refuses it in
        // text, and the answer was a 500.
        (
            "POST",
            "/projects/qa/members",
            "/projects/{slug}/members",
            Some(Some(r#"{"email": " a+}\u001c\u0000[U"}"#)),
            422,
        ),
        // Found by schemathesis (seed 645516998): a NUL in the judge's `by` field.
        (
            "GET",
            "/projects/qa/quality/judge?by=%00%C2%87%C2%80%F2%B6%B5%90",
            "/projects/{slug}/quality/judge",
            None,
            422,
        ),
    ];
    for (method, path, template, body, expected) in cases {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {secret}"));
        let body = match body {
            Some(Some(text)) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(text.to_owned())
            }
            Some(None) => Body::from("{}"),
            None => Body::empty(),
        };
        let response = app.send(request.body(body).unwrap()).await;
        let status = response.status();
        let text = common::body_text(response).await;
        assert_eq!(status.as_u16(), expected, "{method} {path}: {text}");
        let envelope: Value = serde_json::from_str(&text).unwrap();
        assert!(
            envelope["error"]["message"].is_string(),
            "{method} {path}: {text}"
        );
        let documented = &doc["paths"][template][method.to_lowercase()]["responses"];
        assert!(
            documented.get(expected.to_string()).is_some(),
            "{method} {template}: {expected} is not in the document's {:?}",
            documented.as_object().map(|o| o.keys().collect::<Vec<_>>())
        );
    }
}

/// A feedback batch request with these headers and body.
async fn batch(
    app: &TestApp,
    secret: &str,
    key: Option<&str>,
    content_type: &str,
    body: String,
) -> (StatusCode, Value) {
    let mut request = axum::http::Request::post("/api/v1/projects/qa/feedback/batch")
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {secret}"),
        )
        .header(axum::http::header::CONTENT_TYPE, content_type);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = app
        .send(request.body(axum::body::Body::from(body)).unwrap())
        .await;
    let status = response.status();
    let text = crate::common::body_text(response).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn end_user_rows(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM annotations WHERE source = 'end_user'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn feedback_batches_answer_per_event_and_store_a_retry_once(pool: sqlx::PgPool) {
    let app = app_with_project(pool).await;
    let secret = token(&app, &["items:write", "feedback:write"], None).await;
    let (status, _, _) = api_call(
        &app,
        "POST",
        "/api/v1/projects/qa/items",
        Some(&secret),
        Some(&json!({"items": [item("pushed", 2)]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let event = |n: usize| {
        json!({"prompt": format!("Question {n}?"), "answer": format!("Answer {n}."),
               "end_user": format!("u{n}"), "thumb": if n.is_multiple_of(2) { "up" } else { "down" }})
    };
    let events = vec![
        event(0),
        json!({"prompt": "No end user?", "answer": "A.", "thumb": "up"}),
        // A pushed item's feedback must name one of its answers: refused in the database,
        // and only that event is taken back.
        json!({"external_id": "pushed", "prompt": "question pushed?", "answer": "not an answer", "end_user": "u9", "thumb": "up"}),
        event(3),
        json!({"prompt": "Long comment", "answer": "A.", "end_user": "u4", "comment": "x".repeat(20_001), "thumb": "up"}),
    ];
    let (status, report) = batch(
        &app,
        &secret,
        None,
        "application/json",
        json!({"events": events}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["stored"].clone(), report["invalid"].clone()),
        (json!(2), json!(3))
    );
    let statuses: Vec<(u64, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
                r["errors"][0]["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (0, "stored".into(), "".into()),
            (1, "invalid".into(), "end_user".into()),
            (2, "invalid".into(), "answer".into()),
            (3, "stored".into(), "".into()),
            (4, "invalid".into(), "comment".into()),
        ]
    );
    assert_eq!(report["results"][0]["receipt"]["version"], 1);
    assert_eq!(end_user_rows(&app.pool).await, 2);

    // JSON Lines, with an idempotency key: the retry answers the same and stores nothing.
    let lines: Vec<String> = (10..15).map(|n| event(n).to_string()).collect();
    let ndjson = lines.join("\n");
    let first = batch(
        &app,
        &secret,
        Some("batch-7"),
        "application/x-ndjson",
        ndjson.clone(),
    )
    .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(
        (first.1["stored"].clone(), first.1["replayed"].clone()),
        (json!(5), json!(false))
    );
    assert_eq!(end_user_rows(&app.pool).await, 7);
    let again = batch(
        &app,
        &secret,
        Some("batch-7"),
        "application/x-ndjson",
        ndjson.clone(),
    )
    .await;
    assert_eq!(again.1["replayed"], json!(true));
    assert_eq!(again.1["results"], first.1["results"]);
    assert_eq!(
        end_user_rows(&app.pool).await,
        7,
        "the retry stored nothing"
    );
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM annotations WHERE source = 'end_user'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        versions.iter().all(|&v| v == 1),
        "nothing updated: {versions:?}"
    );

    // Two copies of one batch at once (a client retrying while the first is in flight):
    // one stores, the other waits for it and answers what it stored.
    let lines: Vec<String> = (20..40).map(|n| event(n).to_string()).collect();
    let body = lines.join("\n");
    let (a, b) = tokio::join!(
        batch(
            &app,
            &secret,
            Some("twice"),
            "application/x-ndjson",
            body.clone()
        ),
        batch(
            &app,
            &secret,
            Some("twice"),
            "application/x-ndjson",
            body.clone()
        ),
    );
    assert_eq!(
        (a.0, b.0),
        (StatusCode::OK, StatusCode::OK),
        "{} {}",
        a.1,
        b.1
    );
    let replayed = [&a.1, &b.1]
        .iter()
        .filter(|r| r["replayed"] == json!(true))
        .count();
    assert_eq!(replayed, 1);
    assert_eq!(a.1["results"], b.1["results"]);
    assert_eq!(end_user_rows(&app.pool).await, 27);

    // Refusals of the whole batch name the field and store nothing.
    let too_many: Vec<Value> = (0..1001).map(event).collect();
    let (status, body) = batch(
        &app,
        &secret,
        None,
        "application/json",
        json!(too_many).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("events"), "{body}");
    let (status, body) = batch(&app, &secret, Some(""), "application/json", "[]".into()).await;
    assert!(status.is_client_error(), "{body}");
    assert!(body.to_string().contains("Idempotency-Key"), "{body}");
    let (status, body) = batch(
        &app,
        &secret,
        None,
        "application/x-ndjson",
        "{\"prompt\": \n".into(),
    )
    .await;
    assert!(status.is_client_error(), "{body}");
    assert!(body.to_string().contains("line 1"), "{body}");
    assert_eq!(end_user_rows(&app.pool).await, 27);
}
