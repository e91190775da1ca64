//! Login, logout, sessions and cookies, through the real router.

use crate::common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, location, session_cookie, set_cookie_header};
use verdict::model::user::Role;
use verdict::server::config::{AppConfig, LoginThrottle};

#[sqlx::test]
async fn healthz_checks_the_database(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = common::json_body(response).await;
    assert_eq!(body["database"], "ok");

    app.pool.close().await;
    assert_eq!(
        app.get("/healthz", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[sqlx::test]
async fn login_sets_a_hardened_cookie_and_logout_ends_the_session(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("ann@example.org", Role::Annotator).await;

    let response = app.login("ann@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let set_cookie = set_cookie_header(&response).expect("session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http in tests: {set_cookie}"
    );
    let cookie = session_cookie(&response).unwrap();

    let (status, me) = app.server_fn("me", "", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ann@example.org");
    assert_eq!(me["role"], "annotator");
    assert!(me.get("password_hash").is_none());

    let response = app
        .send(common::form_post("/auth/logout", "", Some(&cookie)))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");

    let (status, me) = app.server_fn("me", "", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        me.is_null(),
        "the old cookie must not sign in after logout: {me}"
    );
}

#[sqlx::test]
async fn secure_cookie_when_served_over_https(pool: sqlx::PgPool) {
    let config = AppConfig {
        secure_cookies: true,
        ..AppConfig::default()
    };
    let app = TestApp::with_config(pool, config).await;
    app.user("ann@example.org", Role::Annotator).await;
    let set_cookie = set_cookie_header(&app.login("ann@example.org", PASSWORD).await).unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[sqlx::test]
async fn wrong_password_or_unknown_email_gives_no_session(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("ann@example.org", Role::Annotator).await;
    for (email, password) in [
        ("ann@example.org", "not the password"),
        ("nobody@example.org", PASSWORD),
    ] {
        let response = app.login(email, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/login?error=invalid");
        assert!(session_cookie(&response).is_none());
    }
}

#[sqlx::test]
async fn email_is_case_insensitive(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("Ann@Example.org", Role::Annotator).await;
    assert_eq!(location(&app.login("ann@example.ORG", PASSWORD).await), "/");
}

#[sqlx::test]
async fn failed_logins_are_throttled_per_account(pool: sqlx::PgPool) {
    let config = AppConfig {
        login_throttle: LoginThrottle {
            max_failures: 3,
            window_secs: 600,
        },
        ..AppConfig::default()
    };
    let app = TestApp::with_config(pool, config).await;
    app.user("ann@example.org", Role::Annotator).await;
    app.user("bob@example.org", Role::Annotator).await;
    for _ in 0..3 {
        assert_eq!(
            location(&app.login("ann@example.org", "wrong password").await),
            "/login?error=invalid"
        );
    }
    // Now even the right password is refused, with the time to wait.
    let response = app.login("ann@example.org", PASSWORD).await;
    let to = location(&response);
    assert!(to.starts_with("/login?error=throttled&retry="), "{to}");
    let retry: u64 = to.rsplit('=').next().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(session_cookie(&response).is_none());
    // Other accounts are unaffected.
    assert_eq!(location(&app.login("bob@example.org", PASSWORD).await), "/");
}

#[sqlx::test]
async fn a_success_clears_earlier_failures(pool: sqlx::PgPool) {
    let config = AppConfig {
        login_throttle: LoginThrottle {
            max_failures: 2,
            window_secs: 600,
        },
        ..AppConfig::default()
    };
    let app = TestApp::with_config(pool, config).await;
    app.user("ann@example.org", Role::Annotator).await;
    app.login("ann@example.org", "wrong password").await;
    assert_eq!(location(&app.login("ann@example.org", PASSWORD).await), "/");
    app.login("ann@example.org", "wrong password").await;
    assert_eq!(location(&app.login("ann@example.org", PASSWORD).await), "/");
}

#[sqlx::test]
async fn next_only_leads_to_this_site(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("ann@example.org", Role::Annotator).await;
    let body = |next: &str| {
        format!(
            "email=ann%40example.org&password={}&next={next}",
            common::form_encode(PASSWORD)
        )
    };
    let response = app
        .send(common::form_post(
            "/auth/login",
            &body("%2Fadmin%2Fusers"),
            None,
        ))
        .await;
    assert_eq!(location(&response), "/admin/users");
    let response = app
        .send(common::form_post(
            "/auth/login",
            &body("%2F%2Fevil.example"),
            None,
        ))
        .await;
    assert_eq!(location(&response), "/");
}

#[sqlx::test]
async fn disabled_accounts_cannot_sign_in_and_lose_their_session(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    let ann_cookie = app.session_for("ann@example.org").await;
    let admin_cookie = app.session_for(&admin.email).await;

    let form = format!("user_id={}&disabled=true", ann.user_id);
    let (status, _) = app
        .server_fn("set_user_disabled", &form, Some(&admin_cookie))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, me) = app.server_fn("me", "", Some(&ann_cookie)).await;
    assert!(me.is_null(), "a disabled account's session ends: {me}");
    assert_eq!(
        location(&app.login("ann@example.org", PASSWORD).await),
        "/login?error=disabled"
    );
}

async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let (status, me) = app.server_fn("me", "", Some(cookie)).await;
    assert_eq!(status, StatusCode::OK);
    !me.is_null()
}

#[sqlx::test]
async fn an_admin_signs_a_user_out_everywhere(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user("root@example.org", Role::Admin).await;
    let ann = app.user("ann@example.org", Role::Annotator).await;
    app.user("bob@example.org", Role::Annotator).await;
    let laptop = app.session_for("ann@example.org").await;
    let phone = app.session_for("ann@example.org").await;
    let bob = app.session_for("bob@example.org").await;
    let admin_cookie = app.session_for(&admin.email).await;

    // Another annotator may not end ann's sessions.
    let form = format!("user_id={}", ann.user_id);
    let (status, _) = app
        .server_fn("sign_out_everywhere", &form, Some(&bob))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(signed_in(&app, &laptop).await && signed_in(&app, &phone).await);

    let (status, body) = app
        .server_fn("sign_out_everywhere", &form, Some(&admin_cookie))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !signed_in(&app, &laptop).await,
        "the laptop's session ended"
    );
    assert!(!signed_in(&app, &phone).await, "the phone's session ended");
    assert!(signed_in(&app, &bob).await, "other people's sessions go on");
    assert!(signed_in(&app, &admin_cookie).await);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'user.sign_out_everywhere'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 1, "audited");

    // Signing in again works, and the new session holds.
    let again = app.session_for("ann@example.org").await;
    assert!(signed_in(&app, &again).await);
    // Anyone may end their own sessions, this one included.
    let (status, _) = app
        .server_fn("sign_out_everywhere", &form, Some(&again))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!signed_in(&app, &again).await);
}

#[sqlx::test]
async fn a_new_password_ends_the_accounts_sessions(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    app.user("ann@example.org", Role::Annotator).await;
    app.user("bob@example.org", Role::Annotator).await;
    let ann = app.session_for("ann@example.org").await;
    let bob = app.session_for("bob@example.org").await;

    verdict::server::services::users::set_password(
        &app.pool,
        &verdict::server::services::Actor::cli(),
        "ann@example.org",
        "a brand new long password",
    )
    .await
    .unwrap();
    let (target, secret_logged): (String, bool) = sqlx::query_as(
        "SELECT target, (coalesce(before::text, '') || coalesce(after::text, '')) LIKE '%brand new%' \
         FROM audit_log WHERE action = 'user.set_password'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(target, "ann@example.org", "audited, by email");
    assert!(!secret_logged, "never the password");
    assert!(
        !signed_in(&app, &ann).await,
        "the old password's session ended"
    );
    assert!(signed_in(&app, &bob).await);
    let response = app
        .login("ann@example.org", "a brand new long password")
        .await;
    assert_eq!(location(&response), "/");
}

#[sqlx::test]
async fn login_page_is_a_plain_form(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/login", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = common::body_text(response).await;
    assert!(
        html.contains(r#"<form method="post" action="/auth/login""#),
        "{html}"
    );
    assert!(html.contains(r#"name="email""#));
    assert!(html.contains(r#"name="password""#));
}

#[sqlx::test]
async fn pages_send_visitors_to_login(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/admin/users", None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login?next=/admin/users");
}
