//! Server functions, grouped by area. Each is a thin shim: it finds the session's user
//! and calls a service, which does the work and the permission checks. They are mounted
//! under `/serverfn/`; the stable public contract is the REST API, not these URLs.

pub mod assist;
pub mod labeling;
pub mod projects;
pub mod session;
pub mod tokens;
pub mod users;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::model::user::UserView;
    use crate::model::{AppError, ErrorCode};
    use crate::server::http::session;
    use crate::server::services::Actor;
    use crate::server::{AppState, Error};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    /// Maps a service error to the client's error and the matching HTTP status.
    pub fn fail(e: Error) -> AppError {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(e.status());
            if e.status() == http::StatusCode::SERVICE_UNAVAILABLE {
                response.insert_header(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(crate::server::error::RETRY_AFTER_SECS),
                );
            }
        }
        e.to_app_error()
    }

    pub trait IntoApp<T> {
        fn into_app(self) -> Result<T, AppError>;
    }

    impl<T, E: Into<Error>> IntoApp<T> for Result<T, E> {
        fn into_app(self) -> Result<T, AppError> {
            self.map_err(|e| fail(e.into()))
        }
    }

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>()
            .ok_or_else(|| AppError::new(ErrorCode::Internal, "server state missing"))
    }

    /// The session's user, if any.
    pub async fn user() -> Result<(AppState, Option<UserView>), AppError> {
        let state = state()?;
        let session = leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|e| fail(Error::Internal(anyhow::anyhow!("no session layer: {e}"))))?;
        let user = session::current_user(&state.pool, &session)
            .await
            .into_app()?;
        Ok((state, user))
    }

    /// The session's user as an actor for services; 401 without one.
    pub async fn actor() -> Result<(AppState, Actor), AppError> {
        match user().await? {
            (state, Some(user)) => Ok((state, Actor::from(&user))),
            (_, None) => Err(fail(Error::Unauthenticated)),
        }
    }
}
