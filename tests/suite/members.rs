//! Project membership: a non-member annotator finds no trace of a project (its lists leave it
//! out; its services, server functions and pages answer 404), a member works on it within
//! their limits, and bad membership input names the field and changes nothing.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use verdict::model::annotation::{AnnotationInput, Task};
use verdict::model::user::Role;
use verdict::server::Error;
use verdict::server::services::{Actor, labeling, members, projects, quality};

/// A project `p` of `n` two-answer items.
async fn project(app: &TestApp, n: usize) {
    let cli = Actor::cli();
    projects::create(&app.pool, &cli, "p", "Members' project")
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"external_id": format!("q{i}"), "prompt": format!("Q{i}?"), "responses": ["a", "b"]}))
        .collect();
    verdict::server::services::items::push(&app.pool, &cli, "p", &values)
        .await
        .unwrap();
}

fn ranked(task: &Task) -> AnnotationInput {
    common::ranked_as_shown(task, 700)
}

fn not_found<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::NotFound("project")))
}

#[sqlx::test]
async fn a_non_member_finds_no_trace_of_the_project(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, 3).await;
    let outsider = Actor::from(&app.outsider("out@example.org", Role::Annotator).await);
    let reviewer = Actor::from(&app.outsider("rev@example.org", Role::Reviewer).await);
    for who in [&outsider, &reviewer] {
        assert!(projects::list(&app.pool, who).await.unwrap().is_empty());
        assert!(not_found(labeling::next(&app.pool, who, "p").await));
        assert!(not_found(
            labeling::history(&app.pool, who, "p", None).await
        ));
        assert!(not_found(quality::my_scorecard(&app.pool, who, "p").await));
    }
    // Not even a submission for one of its items goes through.
    let admin = Actor::cli();
    let root = Actor::from(&app.user("root@example.org", Role::Admin).await);
    let task = labeling::next(&app.pool, &root, "p")
        .await
        .unwrap()
        .unwrap();
    assert!(not_found(
        labeling::submit(&app.pool, &outsider, "p", ranked(&task)).await
    ));
    // Over HTTP: the server functions and the pages answer 404, as for a project that does
    // not exist.
    let cookie = app.session_for("out@example.org").await;
    for slug in ["p", "no-such-project"] {
        let (status, body) = app
            .server_fn("next_task", &format!("slug={slug}"), Some(&cookie))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{slug}: {body}");
        assert_eq!(body["message"], "project not found", "{slug}");
        let page = app
            .get(&format!("/projects/{slug}/quality/me"), Some(&cookie))
            .await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{slug}");
    }
    let (status, body) = app.server_fn("list_projects", "", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!([]));

    // A member: the project is there, and labeling works; removed, it is gone again.
    members::add(&app.pool, &admin, "p", "out@example.org", None, None)
        .await
        .unwrap();
    assert_eq!(projects::list(&app.pool, &outsider).await.unwrap().len(), 1);
    let task = labeling::next(&app.pool, &outsider, "p")
        .await
        .unwrap()
        .unwrap();
    labeling::submit(&app.pool, &outsider, "p", ranked(&task))
        .await
        .unwrap();
    let (status, _) = app.server_fn("next_task", "slug=p", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        members::remove(&app.pool, &admin, "p", "out@example.org")
            .await
            .unwrap()
    );
    assert!(not_found(labeling::next(&app.pool, &outsider, "p").await));
    // Admins reach every project without being members.
    assert!(
        labeling::next(&app.pool, &root, "p")
            .await
            .unwrap()
            .is_some()
    );
}

#[sqlx::test]
async fn a_member_labels_up_to_their_limits(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, 5).await;
    let ann = Actor::from(&app.outsider("ann@example.org", Role::Annotator).await);
    let admin = Actor::cli();
    members::add(&app.pool, &admin, "p", "ann@example.org", Some(2), None)
        .await
        .unwrap();
    let first = labeling::next(&app.pool, &ann, "p").await.unwrap().unwrap();
    let after_first = labeling::submit(&app.pool, &ann, "p", ranked(&first))
        .await
        .unwrap();
    let second = after_first.next.expect("one more is allowed");
    // The second label is kept; the answer says why there is no third item.
    let at_limit = labeling::submit(&app.pool, &ann, "p", ranked(&second))
        .await
        .unwrap();
    assert!(at_limit.annotation_id.is_some() && at_limit.next.is_none());
    let notice = at_limit.notice.expect("a notice");
    assert!(notice.contains("You have labeled 2 items"), "{notice}");
    match labeling::next(&app.pool, &ann, "p").await {
        Err(Error::Paused(reason)) => assert_eq!(reason, notice),
        other => panic!("{other:?}"),
    }
    // A daily limit, once the total is raised.
    members::add(&app.pool, &admin, "p", "ann@example.org", Some(10), Some(3))
        .await
        .unwrap();
    let third = labeling::next(&app.pool, &ann, "p").await.unwrap().unwrap();
    let today = labeling::submit(&app.pool, &ann, "p", ranked(&third))
        .await
        .unwrap();
    assert!(today.notice.unwrap().contains("today"));
    let listed = members::list(&app.pool, &admin, "p").await.unwrap();
    assert_eq!(
        (listed[0].labels, listed[0].max_items, listed[0].daily_max),
        (3, Some(10), Some(3))
    );
}

#[sqlx::test]
async fn bad_membership_input_names_the_field_and_changes_nothing(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    project(&app, 1).await;
    app.outsider("ann@example.org", Role::Annotator).await;
    app.outsider("root@example.org", Role::Admin).await;
    let admin = Actor::cli();
    let field = |r: Result<(), Error>| match r {
        Err(Error::Invalid(e)) => e.field.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(members::add(&app.pool, &admin, "p", "ghost@example.org", None, None).await),
        "email"
    );
    assert_eq!(
        field(members::add(&app.pool, &admin, "p", "root@example.org", None, None).await),
        "email"
    );
    assert_eq!(
        field(members::add(&app.pool, &admin, "p", "ann@example.org", Some(-1), None).await),
        "max_items"
    );
    assert_eq!(
        field(members::parse_limit("daily_max", Some("-3")).map(|_| ())),
        "daily_max"
    );
    assert_eq!(members::parse_limit("daily_max", Some(" ")).unwrap(), None);
    assert!(
        members::list(&app.pool, &admin, "p")
            .await
            .unwrap()
            .is_empty()
    );
    // Annotators may not manage members; an unknown project is 404.
    let ann = Actor::from(&app.user("other@example.org", Role::Annotator).await);
    assert!(matches!(
        members::add(&app.pool, &ann, "p", "ann@example.org", None, None).await,
        Err(Error::Forbidden)
    ));
    assert!(not_found(members::list(&app.pool, &admin, "nope").await));

    // The members page: a bad email is shown again with the field named; an annotator gets 403.
    app.user("boss@example.org", Role::Admin).await;
    let boss = app.session_for("boss@example.org").await;
    let refused = app
        .send(common::form_post(
            "/projects/p/members",
            "email=ghost%40example.org&max_items=&daily_max=",
            Some(&boss),
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        common::body_text(refused)
            .await
            .contains("email: no user has the email")
    );
    let added = app
        .send(common::form_post(
            "/projects/p/members",
            "email=ann%40example.org&max_items=5&daily_max=",
            Some(&boss),
        ))
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let listed = members::list(&app.pool, &admin, "p").await.unwrap();
    assert!(
        listed
            .iter()
            .any(|m| m.email == "ann@example.org" && m.max_items == Some(5))
    );
    let cookie = app.session_for("other@example.org").await;
    let page = app.get("/projects/p/members", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}
