//! Review and the audit log: settings refuse bad fields; reviewers accept, fix and reject
//! labels on a leased queue (two reviewers never hold one item); a fix keeps the original
//! version, a rejection sends the item to another annotator and tells its author why;
//! exports take raw, reviewed or adjudicated labels; who may review is checked in the
//! service (non-members 404, annotators 403); every change is in an append-only audit log.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, api_call, body_text, error_code, form_encode, form_post, token};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationInput, Task};
use verdict::model::user::Role;
use verdict::server::Error;
use verdict::server::dataset::ExportSpec;
use verdict::server::services::review::{self, Decision};
use verdict::server::services::{Actor, audit, export, items, labeling, members, projects};

/// A project `slug` of `n` two-answer items (overlap 1: one label finishes an item).
async fn project(app: &TestApp, slug: &str, n: usize) {
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, slug, "Reviewed project")
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = (0..n)
        .map(|i| json!({"external_id": format!("q{i}"), "prompt": format!("Q{i}?"), "responses": ["a", "b"]}))
        .collect();
    items::push(&app.pool, &cli, slug, &values).await.unwrap();
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn review_on(app: &TestApp, slug: &str, selection: &str) {
    let settings =
        review::parse_settings(&fields(&[("enabled", "on"), ("selection", selection)])).unwrap();
    review::save_settings(&app.pool, &Actor::cli(), slug, &settings)
        .await
        .unwrap();
}

/// The annotator ranks the answers in their shown order.
fn ranked(task: &Task) -> AnnotationInput {
    common::ranked_as_shown(task, 900)
}

/// Labels `n` items as `who`; returns the submissions.
async fn label(app: &TestApp, who: &Actor, slug: &str, n: usize) -> Vec<AnnotationInput> {
    let mut done = Vec::new();
    for _ in 0..n {
        let task = labeling::next(&app.pool, who, slug)
            .await
            .unwrap()
            .expect("an item to label");
        let input = ranked(&task);
        labeling::submit(&app.pool, who, slug, input.clone())
            .await
            .unwrap();
        done.push(input);
    }
    done
}

/// The annotation ids a raw export of `slug` holds with this review mode.
async fn exported(app: &TestApp, slug: &str, mode: &str) -> Vec<String> {
    let spec = ExportSpec::from_query(&format!("format=raw&review={mode}")).unwrap();
    let (options, filters) = spec.resolve(None).unwrap();
    let mut out: Vec<u8> = Vec::new();
    export::export_jsonl(
        &app.pool,
        &Actor::cli(),
        slug,
        &options,
        &filters,
        &mut out,
        &mut |_| {},
    )
    .await
    .unwrap();
    let mut ids: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["annotation_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// Accepts the label as `who` (not as the item's final label).
async fn accept(app: &TestApp, who: &Actor, slug: &str, label: Uuid) -> Result<(), Error> {
    review::decide(
        &app.pool,
        who,
        slug,
        label,
        Decision::Accept { adjudicate: false },
    )
    .await
}

fn invalid_field<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Invalid(e)) => e.field.expect("a field"),
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

#[sqlx::test]
async fn review_settings_refuse_bad_fields_and_only_admins_set_them(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 1).await;
    for (name, value) in [
        ("selection", "some"),
        ("share", "0"),
        ("share", "1.5"),
        ("min_accuracy", "high"),
        ("max_agreement", "-0.1"),
    ] {
        let refused = review::parse_settings(&fields(&[("enabled", "on"), (name, value)]));
        assert_eq!(invalid_field(refused), name, "{name}={value}");
    }
    let reviewer = Actor::from(&app.user("rev@example.org", Role::Reviewer).await);
    let settings = review::parse_settings(&fields(&[
        ("enabled", "on"),
        ("selection", "sample"),
        ("share", "0.25"),
    ]))
    .unwrap();
    assert!(matches!(
        review::save_settings(&app.pool, &reviewer, "p", &settings).await,
        Err(Error::Forbidden)
    ));
    let admin = Actor::from(&app.user("root@example.org", Role::Admin).await);
    assert!(
        !review::settings(&app.pool, &admin, "p")
            .await
            .unwrap()
            .enabled
    );
    review::save_settings(&app.pool, &admin, "p", &settings)
        .await
        .unwrap();
    let stored = review::settings(&app.pool, &admin, "p").await.unwrap();
    assert_eq!(stored, settings);
    let log = audit::list(
        &app.pool,
        &admin,
        &audit::Query {
            action: Some("review".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "review.settings");
    assert_eq!(log[0].actor.as_deref(), Some("root@example.org"));
    assert_eq!(log[0].after.as_ref().unwrap()["share"], 0.25);
}

#[sqlx::test]
async fn reviewers_accept_fix_and_reject_and_annotators_learn_the_outcome(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 4).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let other = Actor::from(&app.user("other@example.org", Role::Annotator).await);
    let rev = Actor::from(&app.user("rev@example.org", Role::Reviewer).await);
    // Review off: nothing is due, and a decision is refused.
    assert!(review::next(&app.pool, &rev, "p").await.unwrap().is_none());
    let labels = label(&app, &ann, "p", 3).await;
    review_on(&app, "p", "all").await;
    assert_eq!(
        review::queue_state(&app.pool, &rev, "p")
            .await
            .unwrap()
            .due_items,
        3
    );

    // Accept the first item's label and make it final.
    let first = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    assert_eq!(first.labels.len(), 1);
    assert!(first.labels[0].pending);
    assert!(first.labels[0].annotator.starts_with("annotator-"));
    let again = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    assert_eq!(again.item_id, first.item_id, "the held item comes back");
    let accepted = first.labels[0].annotation_id;
    // A refused reason, and someone else's hold, change nothing.
    let refused = review::decide(
        &app.pool,
        &rev,
        "p",
        accepted,
        Decision::Reject {
            reason: "  ".into(),
            requeue: true,
        },
    )
    .await;
    assert_eq!(invalid_field(refused), "reason");
    review::decide(
        &app.pool,
        &rev,
        "p",
        accepted,
        Decision::Accept { adjudicate: true },
    )
    .await
    .unwrap();

    // Fix the second: the reviewer swaps the ranking; the annotator's version is kept.
    let second = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    assert_ne!(second.item_id, first.item_id);
    let fixed_id = second.labels[0].annotation_id;
    let mut body = second.labels[0].body.clone();
    body.ranking.as_mut().unwrap().reverse();
    review::decide(
        &app.pool,
        &rev,
        "p",
        fixed_id,
        Decision::Fix {
            body: Box::new(body.clone()),
            adjudicate: false,
        },
    )
    .await
    .unwrap();
    let (version, kept): (i32, i64) = sqlx::query_as(
        "SELECT a.version, (SELECT count(*) FROM annotation_versions v WHERE v.annotation_id = a.annotation_id)
         FROM annotations a WHERE a.annotation_id = $1",
    )
    .bind(fixed_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (version, kept),
        (2, 1),
        "the fix is version 2; version 1 is kept"
    );

    // Reject the third, sending the item back: it goes to another annotator, not its author.
    let third = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    let rejected = third.labels[0].annotation_id;
    let rejected_input = labels
        .iter()
        .find(|l| l.annotation_id == rejected)
        .unwrap()
        .clone();
    review::decide(
        &app.pool,
        &rev,
        "p",
        rejected,
        Decision::Reject {
            reason: "Answer B is the correct one.".into(),
            requeue: true,
        },
    )
    .await
    .unwrap();
    assert!(review::next(&app.pool, &rev, "p").await.unwrap().is_none());
    // The author's next item is the fourth, never the rejected one again; a late retry of
    // the rejected submission is refused with the reason.
    let next = labeling::next(&app.pool, &ann, "p").await.unwrap().unwrap();
    assert_ne!(next.item_id, third.item_id);
    match labeling::submit(&app.pool, &ann, "p", rejected_input).await {
        Err(Error::Conflict(message)) => {
            assert!(
                message.contains("Answer B is the correct one."),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    let theirs = labeling::next(&app.pool, &other, "p")
        .await
        .unwrap()
        .unwrap();
    assert!(
        [third.item_id, next.item_id].contains(&theirs.item_id),
        "the rejected item is open again"
    );

    // The annotator's history tells each outcome.
    let history = labeling::history(&app.pool, &ann, "p", None).await.unwrap();
    let outcome = |id: Uuid| {
        history
            .iter()
            .find(|h| h.annotation_id == id)
            .and_then(|h| h.review.clone())
            .unwrap_or_else(|| panic!("{id} in {history:?}"))
    };
    assert_eq!(outcome(accepted).outcome, "accepted");
    assert_eq!(outcome(fixed_id).outcome, "fixed");
    // The fix reversed the ranking: named by letter, before and after.
    let changes = outcome(fixed_id).changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (before, after) = changes[0]
        .strip_prefix("ranking: ")
        .and_then(|c| c.split_once(" → "))
        .unwrap_or_else(|| panic!("{changes:?}"));
    let mut reversed: Vec<&str> = before.split(" > ").collect();
    reversed.reverse();
    assert_eq!(after, reversed.join(" > "), "{changes:?}");
    let gone = outcome(rejected);
    assert_eq!(
        (gone.outcome.as_str(), gone.reason.as_deref()),
        ("rejected", Some("Answer B is the correct one."))
    );
    assert!(
        history
            .iter()
            .any(|h| h.annotation_id == rejected && h.removed)
    );

    // Exports: raw has both remaining labels, reviewed too (see below for adjudicated).
    let mut both = vec![accepted.to_string(), fixed_id.to_string()];
    both.sort();
    assert_eq!(exported(&app, "p", "raw").await, both);
    assert_eq!(exported(&app, "p", "reviewed").await, both);
    // An edit after the review makes the label unreviewed again (it leaves "reviewed").
    let mut edit = labels
        .iter()
        .find(|l| l.annotation_id == accepted)
        .unwrap()
        .clone();
    edit.body.ranking.as_mut().unwrap().reverse();
    edit.base_version = Some(1);
    labeling::submit(&app.pool, &ann, "p", edit).await.unwrap();
    assert_eq!(
        exported(&app, "p", "reviewed").await,
        vec![fixed_id.to_string()]
    );

    // The scorecard counts the decisions.
    let cards = verdict::server::services::quality::scorecards(&app.pool, &Actor::cli(), "p")
        .await
        .unwrap();
    let card = cards
        .iter()
        .find(|c| c.labels > 0 && c.reviewed > 0)
        .unwrap();
    assert_eq!(
        (
            card.review_accepted,
            card.review_fixed,
            card.review_rejected
        ),
        (1, 1, 1)
    );
    assert_eq!(card.review_acceptance, Some(1.0 / 3.0));

    // The audit log has each decision with the label as it was.
    let log = audit::list(
        &app.pool,
        &Actor::cli(),
        &audit::Query {
            action: Some("review".into()),
            project: Some("p".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "review.reject",
            "review.fix",
            "review.accept",
            "review.settings"
        ]
    );
    assert_eq!(
        log[0].target.as_deref(),
        Some(rejected.to_string().as_str())
    );
    assert!(log[0].before.as_ref().unwrap()["ranking"].is_array());
    assert_eq!(log[0].actor.as_deref(), Some("rev@example.org"));
}

#[sqlx::test]
async fn exports_take_raw_reviewed_or_adjudicated_labels(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 2).await;
    let form = common::rankings_form("Reviewed project", 2, false);
    projects::update(&app.pool, &Actor::cli(), "p", &form)
        .await
        .unwrap();
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let other = Actor::from(&app.user("other@example.org", Role::Annotator).await);
    let rev = Actor::from(&app.user("rev@example.org", Role::Reviewer).await);
    let by_ann: Vec<Uuid> = label(&app, &ann, "p", 2)
        .await
        .iter()
        .map(|l| l.annotation_id)
        .collect();
    let by_other: Vec<Uuid> = label(&app, &other, "p", 2)
        .await
        .iter()
        .map(|l| l.annotation_id)
        .collect();
    review_on(&app, "p", "all").await;
    // The first item in review: both labels accepted, ann's made final. The second: only
    // ann's accepted, the other's still undecided.
    let first = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    assert_eq!(first.labels.len(), 2);
    for l in &first.labels {
        let adjudicate = by_ann.contains(&l.annotation_id);
        review::decide(
            &app.pool,
            &rev,
            "p",
            l.annotation_id,
            Decision::Accept { adjudicate },
        )
        .await
        .unwrap();
    }
    let second = review::next(&app.pool, &rev, "p").await.unwrap().unwrap();
    assert_ne!(second.item_id, first.item_id);
    let ann_second = second
        .labels
        .iter()
        .find(|l| by_ann.contains(&l.annotation_id))
        .unwrap()
        .annotation_id;
    review::decide(
        &app.pool,
        &rev,
        "p",
        ann_second,
        Decision::Accept { adjudicate: false },
    )
    .await
    .unwrap();
    let ids = |list: &[Uuid]| {
        let mut v: Vec<String> = list.iter().map(Uuid::to_string).collect();
        v.sort();
        v
    };
    let first_other = first
        .labels
        .iter()
        .find(|l| by_other.contains(&l.annotation_id))
        .unwrap()
        .annotation_id;
    let second_other = second
        .labels
        .iter()
        .find(|l| by_other.contains(&l.annotation_id))
        .unwrap()
        .annotation_id;
    let all: Vec<Uuid> = by_ann.iter().chain(&by_other).copied().collect();
    let without = |gone: Uuid| {
        let kept: Vec<Uuid> = all.iter().copied().filter(|id| *id != gone).collect();
        ids(&kept)
    };
    assert_eq!(exported(&app, "p", "raw").await, ids(&all));
    assert_eq!(
        exported(&app, "p", "reviewed").await,
        without(second_other),
        "only accepted labels"
    );
    assert_eq!(
        exported(&app, "p", "adjudicated").await,
        without(first_other),
        "the first item's final label alone; both labels of the second"
    );
}

#[sqlx::test]
async fn who_may_review_is_checked_in_the_service(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    // Three items: a submission leases its author's next item.
    project(&app, "p", 3).await;
    project(&app, "elsewhere", 1).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let rev = Actor::from(&app.user("rev@example.org", Role::Reviewer).await);
    let outsider = Actor::from(&app.outsider("out@example.org", Role::Reviewer).await);
    review_on(&app, "p", "all").await;
    review_on(&app, "elsewhere", "all").await;
    let mine = label(&app, &ann, "p", 1).await;
    let theirs = label(&app, &ann, "elsewhere", 1).await;

    // A reviewer who is not a member: the project does not exist for them.
    assert!(matches!(
        review::next(&app.pool, &outsider, "p").await,
        Err(Error::NotFound("project"))
    ));
    assert!(matches!(
        accept(&app, &outsider, "p", mine[0].annotation_id).await,
        Err(Error::NotFound("project"))
    ));
    // An annotator who is a member: refused.
    assert!(matches!(
        review::next(&app.pool, &ann, "p").await,
        Err(Error::Forbidden)
    ));
    // Deciding without holding the item, or on another project's label, or on one's own.
    let held = review::next(&app.pool, &rev, "elsewhere").await.unwrap();
    assert!(held.is_some());
    assert!(matches!(
        accept(&app, &rev, "p", mine[0].annotation_id).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        invalid_field(accept(&app, &rev, "p", theirs[0].annotation_id).await),
        "annotation_id"
    );
    let own = label(&app, &rev, "p", 1).await;
    review::next(&app.pool, &rev, "p").await.unwrap();
    assert_eq!(
        invalid_field(accept(&app, &rev, "p", own[0].annotation_id).await),
        "annotation_id"
    );
    let decided: i64 = sqlx::query_scalar("SELECT count(*) FROM reviews")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(decided, 0, "refusals store nothing");
}

#[sqlx::test]
async fn two_reviewers_racing_never_hold_the_same_item(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    project(&app, "p", 24).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    label(&app, &ann, "p", 24).await;
    review_on(&app, "p", "all").await;
    let a = Actor::from(&app.user("a@example.org", Role::Reviewer).await);
    let b = Actor::from(&app.user("b@example.org", Role::Reviewer).await);
    // Each reviewer on a pool of their own, so their statements truly interleave.
    let options = (*pool.connect_options()).clone();
    let mut handles = Vec::new();
    for who in [a, b] {
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone())
            .await
            .unwrap();
        handles.push(tokio::spawn(async move {
            let mut reviewed = Vec::new();
            while let Some(task) = review::next(&own, &who, "p").await.unwrap() {
                for l in task.labels.iter().filter(|l| l.pending) {
                    review::decide(
                        &own,
                        &who,
                        "p",
                        l.annotation_id,
                        Decision::Accept { adjudicate: false },
                    )
                    .await
                    .unwrap();
                }
                reviewed.push(task.item_id);
                assert!(reviewed.len() <= 24, "no item comes back once decided");
            }
            reviewed
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no item was reviewed by both");
    assert_eq!(n, 24, "every item was reviewed once");
}

#[sqlx::test]
async fn the_audit_log_records_changes_filters_them_and_refuses_to_change(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 1).await;
    let admin = Actor::from(&app.user("root@example.org", Role::Admin).await);
    app.outsider("ann@example.org", Role::Annotator).await;
    members::add(&app.pool, &admin, "p", "ann@example.org", Some(5), None)
        .await
        .unwrap();
    members::remove(&app.pool, &admin, "p", "ann@example.org")
        .await
        .unwrap();
    let q = |action: &str| audit::Query {
        action: Some(action.into()),
        ..Default::default()
    };
    let log = audit::list(&app.pool, &admin, &q("member")).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["member.remove", "member.add"]);
    assert_eq!(log[1].after.as_ref().unwrap()["max_items"], 5);
    assert_eq!(log[1].target.as_deref(), Some("ann@example.org"));
    // The CLI's own changes (the project, the accounts) are there too, by a nil actor.
    let created = audit::list(&app.pool, &admin, &q("project.create"))
        .await
        .unwrap();
    assert!(created[0].actor_id.is_nil() && created[0].actor.is_none());
    // Filters refuse what they cannot read, naming the field.
    for (query, field) in [
        (
            audit::Query {
                from: Some("yesterday".into()),
                ..Default::default()
            },
            "from",
        ),
        (q("Member Add"), "action"),
        (
            audit::Query {
                project: Some("nope".into()),
                ..Default::default()
            },
            "project",
        ),
    ] {
        assert_eq!(
            invalid_field(audit::list(&app.pool, &admin, &query).await),
            field
        );
    }
    let today = chrono::Utc::now().date_naive().to_string();
    let dated = audit::Query {
        from: Some(today.clone()),
        to: Some(today),
        ..q("member")
    };
    assert_eq!(
        audit::list(&app.pool, &admin, &dated).await.unwrap().len(),
        2
    );
    let lines = audit::export_jsonl(&app.pool, &admin, &q("member"))
        .await
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["action"], "member.add", "oldest first");
    // Only admins read it.
    let ann = Actor::from(&app.user("other@example.org", Role::Reviewer).await);
    assert!(matches!(
        audit::list(&app.pool, &ann, &q("member")).await,
        Err(Error::Forbidden)
    ));
    // Append-only, whoever connects.
    let before = audit::list(&app.pool, &admin, &audit::Query::default())
        .await
        .unwrap()
        .len();
    for statement in [
        "UPDATE audit_log SET action = 'member.nothing'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&app.pool).await;
        assert!(refused.is_err(), "{statement} went through");
    }
    assert_eq!(
        audit::list(&app.pool, &admin, &audit::Query::default())
            .await
            .unwrap()
            .len(),
        before
    );
}

#[sqlx::test]
async fn the_review_and_audit_pages_work_without_javascript(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 2).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    app.user("rev@example.org", Role::Reviewer).await;
    app.user("root@example.org", Role::Admin).await;
    app.outsider("out@example.org", Role::Reviewer).await;
    let labels = label(&app, &ann, "p", 2).await;
    let admin = app.session_for("root@example.org").await;
    // The admin turns review on with the page's form; a bad share is shown again, named.
    let bad = app
        .send(form_post(
            "/projects/p/review/settings",
            "enabled=on&selection=all&share=7",
            Some(&admin),
        ))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(bad)
            .await
            .contains("share: must be between 0 and 1")
    );
    let saved = app
        .send(form_post(
            "/projects/p/review/settings",
            "enabled=on&selection=all",
            Some(&admin),
        ))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let rev = app.session_for("rev@example.org").await;
    let page = app.get("/projects/p/review", Some(&rev)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(page).await;
    assert!(html.contains("2 item(s) await your review"), "{html}");
    assert!(html.contains("Answer A") && html.contains("Answer B"));
    let shown = labels
        .iter()
        .find(|l| html.contains(&l.annotation_id.to_string()))
        .expect("the held item's label is on the page");
    // Rejecting without a reason is refused on the page, naming the field.
    let form = format!(
        "annotation_id={}&decision=reject&reason=&requeue=yes",
        shown.annotation_id
    );
    let refused = app
        .send(form_post("/projects/p/review/decide", &form, Some(&rev)))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(refused).await.contains("reason: say why"));
    // A fix from the form: letters name the answers.
    let form = format!(
        "annotation_id={}&decision=fix&ranking={}&adjudicate=on",
        shown.annotation_id,
        form_encode("B > A")
    );
    let fixed = app
        .send(form_post("/projects/p/review/decide", &form, Some(&rev)))
        .await;
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
    let html = body_text(app.get("/projects/p/review", Some(&rev)).await).await;
    assert!(html.contains("1 item(s) await your review"), "{html}");

    // An annotator is refused the queue; a non-member reviewer finds nothing.
    let ann_cookie = app.session_for("ann@example.org").await;
    let page = app.get("/projects/p/review", Some(&ann_cookie)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let out = app.session_for("out@example.org").await;
    for path in ["/projects/p/review", "/projects/nope/review"] {
        let page = app.get(path, Some(&out)).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The audit page lists the fix and the settings for admins only; the download is JSONL.
    let page = app.get("/admin/audit?action=review", Some(&admin)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(page).await;
    assert!(html.contains("review.fix") && html.contains("review.settings"));
    assert!(html.contains("rev@example.org"));
    let bad = app.get("/admin/audit?from=soon", Some(&admin)).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let download = app
        .get("/admin/audit.jsonl?action=review", Some(&admin))
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(body_text(download).await.lines().count(), 2);
    let refused = app.get("/admin/audit", Some(&rev)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn members_are_managed_over_the_api_with_their_own_scope(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, "p", 1).await;
    project(&app, "other", 1).await;
    app.outsider("ann@example.org", Role::Annotator).await;
    let writer = token(&app, &["members:write"], Some("p")).await;
    let exporter = token(&app, &["export:read"], None).await;
    let path = "/api/v1/projects/p/members";
    let body = json!({"email": "ann@example.org", "max_items": 40});
    let (status, _, member) = api_call(&app, "POST", path, Some(&writer), Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(
        (member["email"].as_str(), member["max_items"].as_i64()),
        (Some("ann@example.org"), Some(40))
    );
    let (status, _, list) = api_call(&app, "GET", path, Some(&writer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Bad input names the field; other scopes and other projects are refused.
    let bad = json!({"email": "ghost@example.org"});
    let (status, _, reply) = api_call(&app, "POST", path, Some(&writer), Some(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["error"]["details"]["field"], "email");
    let (status, _, _) = api_call(&app, "GET", path, Some(&exporter), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let elsewhere = "/api/v1/projects/other/members";
    let (status, _, reply) = api_call(&app, "GET", elsewhere, Some(&writer), None).await;
    assert_eq!(
        (status, error_code(&reply)),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    // Removing: 204, then 404; the audit log names the token.
    let one = format!("{path}/ann@example.org");
    let (status, _, _) = api_call(&app, "DELETE", &one, Some(&writer), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = api_call(&app, "DELETE", &one, Some(&writer), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let log = audit::list(
        &app.pool,
        &Actor::cli(),
        &audit::Query {
            action: Some("member".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.token_id.is_some()));
}

/// Labels every item `who` is given in `slug`, ranking the answers by `order` of the item's
/// own answer order (`order[0]` first); returns (item, annotation) pairs.
async fn label_all(app: &TestApp, who: &Actor, slug: &str, order: &[usize]) -> Vec<(Uuid, Uuid)> {
    let mut done = Vec::new();
    // Until nothing is left for them, or they reach their limit.
    while let Ok(Some(task)) = labeling::next(&app.pool, who, slug).await {
        let mut by_item: Vec<_> = task.answers.clone();
        by_item.sort_by_key(|a| a.ordinal);
        let mut input = ranked(&task);
        input.body.ranking = Some(
            order
                .iter()
                .map(|&k| vec![by_item[k].response_id])
                .collect(),
        );
        labeling::submit(&app.pool, who, slug, input.clone())
            .await
            .unwrap();
        done.push((task.item_id, input.annotation_id));
    }
    done
}

async fn select(app: &TestApp, slug: &str, fields_: &[(&str, &str)]) {
    let mut all = vec![("enabled", "on")];
    all.extend_from_slice(fields_);
    let settings = review::parse_settings(&fields(&all)).unwrap();
    review::save_settings(&app.pool, &Actor::cli(), slug, &settings)
        .await
        .unwrap();
}

#[sqlx::test]
async fn review_selects_a_share_low_gold_accuracy_or_disagreement_worst_first(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    // A stable share: about half of 40 labels, the same ones at every look.
    project(&app, "s", 40).await;
    let ann = Actor::from(&app.user("ann@example.org", Role::Annotator).await);
    let rev = Actor::from(&app.user("rev@example.org", Role::Reviewer).await);
    assert_eq!(label_all(&app, &ann, "s", &[0, 1]).await.len(), 40);
    select(&app, "s", &[("selection", "sample"), ("share", "0.5")]).await;
    let due = review::queue_state(&app.pool, &rev, "s")
        .await
        .unwrap()
        .due_items;
    assert!((5..=35).contains(&due), "{due} of 40 at a share of 0.5");
    let again = review::queue_state(&app.pool, &rev, "s")
        .await
        .unwrap()
        .due_items;
    assert_eq!(due, again, "the share is stable");
    select(&app, "s", &[("selection", "sample"), ("share", "1")]).await;
    let all = review::queue_state(&app.pool, &rev, "s")
        .await
        .unwrap()
        .due_items;
    assert_eq!(all, 40);

    // Below a gold accuracy: the annotator who missed the gold item is reviewed, the one
    // who got it right is not (gold items themselves are never reviewed).
    projects::create(&app.pool, &cli, "g", "Gold")
        .await
        .unwrap();
    let values = [
        json!({"external_id": "g0", "prompt": "Gold?", "responses": ["wrong", "right"], "gold": {"best": 1}}),
        json!({"external_id": "q0", "prompt": "Q0?", "responses": ["a", "b"]}),
        json!({"external_id": "q1", "prompt": "Q1?", "responses": ["a", "b"]}),
    ];
    items::push(&app.pool, &cli, "g", &values).await.unwrap();
    // Gold first; two items each, so that each labels the gold item and one plain item.
    let gold_first =
        verdict::server::services::gold::parse_settings(&fields(&[("onboarding", "1")])).unwrap();
    verdict::server::services::gold::save_settings(&app.pool, &cli, "g", &gold_first)
        .await
        .unwrap();
    app.outsider("bob@example.org", Role::Annotator).await;
    for email in ["ann@example.org", "bob@example.org"] {
        members::add(&app.pool, &cli, "g", email, Some(2), None)
            .await
            .unwrap();
    }
    members::add(&app.pool, &cli, "g", "rev@example.org", None, None)
        .await
        .unwrap();
    let bob = Actor::from(
        &verdict::server::services::users::list(&app.pool, &cli)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.email == "bob@example.org")
            .unwrap(),
    );
    let missed = label_all(&app, &ann, "g", &[0, 1]).await;
    let right = label_all(&app, &bob, "g", &[1, 0]).await;
    assert_eq!(
        (missed.len(), right.len()),
        (2, 2),
        "the gold item and one plain item each"
    );
    select(
        &app,
        "g",
        &[("selection", "below_gold"), ("min_accuracy", "0.5")],
    )
    .await;
    let task = review::next(&app.pool, &rev, "g").await.unwrap().unwrap();
    let ann_plain = missed.iter().find(|(item, _)| *item == task.item_id);
    assert!(
        ann_plain.is_some(),
        "the item reviewed is the one ann labeled"
    );
    assert_eq!(task.labels.iter().filter(|l| l.pending).count(), 1);
    assert_eq!(
        review::queue_state(&app.pool, &rev, "g")
            .await
            .unwrap()
            .due_items,
        1
    );

    // Disagreement, worst first: two annotators rank three items alike, with one swap,
    // and reversed; below an agreement of 0.99 the reversed item comes first.
    projects::create(&app.pool, &cli, "d", "Disagreement")
        .await
        .unwrap();
    let form = common::rankings_form("Disagreement", 2, false);
    projects::update(&app.pool, &cli, "d", &form).await.unwrap();
    let values: Vec<serde_json::Value> = ["same", "swap", "reversed"]
        .iter()
        .map(|id| json!({"external_id": id, "prompt": format!("{id}?"), "responses": ["a", "b", "c"]}))
        .collect();
    items::push(&app.pool, &cli, "d", &values).await.unwrap();
    for email in ["ann@example.org", "bob@example.org", "rev@example.org"] {
        members::add(&app.pool, &cli, "d", email, None, None)
            .await
            .unwrap();
    }
    label_all(&app, &ann, "d", &[0, 1, 2]).await;
    // Bob's order depends on the item: read it from the item's prompt.
    while let Some(task) = labeling::next(&app.pool, &bob, "d").await.unwrap() {
        let prompt = &task.messages.last().unwrap().content;
        let order: [usize; 3] = match prompt.as_str() {
            "same?" => [0, 1, 2],
            "swap?" => [1, 0, 2],
            _ => [2, 1, 0],
        };
        let mut by_item = task.answers.clone();
        by_item.sort_by_key(|a| a.ordinal);
        let mut input = ranked(&task);
        input.body.ranking = Some(
            order
                .iter()
                .map(|&k| vec![by_item[k].response_id])
                .collect(),
        );
        labeling::submit(&app.pool, &bob, "d", input).await.unwrap();
    }
    verdict::server::services::quality::count_marked(&app.pool)
        .await
        .unwrap();
    select(
        &app,
        "d",
        &[("selection", "disagreement"), ("max_agreement", "0.99")],
    )
    .await;
    assert_eq!(
        review::queue_state(&app.pool, &rev, "d")
            .await
            .unwrap()
            .due_items,
        2,
        "the two items whose annotators disagree"
    );
    let first = review::next(&app.pool, &rev, "d").await.unwrap().unwrap();
    assert_eq!(
        first.messages.last().unwrap().content,
        "reversed?",
        "worst first"
    );
    assert_eq!(
        first.disagreements.len(),
        2,
        "a and c swapped ends; b stayed in the middle"
    );
}
