use crate::model::AppError;
use crate::model::api::{CreatedToken, TokenView};
use leptos::prelude::*;
use uuid::Uuid;

#[server(prefix = "/serverfn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::tokens::list(&state.pool, &actor)
        .await
        .into_app()
}

/// Scopes arrive as one checkbox each (present when ticked); `project` empty means all.
#[server(prefix = "/serverfn", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    project: Option<String>,
    items_write: Option<String>,
    feedback_write: Option<String>,
    feedback_read: Option<String>,
    export_read: Option<String>,
    members_write: Option<String>,
) -> Result<CreatedToken, AppError> {
    use super::ssr::{IntoApp, actor};
    use crate::model::api::{NewToken, Scope};
    let (state, actor) = actor().await?;
    let ticked = [
        (items_write, Scope::ItemsWrite),
        (feedback_write, Scope::FeedbackWrite),
        (feedback_read, Scope::FeedbackRead),
        (export_read, Scope::ExportRead),
        (members_write, Scope::MembersWrite),
    ];
    let new = NewToken {
        name,
        scopes: ticked
            .into_iter()
            .filter_map(|(box_, scope)| box_.map(|_| scope))
            .collect(),
        project: project.filter(|p| !p.is_empty()),
    };
    crate::server::services::tokens::create(&state.pool, &actor, &new)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: Uuid) -> Result<(), AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::tokens::revoke(&state.pool, &actor, token_id)
        .await
        .into_app()
}
