use crate::model::AppError;
use crate::model::project::{ItemPage, ProjectSummary};
use leptos::prelude::*;

#[server(prefix = "/serverfn", endpoint = "list_projects")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::projects::list(&state.pool, &actor)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "project_items")]
pub async fn project_items(slug: String, after: Option<i64>) -> Result<ItemPage, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::projects::items_page(&state.pool, &actor, &slug, after)
        .await
        .into_app()
}
