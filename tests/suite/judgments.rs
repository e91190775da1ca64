//! Richer judgments: a project's judgment schema (versioned with its guidelines), labels
//! validated against the version their item was shown with, kept across schema changes.

use crate::common;

use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationInput, Task};
use verdict::model::judgment::{Criterion, JudgmentSchema, Judgments, Scale, StrengthScale};
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse, ProjectForm};
use verdict::server::Error;
use verdict::server::dataset::{ExportFormat, ExportOptions};
use verdict::server::services::{self, Actor, labeling};
use verdict::server::store::projects;

fn criterion(key: &str, scale: Scale, required: bool) -> Criterion {
    Criterion {
        key: key.into(),
        name: key.to_uppercase(),
        description: format!("How {key} the answer is."),
        scale,
        required,
    }
}

/// Project `p`: one item of three answers, `overlap` annotators.
async fn project(pool: &PgPool, overlap: i32) {
    let project_id = projects::ensure(pool, "p", "P", "Rank them.")
        .await
        .unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = overlap;
    projects::update_settings(pool, &settings).await.unwrap();
    let item = NewItem {
        external_id: Some("q".into()),
        messages: vec![Message {
            role: ChatRole::User,
            content: "When did the Berlin wall fall?".into(),
        }],
        responses: ["1989.", "1961.", "In November 1989."]
            .iter()
            .map(|c| NewResponse {
                content: (*c).into(),
                model: Some("m".into()),
            })
            .collect(),
        metadata: json!({}),
        gold: None,
    };
    let mut conn = pool.acquire().await.unwrap();
    services::items::add(&mut conn, project_id, &item)
        .await
        .unwrap();
}

/// Sets the schema through the admin's settings form (as JSON text).
async fn set_schema(pool: &PgPool, schema: &JudgmentSchema) -> Result<(), Error> {
    let settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    let mut form = ProjectForm::from_settings(&settings);
    form.judgment = serde_json::to_string(schema).unwrap();
    services::projects::update(pool, &Actor::cli(), "p", &form)
        .await
        .map(|_| ())
}

/// The answers ranked as shown, with `judgments`, under the version the task showed.
fn judged(task: &Task, judgments: Judgments) -> AnnotationInput {
    let mut input = common::ranked_as_shown(task, 2000);
    input.body.judgments = judgments;
    input.guideline_version = Some(task.guideline_version);
    input
}

fn ratings(task: &Task, key: &str, score: u8) -> BTreeMap<Uuid, BTreeMap<String, u8>> {
    task.answers
        .iter()
        .map(|a| (a.response_id, BTreeMap::from([(key.to_owned(), score)])))
        .collect()
}

fn invalid_field(result: Result<verdict::model::annotation::Submitted, Error>) -> String {
    match result {
        Err(Error::Invalid(e)) => e.field.unwrap_or_default(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn raw_export(pool: &PgPool) -> Vec<Value> {
    common::export_records(
        pool,
        ExportOptions {
            format: ExportFormat::Raw,
            ..ExportOptions::default()
        },
    )
    .await
}

#[sqlx::test]
async fn bad_schemas_name_the_field_and_change_nothing(pool: PgPool) {
    project(&pool, 1).await;
    let before = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    let mut twice = JudgmentSchema {
        rubric: vec![
            criterion("helpful", Scale::OneToFive, true),
            criterion("helpful", Scale::YesNo, false),
        ],
        ..Default::default()
    };
    let error = set_schema(&pool, &twice).await.unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(e) if e.field.as_deref() == Some("judgment.rubric[1].key")),
        "{error:?}"
    );
    twice.rubric.pop();
    twice.strength = Some(StrengthScale { steps: vec![] });
    let error = set_schema(&pool, &twice).await.unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(e) if e.field.as_deref() == Some("judgment.strength.steps")),
        "{error:?}"
    );
    // Not JSON of a schema at all.
    let mut form = ProjectForm::from_settings(&before);
    form.judgment = r#"{"rubrik": []}"#.into();
    let error = services::projects::update(&pool, &Actor::cli(), "p", &form)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(e) if e.field.as_deref() == Some("judgment")),
        "{error:?}"
    );
    let after = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "nothing changed, not even the version");
}

#[sqlx::test]
async fn judgments_follow_the_version_shown_and_survive_a_schema_change(pool: PgPool) {
    project(&pool, 3).await;
    let v1 = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap()
        .guideline_version;
    let first = JudgmentSchema {
        strength: Some(StrengthScale::default()),
        rubric: vec![criterion("helpful", Scale::OneToFive, true)],
        none_acceptable: true,
        rationale_required: false,
        turn_feedback: false,
    };
    set_schema(&pool, &first).await.unwrap();
    let people = common::annotators(&pool, "j", 3).await;
    let mut tasks = Vec::new();
    for person in &people {
        tasks.push(labeling::next(&pool, person, "p").await.unwrap().unwrap());
    }
    let v2 = tasks[0].guideline_version;
    assert_eq!(v2, v1 + 1, "a schema change is a new guideline version");
    assert_eq!(
        tasks[0].judgment, first,
        "the task carries the schema it is shown with"
    );

    // Refusals name the field and store nothing.
    let ok = |task: &Task| Judgments {
        strengths: vec![0, 2],
        ratings: ratings(task, "helpful", 4),
        ..Default::default()
    };
    let a = &tasks[0];
    let first_answer = a.answers[0].response_id;
    let mut no_strength = judged(a, ok(a));
    no_strength.body.judgments.strengths.clear();
    let mut off_scale = judged(a, ok(a));
    off_scale
        .body
        .judgments
        .ratings
        .get_mut(&first_answer)
        .unwrap()
        .insert("helpful".into(), 6);
    let mut unrated = judged(a, ok(a));
    unrated.body.judgments.ratings.remove(&first_answer);
    let mut unknown_version = judged(a, ok(a));
    unknown_version.guideline_version = Some(99);
    let mut blank_none = judged(a, ok(a));
    blank_none.body.ranking = None;
    blank_none.body.judgments.strengths.clear();
    blank_none.body.judgments.none_acceptable = Some("   ".into());
    for (input, field) in [
        (no_strength, "strengths".to_owned()),
        (off_scale, format!("ratings.{first_answer}.helpful")),
        (unrated, format!("ratings.{first_answer}.helpful")),
        (unknown_version, "guideline_version".to_owned()),
        (blank_none, "ranking".to_owned()),
    ] {
        assert_eq!(
            invalid_field(labeling::submit(&pool, &people[0], "p", input).await),
            field
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // The first label, under version 2.
    labeling::submit(&pool, &people[0], "p", judged(a, ok(a)))
        .await
        .unwrap();

    // The schema changes: no strength, a yes/no criterion instead.
    let second = JudgmentSchema {
        rubric: vec![criterion("correct", Scale::YesNo, true)],
        ..Default::default()
    };
    set_schema(&pool, &second).await.unwrap();

    // The second annotator's item was shown under version 2: it is judged by version 2.
    let b = &tasks[1];
    labeling::submit(&pool, &people[1], "p", judged(b, ok(b)))
        .await
        .unwrap();

    // The third reloads and sees version 3; version 2's judgments are refused under it.
    let c = labeling::next(&pool, &people[2], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.guideline_version, v2 + 1);
    assert_eq!(c.judgment, second);
    assert_eq!(
        invalid_field(labeling::submit(&pool, &people[2], "p", judged(&c, ok(&c))).await),
        "strengths"
    );
    let none = Judgments {
        ratings: ratings(&c, "correct", 0),
        none_acceptable: Some("All three miss the day: 9 November 1989.".into()),
        ..Default::default()
    };
    let mut none_input = judged(&c, none.clone());
    none_input.body.ranking = None;
    let error = labeling::submit(&pool, &people[2], "p", none_input.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(e) if e.field.as_deref() == Some("none_acceptable")),
        "version 3 does not offer it: {error:?}"
    );
    let mut third = judged(
        &c,
        Judgments {
            none_acceptable: None,
            ..none
        },
    );
    third.body.judgments.rationale = Some("Only the third gives the month.".into());
    labeling::submit(&pool, &people[2], "p", third.clone())
        .await
        .unwrap();

    // Each label keeps its version; the raw export carries each as it was given.
    let versions: Vec<(Uuid, Option<i32>)> = sqlx::query_as(
        "SELECT annotation_id, guideline_version FROM annotations ORDER BY created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.1).collect::<Vec<_>>(),
        [Some(v2), Some(v2), Some(v2 + 1)]
    );
    let records = raw_export(&pool).await;
    assert_eq!(records.len(), 3);
    let by_id = |id: Uuid| {
        records
            .iter()
            .find(|r| r["annotation_id"] == json!(id))
            .unwrap_or_else(|| panic!("{id} exported"))
    };
    let first_record = by_id(versions[0].0);
    assert_eq!(first_record["strengths"], json!([0, 2]));
    assert_eq!(
        first_record["ratings"][first_answer.to_string()]["helpful"],
        json!(4)
    );
    assert!(first_record.get("rationale").is_none());
    let third_record = by_id(third.annotation_id);
    assert!(third_record.get("strengths").is_none());
    assert_eq!(
        third_record["ratings"][c.answers[1].response_id.to_string()]["correct"],
        json!(0)
    );
    assert_eq!(
        third_record["rationale"],
        json!("Only the third gives the month.")
    );

    // An edit (of a label whose item was shown under version 2, reopened then) keeps the
    // replaced version with its judgments, readable in the history.
    let mut edit = judged(
        a,
        Judgments {
            strengths: vec![1, 1],
            ratings: ratings(a, "helpful", 2),
            ..Default::default()
        },
    );
    edit.annotation_id = versions[0].0;
    edit.base_version = Some(1);
    labeling::submit(&pool, &people[0], "p", edit)
        .await
        .unwrap();
    let history = |version: i32| {
        let pool = pool.clone();
        let id = versions[0].0;
        async move {
            sqlx::query_scalar::<_, Value>(
                "SELECT to_jsonb(h) FROM annotation_history h WHERE annotation_id = $1 AND version = $2",
            )
            .bind(id)
            .bind(version)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let kept = history(1).await;
    assert_eq!(kept["judgments"]["strengths"], json!([0, 2]));
    assert_eq!(kept["guideline_version"], json!(v2));
    let now = history(2).await;
    assert_eq!(now["judgments"]["strengths"], json!([1, 1]));
    assert_eq!(
        now["judgments"]["ratings"][first_answer.to_string()]["helpful"],
        json!(2)
    );
}

/// The answers ranked in this order of their texts, with `strengths`, under the version the
/// task showed.
fn ranked_by_text(task: &Task, order: &[&str], judgments: Judgments) -> AnnotationInput {
    let mut input = judged(task, judgments);
    let id = |text: &str| {
        task.answers
            .iter()
            .find(|a| a.content == text)
            .map(|a| a.response_id)
            .unwrap()
    };
    input.body.ranking = Some(order.iter().map(|t| vec![id(t)]).collect());
    input
}

async fn pairs(pool: &PgPool, change: impl FnOnce(&mut ExportOptions)) -> Vec<Value> {
    let mut options = ExportOptions {
        format: ExportFormat::DpoPairs,
        ..ExportOptions::default()
    };
    change(&mut options);
    common::export_records(pool, options).await
}

#[sqlx::test]
async fn margins_and_ratings_export_by_the_version_each_label_was_made_under(pool: PgPool) {
    project(&pool, 2).await;
    const ORDER: [&str; 3] = ["In November 1989.", "1989.", "1961."];
    let first = JudgmentSchema {
        strength: Some(StrengthScale::default()),
        rubric: vec![criterion("helpful", Scale::OneToFive, false)],
        ..Default::default()
    };
    set_schema(&pool, &first).await.unwrap();
    let people = common::annotators(&pool, "m", 2).await;
    // Annotator 1, under Llama 2's scale: much better (3), then slightly better (1).
    let a = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let mut helpful = ratings(&a, "helpful", 2);
    helpful
        .get_mut(
            &a.answers
                .iter()
                .find(|x| x.content == ORDER[0])
                .unwrap()
                .response_id,
        )
        .unwrap()
        .insert("helpful".into(), 5);
    let one = Judgments {
        strengths: vec![0, 2],
        ratings: helpful,
        ..Default::default()
    };
    labeling::submit(&pool, &people[0], "p", ranked_by_text(&a, &ORDER, one))
        .await
        .unwrap();
    // The scale changes to two steps, 10 and 0; annotator 2 labels under it.
    let second = JudgmentSchema {
        strength: Some(
            serde_json::from_value(json!({"steps": [
                {"label": "clearly better", "margin": 10.0},
                {"label": "about the same", "margin": 0.0},
            ]}))
            .unwrap(),
        ),
        ..first.clone()
    };
    set_schema(&pool, &second).await.unwrap();
    let b = labeling::next(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.guideline_version, a.guideline_version + 1);
    let two = Judgments {
        strengths: vec![0, 1],
        ratings: ratings(&b, "helpful", 4),
        ..Default::default()
    };
    labeling::submit(&pool, &people[1], "p", ranked_by_text(&b, &ORDER, two))
        .await
        .unwrap();

    // Each pair's margin is the mean of the two labels' margins, each by its own scale:
    // best over second (3 + 10) / 2, best over third (3 + 1 + 10 + 0) / 2, second over
    // third (1 + 0) / 2.
    let pair = |c: &str, r: &str, m: f64| json!({"prompt": "When did the Berlin wall fall?", "chosen": c, "rejected": r, "margin": m});
    assert_eq!(
        pairs(&pool, |o| o.margin = true).await,
        [
            pair(ORDER[0], ORDER[1], 6.5),
            pair(ORDER[0], ORDER[2], 7.0),
            pair(ORDER[1], ORDER[2], 0.5),
        ]
    );
    let plain = pairs(&pool, |_| {}).await;
    assert!(plain.iter().all(|p| p.get("margin").is_none()), "{plain:?}");
    assert_eq!(plain.len(), 3);

    // Rubric scores: helpful means 4.5, 3, 3 — one pair per lower answer, margin 1.5.
    let by_rubric = pairs(&pool, |o| {
        o.rubric = Some(vec![("helpful".into(), 1.0)]);
        o.margin = true;
    })
    .await;
    assert_eq!(
        by_rubric,
        [pair(ORDER[0], "1989.", 1.5), pair(ORDER[0], "1961.", 1.5)]
    );
    let unknown = services::export::export_jsonl(
        &pool,
        &Actor::cli(),
        "p",
        &ExportOptions {
            format: ExportFormat::DpoPairs,
            rubric: Some(vec![("honest".into(), 1.0)]),
            ..ExportOptions::default()
        },
        &services::export::ExportFilters::default(),
        &mut Vec::new(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&unknown, Error::Invalid(e) if e.field.as_deref() == Some("rubric")),
        "{unknown:?}"
    );

    // UltraFeedback: every answer with its mean score.
    let uf = common::export_records(
        &pool,
        ExportOptions {
            format: ExportFormat::Ultrafeedback,
            ..ExportOptions::default()
        },
    )
    .await;
    assert_eq!(uf.len(), 1);
    let completions = uf[0]["completions"].as_array().unwrap();
    let score = |text: &str| {
        completions
            .iter()
            .find(|c| c["response"] == text)
            .map(|c| (c["model"].clone(), c["ratings"]["helpful"].clone()))
            .unwrap()
    };
    assert_eq!(score(ORDER[0]), (json!("m"), json!(4.5)));
    assert_eq!(score("1961."), (json!("m"), json!(3.0)));

    // The leaderboard's mean per model and criterion: (5 + 2 + 2 + 4 + 4 + 4) / 6.
    let board = services::leaderboard::leaderboard(
        &pool,
        &Actor::cli(),
        "p",
        &services::leaderboard::Options::default(),
    )
    .await
    .unwrap();
    let means: Vec<(String, String, f64, u64)> = board
        .criteria
        .iter()
        .map(|c| (c.model.clone(), c.criterion.clone(), c.mean, c.scores))
        .collect();
    assert_eq!(means, [("m".to_owned(), "helpful".to_owned(), 3.5, 6)]);
}

/// Project `r`: `items` items (`q0`…) of `answers` answers (`a0`…), overlap 3, this schema.
async fn quality_project(pool: &PgPool, items: usize, answers: usize, schema: &JudgmentSchema) {
    let project_id = projects::ensure(pool, "p", "P", "Judge them.")
        .await
        .unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = 3;
    projects::update_settings(pool, &settings).await.unwrap();
    set_schema(pool, schema).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for i in 0..items {
        let item = NewItem {
            external_id: Some(format!("q{i}")),
            messages: vec![Message {
                role: ChatRole::User,
                content: format!("Question {i}?"),
            }],
            responses: (0..answers)
                .map(|a| NewResponse {
                    content: format!("a{a}"),
                    model: None,
                })
                .collect(),
            metadata: json!({}),
            gold: None,
        };
        services::items::add(&mut conn, project_id, &item)
            .await
            .unwrap();
    }
}

/// Every annotator labels every item as `label(coder, item number, task)` says.
async fn label_all(
    pool: &PgPool,
    people: &[Actor],
    label: impl Fn(usize, usize, &Task) -> AnnotationInput,
) {
    for (coder, person) in people.iter().enumerate() {
        while let Some(task) = labeling::next(pool, person, "p").await.unwrap() {
            let question = &task.messages[0].content; // "Question {n}?"
            let n: usize = question["Question ".len()..question.len() - 1]
                .parse()
                .unwrap();
            labeling::submit(pool, person, "p", label(coder, n, &task))
                .await
                .unwrap();
        }
    }
    services::quality::count_marked(pool).await.unwrap();
}

fn answer(task: &Task, text: &str) -> Uuid {
    task.answers
        .iter()
        .find(|a| a.content == text)
        .unwrap()
        .response_id
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a figure");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[sqlx::test]
async fn rubric_agreement_is_krippendorffs_alpha_over_the_answers(pool: PgPool) {
    // src/server/stats/reference.json, case "rubric 1-5, three coders, missing values"
    // (scripts/stats-reference.py: krippendorff.alpha, interval 0.8513513513513513,
    // ordinal 0.8643073811931243): 3 coders x 9 units, a unit is answer j % 3 of item j / 3.
    const N: u8 = 0;
    const SCORES: [[u8; 9]; 3] = [
        [5, 4, 2, 3, 1, 4, N, 5, 2],
        [4, 4, 1, 3, 2, 5, 3, N, 2],
        [5, 3, 2, N, 1, 4, 3, 4, N],
    ];
    let schema = JudgmentSchema {
        rubric: vec![criterion("helpful", Scale::OneToFive, false)],
        ..Default::default()
    };
    quality_project(&pool, 3, 3, &schema).await;
    let people = common::annotators(&pool, "r", 3).await;
    label_all(&pool, &people, |coder, n, task| {
        let mut ratings = BTreeMap::new();
        for a in 0..3 {
            let score = SCORES[coder][n * 3 + a];
            if score != N {
                let scores = BTreeMap::from([("helpful".to_owned(), score)]);
                ratings.insert(answer(task, &format!("a{a}")), scores);
            }
        }
        judged(
            task,
            Judgments {
                ratings,
                ..Default::default()
            },
        )
    })
    .await;
    let report = services::quality::report(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    assert_eq!(report.rubric.len(), 1);
    let helpful = &report.rubric[0];
    assert_eq!(helpful.criterion, "helpful");
    assert_eq!(helpful.pairable, 23.0, "27 scores less 4 missing");
    close(helpful.alpha_interval, 0.8513513513513513);
    close(helpful.alpha_ordinal, 0.8643073811931243);
    assert!(services::quality::summary(&report).contains("rubric   helpful"));
}

#[sqlx::test]
async fn strength_agreement_is_krippendorffs_alpha_of_signed_strengths(pool: PgPool) {
    // src/server/stats/reference.json, case "signed strengths, four steps, three coders"
    // (scripts/stats-reference.py: krippendorff.alpha, ordinal, 0.8923091584866102):
    // 3 coders x 8 units, a unit is the pair of answers of a two-answer item; a value v > 0
    // says the answer with the smaller id is better by |v| (much better 3 ... slightly 1),
    // v < 0 the other; 0 about the same; `None`: missing.
    const SIGNED: [[Option<i8>; 8]; 3] = [
        [
            Some(3),
            Some(2),
            Some(-1),
            Some(0),
            Some(1),
            Some(-3),
            Some(2),
            None,
        ],
        [
            Some(2),
            Some(2),
            Some(-1),
            Some(1),
            Some(0),
            Some(-2),
            None,
            Some(1),
        ],
        [
            Some(3),
            Some(1),
            Some(-2),
            Some(0),
            None,
            Some(-3),
            Some(3),
            Some(1),
        ],
    ];
    let schema = JudgmentSchema {
        strength: Some(StrengthScale::default()),
        ..Default::default()
    };
    quality_project(&pool, 8, 2, &schema).await;
    let people = common::annotators(&pool, "s", 3).await;
    label_all(&pool, &people, |coder, n, task| {
        let (a, b) = (answer(task, "a0"), answer(task, "a1"));
        let (low, high) = (a.min(b), a.max(b));
        match SIGNED[coder][n] {
            // Missing: the coder flags the item not rankable (no ranking, no strength).
            None => {
                let mut input = judged(task, Judgments::default());
                input.body.ranking = None;
                input.body.flags = vec![verdict::model::annotation::Flag::NotRankable];
                input
            }
            Some(v) => {
                let order = if v >= 0 { [low, high] } else { [high, low] };
                let mut input = judged(
                    task,
                    Judgments {
                        strengths: vec![3 - v.unsigned_abs()],
                        ..Default::default()
                    },
                );
                input.body.ranking = Some(order.iter().map(|id| vec![*id]).collect());
                input
            }
        }
    })
    .await;
    let report = services::quality::report(&pool, &Actor::cli(), "p")
        .await
        .unwrap();
    assert_eq!(
        report.strength.pairable, 21.0,
        "24 strengths less 3 missing"
    );
    close(report.strength.alpha_ordinal, 0.8923091584866102);
}

/// Submits `input` (JSON, with `patch` applied to it) through the browser's server
/// function; the status and the body.
async fn submit_json(
    app: &common::TestApp,
    cookie: &str,
    input: &AnnotationInput,
    patch: impl FnOnce(&mut Value),
) -> (axum::http::StatusCode, String) {
    use axum::body::Body;
    use axum::http::{Request, header};
    let mut json = serde_json::to_value(input).unwrap();
    patch(&mut json);
    let request = Request::post("/serverfn/submit_annotation")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(json!({"slug": "p", "input": json}).to_string()))
        .unwrap();
    let response = app.send(request).await;
    let status = response.status();
    (status, common::body_text(response).await)
}

#[sqlx::test]
async fn every_new_field_is_checked_over_http_naming_it(pool: PgPool) {
    let schema = JudgmentSchema {
        strength: Some(StrengthScale::default()),
        rubric: vec![
            criterion("helpful", Scale::OneToFive, true),
            criterion("honest", Scale::YesNo, false),
        ],
        none_acceptable: true,
        rationale_required: true,
        turn_feedback: true,
    };
    let project_id = projects::ensure(&pool, "p", "P", "Judge them.")
        .await
        .unwrap();
    set_schema(&pool, &schema).await.unwrap();
    let item = NewItem {
        external_id: Some("chat".into()),
        messages: vec![
            Message {
                role: ChatRole::User,
                content: "Hi".into(),
            },
            Message {
                role: ChatRole::Assistant,
                content: "Hello.".into(),
            },
            Message {
                role: ChatRole::User,
                content: "2 + 2?".into(),
            },
        ],
        responses: ["4.", "5.", "22."]
            .iter()
            .map(|c| NewResponse {
                content: (*c).into(),
                model: None,
            })
            .collect(),
        metadata: json!({}),
        gold: None,
    };
    services::items::add(&mut pool.acquire().await.unwrap(), project_id, &item)
        .await
        .unwrap();
    let app = common::TestApp::new(pool.clone()).await;
    app.user("h@example.org", verdict::model::user::Role::Annotator)
        .await;
    let cookie = app.session_for("h@example.org").await;
    let (status, body) = app.server_fn("next_task", "slug=p", Some(&cookie)).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    let task: Task = serde_json::from_value(body).unwrap();
    let answer = task.answers[0].response_id.to_string();
    let good = judged(
        &task,
        Judgments {
            strengths: vec![0, 3],
            ratings: ratings(&task, "helpful", 3),
            rationale: Some("The first is right.".into()),
            turns: vec![verdict::model::judgment::TurnFeedback {
                turn: 1,
                thumb: Some(true),
                comment: Some("Friendly.".into()),
            }],
            ..Default::default()
        },
    );
    type Patch = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Patch)> = vec![
        ("strengths", Box::new(|j| j["strengths"] = json!([0]))),
        ("strengths[1]", Box::new(|j| j["strengths"] = json!([0, 9]))),
        (
            "ratings.{answer}.helpful",
            Box::new(move |j| j["ratings"][&answer]["helpful"] = json!(6)),
        ),
        (
            "ratings.{answer}.kind",
            Box::new({
                let answer = task.answers[0].response_id.to_string();
                move |j| j["ratings"][&answer]["kind"] = json!(1)
            }),
        ),
        ("rationale", Box::new(|j| j["rationale"] = json!("  "))),
        (
            "none_acceptable",
            Box::new(|j| j["none_acceptable"] = json!("x".repeat(5001))),
        ),
        (
            "strengths",
            Box::new(|j| {
                j["ranking"] = Value::Null;
                j["none_acceptable"] = json!("None is right.");
            }),
        ),
        (
            "turns[0].turn",
            Box::new(|j| j["turns"][0]["turn"] = json!(2)),
        ),
        (
            "turns[0].comment",
            Box::new(|j| j["turns"][0]["comment"] = json!("x".repeat(5001))),
        ),
        (
            "guideline_version",
            Box::new(|j| j["guideline_version"] = json!(99)),
        ),
    ];
    let answer = task.answers[0].response_id.to_string();
    for (field, patch) in cases {
        let field = field.replace("{answer}", &answer);
        let (status, body) = submit_json(&app, &cookie, &good, patch).await;
        assert!(status.is_client_error(), "{field}: {status} {body}");
        assert!(body.contains(&format!("\"{field}\"")), "{field}: {body}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "no refused label is stored");
    let (status, body) = submit_json(&app, &cookie, &good, |_| {}).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    let raw = raw_export(&pool).await;
    assert_eq!(
        raw[0]["turns"],
        json!([{"turn": 1, "thumb": true, "comment": "Friendly."}])
    );
    assert_eq!(raw[0]["strengths"], json!([0, 3]));
}

/// Runs end2end/datasets/check_trl.py on `records` (written as JSON Lines), when the test
/// command gave it a Python with TRL (`VERDICT_TEST_TRL_PYTHON`).
fn check_trl(kind: &str, records: &[Value], columns: &[&str]) {
    let Ok(python) = std::env::var("VERDICT_TEST_TRL_PYTHON") else {
        eprintln!(
            "VERDICT_TEST_TRL_PYTHON is not set: TRL check skipped (scripts/test.sh sets it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("end2end/datasets/check_trl.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(&path)
        .arg(records.len().to_string())
        .args(columns)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().last().is_some_and(|l| l.starts_with("ok: ")),
        "{kind}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[sqlx::test]
async fn the_new_exports_load_in_datasets_and_train_in_trl(pool: PgPool) {
    let schema = JudgmentSchema {
        strength: Some(StrengthScale::default()),
        rubric: vec![criterion("helpful", Scale::OneToFive, true)],
        none_acceptable: true,
        ..Default::default()
    };
    quality_project(&pool, 4, 3, &schema).await;
    let people = common::annotators(&pool, "t", 2).await;
    label_all(&pool, &people, |coder, n, task| {
        let ratings = ["a0", "a1", "a2"]
            .iter()
            .zip([5, 3, 1])
            .map(|(text, score)| {
                (
                    answer(task, text),
                    BTreeMap::from([("helpful".to_owned(), score)]),
                )
            })
            .collect();
        let none = (coder == 1 && n == 3).then(|| "None answers it.".to_owned());
        let mut input = judged(
            task,
            Judgments {
                strengths: if none.is_some() {
                    vec![]
                } else {
                    [vec![0, 2], vec![1, 3]][coder].clone()
                },
                ratings,
                none_acceptable: none.clone(),
                ..Default::default()
            },
        );
        input.body.ranking = none.is_none().then(|| {
            ["a0", "a1", "a2"]
                .iter()
                .map(|t| vec![answer(task, t)])
                .collect()
        });
        input.body.thumbs =
            BTreeMap::from([(answer(task, "a0"), true), (answer(task, "a2"), false)]);
        input
    })
    .await;
    let export = |change: &dyn Fn(&mut ExportOptions)| {
        let mut options = ExportOptions {
            format: ExportFormat::DpoPairs,
            ..ExportOptions::default()
        };
        change(&mut options);
        common::export_records(&pool, options)
    };
    let with_margin = export(&|o| o.margin = true).await;
    assert_eq!(with_margin.len(), 12, "3 pairs per item");
    assert!(
        with_margin
            .iter()
            .all(|p| p["margin"].as_f64().unwrap() > 0.0)
    );
    check_trl(
        "reward",
        &with_margin,
        &["prompt", "chosen", "rejected", "margin"],
    );
    let binarised = export(&|o| {
        o.rubric = Some(vec![("helpful".into(), 1.0)]);
        o.pairs = verdict::server::dataset::PairStrategy::BestVsRandom;
        o.margin = true;
        o.from_thumbs = false;
    })
    .await;
    assert_eq!(binarised.len(), 4, "one pair per item");
    check_trl("reward", &binarised, &["chosen", "rejected", "margin"]);
    let kto = export(&|o| {
        o.format = ExportFormat::Kto;
        o.none_acceptable_negatives = true;
    })
    .await;
    // Two thumbs per label (8 labels) and the none-acceptable label's unthumbed answer.
    assert_eq!(kto.len(), 17);
    check_trl("kto", &kto, &["prompt", "completion", "label"]);
    let uf = export(&|o| o.format = ExportFormat::Ultrafeedback).await;
    assert_eq!(uf.len(), 4);
    check_trl("load", &uf, &["prompt", "completions"]);
    let hs = export(&|o| o.format = ExportFormat::Helpsteer).await;
    assert_eq!(hs.len(), 12);
    assert_eq!(hs[0]["helpful"], json!(5.0));
    check_trl("load", &hs, &["prompt", "response", "model", "helpful"]);
}
