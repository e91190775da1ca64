//! Gold items against a real database: mixed into queues at onboarding, hidden in what the
//! annotator is served, out of progress and exports, checked on submission, and flagging,
//! pausing and resuming an annotator; bad gold input refused, naming the field.

use crate::common;

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Task};
use verdict::model::gold::Gold;
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::user::{NewUser, Role};
use verdict::server::Error;
use verdict::server::services::{self, Actor, gold, labeling, quality};
use verdict::server::store::projects;

const EXPLANATION: &str = "Answer one cites the statute.";

/// Project `p` (overlap 1, answers in their order) with `plain` ordinary items `q0…` and
/// `golds` gold items `g0…` whose expected best answer is the second.
async fn project(pool: &PgPool, plain: usize, golds: usize) {
    let project_id = projects::ensure(pool, "p", "Gold", "").await.unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.shuffle_answers = false;
    projects::update_settings(pool, &settings).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let item = |id: String, gold: Option<Gold>| NewItem {
        external_id: Some(id.clone()),
        messages: vec![Message {
            role: ChatRole::User,
            content: format!("Question {id}?"),
        }],
        responses: (0..3)
            .map(|a| NewResponse {
                model: None,
                content: format!("Answer {a} to {id}"),
            })
            .collect(),
        metadata: json!({}),
        gold,
    };
    let expected = Gold {
        best: Some(1),
        explanation: Some(EXPLANATION.into()),
        ..Gold::default()
    };
    for n in 0..golds {
        services::items::add(
            &mut conn,
            project_id,
            &item(format!("g{n}"), Some(expected.clone())),
        )
        .await
        .unwrap();
    }
    for n in 0..plain {
        services::items::add(&mut conn, project_id, &item(format!("q{n}"), None))
            .await
            .unwrap();
    }
}

async fn annotator(pool: &PgPool, i: usize) -> Actor {
    let new = NewUser::parse(
        &format!("a{i}@example.org"),
        &format!("Annotator {i}"),
        "a long test password",
        Role::Annotator,
    )
    .unwrap();
    {
        let user = services::users::create_account(pool, new).await.unwrap();
        common::join_every_project(pool, &user).await;
        Actor::from(&user)
    }
}

fn settings(fields: &[(&str, &str)]) -> gold::Settings {
    let fields: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    gold::parse_settings(&fields).unwrap()
}

/// Ranks the answers with `best` first, then the others in order.
fn label(task: &Task, best: usize) -> AnnotationInput {
    let mut order: Vec<usize> = (0..task.answers.len()).collect();
    order.retain(|&i| i != best);
    order.insert(0, best);
    AnnotationInput {
        annotation_id: Uuid::new_v4(),
        item_id: task.item_id,
        body: AnnotationBody {
            ranking: Some(
                order
                    .iter()
                    .map(|&i| vec![task.answers[i].response_id])
                    .collect(),
            ),
            ..Default::default()
        },
        shown_order: task.answers.iter().map(|a| a.response_id).collect(),
        time_spent_ms: 900,
        ..Default::default()
    }
}

fn is_gold(task: &Task) -> bool {
    task.messages[0].content.starts_with("Question g")
}

#[sqlx::test]
async fn onboarding_serves_gold_first_hidden_and_outside_progress(pool: PgPool) {
    project(&pool, 4, 2).await;
    gold::save_settings(&pool, &Actor::cli(), "p", &settings(&[("onboarding", "2")]))
        .await
        .unwrap();
    for i in 0..2 {
        let person = annotator(&pool, i).await;
        let mut served = Vec::new();
        while let Some(task) = labeling::next(&pool, &person, "p").await.unwrap() {
            // What the annotator is sent says nothing of gold.
            let sent = serde_json::to_string(&task).unwrap();
            assert!(
                !sent.contains("gold") && !sent.contains(EXPLANATION),
                "{sent}"
            );
            assert_eq!(task.progress.total, 4, "gold items are not progress");
            served.push(is_gold(&task));
            labeling::submit(&pool, &person, "p", label(&task, 1))
                .await
                .unwrap();
        }
        // Both annotators get both gold items, first (each labels them: overlap 1 does not
        // apply); the second annotator finds the ordinary items done.
        let expected = if i == 0 {
            vec![true, true, false, false, false, false]
        } else {
            vec![true, true]
        };
        assert_eq!(served, expected, "annotator {i}");
    }
    let progress: (i64, i64) =
        sqlx::query_as("SELECT sum(items)::bigint, sum(completed)::bigint FROM project_progress")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(progress, (4, 4));
    let report = quality::report(&pool, &Actor::cli(), "p").await.unwrap();
    assert_eq!(report.gold.len(), 2);
    assert!(
        report
            .gold
            .iter()
            .all(|g| g.checked == 2 && g.correct == 2 && !g.flagged)
    );
}

#[sqlx::test]
async fn a_careless_annotator_is_paused_until_resumed(pool: PgPool) {
    project(&pool, 3, 4).await;
    let rules = settings(&[
        ("onboarding", "2"),
        ("threshold", "0.6"),
        ("minimum", "2"),
        ("pause", "on"),
    ]);
    gold::save_settings(&pool, &Actor::cli(), "p", &rules)
        .await
        .unwrap();
    let person = annotator(&pool, 0).await;

    let first = labeling::next(&pool, &person, "p").await.unwrap().unwrap();
    assert!(is_gold(&first));
    let after_one = labeling::submit(&pool, &person, "p", label(&first, 0))
        .await
        .unwrap();
    assert!(after_one.notice.is_none(), "one miss is under the minimum");
    let second = after_one.next.unwrap();
    assert!(is_gold(&second));
    // The second miss: stored, and the answer says why there is no next item.
    let paused = labeling::submit(&pool, &person, "p", label(&second, 2))
        .await
        .unwrap();
    assert!(paused.annotation_id.is_some() && paused.next.is_none());
    let notice = paused.notice.expect("a notice");
    assert!(
        notice.contains("0 of your last 2") && notice.contains("paused"),
        "{notice}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 2, "the label that paused them is kept");
    match labeling::next(&pool, &person, "p").await {
        Err(Error::Paused(reason)) => assert_eq!(reason, notice),
        other => panic!("{other:?}"),
    }
    let report = quality::report(&pool, &Actor::cli(), "p").await.unwrap();
    let record = &report.gold[0];
    assert!(record.flagged && record.paused);
    assert_eq!(
        (record.checked, record.correct, record.accuracy),
        (2, 0, Some(0.0))
    );

    // Flagged labels can be left out of an export; gold items are left out unless asked.
    let count = |spec: &'static str| {
        let pool = pool.clone();
        async move {
            String::from_utf8(export(&pool, spec).await)
                .unwrap()
                .lines()
                .count()
        }
    };
    assert_eq!(count("format=raw").await, 0, "only gold items are labeled");
    assert_eq!(count("format=raw&include_gold=on").await, 2);
    assert_eq!(
        count("format=raw&include_gold=on&exclude_flagged_annotators=on").await,
        0
    );

    // The raw export says the items are gold and the author paused; a dataset version
    // keeps that as it was when made.
    let raw = |spec: &'static str| {
        let pool = pool.clone();
        async move { standing(&export(&pool, spec).await) }
    };
    let paused_standing = vec![(true, Some("paused".to_owned())); 2];
    assert_eq!(raw("format=raw&include_gold=on").await, paused_standing);
    let spec =
        verdict::server::dataset::ExportSpec::from_query("format=raw&include_gold=on").unwrap();
    services::datasets::create(&pool, &Actor::cli(), "p", "audit", None, &spec)
        .await
        .unwrap();
    let version = || async {
        let (_, file) = services::datasets::download(
            &pool,
            &Actor::cli(),
            "p",
            "audit",
            1,
            verdict::server::dataset::version::FileKind::Jsonl,
        )
        .await
        .unwrap();
        standing(&std::fs::read(&file.path.0).unwrap())
    };
    assert_eq!(version().await, paused_standing);

    // An admin resumes them: the old misses no longer count.
    assert!(
        gold::resume(&pool, &Actor::cli(), "p", person.user_id)
            .await
            .unwrap()
    );
    assert_eq!(
        raw("format=raw&include_gold=on").await,
        vec![(true, Some("active".to_owned())); 2]
    );
    assert_eq!(version().await, paused_standing, "the version is frozen");
    let third = labeling::next(&pool, &person, "p").await.unwrap().unwrap();
    let resumed = labeling::submit(&pool, &person, "p", label(&third, 1))
        .await
        .unwrap();
    assert!(resumed.notice.is_none() && resumed.next.is_some());
    let report = quality::report(&pool, &Actor::cli(), "p").await.unwrap();
    assert!(!report.gold[0].flagged && !report.gold[0].paused);
    assert_eq!(
        count("format=raw&include_gold=on&exclude_flagged_annotators=on").await,
        3
    );
}

#[sqlx::test]
async fn bad_gold_input_names_the_field_and_changes_nothing(pool: PgPool) {
    project(&pool, 1, 0).await;
    let field = |e: Error| match e {
        Error::Invalid(e) => e.field.unwrap(),
        other => panic!("{other:?}"),
    };
    for (name, value) in [
        ("rate", "1.5"),
        ("rate", "-0.1"),
        ("threshold", "2"),
        ("onboarding", "x"),
    ] {
        let fields: BTreeMap<String, String> = [(name.to_string(), value.to_string())].into();
        assert_eq!(field(gold::parse_settings(&fields).unwrap_err()), name);
    }
    // A ranking naming an answer the item does not have.
    let foreign = Gold {
        ranking: Some(vec![vec![0], vec![1], vec![3]]),
        ..Gold::default()
    };
    let refused = gold::set_item(&pool, &Actor::cli(), "p", "q0", Some(&foreign)).await;
    assert_eq!(field(refused.unwrap_err()), "gold.ranking");
    let golds: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE is_gold")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(golds, 0);

    // Over the API: set, refuse, clear.
    let app = common::TestApp::new(pool.clone()).await;
    let token = common::token(&app, &["items:write"], None).await;
    let path = "/api/v1/projects/p/items/q0/gold";
    let (status, _, body) =
        common::api_call(&app, "PUT", path, Some(&token), Some(&json!({"best": 7}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "gold.best");
    let (status, _, _) =
        common::api_call(&app, "PUT", path, Some(&token), Some(&json!({"best": 2}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let stored: serde_json::Value = sqlx::query_scalar("SELECT gold FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, json!({"best": 2}));
    let (status, _, _) = common::api_call(
        &app,
        "PUT",
        path,
        Some(&token),
        Some(&serde_json::Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let golds: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE is_gold")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(golds, 0);
}

#[sqlx::test]
async fn gold_arrives_by_import_and_a_bad_one_stops_the_file(pool: PgPool) {
    projects::ensure(&pool, "p", "Gold", "").await.unwrap();
    let good = r#"{"external_id": "g", "prompt": "2+2?", "responses": ["4", "5"], "gold": {"best": 0, "explanation": "Arithmetic."}}
{"external_id": "q", "prompt": "Capital of France?", "responses": ["Paris", "Lyon"]}
"#;
    let bad = r#"{"external_id": "x", "prompt": "?", "responses": ["a", "b"]}
{"external_id": "y", "prompt": "?", "responses": ["a", "b"], "gold": {"ranking": [[0], [1], [2]]}}
"#;
    let import = |text: &str| {
        let pool = pool.clone();
        let path = std::env::temp_dir().join(format!("gold-{}.jsonl", Uuid::new_v4()));
        std::fs::write(&path, text).unwrap();
        async move {
            let options = services::import::ImportOptions {
                format: None,
                skip_invalid: false,
                strict: false,
            };
            let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            services::import::import_file(&pool, &Actor::cli(), "p", &path, options, progress)
                .await
                .unwrap()
        }
    };
    let refused = import(bad).await;
    assert_eq!(refused.imported, 0);
    let line = &refused.invalid[0];
    assert_eq!(
        (line.line, line.field.as_str()),
        (2, "gold.ranking"),
        "{line:?}"
    );
    let items: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(items, 0, "all or nothing");
    assert_eq!(import(good).await.imported, 2);
    let gold: (bool, serde_json::Value) =
        sqlx::query_as("SELECT is_gold, gold FROM items WHERE external_id = 'g'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        gold,
        (true, json!({"best": 0, "explanation": "Arithmetic."}))
    );
}

#[sqlx::test]
async fn a_miss_is_explained_when_the_project_says_so(pool: PgPool) {
    project(&pool, 2, 3).await;
    let person = annotator(&pool, 0).await;
    let quiet = settings(&[("onboarding", "3")]);
    gold::save_settings(&pool, &Actor::cli(), "p", &quiet)
        .await
        .unwrap();
    let task = labeling::next(&pool, &person, "p").await.unwrap().unwrap();
    assert!(is_gold(&task));
    let missed = labeling::submit(&pool, &person, "p", label(&task, 0))
        .await
        .unwrap();
    assert_eq!(missed.feedback, None, "explanations are off by default");

    let explain = settings(&[("onboarding", "3"), ("feedback", "on")]);
    gold::save_settings(&pool, &Actor::cli(), "p", &explain)
        .await
        .unwrap();
    let task = missed.next.unwrap();
    assert!(is_gold(&task));
    let missed = labeling::submit(&pool, &person, "p", label(&task, 2))
        .await
        .unwrap();
    assert_eq!(missed.feedback.as_deref(), Some(EXPLANATION));
    let task = missed.next.unwrap();
    assert!(is_gold(&task));
    let right = labeling::submit(&pool, &person, "p", label(&task, 1))
        .await
        .unwrap();
    assert_eq!(right.feedback, None, "nothing to explain when it was right");
    assert!(!is_gold(&right.next.unwrap()));
}

#[sqlx::test]
async fn the_admins_gold_editor_sets_refuses_and_clears(pool: PgPool) {
    project(&pool, 1, 0).await;
    let app = common::TestApp::new(pool.clone()).await;
    app.user("admin@example.org", Role::Admin).await;
    let admin = app.session_for("admin@example.org").await;
    let path = "/projects/p/items/q0/gold";
    let page = app.get(path, Some(&admin)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = common::body_text(page).await;
    assert!(
        html.contains("Answer 2 to q0") && html.contains("ordinary item"),
        "{html}"
    );

    let stored = || async {
        sqlx::query_scalar::<_, Option<serde_json::Value>>("SELECT gold FROM items")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let refused = app
        .send(common::form_post(
            path,
            "ranking=0+%3E+5&explanation=x",
            Some(&admin),
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = common::body_text(refused).await;
    assert!(html.contains("gold.ranking"), "{html}");
    assert_eq!(stored().await, None, "a refusal stores nothing");

    let saved = app
        .send(common::form_post(
            path,
            "ranking=2+%3E+0+%3D+1&thumb_1=down&check_flags=on&explanation=Two+cites+it.",
            Some(&admin),
        ))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        stored().await,
        Some(
            json!({"ranking": [[2], [0, 1]], "thumbs": {"1": false}, "flags": [],
                    "explanation": "Two cites it."})
        )
    );
    let cleared = app
        .send(common::form_post(path, "clear=1", Some(&admin)))
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored().await, None);

    annotator(&pool, 0).await;
    let someone = app.session_for("a0@example.org").await;
    let page = app.get(path, Some(&someone)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

/// Each raw record's `gold` and `annotator_status`.
fn standing(jsonl: &[u8]) -> Vec<(bool, Option<String>)> {
    String::from_utf8_lossy(jsonl)
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                record["gold"].as_bool().expect("a gold flag"),
                record["annotator_status"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The project's export with this spec (as a query string), as the CLI's admin makes it.
async fn export(pool: &PgPool, spec: &str) -> Vec<u8> {
    let spec = verdict::server::dataset::ExportSpec::from_query(spec).unwrap();
    let (options, filters) = spec.resolve(None).unwrap();
    let mut out: Vec<u8> = Vec::new();
    services::export::export_jsonl(
        pool,
        &Actor::cli(),
        "p",
        &options,
        &filters,
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap();
    out
}
