//! `verdict backup` and `verdict restore` with PostgreSQL's own tools: a database restored
//! into a fresh one gives byte-identical files for every dataset version; a restore into a
//! database that is not empty, or of a file that is not a backup, changes nothing.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, api_call, token};
use serde_json::json;
use sqlx::PgPool;
use verdict::model::user::Role;
use verdict::server::seed;
use verdict::server::services::{Actor, labeling};

fn url_of(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap()
    )
}

fn verdict(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Every file of every dataset version, as (name@version/file, bytes), in a fixed order.
async fn every_version_file(app: &TestApp, secret: &str) -> Vec<(String, Vec<u8>)> {
    let versions: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT v.name, v.version, v.spec->>'format' FROM dataset_versions v ORDER BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(versions.len() >= 3, "{versions:?}");
    let mut files = Vec::new();
    for (name, version, format) in versions {
        let kinds: &[&str] = if format == "raw" {
            &["jsonl", "card"]
        } else {
            &["jsonl", "parquet", "card"]
        };
        for kind in kinds {
            let label = format!("{name}@{version}/{kind}");
            let request = axum::http::Request::get(format!(
                "/api/v1/projects/demo/datasets/{name}/{version}/files/{kind}"
            ))
            .header("authorization", format!("Bearer {secret}"))
            .body(axum::body::Body::empty())
            .unwrap();
            let response = app.send(request).await;
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
            assert_eq!(
                status,
                StatusCode::OK,
                "downloading {label} from {:?}: {}",
                app.pool.connect_options().get_database(),
                String::from_utf8_lossy(&bytes)
            );
            assert!(!bytes.is_empty(), "{label}");
            files.push((label, bytes));
        }
    }
    files
}

#[sqlx::test]
async fn a_restored_backup_gives_every_dataset_version_byte_for_byte(pool: PgPool) {
    let app = TestApp::new(pool).await;
    seed::seed_demo(&app.pool, Some("demo annotator pw"))
        .await
        .unwrap();
    let secret = token(&app, &["export:read", "items:write"], None).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let mut task = labeling::next(&app.pool, &ann, "demo").await.unwrap();
    for round in 0..8 {
        if round == 4 {
            let (status, _, body) = api_call(
                &app,
                "POST",
                "/api/v1/projects/demo/datasets",
                Some(&secret),
                Some(&json!({"name": "rlhf", "spec": "format=raw&test_fraction=0.3"})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let t = task.expect("an item");
        let input = common::ranked_as_shown(&t, 1000);
        task = labeling::submit(&app.pool, &ann, "demo", input)
            .await
            .unwrap()
            .next;
    }
    for (name, spec) in [
        ("rlhf", "format=raw&test_fraction=0.3"),
        ("pairs", "format=dpo_pairs"),
    ] {
        let (status, _, body) = api_call(
            &app,
            "POST",
            "/api/v1/projects/demo/datasets",
            Some(&secret),
            Some(&json!({"name": name, "spec": spec})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let before = every_version_file(&app, &secret).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("verdict.backup");
    let file_arg = file.to_str().unwrap();
    let out = verdict(&url_of(&app.pool), &["backup", "--out", file_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&file).unwrap().len() > 0);

    // A fresh database beside the test's own.
    let fresh = format!("restore_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {fresh}"))
        .execute(&app.pool)
        .await
        .unwrap();
    let mut fresh_url = url_of(&app.pool);
    fresh_url.truncate(fresh_url.rfind('/').unwrap() + 1);
    fresh_url.push_str(&fresh);
    let out = verdict(&fresh_url, &["restore", file_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let restored_pool = PgPool::connect(&fresh_url).await.unwrap();
    let restored = TestApp::new(restored_pool.clone()).await;
    let after = every_version_file(&restored, &secret).await;
    assert_eq!(before.len(), after.len());
    for ((label, a), (label_after, b)) in before.iter().zip(&after) {
        assert_eq!(label, label_after);
        assert!(
            a == b,
            "{label}: {} bytes before, {} after",
            a.len(),
            b.len()
        );
    }

    // A second restore into the now non-empty database is refused and changes nothing.
    let annotations: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&restored_pool)
        .await
        .unwrap();
    let out = verdict(&fresh_url, &["restore", file_arg]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
    // With --replace it is refused too while a server (here the test's pool) is connected.
    let out = verdict(&fresh_url, &["restore", "--replace", file_arg]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("other connections"), "{stderr}");
    // ... and once nobody is, it takes the backup's contents again, whole. (Stopping the
    // server: the pool closes, and a listener's detached connection is ended.)
    restored_pool.close().await;
    drop(restored);
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&fresh)
        .execute(&app.pool)
        .await
        .unwrap();
    let out = verdict(&fresh_url, &["restore", "--replace", file_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored_pool = PgPool::connect(&fresh_url).await.unwrap();
    let restored = TestApp::new(restored_pool.clone()).await;
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&restored_pool)
        .await
        .unwrap();
    assert_eq!(again, annotations);
    assert_eq!(every_version_file(&restored, &secret).await, before);

    restored_pool.close().await;
    sqlx::query(&format!("DROP DATABASE {fresh} WITH (FORCE)"))
        .execute(&app.pool)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_file_that_is_not_a_backup_is_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "not a backup\n").unwrap();
    let out = verdict(&url_of(&app.pool), &["restore", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a backup pg_restore can read"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.backup");
    let out = verdict(&url_of(&app.pool), &["restore", missing.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}
