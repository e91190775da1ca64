//! The soak (`scripts/soak.sh`): many signed-in annotators, each thinking 2 to 20 s between
//! actions as people do, against one server for minutes. Every cycle an annotator opens the
//! next item (`next_task`, as a page load does), thinks, and submits it. Reports the
//! latency of both, every error, the server's resident memory and the PostgreSQL
//! connections it used, sampled through the run.

use anyhow::Context;
use rand::Rng;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Task};

#[derive(clap::Args)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 1000)]
    annotators: usize,
    /// Length of the run, sign-ins included.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Sign-ins are spread evenly over this first part of the run.
    #[arg(long, default_value_t = 60)]
    ramp_seconds: u64,
    /// Think time between actions, drawn uniformly from this range (seconds).
    #[arg(long, default_value_t = 2.0)]
    think_min: f64,
    #[arg(long, default_value_t = 20.0)]
    think_max: f64,
    /// Items in the soak's project (overlap 1): enough that nobody runs out.
    #[arg(long, default_value_t = 60_000)]
    items: usize,
}

#[derive(Default)]
struct Tally {
    next_ms: Vec<f64>,
    submit_ms: Vec<f64>,
    errors: Vec<String>,
}

/// What the sampler saw: the server's resident set (kB) and Verdict's PostgreSQL
/// connections (all, and busy at that moment), each sample.
#[derive(Default)]
struct Samples {
    rss_kb: Vec<u64>,
    connections: Vec<(u64, u64)>,
}

pub async fn run(
    pool: &PgPool,
    base_url: &str,
    server_pid: Option<u32>,
    args: &SoakArgs,
) -> anyhow::Result<()> {
    eprintln!(
        "preparing {} annotators and {} items…",
        args.annotators, args.items
    );
    let users = crate::ensure_users(pool, args.annotators).await?;
    let slug = format!("soak-{}", Uuid::new_v4().simple().to_string().split_at(6).0);
    crate::seed_project(pool, &slug, args.items, 1, 120).await?;
    for email in &users {
        verdict::server::services::members::add(
            pool,
            &verdict::server::services::Actor::cli(),
            &slug,
            email,
            None,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    eprintln!(
        "{} annotators for {} s (think {}-{} s, sign-ins over the first {} s)…",
        args.annotators, args.seconds, args.think_min, args.think_max, args.ramp_seconds
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let labels = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample(pool.clone(), server_pid, deadline));
    let mut annotators = Vec::new();
    for (i, email) in users.into_iter().enumerate() {
        let offset = Duration::from_secs_f64(
            args.ramp_seconds as f64 * i as f64 / args.annotators.max(1) as f64,
        );
        let (base, slug, tally, labels) = (
            base_url.to_owned(),
            slug.clone(),
            tally.clone(),
            labels.clone(),
        );
        let think = (args.think_min, args.think_max);
        annotators.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            annotate(&base, &slug, &email, think, deadline, &tally, &labels).await;
        }));
    }
    for annotator in annotators {
        annotator.await?;
    }
    let samples = sampler.await??;
    let elapsed = started.elapsed().as_secs_f64();
    let mut tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("an annotator still runs"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("an annotator panicked"))?;
    report(&mut tally, &samples, labels.load(Ordering::SeqCst), elapsed);
    Ok(())
}

async fn annotate(
    base: &str,
    slug: &str,
    email: &str,
    (think_min, think_max): (f64, f64),
    deadline: Instant,
    tally: &Mutex<Tally>,
    labels: &AtomicU64,
) {
    let error = |e: String| tally.lock().unwrap().errors.push(e);
    let cookie = match crate::login(base, email).await {
        Ok(cookie) => cookie,
        Err(e) => return error(format!("sign-in of {email}: {e:#}")),
    };
    // One client per annotator, as each browser has its own connections; idle ones are
    // dropped before the server's 10 s header timeout would close them under a request.
    let Ok(client) = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(8))
        .build()
    else {
        return error("building a client".into());
    };
    let think = || {
        Duration::from_secs_f64(rand::thread_rng().gen_range(think_min..=think_max))
            .min(deadline.saturating_duration_since(Instant::now()))
    };
    while Instant::now() < deadline {
        let start = Instant::now();
        let task: Option<Task> = match call(
            client
                .post(format!("{base}/serverfn/next_task"))
                .header("cookie", &cookie)
                .form(&[("slug", slug)]),
        )
        .await
        {
            Ok(task) => task,
            Err(e) => {
                error(format!("next_task: {e:#}"));
                tokio::time::sleep(think()).await;
                continue;
            }
        };
        let next_ms = start.elapsed().as_secs_f64() * 1000.0;
        tally.lock().unwrap().next_ms.push(next_ms);
        let Some(task) = task else {
            return error(format!("{email} ran out of items"));
        };
        tokio::time::sleep(think()).await;
        if Instant::now() >= deadline {
            break;
        }
        let shown: Vec<Uuid> = task.answers.iter().map(|a| a.response_id).collect();
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: task.item_id,
            body: AnnotationBody {
                ranking: Some(shown.iter().map(|id| vec![*id]).collect()),
                comment: Some("The first answer is clearer and cites its source.".into()),
                ..Default::default()
            },
            shown_order: shown,
            time_spent_ms: 4000,
            ..Default::default()
        };
        let start = Instant::now();
        let submitted: anyhow::Result<serde_json::Value> = call(
            client
                .post(format!("{base}/serverfn/submit_annotation"))
                .header("cookie", &cookie)
                .json(&serde_json::json!({ "slug": slug, "input": input })),
        )
        .await;
        match submitted {
            Ok(_) => {
                let submit_ms = start.elapsed().as_secs_f64() * 1000.0;
                tally.lock().unwrap().submit_ms.push(submit_ms);
                labels.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => error(format!("submit_annotation: {e:#}")),
        }
        tokio::time::sleep(think()).await;
    }
}

async fn call<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> anyhow::Result<T> {
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("{status}: {}", body.chars().take(200).collect::<String>());
    }
    Ok(response.json().await?)
}

/// Every 2 s until the deadline: the server's VmRSS, and the connections PostgreSQL has
/// from anything but this benchmark (whose pool names itself `verdict-bench`).
async fn sample(
    pool: PgPool,
    server_pid: Option<u32>,
    deadline: Instant,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    while Instant::now() < deadline {
        if let Some(pid) = server_pid {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .with_context(|| format!("the server (pid {pid}) is gone"))?;
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
            {
                samples.rss_kb.push(kb);
            }
        }
        let (all, busy): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity \
             WHERE datname = current_database() AND backend_type = 'client backend' \
             AND application_name <> 'verdict-bench'",
        )
        .fetch_one(&pool)
        .await?;
        samples.connections.push((all as u64, busy as u64));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(samples)
}

fn report(tally: &mut Tally, samples: &Samples, labels: u64, elapsed: f64) {
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("| | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, v) in [
        ("next_task", &mut tally.next_ms),
        ("submit_annotation", &mut tally.submit_ms),
    ] {
        let (p50, p99, max) = (pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
        println!("| {name} | {} | {p50:.1} | {p99:.1} | {max:.1} |", v.len());
    }
    println!();
    println!(
        "labels stored: {labels} in {elapsed:.0} s ({:.1}/s); errors: {}",
        labels as f64 / elapsed,
        tally.errors.len()
    );
    for e in tally.errors.iter().take(10) {
        println!("  error: {e}");
    }
    if let (Some(max), Some(last)) = (samples.rss_kb.iter().max(), samples.rss_kb.last()) {
        println!(
            "server RSS: max {:.1} MB, at the end {:.1} MB",
            *max as f64 / 1024.0,
            *last as f64 / 1024.0
        );
    }
    let most = samples.connections.iter().map(|c| c.0).max().unwrap_or(0);
    let busiest = samples.connections.iter().map(|c| c.1).max().unwrap_or(0);
    let mean_busy = samples.connections.iter().map(|c| c.1).sum::<u64>() as f64
        / samples.connections.len().max(1) as f64;
    println!(
        "PostgreSQL connections of the server: at most {most} open, at most {busiest} busy \
         at a sample (mean {mean_busy:.2})"
    );
}
