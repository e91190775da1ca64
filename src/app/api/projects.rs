use crate::model::AppError;
use crate::model::project::{ItemPage, ProjectSummary};
use leptos::prelude::*;

#[server(prefix = "/serverfn", endpoint = "list_projects")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    // With the home page's figures: one request for the whole page.
    crate::server::services::dashboard::glances(&state.pool, &actor)
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

#[server(prefix = "/serverfn", endpoint = "project_settings")]
pub async fn project_settings(
    slug: String,
) -> Result<crate::model::project::ProjectSettings, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::projects::settings(&state.pool, &actor, &slug)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "save_project_settings")]
pub async fn save_project_settings(
    slug: String,
    form: crate::model::project::ProjectForm,
) -> Result<crate::model::project::ProjectSettings, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::projects::update(&state.pool, &actor, &slug, &form)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "create_project")]
pub async fn create_project(slug: String, name: String) -> Result<ProjectSummary, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::projects::create(&state.pool, &actor, &slug, &name)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "export_preview")]
pub async fn export_preview(
    slug: String,
    // The export form's fields as the browser has them; the server parses them into the
    // export spec.
    request: std::collections::BTreeMap<String, String>,
) -> Result<crate::model::export::ExportPreview, AppError> {
    use super::ssr::{IntoApp, actor};
    use crate::server::dataset::ExportSpec;
    use crate::server::services::export::preview;
    let (state, actor) = actor().await?;
    let (options, filters) = ExportSpec::from_pairs(&request)?.resolve(None)?;
    preview(&state.pool, &actor, &slug, &options, &filters)
        .await
        .into_app()
}
