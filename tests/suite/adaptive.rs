//! Adaptive overlap against a real database: an item whose annotators disagree (or
//! contradict the model) gets another annotator up to the maximum, a clear one stops at the
//! minimum, and under racing annotators on two pools (two server processes) no item ever
//! goes above its target.

use crate::common;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::collections::BTreeMap;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Task};
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::proposal::Judgement;
use verdict::model::user::{NewUser, Role};
use verdict::server::Error;
use verdict::server::services::quality::adaptive::{self, Rule};
use verdict::server::services::quality::item::Label;
use verdict::server::services::{self, Actor, labeling};
use verdict::server::store::{projects, proposals};

/// Project `p`: `items` items `q0`… of three answers, shown in their original order,
/// labeled by `overlap` annotators at least.
async fn project(pool: &PgPool, items: usize, overlap: i32) -> Uuid {
    let project_id = projects::ensure(pool, "p", "Adaptive", "").await.unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = overlap;
    settings.shuffle_answers = false;
    projects::update_settings(pool, &settings).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..items {
        let item = NewItem {
            external_id: Some(format!("q{n}")),
            messages: vec![Message {
                role: ChatRole::User,
                content: format!("Question {n}?"),
            }],
            responses: (0..3)
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
    project_id
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn annotators(pool: &PgPool, n: usize) -> Vec<Actor> {
    let mut actors = Vec::new();
    for i in 0..n {
        let new = NewUser::parse(
            &format!("a{i}@example.org"),
            "A",
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

/// The task's answers ranked in the order shown, or reversed.
fn ranked(task: &Task, reversed: bool) -> AnnotationInput {
    permuted(task, if reversed { [2, 1, 0] } else { [0, 1, 2] })
}

/// The task's three answers ranked by `permutation` of the order shown.
fn permuted(task: &Task, permutation: [usize; 3]) -> AnnotationInput {
    let shown: Vec<Uuid> = task.answers.iter().map(|a| a.response_id).collect();
    let order: Vec<Uuid> = permutation.iter().map(|&k| shown[k]).collect();
    AnnotationInput {
        annotation_id: Uuid::new_v4(),
        item_id: task.item_id,
        body: AnnotationBody {
            ranking: Some(order.into_iter().map(|id| vec![id]).collect()),
            ..Default::default()
        },
        shown_order: shown,
        time_spent_ms: 900,
        ..Default::default()
    }
}

/// Each item's annotations in the order they were counted, its target and completion.
async fn items(pool: &PgPool) -> Vec<(String, Vec<Label>, Option<i32>, bool)> {
    let rows: Vec<(String, Uuid, Option<i32>, bool)> = sqlx::query_as(
        "SELECT external_id, item_id, target_overlap, completed_at IS NOT NULL
         FROM items ORDER BY item_seq",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (external_id, item_id, target, complete) in rows {
        let labels: Vec<(Uuid, sqlx::types::Json<Vec<Vec<Uuid>>>)> = sqlx::query_as(
            "SELECT user_id, ranking FROM annotations WHERE item_id = $1 ORDER BY seq",
        )
        .bind(item_id)
        .fetch_all(pool)
        .await
        .unwrap();
        let labels = labels
            .into_iter()
            .map(|(user_id, ranking)| Label {
                user_id,
                ranking: Some(ranking.0),
                thumbs: BTreeMap::new(),
                flags: vec![],
                ..Label::default()
            })
            .collect();
        out.push((external_id, labels, target, complete));
    }
    out
}

fn rule(max: i32, min_agreement: f64) -> Rule {
    Rule {
        max_overlap: max,
        min_agreement: Some(min_agreement),
        min_kendall_w: None,
        on_proposal_conflict: false,
    }
}

#[sqlx::test]
async fn a_split_item_gets_more_annotators_and_a_clear_one_stops(pool: PgPool) {
    project(&pool, 2, 2).await;
    let people = annotators(&pool, 5).await;
    let cli = Actor::cli();
    adaptive::save_rule(
        &pool,
        &cli,
        "p",
        &fields(&[("max_overlap", "4"), ("min_agreement", "0.9")]),
    )
    .await
    .unwrap();
    // Everyone takes items in order: q0 first. Annotator 1 reverses q0; all agree on q1.
    for (i, person) in people.iter().enumerate() {
        while let Some(task) = labeling::next(&pool, person, "p").await.unwrap() {
            let q0 = task.messages[0].content == "Question 0?";
            labeling::submit(&pool, person, "p", ranked(&task, q0 && i == 1))
                .await
                .unwrap();
        }
    }
    let items = items(&pool).await;
    let (_, q0, q0_target, q0_done) = &items[0];
    let (_, q1, q1_target, q1_done) = &items[1];
    // q0: 2 labels split -> 3; with the third (like the first) a third of the pairs are
    // ordered alike (< 0.9) -> 4, the maximum, where it stops.
    assert_eq!((q0.len(), *q0_target, *q0_done), (4, Some(4), true));
    assert_eq!((q1.len(), *q1_target, *q1_done), (2, None, true));
    // The annotator with nothing left was not given more.
    assert!(
        labeling::next(&pool, &people[4], "p")
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test]
async fn a_contradicted_proposal_gets_another_annotator(pool: PgPool) {
    let project_id = project(&pool, 1, 2).await;
    let people = annotators(&pool, 3).await;
    let item_id: Uuid = sqlx::query_scalar("SELECT item_id FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    let answers: Vec<Uuid> =
        sqlx::query_scalar("SELECT response_id FROM responses WHERE item_id = $1 ORDER BY ordinal")
            .bind(item_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    // The model puts the last answer first; the annotators (order shown) the first.
    let judgement = Judgement {
        ranking: answers.iter().rev().map(|id| vec![*id]).collect(),
        thumbs: BTreeMap::new(),
        rationale: "r".into(),
        confidence: 0.8,
    };
    proposals::upsert(
        &pool,
        &proposals::NewProposal {
            item_id,
            project_id,
            model: "judge",
            judgement: Some(&judgement),
            latency_ms: 1,
            error: None,
        },
    )
    .await
    .unwrap();
    let cli = Actor::cli();
    // Off: the item stops at its overlap.
    adaptive::save_rule(&pool, &cli, "p", &fields(&[("max_overlap", "3")]))
        .await
        .unwrap();
    for person in &people[..2] {
        let task = labeling::next(&pool, person, "p").await.unwrap().unwrap();
        labeling::submit(&pool, person, "p", ranked(&task, false))
            .await
            .unwrap();
    }
    assert!(
        labeling::next(&pool, &people[2], "p")
            .await
            .unwrap()
            .is_none()
    );
    // The same labels with the rule on: a third annotator is asked.
    sqlx::query("DELETE FROM annotations")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE items SET annotation_count = 0, completed_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    adaptive::save_rule(
        &pool,
        &cli,
        "p",
        &fields(&[("max_overlap", "3"), ("on_proposal_conflict", "on")]),
    )
    .await
    .unwrap();
    for person in &people[..2] {
        let task = labeling::next(&pool, person, "p").await.unwrap().unwrap();
        labeling::submit(&pool, person, "p", ranked(&task, false))
            .await
            .unwrap();
    }
    let task = labeling::next(&pool, &people[2], "p").await.unwrap();
    assert_eq!(task.map(|t| t.item_id), Some(item_id));
}

#[sqlx::test]
async fn lowering_the_maximum_completes_raised_items(pool: PgPool) {
    project(&pool, 1, 2).await;
    let people = annotators(&pool, 2).await;
    let cli = Actor::cli();
    adaptive::save_rule(
        &pool,
        &cli,
        "p",
        &fields(&[("max_overlap", "5"), ("min_agreement", "0.5")]),
    )
    .await
    .unwrap();
    for (i, person) in people.iter().enumerate() {
        let task = labeling::next(&pool, person, "p").await.unwrap().unwrap();
        labeling::submit(&pool, person, "p", ranked(&task, i == 1))
            .await
            .unwrap();
    }
    let raised = items(&pool).await;
    assert_eq!((raised[0].2, raised[0].3), (Some(3), false));
    adaptive::save_rule(&pool, &cli, "p", &fields(&[]))
        .await
        .unwrap();
    let capped = items(&pool).await;
    assert_eq!((capped[0].2, capped[0].3), (Some(2), true));
}

#[sqlx::test]
async fn bad_rules_name_the_field_and_store_nothing(pool: PgPool) {
    project(&pool, 1, 2).await;
    let cli = Actor::cli();
    for (bad, field) in [
        (vec![("max_overlap", "1")], "max_overlap"),
        (vec![("max_overlap", "many")], "max_overlap"),
        (
            vec![("max_overlap", "3"), ("min_agreement", "1.2")],
            "min_agreement",
        ),
        (
            vec![("max_overlap", "3"), ("min_kendall_w", "-1")],
            "min_kendall_w",
        ),
    ] {
        match adaptive::save_rule(&pool, &cli, "p", &fields(&bad)).await {
            Err(Error::Invalid(e)) => assert_eq!(e.field.as_deref(), Some(field), "{bad:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let (stored, overlap) = adaptive::rule(&pool, &cli, "p").await.unwrap();
    assert_eq!((stored, overlap), (None, 2));
    // Annotators may not set it.
    let person = annotators(&pool, 1).await.remove(0);
    assert!(matches!(
        adaptive::save_rule(&pool, &person, "p", &fields(&[("max_overlap", "3")])).await,
        Err(Error::Forbidden)
    ));
}

#[sqlx::test]
async fn racing_annotators_on_two_servers_never_pass_an_items_target(pool: PgPool) {
    const ITEMS: usize = 12;
    const MAX: i32 = 4;
    project(&pool, ITEMS, 2).await;
    let people = annotators(&pool, 8).await;
    let cli = Actor::cli();
    let rule = rule(MAX, 0.9);
    adaptive::save_rule(
        &pool,
        &cli,
        "p",
        &fields(&[("max_overlap", "4"), ("min_agreement", "0.9")]),
    )
    .await
    .unwrap();
    // A second pool: another server process on the same database.
    let other = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    // Even items: everyone agrees. Odd items: annotator i ranks by the (i mod 6)th
    // permutation, so two annotators disagree unless they are 0 and 6, or 1 and 7.
    const PERMUTATIONS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let handles: Vec<_> = people
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, actor)| {
            let pool = if i % 2 == 0 {
                pool.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                let mut done = 0;
                // An item that was full when asked may be raised later: come back while
                // some incomplete item is still without this annotator's label (bounded).
                for _ in 0..2000 {
                    let Some(t) = labeling::next(&pool, &actor, "p").await.unwrap() else {
                        let open: i64 = sqlx::query_scalar(
                            "SELECT count(*) FROM items i WHERE i.completed_at IS NULL
                             AND NOT EXISTS (SELECT 1 FROM annotations a
                                             WHERE a.item_id = i.item_id AND a.user_id = $1)",
                        )
                        .bind(actor.user_id)
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                        if open == 0 {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        continue;
                    };
                    let n: usize = t.messages[0].content["Question ".len()..]
                        .trim_end_matches('?')
                        .parse()
                        .unwrap();
                    let input = if n % 2 == 1 {
                        permuted(&t, PERMUTATIONS[i % 6])
                    } else {
                        ranked(&t, false)
                    };
                    labeling::submit(&pool, &actor, "p", input).await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await.unwrap();
    }
    let items = items(&pool).await;
    assert_eq!(total, items.iter().map(|i| i.1.len()).sum::<usize>());
    for (external_id, labels, target, complete) in &items {
        let target = target.unwrap_or(2);
        assert!(
            (2..=MAX).contains(&target),
            "{external_id}: target {target}"
        );
        assert_eq!(
            labels.len() as i32,
            target,
            "{external_id}: count at its target"
        );
        assert!(complete, "{external_id} is complete");
        // Every count it passed on the way was a disagreement; where it stopped (below the
        // maximum) the labels agree.
        for k in 2..labels.len() {
            assert!(
                adaptive::escalation(&rule, &labels[..k], None).is_some(),
                "{external_id}: raised past {k} labels that agree"
            );
        }
        if target < MAX {
            assert_eq!(
                adaptive::escalation(&rule, labels, None),
                None,
                "{external_id}"
            );
        }
        let n: usize = external_id[1..].parse().unwrap();
        if n.is_multiple_of(2) {
            assert_eq!(
                target, 2,
                "{external_id}: a clear item stops at the minimum"
            );
        }
    }
    // Split items were raised (all six odd ones, unless the first two to label one were
    // annotators 0 and 6 or 1 and 7: a chance of about 1 in 14 per item).
    let raised = items.iter().filter(|i| i.1.len() > 2).count();
    assert!(raised >= 1, "no split item was raised");
    let leases: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leases, 0);
}
