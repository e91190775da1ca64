use crate::model::AppError;
use crate::model::user::UserView;
use leptos::prelude::*;

/// Who is signed in; `None` for a visitor.
#[server(prefix = "/serverfn", endpoint = "me")]
pub async fn me() -> Result<Option<UserView>, AppError> {
    Ok(super::ssr::user().await?.1)
}
