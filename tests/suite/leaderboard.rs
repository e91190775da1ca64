//! The model leaderboard: the comparisons each ranking makes between models, their
//! Bradley-Terry fit on the Elo-like scale (the fit itself is checked against choix in
//! `src/server/stats/tests.rs`), bootstrap intervals, records, the win-rate matrix, a model
//! that never loses, refusals naming the field, and who may see it.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, api_call, token};
use serde_json::json;
use verdict::model::user::Role;
use verdict::server::Error;
use verdict::server::services::leaderboard::{self, Options};
use verdict::server::services::{Actor, items, labeling, projects};
use verdict::server::stats::bradley_terry::{self, Comparison};

const MODELS: [&str; 3] = ["big", "mid", "small"];

/// A project whose items each have one answer by each model; `orders[k]` is how the
/// annotator ranks item k's answers, as tiers of model indexes (best first).
async fn ranked_project(app: &TestApp, slug: &str, orders: &[Vec<Vec<usize>>]) {
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, slug, "Models")
        .await
        .unwrap();
    let form = common::rankings_form("Models", 1, true);
    projects::update(&app.pool, &cli, slug, &form)
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = (0..orders.len())
        .map(|k| {
            json!({"external_id": format!("i{k}"), "prompt": format!("Q{k}?"),
                   "metadata": {"parity": if k % 2 == 0 { "even" } else { "odd" }},
                   "responses": MODELS.iter().map(|m| json!({"content": format!("{m} {k}"), "model": m})).collect::<Vec<_>>()})
        })
        .collect();
    items::push(&app.pool, &cli, slug, &values).await.unwrap();
    let ann = Actor::from(
        &app.user(&format!("ann-{slug}@example.org"), Role::Annotator)
            .await,
    );
    for _ in 0..orders.len() {
        let task = labeling::next(&app.pool, &ann, slug)
            .await
            .unwrap()
            .unwrap();
        let k: usize = task.messages.last().unwrap().content[1..]
            .trim_end_matches('?')
            .parse()
            .unwrap();
        let mut input = common::ranked_as_shown(&task, 1000);
        let id_of = |m: usize| {
            task.answers
                .iter()
                .find(|a| a.content.starts_with(MODELS[m]))
                .unwrap()
                .response_id
        };
        input.body.ranking = Some(
            orders[k]
                .iter()
                .map(|tier| tier.iter().map(|&m| id_of(m)).collect())
                .collect(),
        );
        labeling::submit(&app.pool, &ann, slug, input)
            .await
            .unwrap();
    }
}

/// The comparisons a ranking makes, built here independently of the service.
fn comparisons(orders: &[Vec<Vec<usize>>]) -> Vec<Comparison> {
    let mut out = Vec::new();
    for tiers in orders {
        let place = |m: usize| tiers.iter().position(|t| t.contains(&m)).unwrap();
        for a in 0..3 {
            for b in a + 1..3 {
                let score = match place(a).cmp(&place(b)) {
                    std::cmp::Ordering::Less => 1.0,
                    std::cmp::Ordering::Greater => 0.0,
                    std::cmp::Ordering::Equal => 0.5,
                };
                out.push(Comparison { a, b, score });
            }
        }
    }
    out
}

fn orders() -> Vec<Vec<Vec<usize>>> {
    let mut o = vec![vec![vec![0], vec![1], vec![2]]; 8]; // big > mid > small
    o.push(vec![vec![1], vec![0], vec![2]]); // mid > big > small
    o.push(vec![vec![1], vec![0], vec![2]]);
    o.push(vec![vec![2], vec![1], vec![0]]); // small > mid > big
    o.push(vec![vec![0, 1], vec![2]]); // big = mid > small
    o
}

#[sqlx::test]
async fn the_leaderboard_ranks_the_models_from_the_rankings(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let orders = orders();
    ranked_project(&app, "m", &orders).await;
    let board = leaderboard::leaderboard(&app.pool, &Actor::cli(), "m", &Options::default())
        .await
        .unwrap();
    assert_eq!((board.comparisons, board.items), (36, 12));
    assert!(!board.regularized);
    let names: Vec<&str> = board.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(names, ["big", "mid", "small"]);
    // The anchor (every model met the others 24 times: the first by name) is at 1000; the
    // others are the fit's differences on the Elo-like scale.
    assert_eq!(board.anchor.as_deref(), Some("big"));
    let fit = bradley_terry::fit(3, &comparisons(&orders));
    let expected = bradley_terry::elo(&fit.theta, 0, 1000.0);
    for m in &board.models {
        let i = MODELS.iter().position(|n| *n == m.model).unwrap();
        assert!(
            (m.rating - expected[i]).abs() < 1e-6,
            "{}: {} vs {}",
            m.model,
            m.rating,
            expected[i]
        );
        assert_eq!(m.comparisons, 24);
    }
    // Records: big beat mid 8 times, lost 3 times, tied once; beat small 11 times of 12.
    let big = &board.models[0];
    assert_eq!((big.wins, big.ties, big.losses), (8 + 11, 1, 3 + 1));
    assert_eq!(board.games[0][1], 12);
    assert!((board.win_rate[0][1].unwrap() - 8.5 / 12.0).abs() < 1e-12);
    assert!((board.win_rate[0][2].unwrap() - 11.0 / 12.0).abs() < 1e-12);
    assert_eq!(board.win_rate[0][0], None);
    // Intervals: the anchor's is its rating (the scale is relative to it); the others' hold
    // their rating, and ranks respect them.
    assert_eq!((big.lower, big.upper), (Some(1000.0), Some(1000.0)));
    for m in &board.models[1..] {
        let (lo, hi) = (m.lower.unwrap(), m.upper.unwrap());
        assert!(
            lo < hi && lo <= m.rating + 1e-9 && m.rating <= hi + 1e-9,
            "{m:?}"
        );
    }
    let lower: Vec<f64> = board.models.iter().map(|m| m.lower.unwrap()).collect();
    let upper: Vec<f64> = board.models.iter().map(|m| m.upper.unwrap()).collect();
    let ranks: Vec<usize> = board.models.iter().map(|m| m.rank).collect();
    assert_eq!(ranks, bradley_terry::ranks(&lower, &upper));
    // The same seed, the same report; another anchor moves the scale, not the gaps.
    let again = leaderboard::leaderboard(&app.pool, &Actor::cli(), "m", &Options::default())
        .await
        .unwrap();
    assert_eq!(again.models[1].lower, board.models[1].lower);
    let mid = leaderboard::leaderboard(
        &app.pool,
        &Actor::cli(),
        "m",
        &Options {
            rounds: Some(0),
            anchor: Some("mid".into()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(mid.models[1].rating, 1000.0);
    assert!((mid.models[0].rating - 1000.0 - (big.rating - board.models[1].rating)).abs() < 1e-6);
    assert_eq!(mid.models[0].lower, None, "no rounds, no intervals");
    // Text for the terminal.
    assert!(leaderboard::table(&board).contains("36 comparisons from 12 items"));
}

#[sqlx::test]
async fn a_model_that_never_loses_gets_a_finite_marked_rating(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    ranked_project(&app, "w", &vec![vec![vec![0], vec![1], vec![2]]; 3]).await;
    let board = leaderboard::leaderboard(&app.pool, &Actor::cli(), "w", &Options::default())
        .await
        .unwrap();
    assert!(board.regularized);
    assert!(board.models.iter().all(|m| m.rating.is_finite()));
    assert_eq!(board.models[0].model, "big");
    assert!(leaderboard::table(&board).contains("bounded by a small prior"));
}

#[sqlx::test]
async fn the_leaderboard_refuses_bad_options_and_strangers(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    ranked_project(&app, "m", &orders()[..2]).await;
    let field = |r: Result<leaderboard::Leaderboard, Error>| match r {
        Err(Error::Invalid(e)) => e.field.unwrap(),
        other => panic!("{other:?}"),
    };
    let cli = Actor::cli();
    let bad = |rounds, anchor: &str| Options {
        rounds,
        anchor: Some(anchor.into()),
        ..Options::default()
    };
    assert_eq!(
        field(leaderboard::leaderboard(&app.pool, &cli, "m", &bad(Some(5000), "")).await),
        "rounds"
    );
    assert_eq!(
        field(leaderboard::leaderboard(&app.pool, &cli, "m", &bad(None, "gpt-9")).await),
        "anchor"
    );
    let ann = Actor::from(&app.user("x@example.org", Role::Annotator).await);
    assert!(matches!(
        leaderboard::leaderboard(&app.pool, &ann, "m", &Options::default()).await,
        Err(Error::Forbidden)
    ));
    // Over the API, with export:read.
    let reader = token(&app, &["export:read"], Some("m")).await;
    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/m/leaderboard?rounds=50",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rounds"], 50);
    assert_eq!(body["models"][0]["model"], "big");
    let (status, _, body) = api_call(
        &app,
        "GET",
        "/api/v1/projects/m/leaderboard?rounds=many",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[sqlx::test]
async fn the_leaderboard_page_draws_the_chart_and_the_tables(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    ranked_project(&app, "m", &orders()).await;
    app.user("root@example.org", Role::Admin).await;
    let admin = app.session_for("root@example.org").await;
    let page = app
        .get("/projects/m/leaderboard?rounds=50", Some(&admin))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = common::body_text(page).await;
    assert!(
        html.contains("<svg") && html.contains("Ratings with 95% intervals"),
        "{html}"
    );
    assert!(html.contains("1. big") && html.contains("small"));
    assert!(html.contains("36 comparisons from 12 items; 50 bootstrap rounds."));
    assert!(html.contains("71% of 12"), "big over mid: 8.5 of 12");
    let bad = app
        .get("/projects/m/leaderboard?anchor=nobody", Some(&admin))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        common::body_text(bad)
            .await
            .contains("anchor: no compared model")
    );
    let json = app
        .get("/projects/m/leaderboard.json?rounds=0", Some(&admin))
        .await;
    assert_eq!(json.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&common::body_text(json).await).unwrap();
    assert_eq!(body["models"][0]["model"], "big");
    assert!(
        html.contains("Sources side by side"),
        "every source's board"
    );
    // The chart alone, for the dashboard's image: a document of its own.
    let svg = app
        .get("/projects/m/leaderboard.svg?rounds=20", Some(&admin))
        .await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = common::body_text(svg).await;
    assert!(svg.starts_with("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("1. big") && svg.contains("<circle"), "{svg}");
    assert!(!svg.contains("<!>"), "XML: no HTML markers");
    // A project without rankings: the image says what is missing.
    projects::create(&app.pool, &Actor::cli(), "bare", "Bare")
        .await
        .unwrap();
    let svg = common::body_text(
        app.get("/projects/bare/leaderboard.svg", Some(&admin))
            .await,
    )
    .await;
    assert!(svg.contains("answers need a model name"), "{svg}");
    let annotator = app.session_for("ann-m@example.org").await;
    let refused = app.get("/projects/m/leaderboard", Some(&annotator)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = app
        .get("/projects/m/leaderboard.svg", Some(&annotator))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn the_leaderboard_slices_by_a_metadata_field_and_a_date_range(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    ranked_project(&app, "m", &orders()).await;
    let cli = Actor::cli();
    let by = Options {
        rounds: Some(20),
        by: Some("parity".into()),
        ..Options::default()
    };
    let board = leaderboard::leaderboard(&app.pool, &cli, "m", &by)
        .await
        .unwrap();
    let values: Vec<Option<&str>> = board.slices.iter().map(|s| s.value.as_deref()).collect();
    assert_eq!(values, [Some("even"), Some("odd")]);
    assert!(
        board
            .slices
            .iter()
            .all(|s| s.items == 6 && s.comparisons == 18)
    );
    // Each slice is its own fit: the even items hold one mid-first ranking (8) and the
    // reversed one (10), so mid does better against big there than overall.
    let rating = |models: &[leaderboard::ModelStanding], name: &str| {
        models.iter().find(|m| m.model == name).unwrap().rating
    };
    let even = &board.slices[0];
    let gap = |models: &[leaderboard::ModelStanding]| rating(models, "mid") - rating(models, "big");
    assert!(gap(&even.models) > gap(&board.models), "{:?}", even.models);
    assert!(leaderboard::table(&board).contains("odd: 18 comparisons from 6 items"));
    // Dates: today has everything, tomorrow nothing; bad days are refused naming the field.
    let today = chrono::Utc::now().date_naive();
    let on = |from: String, to: String| Options {
        rounds: Some(0),
        from: Some(from),
        to: Some(to),
        ..Options::default()
    };
    let all = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "m",
        &on(today.to_string(), today.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(all.comparisons, 36);
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    let none = leaderboard::leaderboard(&app.pool, &cli, "m", &on(tomorrow.clone(), tomorrow))
        .await
        .unwrap();
    assert_eq!((none.comparisons, none.models.len()), (0, 0));
    for (options, field) in [
        (on("soon".into(), String::new()), "from"),
        (
            on(
                today.to_string(),
                (today - chrono::Duration::days(1)).to_string(),
            ),
            "to",
        ),
    ] {
        match leaderboard::leaderboard(&app.pool, &cli, "m", &options).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field.as_deref(), Some(field)),
            other => panic!("{other:?}"),
        }
    }
}

fn with(f: impl FnOnce(&mut Options)) -> Options {
    let mut o = Options {
        rounds: Some(50),
        ..Options::default()
    };
    f(&mut o);
    o
}

#[sqlx::test]
async fn proposals_and_end_users_are_sources_of_their_own(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    // Annotators: big over mid over small on every item.
    ranked_project(&app, "s", &vec![vec![vec![0], vec![1], vec![2]]; 4]).await;
    // The model's proposals say the opposite: small over mid over big.
    sqlx::query(
        "INSERT INTO proposals (item_id, project_id, status, model, ranking, thumbs, latency_ms)
         SELECT i.item_id, i.project_id, 'done', 'judge',
                (SELECT jsonb_agg(jsonb_build_array(r.response_id) ORDER BY r.content DESC)
                 FROM responses r WHERE r.item_id = i.item_id),
                '{}'::jsonb, 10
         FROM items i JOIN projects p USING (project_id) WHERE p.slug = 's'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let labels = leaderboard::leaderboard(&app.pool, &cli, "s", &with(|_| {}))
        .await
        .unwrap();
    assert_eq!(labels.source, leaderboard::Source::Labels);
    assert_eq!(labels.models[0].model, "big");
    let proposed = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "s",
        &with(|o| o.source = Some("proposals".into())),
    )
    .await
    .unwrap();
    // "small 0" > "mid 0" > "big 0" by content, descending.
    let order: Vec<&str> = proposed.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(order, vec!["small", "mid", "big"]);
    assert_eq!(proposed.items, 4);

    // End users: on one prompt, big's answer is liked by three and disliked by one (net
    // up), small's disliked by two; on another, mid liked and big disliked.
    let secret = token(&app, &["feedback:write"], Some("s")).await;
    for (prompt, answer, model, user, thumb) in [
        ("Capital?", "Paris", "big", "u1", "up"),
        ("Capital?", "Paris", "big", "u2", "up"),
        ("Capital?", "Paris", "big", "u3", "up"),
        ("Capital?", "Paris", "big", "u4", "down"),
        ("Capital?", "Lyon", "small", "u5", "down"),
        ("Capital?", "Lyon", "small", "u6", "down"),
        ("Largest?", "Jupiter", "mid", "u1", "up"),
        ("Largest?", "Saturn", "big", "u2", "down"),
    ] {
        let body = json!({"prompt": prompt, "answer": answer, "model": model, "end_user": user, "thumb": thumb});
        let (status, _, reply) = api_call(
            &app,
            "POST",
            "/api/v1/projects/s/feedback",
            Some(&secret),
            Some(&body),
        )
        .await;
        assert!(status.is_success(), "{reply}");
    }
    let users = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "s",
        &with(|o| o.source = Some("end_users".into())),
    )
    .await
    .unwrap();
    assert!(users.thumbs, "end users' thumbs are their judgment");
    assert_eq!((users.items, users.comparisons), (2, 2), "{users:?}");
    let record = |name: &str| {
        let m = users.models.iter().find(|m| m.model == name).unwrap();
        (m.wins, m.ties, m.losses)
    };
    assert_eq!(record("big"), (1, 0, 1));
    assert_eq!(record("small"), (0, 0, 1));
    assert_eq!(record("mid"), (1, 0, 0));

    // Side by side: the three sources, each with its own board.
    let all = leaderboard::side_by_side(&app.pool, &cli, "s", &with(|_| {}))
        .await
        .unwrap();
    let sources: Vec<_> = all.iter().map(|b| (b.source, b.comparisons)).collect();
    assert_eq!(
        sources,
        vec![
            (leaderboard::Source::Labels, 12),
            (leaderboard::Source::Proposals, 12),
            (leaderboard::Source::EndUsers, 2)
        ]
    );

    let field = |r: Result<leaderboard::Leaderboard, Error>| match r {
        Err(Error::Invalid(e)) => e.field.unwrap(),
        other => panic!("{other:?}"),
    };
    for (name, options) in [
        ("source", with(|o| o.source = Some("judges".into()))),
        ("thumbs", with(|o| o.thumbs = Some("maybe".into()))),
        (
            "length_control",
            with(|o| o.length_control = Some("yes please".into())),
        ),
    ] {
        assert_eq!(
            field(leaderboard::leaderboard(&app.pool, &cli, "s", &options).await),
            name
        );
    }
}

#[sqlx::test]
async fn thumbs_count_as_pairs_when_asked(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, "t", "Thumbs")
        .await
        .unwrap();
    let mut form = common::rankings_form("Thumbs", 1, false);
    form.ranking = None;
    form.thumbs = Some("on".into());
    projects::update(&app.pool, &cli, "t", &form).await.unwrap();
    let values: Vec<serde_json::Value> = (0..3)
        .map(|k| {
            let responses: Vec<serde_json::Value> =
                MODELS.iter().map(|m| json!({"content": format!("{m} {k}"), "model": m})).collect();
            json!({"external_id": format!("i{k}"), "prompt": format!("Q{k}?"), "responses": responses})
        })
        .collect();
    items::push(&app.pool, &cli, "t", &values).await.unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    // Thumbs up on big and mid, down on small.
    for _ in 0..3 {
        let task = labeling::next(&app.pool, &ann, "t").await.unwrap().unwrap();
        let mut input = common::ranked_as_shown(&task, 1000);
        input.body.ranking = None;
        input.body.thumbs = task
            .answers
            .iter()
            .map(|a| (a.response_id, !a.content.starts_with("small")))
            .collect();
        labeling::submit(&app.pool, &ann, "t", input).await.unwrap();
    }
    let without = leaderboard::leaderboard(&app.pool, &cli, "t", &with(|_| {}))
        .await
        .unwrap();
    assert!(without.models.is_empty() && !without.thumbs);
    let with_thumbs = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "t",
        &with(|o| o.thumbs = Some("true".into())),
    )
    .await
    .unwrap();
    // Per item: big = mid (both up, a tie), big > small, mid > small.
    assert_eq!((with_thumbs.items, with_thumbs.comparisons), (3, 9));
    let big = with_thumbs
        .models
        .iter()
        .find(|m| m.model == "big")
        .unwrap();
    assert_eq!((big.wins, big.ties, big.losses), (3, 3, 0));
    assert_eq!(with_thumbs.models.last().unwrap().model, "small");
}

#[sqlx::test]
async fn length_control_takes_the_length_advantage_away(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, "l", "Lengths")
        .await
        .unwrap();
    projects::update(
        &app.pool,
        &cli,
        "l",
        &common::rankings_form("Lengths", 1, false),
    )
    .await
    .unwrap();
    // Two models; on each item one of them writes the long answer (500 characters to 125,
    // so the length difference over the sum is ±0.6): "wordy" on 36 items, "terse" on 12.
    // The long answer wins 3 in 4 whoever wrote it. Without control wordy wins 30 of 48
    // (27 + 3): 400·log10(30/18) = 88.7 points; with it the models are equal (θ + 0.6β =
    // logit ¾ on wordy's long items, θ − 0.6β = logit ¼ on terse's, so θ = 0).
    let n = 48;
    let values: Vec<serde_json::Value> = (0..n)
        .map(|k| {
            let wordy_long = k % 4 != 0;
            let (w, t) = if wordy_long { (491, 116) } else { (116, 491) };
            json!({"external_id": format!("i{k}"), "prompt": format!("Q{k}?"), "responses": [
                {"content": format!("wordy {k:02} {}", "w".repeat(w)), "model": "wordy"},
                {"content": format!("terse {k:02} {}", "t".repeat(t)), "model": "terse"}]})
        })
        .collect();
    items::push(&app.pool, &cli, "l", &values).await.unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    for _ in 0..n {
        let task = labeling::next(&app.pool, &ann, "l").await.unwrap().unwrap();
        let k: usize = task.messages.last().unwrap().content[1..]
            .trim_end_matches('?')
            .parse()
            .unwrap();
        let mut answers = task.answers.clone();
        answers.sort_by_key(|a| std::cmp::Reverse(a.content.len()));
        // The longer first, but the shorter on items 0-3, 16-19 and 32-35 (a quarter of
        // each kind: 9 of wordy's long ones, 3 of terse's).
        if (k / 4).is_multiple_of(4) {
            answers.reverse();
        }
        let mut input = common::ranked_as_shown(&task, 1000);
        input.body.ranking = Some(answers.iter().map(|a| vec![a.response_id]).collect());
        labeling::submit(&app.pool, &ann, "l", input).await.unwrap();
    }
    let plain = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "l",
        &with(|o| o.anchor = Some("terse".into())),
    )
    .await
    .unwrap();
    let controlled = leaderboard::leaderboard(
        &app.pool,
        &cli,
        "l",
        &with(|o| {
            o.anchor = Some("terse".into());
            o.length_control = Some("true".into());
        }),
    )
    .await
    .unwrap();
    let gap = |b: &leaderboard::Leaderboard| {
        b.models.iter().find(|m| m.model == "wordy").unwrap().rating - 1000.0
    };
    assert!(plain.length_coefficient.is_none());
    assert!(controlled.length_control);
    assert!(
        controlled.length_coefficient.unwrap() > 0.0,
        "{controlled:?}"
    );
    let expected = 400.0 * (30.0f64 / 18.0).log10();
    assert!(
        (gap(&plain) - expected).abs() < 1e-6,
        "{} against {expected}",
        gap(&plain)
    );
    assert!(
        gap(&controlled).abs() < 1e-6,
        "with control: {}",
        gap(&controlled)
    );
    let beta = controlled.length_coefficient.unwrap();
    assert!((beta - 3f64.ln() / 0.6).abs() < 1e-6, "{beta}");
}
