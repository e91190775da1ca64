//! The job worker. Every server process runs one (the CLI too, for the job it starts); they
//! share the queue in PostgreSQL: items are claimed with `FOR UPDATE SKIP LOCKED` under a
//! lease, so no item is worked on twice, and items of a worker that died are claimed again
//! once their lease runs out (jobs survive restarts).

use super::{Client, effective};
use crate::model::project::{Message, ResponseView};
use crate::model::proposal::{
    DEFAULT_JUDGE_PROMPT, Judgement, judge_schema, judged_twice, parse_judgement,
    render_judge_prompt,
};
use crate::server::config::InferenceDefaults;
use crate::server::store::projects::AssistRow;
use crate::server::store::{items, jobs, projects, proposals, responses};
use futures::future::join_all;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Tokens the judge may use: room for the JSON (a cut-off reply is invalid even when the
/// grammar constrains it).
const JUDGE_MAX_TOKENS: u32 = 400;
const ANSWER_MAX_TOKENS: u32 = 512;

/// Runs jobs until `stop` resolves; idles a second when there is nothing to do.
pub async fn run(
    pool: PgPool,
    defaults: InferenceDefaults,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut last_auto = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        if last_auto.elapsed() > Duration::from_secs(5) {
            if let Err(e) = enqueue_auto(&pool).await {
                tracing::warn!(error = %e, "queuing new items for auto pre-labeling failed");
            }
            last_auto = std::time::Instant::now();
        }
        let worked = match step(&pool, &defaults, None).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "the job worker failed; retrying");
                0
            }
        };
        if worked == 0 {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Adds new items of auto-prelabel projects to their auto job.
pub async fn enqueue_auto(pool: &PgPool) -> sqlx::Result<()> {
    for project_id in jobs::auto_projects(pool).await? {
        let job_id = jobs::auto_job(pool, project_id).await?;
        let added = jobs::enqueue_unproposed(pool, job_id).await?;
        if added > 0 {
            tracing::info!(%project_id, added, "new items queued for pre-labeling");
        }
    }
    Ok(())
}

/// Claims and works one batch of the oldest running job (or of `only`). Returns how many
/// items it finished.
pub async fn step(
    pool: &PgPool,
    defaults: &InferenceDefaults,
    only: Option<Uuid>,
) -> anyhow::Result<usize> {
    let Some(job) = jobs::next_open(pool, only).await? else {
        return Ok(0);
    };
    let Some(project) = projects::assist_by_id(pool, job.project_id).await? else {
        return Ok(0);
    };
    let config = effective(&project, defaults).map_err(|e| e.message);
    let concurrency = config.as_ref().map_or(1, |c| c.concurrency);
    // A lease long enough for every retry of a slow server.
    let lease = config
        .as_ref()
        .map_or(60.0, |c| c.timeout.as_secs_f64() * 4.0 + 30.0);
    let claimed = jobs::claim(pool, job.job_id, concurrency as i64, lease).await?;
    let client = config.map(Client::new);
    let work = claimed.iter().map(|&item_id| {
        let client = client.clone();
        let project = &project;
        let job = &job;
        async move {
            let outcome = match &client {
                Err(why) => Err(why.clone()),
                Ok(client) => match job.kind.as_str() {
                    "generate" => generate(pool, client, job, item_id).await,
                    _ => prelabel(pool, client, project, job, item_id).await,
                },
            };
            finish(pool, job, item_id, client.as_ref().ok(), outcome).await
        }
    });
    let results = join_all(work).await;
    for r in &results {
        if let Err(e) = r {
            tracing::warn!(error = %e, "recording a job item failed");
        }
    }
    Ok(results.iter().filter(|r| r.is_ok()).count())
}

/// What pre-labeling one item gave: the checked judgement, its latency, and for an item
/// judged twice the second judgement with the order its answers were shown in.
struct Judged {
    judgement: Judgement,
    latency: Duration,
    swapped: Option<(Judgement, Vec<Uuid>)>,
}

/// What one item's work gave (nothing to store for answer generation).
type Worked = Result<Option<Judged>, String>;

async fn item_content(
    pool: &PgPool,
    item_id: Uuid,
) -> Result<(Vec<Message>, Vec<ResponseView>), String> {
    let messages = items::messages(pool, item_id)
        .await
        .map_err(|e| format!("reading the item: {e}"))?;
    let messages: Vec<Message> =
        serde_json::from_value(messages).map_err(|e| format!("reading the item: {e}"))?;
    let answers = responses::for_item(pool, item_id)
        .await
        .map_err(|e| format!("reading the answers: {e}"))?;
    Ok((messages, answers))
}

/// Asks the judge about one item (answers in their order) and checks its reply; for an item
/// in the job's `swap_share`, asks again with the answers reversed.
async fn prelabel(
    pool: &PgPool,
    client: &Client,
    project: &AssistRow,
    job: &jobs::NextJob,
    item_id: Uuid,
) -> Worked {
    let (messages, mut answers) = item_content(pool, item_id).await?;
    let template = project
        .judge_prompt
        .as_deref()
        .unwrap_or(DEFAULT_JUDGE_PROMPT);
    let ask = |answers: &[ResponseView]| {
        let prompt = render_judge_prompt(template, &project.guidelines, &messages, answers);
        let schema = judge_schema(answers.len());
        let ids: Vec<Uuid> = answers.iter().map(|a| a.response_id).collect();
        async move {
            let (reply, latency) = client
                .chat_json(None, &prompt, &schema, JUDGE_MAX_TOKENS, 0.0, Some(0))
                .await
                .map_err(|e| e.to_string())?;
            let judgement = parse_judgement(&reply, &ids)
                .map_err(|e| format!("the model's reply is not usable: {e}"))?;
            Ok::<_, String>((judgement, latency, ids))
        }
    };
    let (judgement, latency, _) = ask(&answers).await?;
    let share = job.options["swap_share"].as_f64().unwrap_or(0.0);
    let swapped = if answers.len() >= 2 && judged_twice(item_id, share) {
        answers.reverse();
        let (second, _, order) = ask(&answers)
            .await
            .map_err(|e| format!("judging with the answers reversed: {e}"))?;
        Some((second, order))
    } else {
        None
    };
    Ok(Some(Judged {
        judgement,
        latency,
        swapped,
    }))
}

/// Asks for more answers until the item has as many as the job wants, from the job's
/// models in turn (the configured one when it names none).
async fn generate(pool: &PgPool, client: &Client, job: &jobs::NextJob, item_id: Uuid) -> Worked {
    let wanted = job.options["answers"].as_u64().unwrap_or(4).min(8) as usize;
    let temperature = job.options["temperature"].as_f64().unwrap_or(0.8) as f32;
    let models: Vec<String> = job.options["models"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let (messages, answers) = item_content(pool, item_id).await?;
    let conversation = messages
        .iter()
        .map(|m| format!("[{}] {}", m.role.as_str(), m.content))
        .collect::<Vec<_>>()
        .join("\n\n");
    let prompt = format!(
        "Continue this conversation with the assistant's next answer. Reply with the answer only.\n\n{conversation}"
    );
    let mut new = Vec::new();
    for n in answers.len()..wanted {
        let asked = match models.get((n - answers.len()) % models.len().max(1)) {
            Some(model) => client.with_model(model),
            None => client.clone(),
        };
        let completion = asked
            .chat(
                None,
                &prompt,
                None,
                ANSWER_MAX_TOKENS,
                temperature,
                Some(n as u64),
            )
            .await
            .map_err(|e| e.to_string())?;
        let text = completion.content.trim().to_owned();
        if text.is_empty() {
            return Err("the model gave an empty answer".into());
        }
        new.push((asked.config().model.clone(), text));
    }
    // All answers of the item are added together, or none.
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    for (model, text) in &new {
        responses::append(&mut *tx, item_id, Some(model), text)
            .await
            .map_err(|e| format!("storing an answer: {e}"))?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(None)
}

/// Stores the outcome and counts the item in its job, in one transaction: a failed item
/// leaves its error (on the job item, and on the proposal for pre-labeling) and nothing else.
async fn finish(
    pool: &PgPool,
    job: &jobs::NextJob,
    item_id: Uuid,
    client: Option<&Client>,
    outcome: Worked,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let model = client.map_or("(not configured)", |c| c.config().model.as_str());
    let (judged, latency, error) = match &outcome {
        Ok(Some(judged)) => (Some(judged), judged.latency, None),
        Ok(None) => (None, Duration::ZERO, None),
        Err(why) => {
            tracing::info!(%item_id, error = why.as_str(), "a job item failed");
            (None, Duration::ZERO, Some(why.as_str()))
        }
    };
    if job.kind == "prelabel" && (judged.is_some() || error.is_some()) {
        let stored = proposals::upsert(
            &mut *tx,
            &proposals::NewProposal {
                item_id,
                project_id: job.project_id,
                model,
                judgement: judged.map(|j| &j.judgement),
                latency_ms: latency.as_millis().min(i32::MAX as u128) as i32,
                error,
            },
        )
        .await?;
        if let (
            true,
            Some(Judged {
                swapped: Some((second, order)),
                ..
            }),
        ) = (stored, judged)
        {
            proposals::upsert_swap(&mut *tx, item_id, order, second).await?;
        }
    }
    jobs::finish_item(&mut *tx, job.job_id, item_id, error).await?;
    tx.commit().await
}
