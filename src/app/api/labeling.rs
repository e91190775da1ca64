use crate::model::AppError;
use crate::model::annotation::{AnnotationInput, HistoryEntry, Submitted, Task};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

/// The item to label now (the one held, or a new lease); `None` when all are done.
#[server(prefix = "/serverfn", endpoint = "next_task")]
pub async fn next_task(slug: String) -> Result<Option<Task>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::labeling::next(&state.pool, &actor, &slug)
        .await
        .into_app()
}

/// Stores an annotation and returns the next item in the same round trip.
#[server(prefix = "/serverfn", endpoint = "submit_annotation", input = Json)]
pub async fn submit_annotation(
    slug: String,
    input: AnnotationInput,
) -> Result<Submitted, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::labeling::submit(&state.pool, &actor, &slug, input)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "skip_task")]
pub async fn skip_task(
    slug: String,
    item_id: Uuid,
    reason: Option<String>,
) -> Result<Submitted, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::labeling::skip(&state.pool, &actor, &slug, item_id, reason)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "my_history")]
pub async fn my_history(
    slug: String,
    search: Option<String>,
) -> Result<Vec<HistoryEntry>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::labeling::history(&state.pool, &actor, &slug, search)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "reopen_annotation")]
pub async fn reopen_annotation(slug: String, annotation_id: Uuid) -> Result<Task, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::labeling::reopen(&state.pool, &actor, &slug, annotation_id)
        .await
        .into_app()
}
