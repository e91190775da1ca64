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
