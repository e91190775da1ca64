//! The admin's export download and preview over HTTP.

use crate::common;

use axum::http::{StatusCode, header};
use common::TestApp;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput};
use verdict::model::user::Role;
use verdict::server::seed;
use verdict::server::services::{Actor, labeling};

/// The demo project with two items labeled by an annotator; returns (app, admin, annotator) cookies.
async fn labeled(pool: sqlx::PgPool) -> (TestApp, String, String) {
    let app = TestApp::new(pool).await;
    seed::seed_demo(&app.pool, Some("demo annotator pw"))
        .await
        .unwrap();
    app.user("root@example.org", Role::Admin).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let actor = Actor::from(&ann);
    let mut task = labeling::next(&app.pool, &actor, "demo").await.unwrap();
    for _ in 0..2 {
        let t = task.unwrap();
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
        task = labeling::submit(&app.pool, &actor, "demo", input)
            .await
            .unwrap()
            .next;
    }
    let admin = app.session_for("root@example.org").await;
    let annotator = app.session_for("ann@example.org").await;
    (app, admin, annotator)
}

#[sqlx::test]
async fn admins_download_a_streamed_jsonl_file(pool: sqlx::PgPool) {
    let (app, admin, _) = labeled(pool).await;
    let response = app
        .get("/projects/demo/export.jsonl?format=kto", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("demo-kto.jsonl")
    );
    let body = common::body_text(response).await;
    let records: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "one thumb up per labeled item: {body}");
    assert!(
        records
            .iter()
            .all(|r| r["label"] == true && r["completion"].is_string())
    );
}

#[sqlx::test]
async fn downloads_check_the_session_the_role_and_the_options(pool: sqlx::PgPool) {
    let (app, admin, annotator) = labeled(pool).await;
    let status = |cookie: Option<&str>, query: &'static str| {
        let app = &app;
        let cookie = cookie.map(str::to_owned);
        async move {
            app.get(
                &format!("/projects/demo/export.jsonl?{query}"),
                cookie.as_deref(),
            )
            .await
            .status()
        }
    };
    assert_eq!(status(None, "format=kto").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(Some(&annotator), "format=kto").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(Some(&admin), "format=parquet").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        status(Some(&admin), "format=kto&min_agreement=7").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let response = app
        .get("/projects/nope/export.jsonl?format=kto", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn the_preview_counts_and_shows_the_first_records(pool: sqlx::PgPool) {
    let (app, admin, annotator) = labeled(pool).await;
    let (status, preview) = app
        .server_fn(
            "export_preview",
            "slug=demo&request[format]=dpo_pairs",
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["items"], 2);
    let records = preview["records"].as_u64().unwrap();
    assert!(records >= 2, "{preview}");
    let first = preview["first"].as_array().unwrap();
    assert_eq!(first.len() as u64, records.min(5));
    let record: serde_json::Value = serde_json::from_str(first[0].as_str().unwrap()).unwrap();
    assert!(record["chosen"].is_string() && record["rejected"].is_string());
    let (status, _) = app
        .server_fn(
            "export_preview",
            "slug=demo&request[format]=kto",
            Some(&annotator),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn preference_pairs_download_as_parquet_with_the_same_rows(pool: sqlx::PgPool) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let (app, admin, _) = labeled(pool).await;
    let jsonl = common::body_text(
        app.get("/projects/demo/export.jsonl?format=dpo_pairs", Some(&admin))
            .await,
    )
    .await;
    let expected: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!expected.is_empty());
    let response = app
        .get(
            "/projects/demo/export.parquet?format=dpo_pairs",
            Some(&admin),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.apache.parquet"
    );
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let reader = SerializedFileReader::new(bytes).unwrap();
    let rows: Vec<(String, String, String)> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            (
                row.get_string(0).unwrap().clone(),
                row.get_string(1).unwrap().clone(),
                row.get_string(2).unwrap().clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("prompt"), s("chosen"), s("rejected"))
        })
        .collect();
    assert_eq!(rows, expected);
    // Only pairs come as Parquet; the refusal comes before any byte.
    let refused = app
        .get("/projects/demo/export.parquet?format=kto", Some(&admin))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// An export that fails after its first bytes breaks the response off: the client sees a
/// failed transfer, not a shorter file that looks whole.
#[sqlx::test]
async fn a_download_that_fails_midway_is_broken_off(pool: sqlx::PgPool) {
    use http_body_util::BodyExt;
    let (app, admin, _) = labeled(pool).await;
    // Six thousand more annotated items: several pages, megabytes of records.
    sqlx::query(
        "WITH p AS (SELECT project_id FROM projects WHERE slug = 'demo'),
              added AS (INSERT INTO items (project_id, external_id, messages)
                        SELECT p.project_id, 'bulk' || g,
                               jsonb_build_array(jsonb_build_object('role', 'user', 'content', repeat('Why? ', 40)))
                        FROM p, generate_series(1, 6000) g RETURNING item_id)
         INSERT INTO responses (item_id, ordinal, content)
         SELECT item_id, o, repeat('Because. ', 40) FROM added, generate_series(0, 1) o",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, shown_order)
         SELECT gen_random_uuid(), i.item_id, i.project_id, u.user_id,
                jsonb_build_array(jsonb_build_array(r.ids[1]), jsonb_build_array(r.ids[2])), r.ids
         FROM items i
         JOIN (SELECT item_id, array_agg(response_id ORDER BY ordinal) AS ids
               FROM responses GROUP BY item_id) r USING (item_id)
         CROSS JOIN (SELECT user_id FROM users WHERE email = 'ann@example.org') u
         WHERE i.external_id LIKE 'bulk%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let response = app
        .get("/projects/demo/export.jsonl?format=raw", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    // The first records arrive: the export is under way, holding its connections.
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(!first.is_empty());
    // Its database connections go away.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut received = first.len();
    let end = loop {
        match body.frame().await {
            Some(Ok(frame)) => received += frame.into_data().map_or(0, |d| d.len()),
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    assert!(
        end.is_err(),
        "the body ended cleanly after {received} bytes of a failed export"
    );
}

/// The admin's dataset pages: plain HTML without scripts, a form that makes a version (or
/// says which field is wrong and keeps what was typed), the lineage page, a download that
/// matches the SHA-256 it shows, and a diff between two versions.
#[sqlx::test]
async fn dataset_pages_make_show_download_and_compare_versions(pool: sqlx::PgPool) {
    use common::{body_text, form_post, location};
    use sha2::{Digest, Sha256};
    let (app, admin, annotator) = labeled(pool).await;
    let page = "/projects/demo/datasets";
    let signed_out = app.get(page, None).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_out), "/login");
    assert_eq!(
        app.get(page, Some(&annotator)).await.status(),
        StatusCode::FORBIDDEN
    );
    let empty = app.get(page, Some(&admin)).await;
    assert_eq!(empty.status(), StatusCode::OK);
    let html = body_text(empty).await;
    assert!(html.contains("No versions yet."), "{html}");
    assert!(
        !html.contains("<script"),
        "the page loads no script: {html}"
    );

    let made = app
        .send(form_post(page, "name=kto-set&version=&format=kto&pairs=all_pairs&min_agreement=&test_fraction=&from=&to=", Some(&admin)))
        .await;
    assert_eq!(
        made.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(made).await
    );
    assert_eq!(location(&made), "/projects/demo/datasets/kto-set/1");

    let refusals = [
        (
            "name=kto-set&version=1&format=kto",
            "version: kto-set v1 exists already",
        ),
        ("name=other&format=nope", "format: "),
        ("name=Bad+Name&format=kto", "name: "),
        ("name=other&format=kto&test_fraction=2", "test_fraction: "),
    ];
    for (form, message) in refusals {
        let refused = app.send(form_post(page, form, Some(&admin))).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        let html = body_text(refused).await;
        assert!(html.contains(message), "{form}: {html}");
        assert!(
            html.contains("value=\"kto-set\"") || !form.starts_with("name=kto-set"),
            "{html}"
        );
    }
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM dataset_versions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(versions, 1, "a refused form makes nothing");

    let shown = app
        .get("/projects/demo/datasets/kto-set/1", Some(&admin))
        .await;
    assert_eq!(shown.status(), StatusCode::OK);
    let html = body_text(shown).await;
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("kto-set v1") && html.contains("format=kto"),
        "{html}"
    );
    let file = app
        .get(
            "/projects/demo/datasets/kto-set/1/files/jsonl",
            Some(&admin),
        )
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    let sha = file.headers()["x-verdict-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = body_text(file).await;
    assert_eq!(format!("{:x}", Sha256::digest(bytes.as_bytes())), sha);
    assert!(html.contains(&sha), "the page shows the file's SHA-256");
    assert_eq!(bytes.lines().count(), 2, "{bytes}");
    let forbidden = app
        .get(
            "/projects/demo/datasets/kto-set/1/files/jsonl",
            Some(&annotator),
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let second = app
        .send(form_post(
            page,
            "name=kto-set&format=kto&keep_flagged=on",
            Some(&admin),
        ))
        .await;
    assert_eq!(location(&second), "/projects/demo/datasets/kto-set/2");
    let listed = body_text(app.get(page, Some(&admin)).await).await;
    assert!(
        listed.contains("kto-set v1") && listed.contains("kto-set v2"),
        "{listed}"
    );
    let diff = app
        .get(
            "/projects/demo/datasets/diff?from=kto-set+v1&to=kto-set+v2",
            Some(&admin),
        )
        .await;
    assert_eq!(diff.status(), StatusCode::OK);
    let html = body_text(diff).await;
    assert!(
        html.contains("kto-set v1 → kto-set v2") && html.contains("Added: 0 items"),
        "{html}"
    );
    let bad = app
        .get(
            "/projects/demo/datasets/diff?from=nonsense&to=kto-set+v2",
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
