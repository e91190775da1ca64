//! Model-assisted labeling: the OpenAI-compatible client, and the worker that runs
//! pre-labeling and answer-generating jobs from the queue in PostgreSQL.

pub mod client;
pub mod worker;

use crate::server::config::InferenceDefaults;
use crate::server::store::projects::AssistRow;
pub use client::{Client, InferenceConfig, InferenceError};
use std::time::Duration;

/// Why a project's inference settings cannot be used: the setting at fault, and why.
#[derive(Clone, Debug)]
pub struct Unusable {
    /// `base_url`, `model` or `api_key`, as the settings form names them.
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The inference settings in force for a project: its own, else the deployment's.
pub fn effective(
    project: &AssistRow,
    defaults: &InferenceDefaults,
) -> Result<InferenceConfig, Unusable> {
    let unusable = |field, message: &str| Unusable {
        field,
        message: message.to_owned(),
    };
    let base_url = project
        .inference_base_url
        .clone()
        .or_else(|| defaults.base_url.clone())
        .ok_or_else(|| unusable("base_url", "no inference server is configured: set the project's base URL or VERDICT_INFERENCE_URL"))?;
    let model = project
        .inference_model
        .clone()
        .or_else(|| defaults.model.clone())
        .ok_or_else(|| {
            unusable(
                "model",
                "no model is configured: set the project's model or VERDICT_INFERENCE_MODEL",
            )
        })?;
    Ok(InferenceConfig {
        base_url,
        model,
        api_key: match &project.inference_api_key {
            Some(stored) => Some(open_api_key(project.project_id, stored, defaults).map_err(
                |message| Unusable {
                    field: "api_key",
                    message,
                },
            )?),
            None => defaults.api_key.clone(),
        },
        timeout: Duration::from_secs(
            project
                .inference_timeout_secs
                .map_or(u64::from(defaults.timeout_secs), |s| s.max(1) as u64),
        ),
        concurrency: project
            .inference_concurrency
            .map_or(defaults.concurrency as usize, |c| c.max(1) as usize)
            .max(1),
    })
}

/// A project's stored API key, opened with the deployment's secret key (a key stored in
/// plain text before sealing existed is used as it is until startup seals it).
fn open_api_key(
    project_id: uuid::Uuid,
    stored: &str,
    defaults: &InferenceDefaults,
) -> Result<String, String> {
    use crate::server::secrets::OpenError;
    let Some(key) = &defaults.secret_key else {
        return Err("no secret key is configured to open the project's API key".into());
    };
    match key.open(project_id, stored) {
        Ok(plain) => Ok(plain),
        Err(OpenError::NotSealed) => Ok(stored.to_owned()),
        Err(e) => Err(format!(
            "the project's API key cannot be opened ({e}): enter it again in the project's \
             model-assist settings, or configure the key it was sealed with (see README, Security)"
        )),
    }
}
