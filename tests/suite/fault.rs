//! A short fault run (the long one is `scripts/db-outage.sh` and the chaos script to come):
//! four annotators label through the server functions the browser calls while their
//! PostgreSQL is killed with SIGKILL and started again. Every label the server
//! acknowledged must be stored exactly once, and no item may get more labels than its
//! overlap. PostgreSQL here is a cluster of this test's own (the suite's is shared).

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, body_text, ranked_as_shown};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;
use verdict::model::annotation::Task;
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::user::{NewUser, Role};
use verdict::server::local_pg;
use verdict::server::services;
use verdict::server::store::projects;

const ITEMS: usize = 24;
const OVERLAP: i32 = 2;
const ANNOTATORS: usize = 4;
/// The whole run is bounded: labeling stops here whatever happened.
const DEADLINE: Duration = Duration::from_secs(60);

async fn call(
    app: &TestApp,
    cookie: &str,
    name: &str,
    json: serde_json::Value,
) -> (StatusCode, String) {
    let request = Request::post(format!("/serverfn/{name}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(json.to_string()))
        .unwrap();
    let response = app.send(request).await;
    let status = response.status();
    (status, body_text(response).await)
}

#[derive(Default)]
struct Tally {
    acknowledged: std::sync::Mutex<Vec<Uuid>>,
    refused_while_down: AtomicUsize,
}

/// One annotator: take an item, submit it (the same annotation id until the server says
/// it is stored), until the queue is empty or the deadline passes.
async fn annotate(app: Arc<TestApp>, cookie: String, tally: Arc<Tally>, started: Instant) {
    let pause = || tokio::time::sleep(Duration::from_millis(100));
    while started.elapsed() < DEADLINE {
        let response = app
            .send(common::form_post(
                "/serverfn/next_task",
                "slug=p",
                Some(&cookie),
            ))
            .await;
        let status = response.status();
        let body = body_text(response).await;
        if status != StatusCode::OK {
            tally.refused_while_down.fetch_add(1, Ordering::SeqCst);
            pause().await;
            continue;
        }
        let Some(task) = serde_json::from_str::<Option<Task>>(&body).unwrap() else {
            return;
        };
        let input = ranked_as_shown(&task, 1000);
        while started.elapsed() < DEADLINE {
            let json = serde_json::json!({"slug": "p", "input": input});
            let (status, _) = call(&app, &cookie, "submit_annotation", json).await;
            if status == StatusCode::OK {
                tally.acknowledged.lock().unwrap().push(input.annotation_id);
                break;
            }
            // 503 while the database is away (or a 500 from a connection it cut): the
            // browser keeps the label and sends it again under the same id.
            assert!(
                status.is_server_error(),
                "a label refused for good: {status}"
            );
            tally.refused_while_down.fetch_add(1, Ordering::SeqCst);
            pause().await;
        }
    }
}

#[tokio::test]
async fn labels_acknowledged_across_a_database_crash_are_stored_once() {
    if std::env::var_os("VERDICT_SKIP_LOCAL_PG_TEST").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let cluster = local_pg::ensure_running(dir.path(), port).await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_millis(500))
        .connect(&cluster.url)
        .await
        .unwrap();
    let app = Arc::new(TestApp::new(pool.clone()).await);

    let project_id = projects::ensure(&pool, "p", "Faults", "").await.unwrap();
    let mut settings = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = OVERLAP;
    projects::update_settings(&pool, &settings).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..ITEMS {
        let item = NewItem {
            external_id: Some(format!("f{n}")),
            messages: vec![Message {
                role: ChatRole::User,
                content: format!("Question {n}?"),
            }],
            responses: (0..3)
                .map(|a| NewResponse {
                    model: None,
                    content: format!("Answer {a}"),
                })
                .collect(),
            metadata: serde_json::json!({}),
            gold: None,
        };
        services::items::add(&mut conn, project_id, &item)
            .await
            .unwrap();
    }
    drop(conn);
    let mut cookies = Vec::new();
    for i in 0..ANNOTATORS {
        let email = format!("f{i}@example.org");
        let new = NewUser::parse(&email, "F", common::PASSWORD, Role::Annotator).unwrap();
        let user = services::users::create_account(&pool, new).await.unwrap();
        common::join_every_project(&pool, &user).await;
        cookies.push(app.session_for(&email).await);
    }

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let annotators: Vec<_> = cookies
        .into_iter()
        .map(|cookie| tokio::spawn(annotate(app.clone(), cookie, tally.clone(), started)))
        .collect();

    // A few labels in, PostgreSQL dies at once (SIGKILL of the postmaster), and is started
    // again two seconds later.
    while tally.acknowledged.lock().unwrap().len() < 6 && started.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = tally.acknowledged.lock().unwrap().len();
    let pid_file = walk_for_pid(dir.path()).expect("the cluster's postmaster.pid");
    let pid: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut restarted = None;
    for _ in 0..50 {
        // Its backends notice the postmaster is gone and leave; until then the new
        // postmaster finds their shared memory and refuses to start.
        match local_pg::ensure_running(dir.path(), port).await {
            Ok(again) => {
                restarted = Some(again);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let restarted = restarted.expect("PostgreSQL starts again");

    for annotator in annotators {
        annotator.await.unwrap();
    }
    let acknowledged = tally.acknowledged.lock().unwrap().clone();
    assert!(before > 0, "labels were acknowledged before the crash");
    assert!(
        tally.refused_while_down.load(Ordering::SeqCst) > 0,
        "the outage was seen"
    );
    assert_eq!(
        acknowledged.len(),
        ITEMS * OVERLAP as usize,
        "every item got its labels once the database was back"
    );
    assert_eq!(
        acknowledged.iter().collect::<HashSet<_>>().len(),
        acknowledged.len()
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM annotations WHERE annotation_id = ANY($1)")
            .bind(&acknowledged)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        stored as usize,
        acknowledged.len(),
        "every acknowledged label is stored"
    );
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(all as usize, acknowledged.len(), "and nothing else");
    let most: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM annotations GROUP BY item_id) c",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        most <= i64::from(OVERLAP),
        "an item over its overlap: {most}"
    );
    println!(
        "fault run: {} labels acknowledged ({before} before the crash), {} requests refused while down, {:?}",
        acknowledged.len(),
        tally.refused_while_down.load(Ordering::SeqCst),
        started.elapsed()
    );
    pool.close().await;
    // The first handle's server was the one killed: the restarted one is stopped.
    drop(cluster);
    restarted.stop().await.unwrap();
}

/// The first `postmaster.pid` under `dir`.
fn walk_for_pid(dir: &std::path::Path) -> Option<String> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "postmaster.pid") {
            return std::fs::read_to_string(path).ok();
        }
        if path.is_dir()
            && let Some(found) = walk_for_pid(&path)
        {
            return Some(found);
        }
    }
    None
}
