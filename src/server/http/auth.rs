//! Login and logout as plain form posts: they work before (and without) the WASM.

use super::session;
use crate::model::url::encode_query_value;
use crate::server::services::auth;
use crate::server::{AppState, Error};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// On success, 303 to `next` (a local path) or `/`; on failure, 303 back to the login
/// page with an error code it explains.
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let outcome = match auth::login(
        &state.pool,
        state.config.login_throttle,
        &form.email,
        &form.password,
    )
    .await
    {
        Ok(user) => {
            session::sign_in(
                &state.pool,
                &session,
                user.user_id,
                state.config.session_days,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Redirect::to(next).into_response(),
        Err(e) => {
            let reason = match &e {
                Error::Unauthenticated => "invalid".to_owned(),
                Error::Forbidden => "disabled".to_owned(),
                Error::TooManyRequests { retry_after_secs } => {
                    format!("throttled&retry={retry_after_secs}")
                }
                other => {
                    other.to_app_error(); // logs it
                    "unavailable".to_owned()
                }
            };
            let next_param = if next == "/" {
                String::new()
            } else {
                format!("&next={}", encode_query_value(next))
            };
            Redirect::to(&format!("/login?error={reason}{next_param}")).into_response()
        }
    }
}

pub async fn logout(session: Session) -> Response {
    match session::sign_out(&session).await {
        Ok(()) => Redirect::to("/login").into_response(),
        Err(e) => e.into_response(),
    }
}

/// Only same-site paths: `//evil.example` and absolute URLs become `/`.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") => p,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path(Some("/admin/users")), "/admin/users");
        assert_eq!(local_path(Some("//evil.example/x")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
