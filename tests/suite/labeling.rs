//! The queue and submissions against a real database: leases, overlap under concurrency,
//! skips, idempotent resubmission, optimistic concurrency on edits, validation.

use crate::common;

use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Flag, Task};
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::user::{NewUser, Role};
use verdict::server::Error;
use verdict::server::services::{self, Actor, labeling};
use verdict::server::store::projects;

/// A project `p` with `items` items of three answers each.
async fn project(pool: &PgPool, items: usize, overlap: i32) -> Uuid {
    let project_id = projects::ensure(pool, "p", "Test project", "Be kind.")
        .await
        .unwrap();
    let mut settings = projects::find_settings(pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.overlap = overlap;
    projects::update_settings(pool, &settings).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..items {
        services::items::add(&mut conn, project_id, &question(n))
            .await
            .unwrap();
    }
    project_id
}

/// Item `q{n}`: a question with three answers.
fn question(n: usize) -> NewItem {
    NewItem {
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
    }
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

/// A complete, valid annotation of the task: answers ranked in the order shown.
fn ranked(task: &Task) -> AnnotationInput {
    common::ranked_as_shown(task, 1200)
}

/// Takes the annotator's next item and submits a ranking of it; returns both.
async fn label_next(pool: &PgPool, person: &Actor) -> (Task, AnnotationInput) {
    let task = labeling::next(pool, person, "p").await.unwrap().unwrap();
    let input = ranked(&task);
    labeling::submit(pool, person, "p", input.clone())
        .await
        .unwrap();
    (task, input)
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test]
async fn concurrent_annotators_never_share_an_item_beyond_overlap(pool: PgPool) {
    project(&pool, 10, 1).await;
    let people = annotators(&pool, 16).await;
    let handles: Vec<_> = people
        .iter()
        .cloned()
        .map(|actor| {
            let pool = pool.clone();
            tokio::spawn(async move {
                labeling::next(&pool, &actor, "p")
                    .await
                    .unwrap()
                    .map(|t| t.item_id)
            })
        })
        .collect();
    let mut got = Vec::new();
    for handle in handles {
        got.push(handle.await.unwrap());
    }
    let leased: Vec<Uuid> = got.iter().flatten().copied().collect();
    let unique: HashSet<Uuid> = leased.iter().copied().collect();
    assert_eq!(leased.len(), 10, "all ten items handed out: {got:?}");
    assert_eq!(unique.len(), 10, "no item twice with overlap 1");
    assert_eq!(got.iter().filter(|g| g.is_none()).count(), 6);
}

#[sqlx::test]
async fn overlap_two_under_racing_submissions(pool: PgPool) {
    project(&pool, 6, 2).await;
    let people = annotators(&pool, 8).await;
    // Everyone labels as fast as they can until nothing is left for them.
    let handles: Vec<_> = people
        .iter()
        .cloned()
        .map(|actor| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut task = labeling::next(&pool, &actor, "p").await.unwrap();
                let mut done = 0;
                while let Some(t) = task {
                    task = labeling::submit(&pool, &actor, "p", ranked(&t))
                        .await
                        .unwrap()
                        .next;
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
    assert_eq!(total, 12, "6 items x overlap 2");
    let per_item: Vec<(i64,)> = sqlx::query_as("SELECT count(*) FROM annotations GROUP BY item_id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(per_item.len(), 6);
    assert!(per_item.iter().all(|(n,)| *n == 2), "{per_item:?}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM items WHERE completed_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM assignments").await,
        0,
        "leases released on submit"
    );
}

#[sqlx::test]
async fn the_held_item_comes_back_and_an_expired_lease_returns_to_the_pool(pool: PgPool) {
    project(&pool, 1, 1).await;
    let people = annotators(&pool, 2).await;
    let first = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let again = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.item_id, again.item_id);
    assert_eq!(first.answers, again.answers, "same item, same answer order");
    assert!(
        labeling::next(&pool, &people[1], "p")
            .await
            .unwrap()
            .is_none(),
        "held by the first annotator"
    );

    sqlx::query("UPDATE assignments SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let taken_over = labeling::next(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken_over.item_id, first.item_id);

    // The first annotator's late submission is refused: the item is full. Nothing is stored twice.
    labeling::submit(&pool, &people[1], "p", ranked(&taken_over))
        .await
        .unwrap();
    let late = labeling::submit(&pool, &people[0], "p", ranked(&first))
        .await
        .unwrap_err();
    assert!(matches!(late, Error::Conflict(_)), "{late:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM annotations").await, 1);
}

#[sqlx::test]
async fn a_late_submission_is_kept_while_the_item_has_room(pool: PgPool) {
    project(&pool, 1, 1).await;
    let people = annotators(&pool, 1).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    sqlx::query("UPDATE assignments SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    labeling::submit(&pool, &people[0], "p", ranked(&task))
        .await
        .unwrap();
    assert_eq!(count(&pool, "SELECT count(*) FROM annotations").await, 1);
}

#[sqlx::test]
async fn submitting_returns_the_next_item(pool: PgPool) {
    project(&pool, 2, 1).await;
    let people = annotators(&pool, 1).await;
    let first = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.progress.total, 2);
    let submitted = labeling::submit(&pool, &people[0], "p", ranked(&first))
        .await
        .unwrap();
    let second = submitted.next.unwrap();
    assert_ne!(second.item_id, first.item_id);
    assert_eq!(second.progress.completed, 1);
    assert_eq!(second.progress.mine_today, 1);
    let done = labeling::submit(&pool, &people[0], "p", ranked(&second))
        .await
        .unwrap();
    assert!(done.next.is_none());
}

#[sqlx::test]
async fn skipped_items_are_not_offered_again_to_that_annotator(pool: PgPool) {
    project(&pool, 2, 1).await;
    let people = annotators(&pool, 2).await;
    let first = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let after_skip = labeling::skip(
        &pool,
        &people[0],
        "p",
        first.item_id,
        Some("I do not know this topic".into()),
    )
    .await
    .unwrap();
    let second = after_skip.next.unwrap();
    assert_ne!(second.item_id, first.item_id);
    labeling::submit(&pool, &people[0], "p", ranked(&second))
        .await
        .unwrap();
    assert!(
        labeling::next(&pool, &people[0], "p")
            .await
            .unwrap()
            .is_none(),
        "the skipped one is not offered back"
    );
    let other = labeling::next(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.item_id, first.item_id, "others still get it");
    let reason: String = sqlx::query_scalar("SELECT reason FROM skips")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reason, "I do not know this topic");
}

#[sqlx::test]
async fn resubmitting_the_same_annotation_id_is_harmless(pool: PgPool) {
    project(&pool, 2, 1).await;
    let people = annotators(&pool, 1).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let input = ranked(&task);
    let first = labeling::submit(&pool, &people[0], "p", input.clone())
        .await
        .unwrap();
    let retry = labeling::submit(&pool, &people[0], "p", input.clone())
        .await
        .unwrap();
    assert_eq!(first.annotation_id, retry.annotation_id);
    assert_eq!(retry.version, Some(1));
    assert_eq!(
        retry.next.unwrap().progress.mine_today,
        1,
        "a retry is not counted as another annotation today"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM annotations").await, 1);
    assert_eq!(
        count(&pool, "SELECT sum(annotation_count)::bigint FROM items").await,
        1
    );
}

#[sqlx::test]
async fn a_retry_on_an_item_with_room_is_harmless_and_an_id_is_not_shared(pool: PgPool) {
    project(&pool, 1, 2).await;
    let people = annotators(&pool, 2).await;
    let (task, input) = label_next(&pool, &people[0]).await;
    // The item still has room (overlap 2): the retry must not count as a second annotation.
    let retry = labeling::submit(&pool, &people[0], "p", input.clone())
        .await
        .unwrap();
    assert_eq!(retry.annotation_id, Some(input.annotation_id));
    assert_eq!(retry.version, Some(1));

    // Someone else sending that id for the same item is refused and changes nothing.
    let other = labeling::next(&pool, &people[1], "p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.item_id, task.item_id);
    let reused = AnnotationInput {
        annotation_id: input.annotation_id,
        ..ranked(&other)
    };
    match labeling::submit(&pool, &people[1], "p", reused)
        .await
        .unwrap_err()
    {
        Error::Invalid(e) => assert_eq!(e.field.as_deref(), Some("annotation_id")),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM annotations").await, 1);
    assert_eq!(
        count(&pool, "SELECT sum(annotation_count)::bigint FROM items").await,
        1
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM assignments").await,
        1,
        "the second annotator keeps their lease"
    );
}

#[sqlx::test]
async fn edits_need_the_current_version(pool: PgPool) {
    project(&pool, 1, 1).await;
    let people = annotators(&pool, 1).await;
    let (_, input) = label_next(&pool, &people[0]).await;

    let mut tab_a = input.clone();
    tab_a.base_version = Some(1);
    tab_a.body.comment = Some("first edit".into());
    let mut tab_b = tab_a.clone();
    tab_b.body.comment = Some("second tab".into());

    let edited = labeling::submit(&pool, &people[0], "p", tab_a)
        .await
        .unwrap();
    assert_eq!(edited.version, Some(2));
    let refused = labeling::submit(&pool, &people[0], "p", tab_b)
        .await
        .unwrap_err();
    match refused {
        Error::Conflict(message) => assert!(message.contains("changed elsewhere"), "{message}"),
        other => panic!("{other:?}"),
    }
    let comment: String = sqlx::query_scalar("SELECT comment FROM annotations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(comment, "first edit");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM annotation_versions WHERE version = 1"
        )
        .await,
        1
    );

    let reopened = labeling::reopen(&pool, &people[0], "p", input.annotation_id)
        .await
        .unwrap();
    assert_eq!(reopened.existing.unwrap().version, 2);
    assert_eq!(
        reopened.progress.mine_today, 1,
        "an edit is not a new annotation"
    );
    let history = labeling::history(&pool, &people[0], "p", Some("question 0".into()))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert!(
        labeling::history(&pool, &people[0], "p", Some("nothing like this".into()))
            .await
            .unwrap()
            .is_empty()
    );
    // Typed wildcards are literal text: "%" and "_" match nothing here.
    for wildcard in ["%", "_", "question_0"] {
        let found = labeling::history(&pool, &people[0], "p", Some(wildcard.into()))
            .await
            .unwrap();
        assert!(found.is_empty(), "{wildcard:?} matched {}", found.len());
    }
    // The annotation belongs to project p: another project's address does not reach it.
    projects::ensure(&pool, "other", "Other project", "")
        .await
        .unwrap();
    let elsewhere = labeling::reopen(&pool, &people[0], "other", input.annotation_id).await;
    assert!(
        matches!(elsewhere, Err(Error::NotFound(_))),
        "{elsewhere:?}"
    );
    let edit = AnnotationInput {
        base_version: Some(2),
        body: AnnotationBody {
            comment: Some("through the wrong project".into()),
            ..input.body.clone()
        },
        ..input.clone()
    };
    let refused = labeling::submit(&pool, &people[0], "other", edit).await;
    assert!(refused.is_err());
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM annotations WHERE comment = 'through the wrong project'"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn invalid_submissions_name_the_field_and_store_nothing(pool: PgPool) {
    project(&pool, 1, 1).await;
    let people = annotators(&pool, 1).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();

    let mut partial = ranked(&task);
    partial.body.ranking.as_mut().unwrap().pop();
    let mut foreign_thumb = ranked(&task);
    foreign_thumb.body.thumbs.insert(Uuid::new_v4(), true);
    let mut long_comment = ranked(&task);
    long_comment.body.comment = Some("x".repeat(5001));

    for (input, field) in [
        (partial, "ranking"),
        (foreign_thumb, "thumbs"),
        (long_comment, "comment"),
    ] {
        match labeling::submit(&pool, &people[0], "p", input)
            .await
            .unwrap_err()
        {
            Error::Invalid(e) => assert_eq!(e.field.as_deref(), Some(field)),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM annotations").await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM assignments").await,
        1,
        "the lease is kept"
    );
}

#[sqlx::test]
async fn switched_off_kinds_are_refused(pool: PgPool) {
    project(&pool, 1, 1).await;
    let mut settings = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap();
    settings.kinds.thumbs = false;
    projects::update_settings(&pool, &settings).await.unwrap();
    let people = annotators(&pool, 1).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let mut input = ranked(&task);
    input.body.thumbs.insert(task.answers[0].response_id, true);
    match labeling::submit(&pool, &people[0], "p", input)
        .await
        .unwrap_err()
    {
        Error::Invalid(e) => assert_eq!(e.field.as_deref(), Some("thumbs")),
        other => panic!("{other:?}"),
    }
}

#[sqlx::test]
async fn each_annotator_sees_their_own_order_and_it_is_stored(pool: PgPool) {
    project(&pool, 1, 8).await;
    let people = annotators(&pool, 8).await;
    let mut orders = HashMap::new();
    for actor in &people {
        let task = labeling::next(&pool, actor, "p").await.unwrap().unwrap();
        let order: Vec<Uuid> = task.answers.iter().map(|a| a.response_id).collect();
        labeling::submit(&pool, actor, "p", ranked(&task))
            .await
            .unwrap();
        orders.insert(actor.user_id, order);
    }
    let distinct: HashSet<_> = orders.values().collect();
    // 8 shuffles of 3 answers all equal has probability 6^-7.
    assert!(distinct.len() > 1, "answers are shuffled per annotator");
    let stored: Vec<(Uuid, Vec<Uuid>)> =
        sqlx::query_as("SELECT user_id, shown_order FROM annotations")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (user, order) in stored {
        assert_eq!(orders[&user], order);
    }
}

#[sqlx::test]
async fn not_rankable_items_can_be_submitted_without_a_ranking(pool: PgPool) {
    project(&pool, 1, 1).await;
    let people = annotators(&pool, 1).await;
    let task = labeling::next(&pool, &people[0], "p")
        .await
        .unwrap()
        .unwrap();
    let input = AnnotationInput {
        body: AnnotationBody {
            ranking: None,
            flags: vec![Flag::NotRankable],
            ..ranked(&task).body
        },
        ..ranked(&task)
    };
    labeling::submit(&pool, &people[0], "p", input)
        .await
        .unwrap();
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM annotations WHERE ranking IS NULL"
        )
        .await,
        1
    );
}

/// Two tabs of one annotator asking at the same moment get the same item: neither finds
/// "nothing left" because the other's candidate is locked, and no second lease is taken.
#[sqlx::test]
async fn one_annotator_asking_twice_at_once_gets_the_same_item(pool: PgPool) {
    project(&pool, 1, 1).await;
    let ann = annotators(&pool, 1).await.pop().unwrap();
    for _ in 0..10 {
        sqlx::query("DELETE FROM assignments")
            .execute(&pool)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            labeling::next(&pool, &ann, "p"),
            labeling::next(&pool, &ann, "p")
        );
        let (a, b) = (a.unwrap().expect("a task"), b.unwrap().expect("a task"));
        assert_eq!(a.item_id, b.item_id);
        assert_eq!(count(&pool, "SELECT count(*) FROM assignments").await, 1);
    }
}

/// The progress shown on every task comes from counters kept by triggers; they must agree
/// with counting the items through racing submissions, an overlap change (which completes
/// items in bulk) and items created by end-user feedback (which annotators do not label).
#[sqlx::test]
async fn progress_counters_agree_with_counting(pool: PgPool) {
    project(&pool, 30, 2).await;
    let people = annotators(&pool, 7).await;
    let counted = |pool: PgPool| async move {
        (
            count(
                &pool,
                "SELECT count(*) FROM items WHERE origin = 'import' AND completed_at IS NOT NULL",
            )
            .await,
            count(&pool, "SELECT count(*) FROM items WHERE origin = 'import'").await,
        )
    };
    let shown = |pool: PgPool, actor: Actor| async move {
        let task = labeling::next(&pool, &actor, "p").await.unwrap().unwrap();
        labeling::skip(&pool, &actor, "p", task.item_id, None)
            .await
            .unwrap();
        (task.progress.completed, task.progress.total)
    };
    // Six annotators label five items each, all at once: 30 annotations, overlap 2.
    let handles: Vec<_> = people[..6]
        .iter()
        .cloned()
        .map(|actor| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut task = labeling::next(&pool, &actor, "p").await.unwrap();
                for _ in 0..5 {
                    let t = task.expect("items left");
                    task = labeling::submit(&pool, &actor, "p", ranked(&t))
                        .await
                        .unwrap()
                        .next;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let (completed, total) = counted(pool.clone()).await;
    assert_eq!(total, 30);
    assert!(completed > 0 && completed <= 15, "{completed}");
    assert_eq!(
        shown(pool.clone(), people[6].clone()).await,
        (completed, 30)
    );

    // Overlap 1: every item with an annotation is complete now.
    let mut form = verdict::model::project::ProjectForm::from_settings(
        &projects::find_settings(&pool, "p", None)
            .await
            .unwrap()
            .unwrap(),
    );
    form.overlap = 1;
    services::projects::update(&pool, &Actor::cli(), "p", &form)
        .await
        .unwrap();
    let (completed, _) = counted(pool.clone()).await;
    assert_eq!(
        completed,
        count(&pool, "SELECT count(DISTINCT item_id) FROM annotations").await
    );
    let summary = projects::find_summary(&pool, "p").await.unwrap().unwrap();
    assert_eq!(summary.item_count, 30);

    // An end user's feedback on a new external id creates an item outside the counts.
    sqlx::query(
        "INSERT INTO items (project_id, external_id, messages, origin)
         SELECT project_id, 'from-an-end-user', '[]', 'end_user' FROM projects",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let project_id = projects::find_settings(&pool, "p", None)
        .await
        .unwrap()
        .unwrap()
        .project_id;
    services::items::add(&mut conn, project_id, &question(30))
        .await
        .unwrap();
    drop(conn);
    let expected = counted(pool.clone()).await;
    assert_eq!(expected.1, 31);
    assert_eq!(shown(pool.clone(), people[6].clone()).await, expected);
    assert_eq!(
        count(&pool, "SELECT sum(items)::bigint FROM project_progress").await,
        31
    );
    // Folding the per-transaction rows into the 64 item slots keeps the sums.
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM project_progress WHERE slot >= 64"
        )
        .await
            > 0
    );
    assert!(verdict::server::store::progress::fold(&pool).await.unwrap() > 0);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM project_progress WHERE slot >= 64"
        )
        .await,
        0
    );
    assert_eq!(shown(pool.clone(), people[6].clone()).await, expected);
}

#[sqlx::test]
async fn an_item_held_for_a_moment_is_not_taken_for_nothing_left(pool: PgPool) {
    // The agreement counter (and a submission) hold an item's row for a moment; the queue
    // skips rows others hold so that annotators get different items. When the only item
    // left is held, the annotator waits for it instead of being told there is nothing left.
    let project_id = project(&pool, 1, 1).await;
    let people = annotators(&pool, 1).await;
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM items WHERE project_id = $1 FOR NO KEY UPDATE")
        .bind(project_id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let next = {
        let (pool, person) = (pool.clone(), people[0].clone());
        tokio::spawn(async move { labeling::next(&pool, &person, "p").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!next.is_finished(), "it waits for the held item");
    holder.commit().await.unwrap();
    let task = next.await.unwrap().unwrap();
    assert!(task.is_some(), "the item, once free");
}
