//! Model-assisted labeling for admins: inference settings per project, pre-labeling and
//! answer-generating jobs (start, pause, resume, cancel, progress), and how often people
//! agree with the model.

use super::{Actor, Result};
use crate::model::proposal::{
    AgreementReport, AssistSettings, DayAgreement, JobView, ProposalOutcome, ranking_agreement,
};
use crate::model::user::Role;
use crate::server::config::InferenceDefaults;
use crate::server::error::Error;
use crate::server::inference::{Client, effective};
use crate::server::secrets::SecretKey;
use crate::server::store::projects::AssistRow;
use crate::server::store::{jobs, projects, proposals};
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

async fn assist_row(pool: &PgPool, actor: &Actor, slug: &str) -> Result<AssistRow> {
    actor.require(Role::Admin)?;
    let project = projects::find_settings(pool, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    projects::assist_by_id(pool, project.project_id)
        .await?
        .ok_or(Error::NotFound("project"))
}

pub async fn settings(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    defaults: &InferenceDefaults,
) -> Result<AssistSettings> {
    let row = assist_row(pool, actor, slug).await?;
    Ok(AssistSettings {
        base_url: row.inference_base_url,
        model: row.inference_model,
        api_key_set: row.inference_api_key.is_some(),
        timeout_secs: row.inference_timeout_secs,
        concurrency: row.inference_concurrency,
        judge_prompt: row.judge_prompt,
        auto_prelabel: row.auto_prelabel,
        proposal_holdout: row.proposal_holdout,
        default_base_url: defaults.base_url.clone(),
        default_model: defaults.model.clone(),
        default_timeout_secs: defaults.timeout_secs as i32,
        default_concurrency: defaults.concurrency as i32,
    })
}

/// The settings form as submitted: empty text means "use the deployment's value".
#[derive(Clone, Debug, Default)]
pub struct AssistForm {
    pub base_url: String,
    pub model: String,
    /// Empty keeps the stored key.
    pub api_key: String,
    pub clear_api_key: bool,
    pub timeout_secs: String,
    pub concurrency: String,
    /// Empty restores the built-in judge prompt.
    pub judge_prompt: String,
    pub auto_prelabel: bool,
    /// Percent of annotators who never see proposals.
    pub holdout_percent: String,
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

fn number(field: &str, text: &str, range: std::ops::RangeInclusive<i32>) -> Result<Option<i32>> {
    match optional(text) {
        None => Ok(None),
        Some(t) => match t.parse::<i32>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Error::invalid(
                field,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        },
    }
}

pub async fn update_settings(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    form: &AssistForm,
    defaults: &InferenceDefaults,
) -> Result<()> {
    let current = assist_row(pool, actor, slug).await?;
    let api_key = match optional(&form.api_key) {
        None => None,
        Some(key) if key.chars().count() > 500 => {
            return Err(Error::invalid("api_key", "must be at most 500 characters"));
        }
        Some(key) => {
            let secret = defaults.secret_key.as_ref().ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("no secret key configured to seal API keys"))
            })?;
            Some(secret.seal(current.project_id, &key))
        }
    };
    let base_url = optional(&form.base_url);
    if let Some(url) = &base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::invalid(
            "base_url",
            "must start with http:// or https://",
        ));
    }
    let judge_prompt = optional(&form.judge_prompt);
    if let Some(prompt) = &judge_prompt
        && !prompt.contains("{answers}")
    {
        return Err(Error::invalid(
            "judge_prompt",
            "must contain {answers} (and may use {guidelines} and {conversation})",
        ));
    }
    let holdout = match optional(&form.holdout_percent) {
        None => 0.0,
        Some(t) => match t.parse::<f32>() {
            Ok(p) if (0.0..=100.0).contains(&p) => p / 100.0,
            _ => {
                return Err(Error::invalid(
                    "holdout_percent",
                    "must be a number from 0 to 100",
                ));
            }
        },
    };
    let row = AssistRow {
        project_id: current.project_id,
        guidelines: current.guidelines,
        inference_base_url: base_url,
        inference_model: optional(&form.model),
        inference_api_key: api_key,
        inference_timeout_secs: number("timeout_secs", &form.timeout_secs, 1..=600)?,
        inference_concurrency: number("concurrency", &form.concurrency, 1..=64)?,
        judge_prompt,
        auto_prelabel: form.auto_prelabel,
        proposal_holdout: holdout,
    };
    let mut tx = pool.begin().await?;
    projects::update_assist(&mut *tx, &row, form.clear_api_key).await?;
    // The API key itself stays out of the log.
    let after = serde_json::json!({
        "base_url": row.inference_base_url, "model": row.inference_model,
        "api_key_changed": row.inference_api_key.is_some() || form.clear_api_key,
        "timeout_secs": row.inference_timeout_secs, "concurrency": row.inference_concurrency,
        "judge_prompt": row.judge_prompt, "auto_prelabel": row.auto_prelabel,
        "proposal_holdout": row.proposal_holdout,
    });
    super::audit::record(
        &mut *tx,
        actor,
        "assist.settings",
        Some(row.project_id),
        Some(slug),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project.slug = slug, "model-assist settings saved");
    Ok(())
}

/// Asks the configured server which models it offers.
pub async fn test_connection(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    defaults: &InferenceDefaults,
) -> Result<Vec<String>> {
    let row = assist_row(pool, actor, slug).await?;
    let config = effective(&row, defaults).map_err(|e| Error::invalid(e.field, e.message))?;
    Client::new(config)
        .models()
        .await
        .map_err(|e| Error::invalid("base_url", e.to_string()))
}

/// What a job should do.
#[derive(Clone, Debug)]
pub enum JobKind {
    /// Propose labels for every item without a proposal; judge `swap_share` of them (0 to 1)
    /// a second time with the answers reversed, to measure the model's position preference.
    Prelabel { swap_share: f64 },
    /// Add model answers to items with fewer than `answers` (and no annotations yet), asking
    /// the `models` in turn (the configured model when empty) at `temperature`.
    Generate {
        answers: u32,
        temperature: f32,
        models: Vec<String>,
    },
}

pub async fn start_job(pool: &PgPool, actor: &Actor, slug: &str, kind: JobKind) -> Result<JobView> {
    let row = assist_row(pool, actor, slug).await?;
    let mut tx = pool.begin().await?;
    let job_id = match kind {
        JobKind::Prelabel { swap_share } => {
            if !(0.0..=1.0).contains(&swap_share) {
                return Err(Error::invalid("swap_share", "must be from 0 to 1"));
            }
            let options = serde_json::json!({ "swap_share": swap_share });
            let id = jobs::insert(&mut *tx, row.project_id, "prelabel", &options).await?;
            jobs::enqueue_unproposed(&mut *tx, id).await?;
            id
        }
        JobKind::Generate {
            answers,
            temperature,
            models,
        } => {
            if !(2..=8).contains(&answers) {
                return Err(Error::invalid("answers", "must be 2 to 8"));
            }
            if !(0.0..=2.0).contains(&temperature) {
                return Err(Error::invalid("temperature", "must be from 0 to 2"));
            }
            let models: Vec<String> = models
                .iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            if models.iter().any(|m| m.chars().count() > 200) {
                return Err(Error::invalid(
                    "models",
                    "model names are at most 200 characters",
                ));
            }
            let options = serde_json::json!({"answers": answers, "temperature": temperature, "models": models});
            let id = jobs::insert(&mut *tx, row.project_id, "generate", &options).await?;
            jobs::enqueue_short(&mut *tx, id, i64::from(answers)).await?;
            id
        }
    };
    // A job with nothing to do is done at once.
    jobs::finish_if_empty(&mut *tx, job_id).await?;
    tx.commit().await?;
    tracing::info!(project.slug = slug, job.id = %job_id, "job started");
    job(pool, row.project_id, job_id).await
}

async fn job(pool: &PgPool, project_id: Uuid, job_id: Uuid) -> Result<JobView> {
    let row = jobs::list(pool, project_id, Some(job_id))
        .await?
        .pop()
        .ok_or(Error::NotFound("job"))?;
    view(pool, row).await
}

async fn view(pool: &PgPool, r: jobs::JobRow) -> Result<JobView> {
    let per_minute = r.recent as f64 / 5.0;
    let left = i64::from(r.total - r.done - r.failed).max(0);
    let failures = if r.failed > 0 {
        jobs::failures(pool, r.job_id, 10).await?
    } else {
        vec![]
    };
    Ok(JobView {
        job_id: r.job_id,
        kind: r.kind,
        status: r.status.clone(),
        auto: r.auto,
        total: r.total,
        done: r.done,
        failed: r.failed,
        created_at: r.created_at,
        finished_at: r.finished_at,
        per_minute,
        eta_secs: (per_minute > 0.0 && left > 0 && r.status == "running")
            .then(|| (left as f64 / per_minute * 60.0).round() as i64),
        failures,
    })
}

pub async fn jobs(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Vec<JobView>> {
    let row = assist_row(pool, actor, slug).await?;
    let mut out = Vec::new();
    for r in jobs::list(pool, row.project_id, None).await? {
        out.push(view(pool, r).await?);
    }
    Ok(out)
}

/// `pause`, `resume` or `cancel` a job of the project.
pub async fn control(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    job_id: Uuid,
    action: &str,
) -> Result<JobView> {
    let row = assist_row(pool, actor, slug).await?;
    let (from, to): (&[&str], &str) = match action {
        "pause" => (&["running"], "paused"),
        "resume" => (&["paused"], "running"),
        "cancel" => (&["running", "paused"], "cancelled"),
        _ => return Err(Error::invalid("action", "must be pause, resume or cancel")),
    };
    if !jobs::set_status(pool, row.project_id, job_id, from, to).await? {
        return Err(Error::Conflict(format!(
            "the job cannot be {to} from its current status"
        )));
    }
    job(pool, row.project_id, job_id).await
}

/// How annotators treated the model's proposals, overall and per day.
pub async fn agreement(pool: &PgPool, actor: &Actor, slug: &str) -> Result<AgreementReport> {
    let row = assist_row(pool, actor, slug).await?;
    let (proposals_done, proposals_failed) = proposals::counts(pool, row.project_id).await?;
    let compared = proposals::compared(pool, row.project_id).await?;
    let mut report = AgreementReport {
        proposals_done,
        proposals_failed,
        ..AgreementReport::default()
    };
    let mut sum = (0.0, 0u32);
    let mut days: BTreeMap<chrono::NaiveDate, (i64, i64, f64, u32)> = BTreeMap::new();
    for c in &compared {
        report.shown += 1;
        let outcome = c.outcome.as_deref();
        let accepted = outcome == Some(ProposalOutcome::Accepted.as_str());
        match outcome {
            Some("accepted") => report.accepted += 1,
            Some("modified") => report.modified += 1,
            Some("replaced") => report.replaced += 1,
            _ => {}
        }
        let agreement = c
            .given
            .as_ref()
            .and_then(|g| ranking_agreement(&c.proposed.0, &g.0));
        let day = days.entry(c.day).or_default();
        day.0 += 1;
        day.1 += i64::from(accepted);
        if let Some(a) = agreement {
            sum = (sum.0 + a, sum.1 + 1);
            day.2 += a;
            day.3 += 1;
        }
    }
    report.mean_agreement = (sum.1 > 0).then(|| sum.0 / f64::from(sum.1));
    report.by_day = days
        .into_iter()
        .map(|(day, (shown, accepted, total, n))| DayAgreement {
            day,
            shown,
            accepted,
            mean_agreement: (n > 0).then(|| total / f64::from(n)),
        })
        .collect();
    Ok(report)
}

/// Seals API keys stored in plain text before sealing existed; returns how many.
pub async fn seal_plain_keys(pool: &PgPool, key: &SecretKey) -> Result<usize> {
    let mut sealed = 0;
    for (project_id, stored) in projects::inference_keys(pool).await? {
        if !crate::server::secrets::is_sealed(&stored)
            && projects::replace_inference_key(
                pool,
                project_id,
                &stored,
                &key.seal(project_id, &stored),
            )
            .await?
        {
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(projects = sealed, "stored API keys sealed");
    }
    Ok(sealed)
}

/// Seals every stored API key under `new` (opening it with `old`, or with `new` when a
/// previous run got that far); keys stored in plain text are sealed too. A key neither
/// opens stops the run, naming the project: nothing is lost, the rest can be rerun.
pub async fn rekey(pool: &PgPool, old: &SecretKey, new: &SecretKey) -> Result<usize> {
    use crate::server::secrets::OpenError;
    let mut changed = 0;
    for (project_id, stored) in projects::inference_keys(pool).await? {
        let plain = match old.open(project_id, &stored) {
            Ok(plain) => plain,
            Err(OpenError::NotSealed) => stored.clone(),
            Err(e) => match new.open(project_id, &stored) {
                Ok(_) => continue, // already under the new key
                Err(_) => {
                    return Err(Error::invalid(
                        "old_key_file",
                        format!("project {project_id}'s API key does not open: {e}"),
                    ));
                }
            },
        };
        if projects::replace_inference_key(pool, project_id, &stored, &new.seal(project_id, &plain))
            .await?
        {
            changed += 1;
        }
    }
    Ok(changed)
}
