//! Server functions check who calls them: 401 without a session, 403 without the role.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use verdict::model::user::Role;
use verdict::server::seed;

async fn app_with_people(pool: sqlx::PgPool) -> (TestApp, String, String) {
    let app = TestApp::new(pool).await;
    seed::seed_demo(&app.pool, Some("demo annotator pw"))
        .await
        .unwrap();
    app.user("root@example.org", Role::Admin).await;
    app.user("ann@example.org", Role::Annotator).await;
    let admin = app.session_for("root@example.org").await;
    let annotator = app.session_for("ann@example.org").await;
    (app, admin, annotator)
}

const NEW_USER: &str =
    "email=new%40example.org&display_name=New+Person&password=another+long+pw&role=annotator";

#[sqlx::test]
async fn without_a_session_every_protected_function_is_401(pool: sqlx::PgPool) {
    let (app, _, _) = app_with_people(pool).await;
    for (name, form) in [
        ("list_projects", ""),
        ("project_items", "slug=demo"),
        ("list_users", ""),
        ("create_user", NEW_USER),
        (
            "set_user_disabled",
            "user_id=00000000-0000-0000-0000-000000000000&disabled=true",
        ),
    ] {
        let (status, body) = app.server_fn(name, form, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["code"], "unauthenticated", "{name}");
    }
    let (status, body) = app
        .server_fn("list_projects", "", Some("verdict_session=forged"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[sqlx::test]
async fn annotators_get_403_from_admin_functions(pool: sqlx::PgPool) {
    let (app, _, annotator) = app_with_people(pool).await;
    for (name, form) in [
        ("project_items", "slug=demo"),
        ("list_users", ""),
        ("create_user", NEW_USER),
        (
            "set_user_disabled",
            "user_id=00000000-0000-0000-0000-000000000000&disabled=true",
        ),
    ] {
        let (status, body) = app.server_fn(name, form, Some(&annotator)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        assert_eq!(body["code"], "forbidden", "{name}");
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'new@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 0, "a refused call changes nothing");
}

#[sqlx::test]
async fn annotators_see_projects_with_counts(pool: sqlx::PgPool) {
    let (app, _, annotator) = app_with_people(pool).await;
    let (status, projects) = app.server_fn("list_projects", "", Some(&annotator)).await;
    assert_eq!(status, StatusCode::OK);
    let demo = &projects.as_array().unwrap()[0];
    assert_eq!(demo["slug"], "demo");
    assert_eq!(demo["item_count"], 20);
}

#[sqlx::test]
async fn admins_create_users_who_can_then_sign_in(pool: sqlx::PgPool) {
    let (app, admin, _) = app_with_people(pool).await;
    let (status, user) = app.server_fn("create_user", NEW_USER, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "new@example.org");
    let response = app.login("new@example.org", "another long pw").await;
    assert_eq!(common::location(&response), "/");

    let (status, list) = app.server_fn("list_users", "", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "new@example.org")
    );
}

#[sqlx::test]
async fn bad_user_input_names_the_field_and_stores_nothing(pool: sqlx::PgPool) {
    let (app, admin, _) = app_with_people(pool).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for (form, field) in [
        (
            "email=not-an-email&display_name=X&password=long+enough+pw&role=annotator",
            "email",
        ),
        (
            "email=x%40example.org&display_name=X&password=short&role=annotator",
            "password",
        ),
        (
            "email=x%40example.org&display_name=X&password=long+enough+pw&role=root",
            "role",
        ),
        (
            "email=ANN%40example.org&display_name=X&password=long+enough+pw&role=annotator",
            "email",
        ),
    ] {
        let (status, body) = app.server_fn("create_user", form, Some(&admin)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {body}");
        assert_eq!(body["field"], field, "{form}: {body}");
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[sqlx::test]
async fn admins_cannot_disable_themselves(pool: sqlx::PgPool) {
    let (app, admin, _) = app_with_people(pool).await;
    let (_, me) = app.server_fn("me", "", Some(&admin)).await;
    let form = format!("user_id={}&disabled=true", me["user_id"].as_str().unwrap());
    let (status, body) = app
        .server_fn("set_user_disabled", &form, Some(&admin))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[sqlx::test]
async fn admins_browse_items_with_answers(pool: sqlx::PgPool) {
    let (app, admin, _) = app_with_people(pool).await;
    let (status, page) = app
        .server_fn("project_items", "slug=demo", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(page["next_after"].is_null());
    for item in items {
        let answers = item["responses"].as_array().unwrap().len();
        assert!((2..=4).contains(&answers), "{item}");
    }
    let (status, body) = app
        .server_fn("project_items", "slug=nope", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[sqlx::test]
async fn the_item_page_renders_untrusted_html_as_text(pool: sqlx::PgPool) {
    let (app, admin, _) = app_with_people(pool).await;
    let response = app.get("/projects/demo/items", Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = common::body_text(response).await;
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the demo's script tag is shown as text"
    );
    assert!(
        !html.contains("<script>alert("),
        "and never emitted as markup"
    );
    assert!(!html.contains("<img src=x onerror"));
    assert!(html.contains("<table>"), "markdown tables render");
}

/// The Quality page and its forms: admins only; a bad setting is shown again with the field
/// named and changes nothing.
#[sqlx::test]
async fn the_quality_pages_forms_are_for_admins(pool: sqlx::PgPool) {
    let (app, admin, annotator) = app_with_people(pool).await;
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM project_adaptive")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let overlap = "/projects/demo/quality/overlap";
    let good = "max_overlap=3&min_agreement=0.8";
    for (path, body) in [(overlap, good), ("/projects/demo/quality/gold", "rate=0.1")] {
        let refused = app
            .send(common::form_post(path, body, Some(&annotator)))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    for path in [
        "/projects/demo/quality",
        "/projects/demo/quality?judge_by=category",
    ] {
        let page = app.get(path, Some(&annotator)).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(stored().await, 0);

    let bad = app
        .send(common::form_post(overlap, "max_overlap=0", Some(&admin)))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        common::body_text(bad)
            .await
            .contains("max_overlap: must be between 1 and 100")
    );
    assert_eq!(stored().await, 0);
    let saved = app
        .send(common::form_post(overlap, good, Some(&admin)))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored().await, 1);
    let page = app
        .get("/projects/demo/quality?judge_by=category", Some(&admin))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = common::body_text(page).await;
    assert!(html.contains("Adaptive overlap") && html.contains("The model as a rater"));
    assert!(
        html.contains(r#"name="max_overlap" inputmode="numeric" value="3""#),
        "the saved maximum shows"
    );
}
