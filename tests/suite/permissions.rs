//! The permission matrix: every server function, every server-rendered route and page, and
//! every REST operation, called by every kind of caller (nobody, an annotator or reviewer
//! who is a member, one who is not, an admin; tokens limited to another project). The lists
//! are read from the application itself (the server-function registry, the route list the
//! router is built from, the Leptos route list, the OpenAPI document), so a new route without an entry here fails.
//!
//! What must hold: nobody signed in gets nothing; a non-member's answer for the project is
//! exactly the answer for a project that does not exist (nothing reveals that it exists); a
//! member's project work is never refused for the project; admin work is refused to others.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, api_call, body_text, token};
use serde_json::json;
use std::collections::BTreeSet;
use verdict::model::user::Role;
use verdict::server::services::{Actor, items, projects};

/// Who a server function is for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum For {
    /// Answers anyone (whether someone is signed in).
    Anyone,
    /// Anyone signed in; lists only what they may see.
    SignedIn,
    /// A member's (or admin's) work on the project.
    Member,
    /// An admin's work on the project.
    ProjectAdmin,
    /// An admin's work outside projects.
    Admin,
}

const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// Every server function: its caller class and a well-formed body for project `{s}`.
fn server_functions() -> Vec<(&'static str, For, String)> {
    let blank_assist =
        "base_url=&model=&api_key=&timeout_secs=&concurrency=&judge_prompt=&holdout_percent=";
    vec![
        ("me", For::Anyone, String::new()),
        ("list_projects", For::SignedIn, String::new()),
        ("next_task", For::Member, "slug={s}".into()),
        ("submit_annotation", For::Member, "json".into()),
        (
            "skip_task",
            For::Member,
            format!("slug={{s}}&item_id={NIL}"),
        ),
        ("my_history", For::Member, "slug={s}".into()),
        (
            "reopen_annotation",
            For::Member,
            format!("slug={{s}}&annotation_id={NIL}"),
        ),
        ("get_assist_settings", For::ProjectAdmin, "slug={s}".into()),
        (
            "save_assist_settings",
            For::ProjectAdmin,
            format!("slug={{s}}&{blank_assist}"),
        ),
        ("test_inference", For::ProjectAdmin, "slug={s}".into()),
        (
            "start_job",
            For::ProjectAdmin,
            "slug={s}&swap_share=2".into(),
        ),
        (
            "control_job",
            For::ProjectAdmin,
            format!("slug={{s}}&job_id={NIL}&action=pause"),
        ),
        ("list_jobs", For::ProjectAdmin, "slug={s}".into()),
        ("get_agreement_report", For::ProjectAdmin, "slug={s}".into()),
        ("project_items", For::ProjectAdmin, "slug={s}".into()),
        ("project_settings", For::ProjectAdmin, "slug={s}".into()),
        (
            "save_project_settings",
            For::ProjectAdmin,
            "slug={s}&form[name]=&form[overlap]=0&form[lease_minutes]=30".into(),
        ),
        (
            "export_preview",
            For::ProjectAdmin,
            "slug={s}&request[format]=raw".into(),
        ),
        ("create_project", For::Admin, "slug=made-here&name=".into()),
        ("list_tokens", For::Admin, String::new()),
        ("create_token", For::Admin, "name=&export_read=on".into()),
        ("revoke_token", For::Admin, format!("token_id={NIL}")),
        ("list_users", For::Admin, String::new()),
        (
            "create_user",
            For::Admin,
            "email=bad&display_name=X&password=short&role=annotator".into(),
        ),
        (
            "set_user_disabled",
            For::Admin,
            format!("user_id={NIL}&disabled=true"),
        ),
        // Someone else's sessions (anyone may end their own: tests/http_auth.rs).
        ("sign_out_everywhere", For::Admin, format!("user_id={NIL}")),
    ]
}

struct World {
    app: TestApp,
    /// (who, session cookie): the admin, members and non-members.
    admin: String,
    /// An admin's session from before their account was disabled.
    disabled: String,
    members: Vec<(&'static str, String)>,
    outsiders: Vec<(&'static str, String)>,
}

async fn world(pool: sqlx::PgPool) -> World {
    let app = TestApp::new(pool).await;
    let cli = Actor::cli();
    for slug in ["p", "other"] {
        projects::create(&app.pool, &cli, slug, "A project")
            .await
            .unwrap();
        let values = [json!({"external_id": "q0", "prompt": "Q?", "responses": ["a", "b"]})];
        items::push(&app.pool, &cli, slug, &values).await.unwrap();
    }
    app.user("root@example.org", Role::Admin).await;
    app.user("ann@example.org", Role::Annotator).await;
    app.user("rev@example.org", Role::Reviewer).await;
    app.outsider("ann-out@example.org", Role::Annotator).await;
    app.outsider("rev-out@example.org", Role::Reviewer).await;
    let gone = app.user("gone@example.org", Role::Admin).await;
    let disabled = app.session_for("gone@example.org").await;
    verdict::server::services::users::set_disabled(&app.pool, &cli, gone.user_id, true)
        .await
        .unwrap();
    World {
        admin: app.session_for("root@example.org").await,
        disabled,
        members: vec![
            ("annotator member", app.session_for("ann@example.org").await),
            ("reviewer member", app.session_for("rev@example.org").await),
        ],
        outsiders: vec![
            (
                "annotator non-member",
                app.session_for("ann-out@example.org").await,
            ),
            (
                "reviewer non-member",
                app.session_for("rev-out@example.org").await,
            ),
        ],
        app,
    }
}

/// Calls the server function as the browser does; returns status and body text.
async fn call(
    app: &TestApp,
    name: &str,
    body: &str,
    slug: &str,
    cookie: Option<&str>,
) -> (StatusCode, String) {
    let (content_type, body) = if body == "json" {
        let input =
            json!({"annotation_id": NIL, "item_id": NIL, "ranking": null, "shown_order": []});
        (
            "application/json",
            json!({"slug": slug, "input": input}).to_string(),
        )
    } else {
        (
            "application/x-www-form-urlencoded",
            body.replace("{s}", slug),
        )
    };
    let mut request = Request::post(format!("/serverfn/{name}"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.send(request.body(Body::from(body)).unwrap()).await;
    let status = response.status();
    (status, body_text(response).await)
}

#[sqlx::test]
async fn every_server_function_checks_its_caller(pool: sqlx::PgPool) {
    let w = world(pool).await;
    let table = server_functions();
    // The table is the registry: a server function added without an entry fails here.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/serverfn/").to_owned())
        .collect();
    let listed: BTreeSet<String> = table.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    assert_eq!(
        registered, listed,
        "every server function has a row in the matrix"
    );

    let mut pairs = 0;
    for (name, class, body) in &table {
        // Nobody signed in, and a disabled admin's old session: the same.
        for (who, cookie) in [
            ("nobody", None),
            ("disabled admin", Some(w.disabled.as_str())),
        ] {
            let (status, reply) = call(&w.app, name, body, "p", cookie).await;
            match class {
                For::Anyone => assert_eq!(status, StatusCode::OK, "{name} for {who}: {reply}"),
                _ => assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{name} for {who}: {reply}"
                ),
            }
            pairs += 1;
        }
        // Non-members: the project answers as one that does not exist.
        for (who, cookie) in &w.outsiders {
            let here = call(&w.app, name, body, "p", Some(cookie)).await;
            let nowhere = call(&w.app, name, body, "nope", Some(cookie)).await;
            assert_eq!(
                here, nowhere,
                "{name} for the {who}: p and a missing project differ"
            );
            pairs += 1;
            match class {
                For::Member => assert_eq!(here.0, StatusCode::NOT_FOUND, "{name} for the {who}"),
                For::ProjectAdmin | For::Admin => {
                    assert_eq!(here.0, StatusCode::FORBIDDEN, "{name} for the {who}")
                }
                For::Anyone | For::SignedIn => {
                    assert_eq!(here.0, StatusCode::OK, "{name} for the {who}");
                    assert!(
                        !here.1.contains("\"p\""),
                        "{name} shows the {who} the project: {}",
                        here.1
                    );
                }
            }
        }
        // Members: their work on the project goes through to the service; admin work is refused.
        for (who, cookie) in &w.members {
            let (status, reply) = call(&w.app, name, body, "p", Some(cookie)).await;
            pairs += 1;
            match class {
                For::ProjectAdmin | For::Admin => {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{name} for the {who}: {reply}"
                    )
                }
                _ => {
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{name} for the {who}: {status} {reply}"
                    );
                    assert!(
                        !reply.contains("project not found"),
                        "{name} for the {who}: {reply}"
                    );
                }
            }
        }
        // The admin reaches everything.
        let (status, reply) = call(&w.app, name, body, "p", Some(&w.admin)).await;
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
            "{name} for the admin: {status} {reply}"
        );
        assert!(
            !reply.contains("project not found"),
            "{name} for the admin: {reply}"
        );
        pairs += 1;
    }
    eprintln!(
        "server functions: {} functions, {pairs} (function, caller) pairs checked",
        table.len()
    );
}

/// The routes outside the app and the API that need a session, as (method, path): the
/// list the router is built from.
fn server_rendered_routes() -> Vec<(&'static str, String)> {
    verdict::server::http::page_routes()
        .into_iter()
        .filter(|r| !r.public)
        .flat_map(|r| r.methods.into_iter().map(move |m| (m, r.path.to_owned())))
        .collect()
}

fn fill(path: &str, slug: &str) -> String {
    path.replace("{slug}", slug)
        .replace("{external_id}", "q0")
        .replace("{name}", "trainer")
        .replace("{version}", "1")
        .replace("{file}", "jsonl")
}

async fn visit(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "text/html");
    if method == "POST" {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    let status = response.status();
    (status, body_text(response).await)
}

#[sqlx::test]
async fn every_page_and_form_route_hides_projects_from_non_members(pool: sqlx::PgPool) {
    let w = world(pool).await;
    let routes = server_rendered_routes();
    assert!(
        routes.len() >= 20,
        "the router's routes were read: {routes:?}"
    );
    // The hydrated app's pages too (their data comes from the server functions above).
    let pages: Vec<(&str, String)> = verdict::server::http::app_routes()
        .into_iter()
        .map(|r| ("GET", r.path().replace(":slug", "{slug}")))
        .filter(|(_, p)| p != "/login")
        .collect();
    assert!(
        pages.iter().any(|(_, p)| p == "/projects/{slug}/label"),
        "{pages:?}"
    );
    let all = routes
        .iter()
        .map(|r| (r, false))
        .chain(pages.iter().map(|r| (r, true)));
    let (mut count, mut pairs) = (0, 0);
    for ((method, path), in_app) in all {
        count += 1;
        for (who, cookie) in [
            ("nobody", None),
            ("a disabled admin", Some(w.disabled.as_str())),
        ] {
            let (status, _) = visit(&w.app, method, &fill(path, "p"), cookie).await;
            assert!(
                !status.is_success(),
                "{method} {path} answered {status} to {who}"
            );
            pairs += 1;
        }
        if !path.contains("{slug}") {
            continue;
        }
        for (who, cookie) in &w.outsiders {
            let (here, here_body) = visit(&w.app, method, &fill(path, "p"), Some(cookie)).await;
            let (nowhere, nowhere_body) =
                visit(&w.app, method, &fill(path, "nope"), Some(cookie)).await;
            assert_eq!(here, nowhere, "{method} {path} for the {who}");
            pairs += 1;
            // A server-rendered route refuses them (the app's pages show the refusal that
            // their server functions answer, checked above).
            assert!(
                in_app || here.is_client_error(),
                "{method} {path} for the {who}: {here}"
            );
            // A server-rendered page is the same page but for the slug in it (the app's
            // pages stream their data in a varying order, with a nonce).
            if !in_app {
                assert_eq!(
                    here_body.replace("/p/", "/nope/").replace(" p<", " nope<"),
                    nowhere_body,
                    "{method} {path} for the {who}"
                );
            }
        }
    }
    eprintln!("pages and form routes: {count} routes, {pairs} (route, caller) pairs checked");
}

#[sqlx::test]
async fn every_api_operation_hides_other_projects_from_limited_tokens(pool: sqlx::PgPool) {
    let w = world(pool).await;
    let doc = serde_json::to_value(verdict::server::http::api::openapi()).unwrap();
    let all = [
        "items:write",
        "feedback:write",
        "feedback:read",
        "export:read",
        "members:write",
    ];
    let limited = token(&w.app, &all, Some("other")).await;
    let unlimited = token(&w.app, &all, None).await;
    let revoked = token(&w.app, &all, None).await;
    let cli = Actor::cli();
    let listed = verdict::server::services::tokens::list(&w.app.pool, &cli)
        .await
        .unwrap();
    let revoked_id = listed
        .iter()
        .find(|t| revoked.starts_with(&t.prefix))
        .unwrap()
        .token_id;
    verdict::server::services::tokens::revoke(&w.app.pool, &cli, revoked_id)
        .await
        .unwrap();
    let mut single = Vec::new();
    for scope in all {
        single.push((scope, token(&w.app, &[scope], None).await));
    }
    let (mut checked, mut pairs) = (0, 0);
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains("{slug}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let at = |slug: &str| {
                format!(
                    "/api/v1{}",
                    fill(path, slug).replace("{email}", "ann@example.org")
                )
            };
            let body = json!({});
            let body = (method == "POST" || method == "PUT").then_some(&body);
            let here = api_call(&w.app, &method, &at("p"), Some(&limited), body).await;
            let nowhere = api_call(&w.app, &method, &at("nope"), Some(&limited), body).await;
            // Refused (or its empty body is, before the project is looked at): the same
            // answer as for a project that does not exist.
            assert!(here.0.is_client_error(), "{method} {path}: {}", here.0);
            assert_eq!((here.0, here.2), (nowhere.0, nowhere.2), "{method} {path}");
            let (status, _, reply) =
                api_call(&w.app, &method, &at("p"), Some(&unlimited), body).await;
            assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{method} {path} with every scope: {status} {reply}"
            );
            let (status, _, _) = api_call(&w.app, &method, &at("p"), Some(&revoked), body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} revoked");
            // One scope at a time: the operation's documented scope lets it through; any
            // other is refused.
            // (Alternatives: any one of the operation's security requirements will do.)
            let needs: Vec<&str> = item[method.to_lowercase().as_str()]["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} documents its scope"))
                .iter()
                .flat_map(|requirement| requirement["bearer"].as_array().into_iter().flatten())
                .filter_map(|s| s.as_str())
                .collect();
            for (scope, secret) in &single {
                let (status, _, reply) =
                    api_call(&w.app, &method, &at("p"), Some(secret), body).await;
                if needs.contains(scope) {
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{method} {path} with {scope}: {status} {reply}"
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{method} {path} with {scope}"
                    );
                }
            }
            pairs += 4 + single.len();
            checked += 1;
        }
    }
    assert!(checked >= 17, "{checked} operations");
    eprintln!("API: {checked} operations, {pairs} (operation, token) pairs checked");
}
