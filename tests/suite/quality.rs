//! Agreement through the real submission path: the running sums a report reads agree with
//! the reference values of `src/server/stats/reference.json` (computed by
//! `scripts/stats-reference.py` with the `krippendorff`, `scipy` and `scikit-learn` packages)
//! when the same labels arrive as submissions, after edits, and after a rebuild.

use crate::common;

use serde_json::Value;
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Flag, Task};
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::proposal::Judgement;
use verdict::model::user::{NewUser, Role};
use verdict::server::services::{self, Actor, labeling, quality};
use verdict::server::stats::{self, Coincidences, Level};
use verdict::server::store::{projects, proposals};

const REFERENCE: &str = include_str!("../../src/server/stats/reference.json");

fn case(section: &str, name: &str) -> Value {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    reference[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {section} case {name:?} in reference.json"))
        .clone()
}

/// Project `p` (answers in their original order, ties allowed, overlap `overlap`) with one
/// item per entry of `answers`, named `q0`, `q1`….
async fn project(pool: &PgPool, answers: &[usize], overlap: i32) {
    let project_id = projects::ensure(pool, "p", "Quality", "").await.unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = overlap;
    settings.shuffle_answers = false;
    settings.kinds.allow_ties = true;
    projects::update_settings(pool, &settings).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for (n, &k) in answers.iter().enumerate() {
        let item = NewItem {
            external_id: Some(format!("q{n}")),
            messages: vec![Message {
                role: ChatRole::User,
                content: format!("Question {n}?"),
            }],
            responses: (0..k)
                .map(|a| NewResponse {
                    model: None,
                    content: format!("Answer {a} to {n}"),
                })
                .collect(),
            metadata: serde_json::json!({}),
            gold: None,
        };
        services::items::add(&mut conn, project_id, &item)
            .await
            .unwrap();
    }
}

async fn annotators(pool: &PgPool, n: usize) -> Vec<Actor> {
    let mut actors = Vec::new();
    for i in 0..n {
        let new = NewUser::parse(
            &format!("a{i}@example.org"),
            &format!("Annotator {i}"),
            "a long test password",
            Role::Annotator,
        )
        .unwrap();
        let user = services::users::create_account(pool, new).await.unwrap();
        common::join_every_project(pool, &user).await;
        actors.push(Actor::from(&user));
    }
    actors
}

/// What one annotator says about one item, by answer position.
#[derive(Clone, Default)]
struct Says {
    tiers: Vec<Vec<usize>>,
    thumbs: BTreeMap<usize, bool>,
    flags: Vec<Flag>,
}

fn input(task: &Task, says: &Says) -> AnnotationInput {
    let id = |i: usize| task.answers[i].response_id;
    AnnotationInput {
        annotation_id: Uuid::new_v4(),
        item_id: task.item_id,
        body: AnnotationBody {
            ranking: Some(
                says.tiers
                    .iter()
                    .map(|t| t.iter().map(|&i| id(i)).collect())
                    .collect(),
            ),
            thumbs: says.thumbs.iter().map(|(&i, &up)| (id(i), up)).collect(),
            flags: says.flags.clone(),
            ..Default::default()
        },
        shown_order: task.answers.iter().map(|a| a.response_id).collect(),
        time_spent_ms: 1000,
        ..Default::default()
    }
}

/// Each annotator takes items from the queue in order and labels each as `says(annotator,
/// item)` tells; returns the stored inputs by (annotator, item).
async fn label_all(
    pool: &PgPool,
    people: &[Actor],
    says: impl Fn(usize, usize) -> Says,
) -> BTreeMap<(usize, usize), AnnotationInput> {
    let mut stored = BTreeMap::new();
    for (a, person) in people.iter().enumerate() {
        while let Some(task) = labeling::next(pool, person, "p").await.unwrap() {
            let n: usize = task_number(&task);
            let input = input(&task, &says(a, n));
            labeling::submit(pool, person, "p", input.clone())
                .await
                .unwrap();
            stored.insert((a, n), input);
        }
    }
    stored
}

fn task_number(task: &Task) -> usize {
    let text = &task.messages[0].content;
    text.trim_start_matches("Question ")
        .trim_end_matches('?')
        .parse()
        .unwrap()
}

/// The report once the servers' counting has caught up (as it does within seconds).
async fn counted_report(pool: &PgPool) -> quality::QualityReport {
    quality::count_marked(pool).await.unwrap();
    let report = quality::report(pool, &Actor::cli(), "p").await.unwrap();
    assert_eq!(report.pending_items, 0);
    report
}

fn close(got: Option<f64>, expected: Option<f64>, what: &str) {
    match (got, expected) {
        (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{what}: {g} against {e}"),
        (None, None) => {}
        _ => panic!("{what}: {got:?} against {expected:?}"),
    }
}

/// The reference's "unequal marginals" kappa case, and its two raters' labels as thumbs.
fn kappa_case() -> (Value, Vec<bool>, Vec<bool>) {
    let kappa = case("kappa", "unequal marginals");
    let labels = |side: &str| -> Vec<bool> {
        kappa[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() == 1)
            .collect()
    };
    let (first, second) = (labels("a"), labels("b"));
    (kappa, first, second)
}

fn thumb(value: &Value) -> Option<bool> {
    value.as_f64().map(|v| v == 1.0)
}

#[sqlx::test]
async fn thumbs_alpha_and_kendall_w_of_submissions_match_the_references(pool: PgPool) {
    // The reference's ten units are the answers of five two-answer items; the Kendall's W
    // case's five objects are the answers of a sixth item.
    let alpha = case("alpha", "binary, three coders, missing values");
    let w = case("kendall_w", "ties, 3 raters x 5 objects");
    project(&pool, &[2, 2, 2, 2, 2, 5], 3).await;
    let people = annotators(&pool, 3).await;
    label_all(&pool, &people, |a, n| {
        if n == 5 {
            let tiers = w["tiers"][a].as_array().unwrap();
            return Says {
                tiers: tiers
                    .iter()
                    .map(|t| {
                        t.as_array()
                            .unwrap()
                            .iter()
                            .map(|o| o.as_u64().unwrap() as usize)
                            .collect()
                    })
                    .collect(),
                ..Says::default()
            };
        }
        let row = &alpha["data"][a];
        Says {
            tiers: vec![vec![0], vec![1]],
            thumbs: (0..2)
                .filter_map(|i| thumb(&row[2 * n + i]).map(|up| (i, up)))
                .collect(),
            ..Says::default()
        }
    })
    .await;

    let report = counted_report(&pool).await;
    assert_eq!(report.items_compared, 6);
    close(
        report.thumbs.alpha,
        alpha["expected"].as_f64(),
        "thumbs alpha",
    );
    let worst = &report.contentious[0];
    assert_eq!(worst.external_id.as_deref(), Some("q5"));
    close(worst.kendall_w, w["expected"].as_f64(), "Kendall's W of q5");
    // Five items where everyone ranked alike (W = 1) and q5.
    close(
        report.ranking.mean_kendall_w,
        Some((5.0 + w["expected"].as_f64().unwrap()) / 6.0),
        "mean W",
    );
    assert_eq!(report.pairs.len(), 3, "three annotator pairs");
}

#[sqlx::test]
async fn pair_kappa_matches_scikit_learn(pool: PgPool) {
    let (kappa, first, second) = kappa_case();
    assert_eq!(first.len(), 10, "ten thumbs: five items of two answers");
    project(&pool, &[2; 5], 2).await;
    let people = annotators(&pool, 2).await;
    label_all(&pool, &people, |a, n| {
        let side = if a == 0 { &first } else { &second };
        Says {
            tiers: vec![vec![0, 1]],
            thumbs: (0..2).map(|i| (i, side[2 * n + i])).collect(),
            ..Says::default()
        }
    })
    .await;
    let report = counted_report(&pool).await;
    let pair = &report.pairs[0];
    assert_eq!((pair.items, pair.thumbs_compared), (5, 10));
    close(pair.thumbs_kappa, kappa["expected"].as_f64(), "kappa");
    // Both tied every item: every answer pair ordered alike.
    close(pair.pairwise_agreement, Some(1.0), "pairwise agreement");
}

/// A stored label: ranking, thumbs, flags.
type Row = (Option<Value>, Value, Vec<String>);

/// The figures recomputed from every stored label, without the running sums.
async fn from_scratch(pool: &PgPool) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
    let rows: Vec<(Uuid, Option<Value>, Value, Vec<String>)> = sqlx::query_as(
        "SELECT item_id, ranking, thumbs, flags::text[] FROM annotations ORDER BY item_id, user_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut by_item: BTreeMap<Uuid, Vec<Row>> = BTreeMap::new();
    for (item, ranking, thumbs, flags) in rows {
        by_item
            .entry(item)
            .or_default()
            .push((ranking, thumbs, flags));
    }
    let mut thumbs = Coincidences::new();
    let mut ranks = Coincidences::new();
    let mut unsafe_flag = Coincidences::new();
    let mut agreement = stats::Agreement::default();
    for labels in by_item.values() {
        let answers: std::collections::BTreeSet<String> = labels
            .iter()
            .flat_map(|(_, t, _)| t.as_object().unwrap().keys().cloned())
            .collect();
        for answer in &answers {
            let values: Vec<i64> = labels
                .iter()
                .filter_map(|(_, t, _)| t.get(answer).and_then(Value::as_bool))
                .map(i64::from)
                .collect();
            thumbs.add_unit(&values);
        }
        let tiers: Vec<Vec<Vec<Uuid>>> = labels
            .iter()
            .filter_map(|(r, _, _)| r.clone())
            .map(|r| serde_json::from_value(r).unwrap())
            .collect();
        let mids: Vec<BTreeMap<Uuid, f64>> = tiers.iter().map(|t| stats::mid_ranks(t)).collect();
        let ranked: std::collections::BTreeSet<&Uuid> =
            mids.iter().flat_map(|m| m.keys()).collect();
        if mids.len() >= 2 {
            for answer in ranked {
                let values: Vec<i64> = mids
                    .iter()
                    .filter_map(|m| m.get(answer))
                    .map(|r| (r * 2.0) as i64)
                    .collect();
                ranks.add_unit(&values);
            }
        }
        for (i, a) in tiers.iter().enumerate() {
            for b in &tiers[i + 1..] {
                agreement += stats::pairwise(a, b);
            }
        }
        let flagged: Vec<i64> = labels
            .iter()
            .map(|(_, _, f)| i64::from(f.iter().any(|f| f == "unsafe")))
            .collect();
        unsafe_flag.add_unit(&flagged);
    }
    (
        thumbs.alpha(Level::Nominal),
        ranks.alpha(Level::Ordinal),
        agreement.share(),
        unsafe_flag.alpha(Level::Nominal),
    )
}

async fn reported(pool: &PgPool) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
    let r = counted_report(pool).await;
    let unsafe_alpha = r
        .flags
        .iter()
        .find(|f| f.flag == Flag::Unsafe)
        .unwrap()
        .alpha;
    (
        r.thumbs.alpha,
        r.ranking.alpha_ordinal,
        r.ranking.pairwise_agreement,
        unsafe_alpha,
    )
}

fn same(
    got: (Option<f64>, Option<f64>, Option<f64>, Option<f64>),
    want: (Option<f64>, Option<f64>, Option<f64>, Option<f64>),
) {
    close(got.0, want.0, "thumbs alpha");
    close(got.1, want.1, "ordinal alpha");
    close(got.2, want.2, "pairwise agreement");
    close(got.3, want.3, "unsafe alpha");
}

#[sqlx::test]
async fn edits_and_a_rebuild_keep_the_running_sums_right(pool: PgPool) {
    project(&pool, &[3, 4, 2, 3, 4, 3, 2, 4], 4).await;
    let people = annotators(&pool, 4).await;
    // Labels that vary with annotator and item, with ties, missing thumbs and flags.
    let says = |a: usize, n: usize| {
        let k = [3, 4, 2, 3, 4, 3, 2, 4][n];
        let mut order: Vec<usize> = (0..k).collect();
        order.rotate_left((a * n + a) % k);
        let mut tiers: Vec<Vec<usize>> = order.iter().map(|&i| vec![i]).collect();
        if (a + n).is_multiple_of(3) && tiers.len() > 2 {
            let tail = tiers.pop().unwrap();
            tiers.last_mut().unwrap().extend(tail);
        }
        Says {
            tiers,
            thumbs: (0..k)
                .filter(|i| !(a + i + n).is_multiple_of(4))
                .map(|i| (i, (a * 7 + i * 3 + n) % 5 < 3))
                .collect(),
            flags: if (a + 2 * n).is_multiple_of(5) {
                vec![Flag::Unsafe]
            } else {
                vec![]
            },
        }
    };
    let stored = label_all(&pool, &people, says).await;
    let expected = from_scratch(&pool).await;
    assert!(expected.0.is_some() && expected.1.is_some() && expected.3.is_some());
    same(reported(&pool).await, expected);

    // Edits change the figures; the sums follow.
    for ((a, n), input) in stored.iter().filter(|((a, n), _)| (a + n) % 2 == 0) {
        let mut edit = input.clone();
        edit.base_version = Some(1);
        edit.body.thumbs = edit
            .body
            .thumbs
            .iter()
            .map(|(&id, &up)| (id, !up))
            .collect();
        if let Some(ranking) = edit.body.ranking.as_mut() {
            ranking.reverse();
        }
        edit.body.flags = if n % 2 == 0 {
            vec![Flag::Unsafe]
        } else {
            vec![]
        };
        labeling::submit(&pool, &people[*a], "p", edit)
            .await
            .unwrap();
    }
    let edited = from_scratch(&pool).await;
    assert_ne!(edited.0, expected.0, "the edits changed the thumbs");
    assert!(
        quality::report(&pool, &Actor::cli(), "p")
            .await
            .unwrap()
            .pending_items
            > 0,
        "edits are counted beside the submissions"
    );
    same(reported(&pool).await, edited);

    // A deleted item takes its part of the sums with it.
    services::items::delete(&pool, &Actor::cli(), "p", "q3")
        .await
        .unwrap();
    let edited = from_scratch(&pool).await;
    same(reported(&pool).await, edited);

    // Emptied and rebuilt from the labels (as after the migration): the same figures.
    sqlx::query("TRUNCATE item_agreement, agreement_cells, agreement_pairs")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO agreement_rebuilds SELECT project_id FROM projects")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(quality::rebuild_pending(&pool).await.unwrap(), 7);
    same(reported(&pool).await, edited);
    // Counting again changes nothing.
    assert_eq!(
        quality::rebuild_project(&pool, &Actor::cli(), "p")
            .await
            .unwrap(),
        7
    );
    same(reported(&pool).await, edited);
}

#[sqlx::test]
async fn only_admins_read_the_report(pool: PgPool) {
    project(&pool, &[2], 2).await;
    let people = annotators(&pool, 1).await;
    assert!(matches!(
        quality::report(&pool, &people[0], "p").await,
        Err(verdict::server::Error::Forbidden)
    ));
    assert!(matches!(
        quality::report(&pool, &Actor::cli(), "nope").await,
        Err(verdict::server::Error::NotFound(_))
    ));
}

#[sqlx::test]
async fn racing_submissions_keep_the_running_sums_right(pool: PgPool) {
    // Eight annotators at once on items of three answers, and a counter beside them: the
    // items' locks keep each item's count to one transaction (a submission still running
    // keeps its mark for a later pass), the shared sums are taken in one order (no
    // deadlock), and nothing is lost.
    project(&pool, &[3; 12], 4).await;
    let people = annotators(&pool, 8).await;
    let handles: Vec<_> = people
        .iter()
        .cloned()
        .enumerate()
        .map(|(a, person)| {
            let pool = pool.clone();
            tokio::spawn(async move {
                while let Some(task) = labeling::next(&pool, &person, "p").await.unwrap() {
                    let n = task_number(&task);
                    let mut order = [0, 1, 2];
                    order.rotate_left((a + n) % 3);
                    let says = Says {
                        tiers: order.iter().map(|&i| vec![i]).collect(),
                        thumbs: (0..3)
                            .map(|i| (i, !(a + i * n).is_multiple_of(3)))
                            .collect(),
                        flags: vec![],
                    };
                    labeling::submit(&pool, &person, "p", input(&task, &says))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // Meanwhile a server counts what they mark, as `verdict serve` does every two seconds.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let counter = {
        let (pool, done) = (pool.clone(), done.clone());
        tokio::spawn(async move {
            let mut counted = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                counted += quality::count_marked(&pool).await.unwrap();
                tokio::task::yield_now().await;
            }
            counted
        })
    };
    for handle in handles {
        handle.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        counter.await.unwrap() > 0,
        "the counter counted while they labeled"
    );
    let labels: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(labels, 48, "every item labeled four times");
    same(reported(&pool).await, from_scratch(&pool).await);
}

#[sqlx::test]
async fn the_quality_page_and_the_api_show_the_report(pool: PgPool) {
    use axum::http::StatusCode;
    let (kappa, first, second) = kappa_case();
    project(&pool, &[2; 5], 2).await;
    projects::ensure(&pool, "other", "Other", "").await.unwrap();
    let people = annotators(&pool, 2).await;
    label_all(&pool, &people, |a, n| {
        let side = if a == 0 { &first } else { &second };
        Says {
            tiers: vec![vec![0], vec![1]],
            thumbs: (0..2).map(|i| (i, side[2 * n + i])).collect(),
            ..Says::default()
        }
    })
    .await;
    quality::count_marked(&pool).await.unwrap();
    let app = common::TestApp::new(pool.clone()).await;
    let expected = format!("{:.3}", kappa["expected"].as_f64().unwrap());

    app.user("admin@example.org", Role::Admin).await;
    let admin = app.session_for("admin@example.org").await;
    let page = app.get("/projects/p/quality", Some(&admin)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = common::body_text(page).await;
    assert!(html.contains("Krippendorff"), "{html}");
    assert!(
        html.contains(&expected),
        "the pair's kappa {expected} in {html}"
    );
    assert!(html.contains("Annotator 0") && html.contains("Annotator 1"));
    assert!(!html.contains("<script"), "the page loads no script");

    let annotator = app.session_for("a0@example.org").await;
    let refused = app.get("/projects/p/quality", Some(&annotator)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let nobody = app.get("/projects/p/quality", None).await;
    assert_eq!(common::location(&nobody), "/login");

    let reader = common::token(&app, &["export:read"], None).await;
    let (status, _, body) = common::api_call(
        &app,
        "GET",
        "/api/v1/projects/p/quality",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pair_kappa = body["pairs"][0]["thumbs_kappa"].as_f64().unwrap();
    assert!((pair_kappa - kappa["expected"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(body["items_compared"], 5);
    assert!(body["ranking"]["mean_kendall_w"].is_number());

    let pusher = common::token(&app, &["items:write"], None).await;
    let (status, _, body) = common::api_call(
        &app,
        "GET",
        "/api/v1/projects/p/quality",
        Some(&pusher),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let elsewhere = common::token(&app, &["export:read"], Some("other")).await;
    let (status, _, _) = common::api_call(
        &app,
        "GET",
        "/api/v1/projects/p/quality",
        Some(&elsewhere),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = common::api_call(
        &app,
        "GET",
        "/api/v1/projects/none/quality",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, _, doc) = common::api_call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert!(doc["paths"]["/projects/{slug}/quality"]["get"].is_object());
}

#[sqlx::test]
async fn scorecards_count_work_agreement_and_position_bias(pool: PgPool) {
    // Answers shown in their order: annotator 0 always ranks the first shown first,
    // annotator 1 always the second, and skips the first item.
    project(&pool, &[2; 10], 2).await;
    let people = annotators(&pool, 2).await;
    let skipped = labeling::next(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    labeling::skip(&pool, &people[1], "p", skipped.item_id, None)
        .await
        .unwrap();
    label_all(&pool, &people, |a, _| Says {
        tiers: if a == 0 {
            vec![vec![0], vec![1]]
        } else {
            vec![vec![1], vec![0]]
        },
        ..Says::default()
    })
    .await;
    quality::count_marked(&pool).await.unwrap();
    let cards = quality::scorecards(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    let card = |name: &str| {
        cards
            .iter()
            .find(|c| c.annotator.display_name == name)
            .unwrap()
    };
    let (first, second) = (card("Annotator 0"), card("Annotator 1"));
    assert_eq!((first.labels, first.skips), (10, 0));
    assert_eq!((second.labels, second.skips), (9, 1));
    assert_eq!(first.median_seconds, Some(1.0));
    // They never agree: every answer pair both ranked is ordered the other way.
    assert_eq!(first.pairwise_agreement_with_others, Some(0.0));
    let bias = &first.position_bias[0];
    assert_eq!((bias.answers, bias.rankings, bias.first_shown), (2, 10, 10));
    // scipy.stats.binomtest(10, 10, 0.5).pvalue == 0.001953125 (2 * 0.5**10), and
    // binomtest(0, 9, 0.5).pvalue == 0.00390625.
    assert!(
        (bias.p_value - 0.001953125).abs() < 1e-12,
        "{}",
        bias.p_value
    );
    let bias = &second.position_bias[0];
    assert_eq!((bias.rankings, bias.first_shown), (9, 0));
    assert!(
        (bias.p_value - 0.00390625).abs() < 1e-12,
        "{}",
        bias.p_value
    );

    // An annotator sees their own, and only theirs.
    let mine = quality::my_scorecard(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.annotator.user_id, people[1].user_id);
    assert!(matches!(
        quality::scorecards(&pool, &people[1], "p").await,
        Err(verdict::server::Error::Forbidden)
    ));
}

/// Stores a done proposal by `model` for item `q{n}`: answers (by position) in `tiers`,
/// `thumbs`, at `confidence`; with `swapped`, a second judgement with the answers reversed.
async fn propose(
    pool: &PgPool,
    n: usize,
    model: &str,
    tiers: &[&[usize]],
    thumbs: &[(usize, bool)],
    confidence: f32,
) {
    let (item_id, project_id): (Uuid, Uuid) =
        sqlx::query_as("SELECT item_id, project_id FROM items WHERE external_id = $1")
            .bind(format!("q{n}"))
            .fetch_one(pool)
            .await
            .unwrap();
    let answers = answers_of(pool, item_id).await;
    let judgement = Judgement {
        ranking: tiers
            .iter()
            .map(|t| t.iter().map(|&i| answers[i]).collect())
            .collect(),
        thumbs: thumbs.iter().map(|&(i, up)| (answers[i], up)).collect(),
        rationale: "because".into(),
        confidence,
    };
    let stored = proposals::upsert(
        pool,
        &proposals::NewProposal {
            item_id,
            project_id,
            model,
            judgement: Some(&judgement),
            latency_ms: 1,
            error: None,
        },
    )
    .await
    .unwrap();
    assert!(stored);
}

async fn answers_of(pool: &PgPool, item_id: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT response_id FROM responses WHERE item_id = $1 ORDER BY ordinal")
        .bind(item_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn judge_calibration_of_proposals_matches_the_references(pool: PgPool) {
    // Twelve two-answer items, one annotator each. The model always ranks the first answer
    // first, at the confidences of the reference's calibration case; the annotator agrees
    // where the case says the model is right. The first five items' thumbs are the kappa
    // case's two raters: the model as the first, the annotator as the second.
    let calibration = case("calibration", "on the edges, both ends");
    let confidence: Vec<f64> = serde_json::from_value(calibration["confidence"].clone()).unwrap();
    let right: Vec<u8> = serde_json::from_value(calibration["right"].clone()).unwrap();
    let (kappa, first, second) = kappa_case();
    assert_eq!((confidence.len(), first.len()), (12, 10));
    project(&pool, &[2; 12], 1).await;
    let thumbs = |side: &[bool], n: usize| -> Vec<(usize, bool)> {
        if n < 5 {
            vec![(0, side[2 * n]), (1, side[2 * n + 1])]
        } else {
            vec![]
        }
    };
    // Half the proposals arrive before the labels, half after.
    for (n, &c) in confidence.iter().enumerate().take(6) {
        propose(
            &pool,
            n,
            "judge-a",
            &[&[0], &[1]],
            &thumbs(&first, n),
            c as f32,
        )
        .await;
    }
    let people = annotators(&pool, 1).await;
    label_all(&pool, &people, |_, n| Says {
        tiers: if right[n] == 1 {
            vec![vec![0], vec![1]]
        } else {
            vec![vec![1], vec![0]]
        },
        thumbs: thumbs(&second, n).into_iter().collect(),
        ..Says::default()
    })
    .await;
    for (n, &c) in confidence.iter().enumerate().skip(6) {
        propose(
            &pool,
            n,
            "judge-a",
            &[&[0], &[1]],
            &thumbs(&first, n),
            c as f32,
        )
        .await;
    }
    // Items 0-3 judged again with the answers reversed: 0 and 1 keep their best answer
    // (now shown second), 2 and 3 switch to the answer now shown first.
    for n in 0..4 {
        let item_id: Uuid = sqlx::query_scalar("SELECT item_id FROM items WHERE external_id = $1")
            .bind(format!("q{n}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        let answers = answers_of(&pool, item_id).await;
        let best = if n < 2 { answers[0] } else { answers[1] };
        let other = if n < 2 { answers[1] } else { answers[0] };
        let second = Judgement {
            ranking: vec![vec![best], vec![other]],
            thumbs: BTreeMap::new(),
            rationale: String::new(),
            confidence: 0.5,
        };
        proposals::upsert_swap(&pool, item_id, &[answers[1], answers[0]], &second)
            .await
            .unwrap();
    }
    let report = counted_report(&pool).await;
    assert_eq!(report.judges.len(), 1);
    let judge = &report.judges[0];
    assert_eq!(
        (judge.model.as_str(), judge.items, judge.judged),
        ("judge-a", 12, 12)
    );
    close(
        judge.expected_calibration_error,
        calibration["ece"].as_f64(),
        "ECE (scikit-learn's reliability table)",
    );
    let bins = calibration["bins"].as_array().unwrap();
    let filled: Vec<u64> = judge.reliability.iter().map(|b| b.proposals).collect();
    assert_eq!(filled.iter().sum::<u64>(), 12);
    for b in bins {
        let k = b["bin"].as_u64().unwrap() as usize;
        let got = &judge.reliability[k];
        assert_eq!(got.proposals, b["count"].as_u64().unwrap(), "bin {k}");
        close(got.accuracy, b["accuracy"].as_f64(), "bin accuracy");
        close(
            got.mean_confidence,
            b["mean_confidence"].as_f64(),
            "bin confidence",
        );
    }
    let right_share = right.iter().map(|&r| f64::from(r)).sum::<f64>() / 12.0;
    close(judge.accuracy, Some(right_share), "accuracy");
    // One answer pair per item, ordered as the (single-label) consensus where right.
    assert_eq!(judge.pairs_compared, 12);
    close(
        judge.pairwise_agreement,
        Some(right_share),
        "pairwise agreement",
    );
    assert_eq!(judge.thumbs_compared, 10);
    close(
        judge.thumbs_kappa,
        kappa["expected"].as_f64(),
        "thumbs kappa (scikit-learn)",
    );
    // Position: 4 items judged twice, 2 consistent; the first shown answer won 4 of the 4
    // first judgements and 2 of the 4 second ones: 6 of 8 against 1/2. The two-sided exact
    // binomial p-value is 2 * P(X >= 6) = 2 * 37/256 = 0.2890625
    // (scipy.stats.binomtest(6, 8, 0.5).pvalue).
    let position = &judge.position;
    assert_eq!((position.swapped_items, position.compared), (4, 4));
    close(position.consistent, Some(0.5), "consistency");
    assert_eq!(position.first_shown.len(), 1);
    let bias = &position.first_shown[0];
    assert_eq!((bias.answers, bias.rankings, bias.first_shown), (2, 8, 6));
    close(Some(bias.p_value), Some(0.2890625), "binomial p");
    // A rebuild from the labels gives the same figures.
    quality::rebuild_project(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    let rebuilt = counted_report(&pool).await;
    close(
        rebuilt.judges[0].expected_calibration_error,
        judge.expected_calibration_error,
        "ECE after a rebuild",
    );
    close(
        rebuilt.judges[0].thumbs_kappa,
        judge.thumbs_kappa,
        "kappa after a rebuild",
    );
}

#[sqlx::test]
async fn scorecards_agreement_with_the_others_consensus_matches_the_reference(pool: PgPool) {
    let case = case("leave_one_out", "4 annotators x 6 items, ties and absences");
    let items = case["items"].as_array().unwrap().clone();
    project(&pool, &[4; 6], 4).await;
    let people = annotators(&pool, 4).await;
    for (a, person) in people.iter().enumerate() {
        while let Some(task) = labeling::next(&pool, person, "p").await.unwrap() {
            let label = &items[task_number(&task)][a];
            if label.is_null() {
                labeling::skip(&pool, person, "p", task.item_id, None)
                    .await
                    .unwrap();
                continue;
            }
            let says = Says {
                tiers: serde_json::from_value(label["ranking"].clone()).unwrap(),
                thumbs: label["thumbs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| thumb(t).map(|up| (i, up)))
                    .collect(),
                ..Says::default()
            };
            labeling::submit(&pool, person, "p", input(&task, &says))
                .await
                .unwrap();
        }
    }
    counted_report(&pool).await;
    let cards = quality::scorecards(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    assert_eq!(cards.len(), 4);
    for (a, expected) in case["annotators"].as_array().unwrap().iter().enumerate() {
        let card = cards
            .iter()
            .find(|c| c.annotator.display_name == format!("Annotator {a}"))
            .unwrap();
        let what = |figure: &str| format!("annotator {a}: {figure}");
        let compared = expected["compared"].as_u64().unwrap();
        assert_eq!(card.consensus_pairs_compared, compared, "{}", what("pairs"));
        close(
            card.consensus_pairwise_agreement,
            Some(expected["agree"].as_f64().unwrap() / compared as f64),
            &what("pairwise agreement with the consensus"),
        );
        let thumbs = expected["thumbs_compared"].as_u64().unwrap();
        assert_eq!(card.consensus_thumbs_compared, thumbs, "{}", what("thumbs"));
        close(
            card.consensus_thumbs_agreement,
            Some(expected["thumbs_same"].as_f64().unwrap() / thumbs as f64),
            &what("thumbs agreement with the majority"),
        );
        close(
            card.consensus_thumbs_kappa,
            expected["thumbs_kappa"].as_f64(),
            &what("kappa with the majority (scikit-learn)"),
        );
        // This week's trend has their labels.
        assert_eq!(card.trend.len(), 1);
        assert_eq!(card.trend[0].labels, card.labels);
    }
}

#[sqlx::test]
async fn anchoring_compares_taking_proposals_with_the_hold_out_baseline(pool: PgPool) {
    project(&pool, &[2; 4], 2).await;
    sqlx::query("UPDATE projects SET proposal_holdout = 0.5")
        .execute(&pool)
        .await
        .unwrap();
    for n in 0..4 {
        propose(&pool, n, "judge-a", &[&[0], &[1]], &[], 0.9).await;
    }
    // One annotator who sees proposals and one held out (the split is by a hash of the ids).
    let project_id: Uuid = sqlx::query_scalar("SELECT project_id FROM projects")
        .fetch_one(&pool)
        .await
        .unwrap();
    let people = annotators(&pool, 40).await;
    let held = |p: &&Actor| verdict::model::proposal::held_out(p.user_id, project_id, 0.5);
    let shown = people.iter().find(|p| !held(p)).unwrap();
    let held_out = people.iter().find(held).unwrap();
    // The one shown takes every proposal as it is.
    while let Some(task) = labeling::next(&pool, shown, "p").await.unwrap() {
        let proposal = task.proposal.clone().expect("shown a proposal");
        let mut taken = input(&task, &Says::default());
        taken.body.ranking = Some(proposal.ranking.clone());
        taken.proposal_id = Some(proposal.proposal_id);
        labeling::submit(&pool, shown, "p", taken).await.unwrap();
    }
    // The one held out agrees with the model on one item of four.
    while let Some(task) = labeling::next(&pool, held_out, "p").await.unwrap() {
        assert!(task.proposal.is_none());
        let n = task_number(&task);
        let tiers = if n == 0 {
            vec![vec![0], vec![1]]
        } else {
            vec![vec![1], vec![0]]
        };
        let says = Says {
            tiers,
            ..Says::default()
        };
        labeling::submit(&pool, held_out, "p", input(&task, &says))
            .await
            .unwrap();
    }
    let cards = quality::scorecards(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    let card = |who: &Actor| {
        cards
            .iter()
            .find(|c| c.annotator.user_id == who.user_id)
            .unwrap()
    };
    let (a, b) = (card(shown), card(held_out));
    assert_eq!(
        (a.proposals_shown, a.proposals_accepted_as_is),
        (4, Some(1.0))
    );
    assert_eq!((b.unprompted_labels, b.unprompted_match), (4, Some(0.25)));
    assert_eq!(a.holdout_match, Some(0.25));
    assert_eq!(a.anchoring, Some(0.75));
    assert_eq!(b.anchoring, None, "never shown a proposal");
}

#[sqlx::test]
async fn the_models_figures_break_down_by_an_item_metadata_field(pool: PgPool) {
    // Four items, two per category; the model is right on both "math" items and on neither
    // "prose" one (one annotator each).
    project(&pool, &[2; 4], 1).await;
    for n in 0..4 {
        let category = if n < 2 { "math" } else { "prose" };
        sqlx::query("UPDATE items SET metadata = jsonb_build_object('category', $1::text) WHERE external_id = $2")
            .bind(category)
            .bind(format!("q{n}"))
            .execute(&pool)
            .await
            .unwrap();
        propose(&pool, n, "judge-a", &[&[0], &[1]], &[], 0.75).await;
    }
    let people = annotators(&pool, 1).await;
    label_all(&pool, &people, |_, n| Says {
        tiers: if n < 2 {
            vec![vec![0], vec![1]]
        } else {
            vec![vec![1], vec![0]]
        },
        ..Says::default()
    })
    .await;
    counted_report(&pool).await;
    let slices = quality::judge::by_field(&pool, &Actor::cli(), "p", "category")
        .await
        .unwrap();
    type Figures<'a> = (Option<&'a str>, u64, Option<f64>, Option<f64>);
    let figures: Vec<Figures> = slices
        .iter()
        .map(|s| {
            let j = &s.judges[0];
            (
                s.value.as_deref(),
                j.items,
                j.accuracy,
                j.expected_calibration_error,
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            (Some("math"), 2, Some(1.0), Some(0.25)),
            (Some("prose"), 2, Some(0.0), Some(0.75))
        ]
    );
    // A field no item has: every item in the `null` slice.
    let none = quality::judge::by_field(&pool, &Actor::cli(), "p", "nope")
        .await
        .unwrap();
    assert_eq!(
        (
            none.len(),
            none[0].value.as_deref(),
            none[0].judges[0].items
        ),
        (1, None, 4)
    );
    match quality::judge::by_field(&pool, &Actor::cli(), "p", " ").await {
        Err(verdict::server::Error::Invalid(e)) => assert_eq!(e.field.as_deref(), Some("by")),
        other => panic!("{other:?}"),
    }
}
