// The settings form's fields arrive as one server-function argument each.
#![allow(clippy::too_many_arguments)]

use crate::model::AppError;
use crate::model::proposal::{AgreementReport, AssistSettings, JobView};
use leptos::prelude::*;
use uuid::Uuid;

#[server(prefix = "/serverfn", endpoint = "get_assist_settings")]
pub async fn get_assist_settings(slug: String) -> Result<AssistSettings, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::assist::settings(&state.pool, &actor, &slug, &state.config.inference)
        .await
        .into_app()
}

/// The settings form; checkboxes are present when ticked.
#[server(prefix = "/serverfn", endpoint = "save_assist_settings")]
pub async fn save_assist_settings(
    slug: String,
    base_url: String,
    model: String,
    api_key: String,
    clear_api_key: Option<String>,
    timeout_secs: String,
    concurrency: String,
    judge_prompt: String,
    auto_prelabel: Option<String>,
    holdout_percent: String,
) -> Result<(), AppError> {
    use super::ssr::{IntoApp, actor};
    use crate::server::services::assist::{AssistForm, update_settings};
    let (state, actor) = actor().await?;
    let form = AssistForm {
        base_url,
        model,
        api_key,
        clear_api_key: clear_api_key.is_some(),
        timeout_secs,
        concurrency,
        judge_prompt,
        auto_prelabel: auto_prelabel.is_some(),
        holdout_percent,
    };
    update_settings(&state.pool, &actor, &slug, &form, &state.config.inference)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "test_inference")]
pub async fn test_inference(slug: String) -> Result<Vec<String>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::assist::test_connection(
        &state.pool,
        &actor,
        &slug,
        &state.config.inference,
    )
    .await
    .into_app()
}

/// Starts pre-labeling (judging `swap_share` of the items twice, answers reversed), or (with
/// `answers`) answer generation.
#[server(prefix = "/serverfn", endpoint = "start_job")]
pub async fn start_job(
    slug: String,
    answers: Option<String>,
    temperature: Option<String>,
    models: Option<String>,
    swap_share: Option<String>,
) -> Result<JobView, AppError> {
    use super::ssr::{IntoApp, actor};
    use crate::server::Error;
    use crate::server::services::assist::{JobKind, start_job};
    let (state, actor) = actor().await?;
    let kind = match answers {
        None => JobKind::Prelabel {
            swap_share: swap_share
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map_or(Ok(0.0), str::parse)
                .map_err(|_| Error::invalid("swap_share", "must be a number from 0 to 1"))
                .into_app()?,
        },
        Some(answers) => JobKind::Generate {
            answers: answers
                .trim()
                .parse()
                .map_err(|_| Error::invalid("answers", "must be a whole number from 2 to 8"))
                .into_app()?,
            temperature: temperature
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map_or(Ok(0.8), str::parse)
                .map_err(|_| Error::invalid("temperature", "must be a number from 0 to 2"))
                .into_app()?,
            models: models
                .unwrap_or_default()
                .split(',')
                .map(str::to_owned)
                .collect(),
        },
    };
    start_job(&state.pool, &actor, &slug, kind).await.into_app()
}

#[server(prefix = "/serverfn", endpoint = "control_job")]
pub async fn control_job(slug: String, job_id: Uuid, action: String) -> Result<JobView, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::assist::control(&state.pool, &actor, &slug, job_id, &action)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "list_jobs")]
pub async fn list_jobs(slug: String) -> Result<Vec<JobView>, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::assist::jobs(&state.pool, &actor, &slug)
        .await
        .into_app()
}

#[server(prefix = "/serverfn", endpoint = "get_agreement_report")]
pub async fn get_agreement_report(slug: String) -> Result<AgreementReport, AppError> {
    use super::ssr::{IntoApp, actor};
    let (state, actor) = actor().await?;
    crate::server::services::assist::agreement(&state.pool, &actor, &slug)
        .await
        .into_app()
}
