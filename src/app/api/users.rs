use crate::model::AppError;
use crate::model::user::UserView;
use leptos::prelude::*;
use uuid::Uuid;

#[server(prefix = "/serverfn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::users::list(&state.pool, &actor)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    display_name: String,
    password: String,
    role: String,
) -> Result<UserView, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::users::create_from_form(
        &state.pool,
        &actor,
        &email,
        &display_name,
        &password,
        &role,
    )
    .await
    .into_app()
}

#[server(prefix = "/serverfn", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere(user_id: Uuid) -> Result<(), AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::users::sign_out_everywhere(&state.pool, &actor, user_id)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(user_id: Uuid, disabled: bool) -> Result<(), AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::users::set_disabled(&state.pool, &actor, user_id, disabled)
        .await
        .into_app()
}
