//! The project dashboard: its figures against what the labels say (counted here
//! independently), the daily sums the triggers keep against a rebuild from the tables,
//! filters by day, annotator and metadata, the annotator's own view, downloads, refusals
//! naming the field, and empty states that say what is missing.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, api_call, body_text, token};
use serde_json::json;
use std::collections::BTreeMap;
use verdict::model::user::Role;
use verdict::server::Error;
use verdict::server::services::dashboard::{self, Filters};
use verdict::server::services::review::{self, Decision};
use verdict::server::services::{Actor, items, labeling, projects, quality};

/// `n` items with three answers each (models big, mid, small), category `a` for even
/// items and `b` for odd ones, overlap 2.
async fn project(app: &TestApp, slug: &str, n: usize) {
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, slug, "Dash")
        .await
        .unwrap();
    let form = common::rankings_form("Dash", 2, false);
    projects::update(&app.pool, &cli, slug, &form)
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = (0..n)
        .map(|k| {
            let responses: Vec<serde_json::Value> = ["big", "mid", "small"]
                .iter()
                .map(|m| json!({"content": format!("{m} {k}"), "model": m}))
                .collect();
            json!({"external_id": format!("i{k}"), "prompt": format!("Q{k}?"),
                   "metadata": {"category": if k % 2 == 0 { "a" } else { "b" }},
                   "responses": responses})
        })
        .collect();
    items::push(&app.pool, &cli, slug, &values).await.unwrap();
}

/// Labels `n` items as `who`, each ranked as shown (the first shown is best), taking
/// `ms(i)` milliseconds; returns the annotation ids.
async fn label(
    app: &TestApp,
    who: &Actor,
    slug: &str,
    n: usize,
    ms: impl Fn(usize) -> u32,
) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let task = labeling::next(&app.pool, who, slug)
            .await
            .unwrap()
            .expect("an item to label");
        let input = common::ranked_as_shown(&task, ms(i));
        ids.push(input.annotation_id);
        labeling::submit(&app.pool, who, slug, input).await.unwrap();
    }
    ids
}

fn invalid_field<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Invalid(e)) => e.field.expect("a field"),
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

/// The project's daily sums, as (facet, day, user, metric, key) → n without zeros.
async fn sums(pool: &sqlx::PgPool, slug: &str) -> BTreeMap<String, f64> {
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "SELECT concat_ws('|', facet, day, user_id, metric, key), sum(n)
         FROM project_days d JOIN projects p USING (project_id) WHERE p.slug = $1
         GROUP BY 1 HAVING sum(n) <> 0",
    )
    .bind(slug)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[sqlx::test]
async fn the_dashboard_counts_what_the_labels_say(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "d", 6).await;
    dashboard::set_fields(&app.pool, &Actor::cli(), "d", "category")
        .await
        .unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let bob = Actor::from(&app.user("bob@example.org", Role::Annotator).await);
    // Ann labels four items; Bob labels three (the first three Ann did not finish alone:
    // overlap 2) and skips one.
    let ann_ms = |i: usize| [1200, 4000, 9000, 30000][i];
    label(&app, &ann, "d", 4, ann_ms).await;
    label(&app, &bob, "d", 3, |_| 2500).await;
    let task = labeling::next(&app.pool, &bob, "d").await.unwrap().unwrap();
    labeling::skip(&app.pool, &bob, "d", task.item_id, None)
        .await
        .unwrap();

    // Agreement is counted by the server's background task; here, at once.
    quality::count_marked(&app.pool).await.unwrap();
    let board = dashboard::dashboard(&app.pool, &Actor::cli(), "d", &Filters::default())
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    assert_eq!(board.to, today);
    assert_eq!(board.progress.days.len(), dashboard::DEFAULT_DAYS as usize);
    assert_eq!((board.progress.items, board.progress.completed), (6, 3));
    assert_eq!(board.progress.open, 3);
    assert_eq!(board.progress.skips, 1);
    // Each submit (and the skip) leased the next item: Ann and Bob hold one each.
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE expires_at > now()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((board.progress.leased, held), (2, 2));
    // Three done today, over the last seven days: 3/7 a day; three open → 7 days.
    assert!((board.progress.rate - 3.0 / 7.0).abs() < 1e-9);
    assert_eq!(
        board.progress.projected_finish,
        Some(today + chrono::Duration::days(7))
    );
    let last = board.progress.days.last().unwrap();
    assert_eq!(
        (last.completed, last.completed_total, last.items_total),
        (3, 3, 6)
    );

    let t = board.throughput.last().unwrap();
    assert_eq!(t.labels, 7);
    assert_eq!(t.by_annotator["ann@example.org"], 4);
    assert_eq!(t.by_annotator["bob@example.org"], 3);
    assert_eq!(t.skips, 1);
    // Seven times: 1.2, 2.5, 2.5, 2.5, 4, 9, 30 s; the median 2.5 s, within 9%.
    let median = t.median_seconds.unwrap();
    assert!((median / 2.5 - 1.0).abs() <= 0.09, "{median}");

    // Everyone ranked as shown: the best pick was always shown first, against 1/3 expected.
    assert_eq!(board.positions.len(), 3);
    assert_eq!(board.positions[0].picks, 7);
    assert!((board.positions[0].share - 1.0).abs() < 1e-9);
    for p in &board.positions {
        assert!((p.expected - 1.0 / 3.0).abs() < 1e-9, "{p:?}");
    }
    // Three items with two rankings: 3 answer pairs each. The figures of the day are those
    // of the quality report (which reads the agreement sums, not the daily ones).
    let q = board.quality.last().unwrap();
    assert_eq!(q.pairs_compared, 9);
    let report = quality::report(&app.pool, &Actor::cli(), "d")
        .await
        .unwrap();
    assert_eq!(report.ranking.pairs_compared, 9);
    assert_eq!(q.pair_agreement, report.ranking.pairwise_agreement);
    let (w, want) = (q.kendall_w.unwrap(), report.ranking.mean_kendall_w.unwrap());
    assert!((w - want).abs() < 1e-9, "{w} against {want}");

    // One annotator: their labels only; the project's progress stays.
    let bobs = dashboard::dashboard(
        &app.pool,
        &Actor::cli(),
        "d",
        &Filters {
            annotator: Some("BOB@example.org".into()),
            ..Filters::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(bobs.annotator.as_deref(), Some("bob@example.org"));
    assert_eq!(bobs.throughput.last().unwrap().labels, 3);
    assert_eq!(bobs.progress.completed, 3);
    assert!((bobs.throughput.last().unwrap().median_seconds.unwrap() / 2.5 - 1.0).abs() <= 0.09);

    // A metadata facet: only the items of category a (i0, i2, i4).
    let a = dashboard::dashboard(
        &app.pool,
        &Actor::cli(),
        "d",
        &Filters {
            facet: Some("category=a".into()),
            ..Filters::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(a.progress.items, 3);
    assert_eq!(
        board.facets,
        vec!["category=a".to_owned(), "category=b".to_owned()]
    );
    let labels_a: i64 = a.throughput.iter().map(|t| t.labels).sum();
    let b = dashboard::dashboard(
        &app.pool,
        &Actor::cli(),
        "d",
        &Filters {
            facet: Some("category=b".into()),
            ..Filters::default()
        },
    )
    .await
    .unwrap();
    let labels_b: i64 = b.throughput.iter().map(|t| t.labels).sum();
    assert_eq!(labels_a + labels_b, 7);
    assert_eq!(a.progress.completed + b.progress.completed, 3);

    // A range that ends yesterday: nothing in it, everything before it is nothing either.
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let past = dashboard::dashboard(
        &app.pool,
        &Actor::cli(),
        "d",
        &Filters {
            to: Some(yesterday),
            ..Filters::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(past.throughput.iter().map(|t| t.labels).sum::<i64>(), 0);
    assert_eq!(past.progress.days.last().unwrap().items_total, 0);
    assert_eq!(past.progress.items, 6, "the totals are of now");
}

#[sqlx::test]
async fn position_bias_expects_one_in_n_of_each_items_picks(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, "pb", "Positions")
        .await
        .unwrap();
    projects::update(
        &app.pool,
        &cli,
        "pb",
        &common::rankings_form("Positions", 1, false),
    )
    .await
    .unwrap();
    // Two items of two answers, two of four.
    let values: Vec<serde_json::Value> = (0..4)
        .map(|k| {
            let n = if k < 2 { 2 } else { 4 };
            json!({"external_id": format!("i{k}"), "prompt": format!("Q{k}?"),
                   "responses": (0..n).map(|r| format!("answer {r}")).collect::<Vec<_>>()})
        })
        .collect();
    items::push(&app.pool, &cli, "pb", &values).await.unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    // Ranked as shown but reversed: the best is shown last.
    for _ in 0..4 {
        let task = labeling::next(&app.pool, &ann, "pb")
            .await
            .unwrap()
            .unwrap();
        let mut input = common::ranked_as_shown(&task, 1000);
        input.body.ranking.as_mut().unwrap().reverse();
        labeling::submit(&app.pool, &ann, "pb", input)
            .await
            .unwrap();
    }
    let board = dashboard::dashboard(&app.pool, &cli, "pb", &Filters::default())
        .await
        .unwrap();
    let picks: Vec<i64> = board.positions.iter().map(|p| p.picks).collect();
    assert_eq!(
        picks,
        vec![0, 2, 0, 2],
        "best shown second (of two) or fourth (of four)"
    );
    // Expected: positions 1-2 get 1/2 of each 2-answer item and 1/4 of each 4-answer one;
    // positions 3-4 only the latter: (2/2 + 2/4) / 4 and (2/4) / 4.
    let expected: Vec<f64> = board.positions.iter().map(|p| p.expected).collect();
    for (got, want) in expected.iter().zip([0.375, 0.375, 0.125, 0.125]) {
        assert!((got - want).abs() < 1e-12, "{expected:?}");
    }
    assert!((expected.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[sqlx::test]
async fn the_daily_sums_agree_with_a_rebuild_from_the_tables(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "r", 8).await;
    dashboard::set_fields(&app.pool, &Actor::cli(), "r", "category")
        .await
        .unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let bob = Actor::from(&app.user("bob@example.org", Role::Annotator).await);
    let reviewer = Actor::from(&app.user("rev@example.org", Role::Admin).await);
    let ann_ids = label(&app, &ann, "r", 5, |i| 700 * (i as u32 + 1)).await;
    quality::count_marked(&app.pool).await.unwrap();
    label(&app, &bob, "r", 4, |_| 3000).await;
    let task = labeling::next(&app.pool, &bob, "r").await.unwrap().unwrap();
    labeling::skip(&app.pool, &bob, "r", task.item_id, Some("unclear".into()))
        .await
        .unwrap();
    // An edit of a label changes its ranking (and so where its best pick was shown).
    let reopened = labeling::reopen(&app.pool, &ann, "r", ann_ids[0])
        .await
        .unwrap();
    let mut edit = common::ranked_as_shown(&reopened, 5000);
    edit.annotation_id = ann_ids[0];
    edit.body.ranking.as_mut().unwrap().reverse();
    labeling::submit(&app.pool, &ann, "r", edit).await.unwrap();
    // Reviews: one accepted, one rejected (which removes the label).
    let settings = review::parse_settings(
        &[("enabled", "on"), ("selection", "all")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect(),
    )
    .unwrap();
    review::save_settings(&app.pool, &Actor::cli(), "r", &settings)
        .await
        .unwrap();
    // The reviewer takes two items from the queue: accepts a label of the first, rejects one
    // of the second (which removes it).
    let mut decided = Vec::new();
    for reject in [false, true] {
        let task = review::next(&app.pool, &reviewer, "r")
            .await
            .unwrap()
            .expect("an item due");
        let label = task
            .labels
            .iter()
            .map(|l| l.annotation_id)
            .find(|id| !decided.contains(id))
            .unwrap();
        let decision = if reject {
            Decision::Reject {
                reason: "careless".into(),
                requeue: false,
            }
        } else {
            Decision::Accept { adjudicate: false }
        };
        review::decide(&app.pool, &reviewer, "r", label, decision)
            .await
            .unwrap();
        decided.push(label);
    }
    quality::count_marked(&app.pool).await.unwrap();
    // A gold check of a label still there, then corrected.
    let checked = *ann_ids.iter().find(|id| !decided.contains(id)).unwrap();
    sqlx::query(
        "INSERT INTO gold_results (annotation_id, project_id, user_id, item_id, correct)
         SELECT annotation_id, project_id, user_id, item_id, false FROM annotations
         WHERE annotation_id = $1",
    )
    .bind(checked)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE gold_results SET correct = true WHERE annotation_id = $1")
        .bind(checked)
        .execute(&app.pool)
        .await
        .unwrap();
    // End-user feedback over the API: thumbs per model, and a correction.
    let secret = token(&app, &["feedback:write"], None).await;
    for (answer, model, thumb, correction) in [
        ("Paris", "big", "up", None),
        ("Lyon", "small", "down", Some("Paris")),
        ("Paris.", "big", "down", None),
    ] {
        let mut body = json!({"prompt": "Capital of France?", "answer": answer, "model": model,
                              "end_user": format!("u-{answer}"), "thumb": thumb});
        if let Some(c) = correction {
            body["correction"] = json!(c);
        }
        let (status, _, reply) = api_call(
            &app,
            "POST",
            "/api/v1/projects/r/feedback",
            Some(&secret),
            Some(&body),
        )
        .await;
        assert!(status.is_success(), "{status} {reply}");
    }

    let kept = sums(&app.pool, "r").await;
    for metric in [
        "|labels|",
        "|skips|",
        "|review|",
        "|gold|",
        "|thumbs|",
        "|corrections|",
        "|agreement|",
        "|best_at|",
        "|completed|",
    ] {
        assert!(
            kept.keys().any(|k| k.contains(metric)),
            "no {metric} rows: {kept:?}"
        );
    }
    dashboard::rebuild(&app.pool, &Actor::cli(), "r")
        .await
        .unwrap();
    let rebuilt = sums(&app.pool, "r").await;
    assert_eq!(kept, rebuilt, "the triggers' sums against a rebuild");

    let board = dashboard::dashboard(&app.pool, &Actor::cli(), "r", &Filters::default())
        .await
        .unwrap();
    let q = board.quality.last().unwrap();
    assert_eq!((q.reviews_accepted, q.reviews_rejected), (1, 1));
    assert_eq!((q.gold_checked, q.gold_accuracy), (1, Some(1.0)));
    let today = board.to;
    let fb: Vec<(&str, i64, i64)> = board
        .feedback
        .iter()
        .filter(|f| f.day == today)
        .map(|f| (f.model.as_str(), f.up, f.down))
        .collect();
    assert_eq!(fb, vec![("big", 1, 1), ("small", 0, 1)]);
    let v = board.feedback_volume.last().unwrap();
    assert_eq!((v.events, v.corrections), (3, 1));
    // The rejected label is gone from its author's count: 9 made, 1 removed.
    assert_eq!(board.throughput.last().unwrap().labels, 8);
}

#[sqlx::test]
async fn the_dashboard_refuses_bad_filters_naming_the_field(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "f", 2).await;
    let cli = Actor::cli();
    let bad = |f: Filters| {
        let pool = app.pool.clone();
        async move { invalid_field(dashboard::dashboard(&pool, &Actor::cli(), "f", &f).await) }
    };
    assert_eq!(
        bad(Filters {
            from: Some("yesterday".into()),
            ..Filters::default()
        })
        .await,
        "from"
    );
    assert_eq!(
        bad(Filters {
            to: Some("2026-13-01".into()),
            ..Filters::default()
        })
        .await,
        "to"
    );
    assert_eq!(
        bad(Filters {
            from: Some("2026-12-05".into()),
            to: Some("2026-12-01".into()),
            ..Filters::default()
        })
        .await,
        "from"
    );
    assert_eq!(
        bad(Filters {
            from: Some("2024-01-01".into()),
            to: Some("2026-12-01".into()),
            ..Filters::default()
        })
        .await,
        "from",
        "more than a year"
    );
    assert_eq!(
        bad(Filters {
            annotator: Some("nobody@example.org".into()),
            ..Filters::default()
        })
        .await,
        "annotator"
    );
    assert_eq!(
        bad(Filters {
            facet: Some("category=a".into()),
            ..Filters::default()
        })
        .await,
        "facet",
        "not a dashboard field"
    );
    assert_eq!(
        invalid_field(dashboard::set_fields(&app.pool, &cli, "f", "a, b, c, d, e, f").await),
        "fields"
    );
    assert_eq!(
        invalid_field(dashboard::set_fields(&app.pool, &cli, "f", "x=y").await),
        "fields"
    );
    // Nothing changed.
    let board = dashboard::dashboard(&app.pool, &cli, "f", &Filters::default())
        .await
        .unwrap();
    assert!(board.fields.is_empty());
    // Only admins set fields; an annotator who is not a member does not see the project.
    let ann = Actor::from(&app.outsider("out@example.org", Role::Annotator).await);
    assert!(matches!(
        dashboard::set_fields(&app.pool, &ann, "f", "category").await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        dashboard::dashboard(&app.pool, &ann, "f", &Filters::default()).await,
        Err(Error::NotFound(_))
    ));
}

#[sqlx::test]
async fn the_page_draws_charts_tables_and_empty_states(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("admin@example.org", Role::Admin).await;
    let admin = app.session_for("admin@example.org").await;

    // An empty project: each section says what is missing.
    projects::create(&app.pool, &Actor::cli(), "empty", "Empty")
        .await
        .unwrap();
    let response = app.get("/projects/empty/dashboard", Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("No items yet"), "{html}");
    assert!(html.contains("No labels in these days"));
    assert!(html.contains("No end-user feedback in these days"));
    assert!(
        !html.contains("<script"),
        "a server-rendered page without the app's WASM"
    );

    project(&app, "d", 4).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let bob = Actor::from(&app.user("bob@example.org", Role::Annotator).await);
    label(&app, &ann, "d", 2, |_| 2000).await;
    label(&app, &bob, "d", 2, |_| 3000).await;
    quality::count_marked(&app.pool).await.unwrap();
    let html = body_text(app.get("/projects/d/dashboard", Some(&admin)).await).await;
    for id in ["burn-up", "throughput", "time", "quality", "positions"] {
        assert!(
            html.contains(&format!("<title id=\"{id}-title\">")),
            "chart {id}: {html}"
        );
    }
    assert!(
        html.contains("bob@example.org"),
        "the admin sees every annotator"
    );
    assert!(
        html.contains("labels per day</summary>"),
        "the numbers behind the chart"
    );

    // Downloads: a table as CSV, everything as JSON.
    let response = app
        .get("/projects/d/dashboard.csv?table=throughput", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = body_text(response).await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("day,labels,median_seconds,skips,labels:ann@example.org,labels:bob@example.org")
    );
    assert!(csv.lines().last().unwrap().contains(",4,"), "{csv}");
    let response = app
        .get("/projects/d/dashboard.csv?table=nonsense", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(response).await.contains("table"));
    let response = app.get("/projects/d/dashboard.json", Some(&admin)).await;
    let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(json["progress"]["completed"], 2);

    // A bad filter: the page says which field, with a 422.
    let response = app
        .get("/projects/d/dashboard?from=soon", Some(&admin))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(response).await.contains("from"));

    // The home page's small burn-up: an SVG document (XML, no HTML markers).
    let response = app.get("/projects/d/burnup.svg", Some(&admin)).await;
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let svg = body_text(response).await;
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline") && !svg.contains("<!>"),
        "{svg}"
    );

    // Setting the fields from the page.
    let response = app
        .send(common::form_post(
            "/projects/d/dashboard/fields",
            "fields=category",
            Some(&admin),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = body_text(app.get("/projects/d/dashboard", Some(&admin)).await).await;
    assert!(
        html.contains("category=a") && html.contains("category=b"),
        "{html}"
    );

    // An annotator (a member) sees their own figures, nobody else's, and no feedback.
    common::join_every_project(
        &app.pool,
        &app.user("carl@example.org", Role::Annotator).await,
    )
    .await;
    let carl = app.session_for("carl@example.org").await;
    let response = app.get("/projects/d/dashboard", Some(&carl)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(
        !html.contains("bob@example.org") && !html.contains("ann@example.org"),
        "{html}"
    );
    assert!(!html.contains("End-user feedback") && !html.contains("leaderboard.svg"));
    assert!(!html.contains("Save fields"));
    let response = app
        .send(common::form_post(
            "/projects/d/dashboard/fields",
            "fields=",
            Some(&carl),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
