//! Load benchmark of the labeling loop (`scripts/bench.sh` runs it; not part of the tests).
//!
//! N annotators, each with a logged-in session, do next → submit through the same server
//! functions the browser calls, against a running server. In the same run, pgbench measures
//! this machine's PostgreSQL rate for a single-row insert of about an annotation's size at
//! the same concurrency, as the yardstick. `verdict-bench soak` is the soak (see `soak.rs`).

mod soak;

use anyhow::{Context, bail};
use clap::Parser;
use sqlx::PgPool;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;
use verdict::model::annotation::{AnnotationBody, AnnotationInput, Submitted, Task};
use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::user::Role;
use verdict::server::services;
use verdict::server::store::projects;

#[derive(Parser)]
struct Args {
    /// The database the server under test uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value = "http://127.0.0.1:3300")]
    base_url: String,
    /// Concurrency levels (annotators).
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    levels: Vec<usize>,
    /// Items per project (one project per level).
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Annotators per item: from 2 on, each submission also counts its item's agreement.
    #[arg(long, default_value_t = 1)]
    overlap: i32,
    /// Seconds of load per level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The pgbench binary; without it the comparison is skipped.
    #[arg(long)]
    pgbench: Option<PathBuf>,
    /// The server's process id, for its memory (scripts/bench.sh sets it).
    #[arg(long, env = "VERDICT_BENCH_SERVER_PID")]
    server_pid: Option<u32>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Many annotators with human think times for minutes: latencies, errors, memory.
    Soak(soak::SoakArgs),
}

const PASSWORD: &str = "bench password 123";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Named, so that the soak can tell the server's connections from its own.
    let options: sqlx::postgres::PgConnectOptions = args.database_url.parse()?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.application_name("verdict-bench"))
        .await?;
    if let Some(Command::Soak(soak)) = &args.command {
        return soak::run(&pool, &args.base_url, args.server_pid, soak).await;
    }
    let max_level = args.levels.iter().copied().max().unwrap_or(1);
    let users = ensure_users(&pool, max_level).await?;
    println!("| annotators | annotations/s | p50 ms | p99 ms | pgbench inserts/s | ratio |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for &level in &args.levels {
        let slug = format!(
            "bench-{level}-{}",
            Uuid::new_v4().simple().to_string().split_at(6).0
        );
        seed_project(&pool, &slug, args.items, args.overlap, 300).await?;
        // The annotators of this level work on the project as its members.
        for email in &users[..level] {
            services::members::add(&pool, &services::Actor::cli(), &slug, email, None, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        eprintln!("{level} annotators labeling for {} s…", args.seconds);
        let run = drive(&args, &slug, &users[..level]).await?;
        let pgbench = match &args.pgbench {
            Some(bin) => Some(pgbench(bin, &args.database_url, level, args.seconds)?),
            None => None,
        };
        let ratio = pgbench.map_or("n/a".to_owned(), |p| format!("{:.2}", run.rate / p));
        println!(
            "| {level} | {:.0} | {:.1} | {:.1} | {} | {ratio} |",
            run.rate,
            run.p50_ms,
            run.p99_ms,
            pgbench.map_or("n/a".to_owned(), |p| format!("{p:.0}")),
        );
    }
    Ok(())
}

async fn ensure_users(pool: &PgPool, n: usize) -> anyhow::Result<Vec<String>> {
    let mut emails = Vec::new();
    for i in 0..n {
        let email = format!("bench-{i}@bench.local");
        services::users::ensure_account(pool, &email, "Bench", Some(PASSWORD), Role::Annotator)
            .await?;
        emails.push(email);
    }
    Ok(emails)
}

/// Deterministic filler text of about `words` words.
fn text(seed: usize, words: usize) -> String {
    const WORDS: [&str; 16] = [
        "model",
        "answer",
        "training",
        "token",
        "gradient",
        "reward",
        "policy",
        "sample",
        "prompt",
        "context",
        "human",
        "feedback",
        "ranking",
        "quality",
        "data",
        "evaluation",
    ];
    (0..words)
        .map(|i| WORDS[(seed * 7 + i * 13) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A project of `items` items, each a prompt and four answers of `words` words.
async fn seed_project(
    pool: &PgPool,
    slug: &str,
    items: usize,
    overlap: i32,
    words: usize,
) -> anyhow::Result<()> {
    let project_id = projects::ensure(pool, slug, slug, "").await?;
    let mut settings = projects::find_settings(pool, slug, None)
        .await?
        .context("the project just made")?;
    settings.overlap = overlap;
    projects::update_settings(pool, &settings).await?;
    for chunk in (0..items).collect::<Vec<_>>().chunks(500) {
        let mut tx = pool.begin().await?;
        for &n in chunk {
            let item = NewItem {
                external_id: Some(format!("b{n}")),
                messages: vec![Message {
                    role: ChatRole::User,
                    content: text(n, 40),
                }],
                responses: (0..4)
                    .map(|a| NewResponse {
                        model: None,
                        content: text(n + a, words),
                    })
                    .collect(),
                metadata: serde_json::json!({}),
                gold: None,
            };
            services::items::add(&mut tx, project_id, &item).await?;
        }
        tx.commit().await?;
    }
    // As an import does when it commits: the progress counters start folded.
    services::projects::fold_progress(pool).await;
    Ok(())
}

struct Run {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn drive(args: &Args, slug: &str, users: &[String]) -> anyhow::Result<Run> {
    let mut sessions = Vec::new();
    for email in users {
        sessions.push(login(&args.base_url, email).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for cookie in sessions {
        let (base, slug) = (args.base_url.clone(), slug.to_owned());
        handles.push(tokio::spawn(async move {
            annotate_until(&base, &slug, &cookie, deadline).await
        }));
    }
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    if latencies.is_empty() {
        bail!("no annotation was submitted");
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Ok(Run {
        rate: latencies.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

async fn login(base: &str, email: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client
        .post(format!("{base}/auth/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("verdict_session="))
        .context("login gave no session cookie")?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// Labels until the deadline; returns each submit's latency in milliseconds.
async fn annotate_until(
    base: &str,
    slug: &str,
    cookie: &str,
    deadline: Instant,
) -> anyhow::Result<Vec<f64>> {
    let client = reqwest::Client::new();
    let mut task: Option<Task> = client
        .post(format!("{base}/serverfn/next_task"))
        .header("cookie", cookie)
        .form(&[("slug", slug)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut latencies = Vec::new();
    while let Some(t) = task {
        if Instant::now() >= deadline {
            break;
        }
        let input = AnnotationInput {
            annotation_id: Uuid::new_v4(),
            item_id: t.item_id,
            body: AnnotationBody {
                ranking: Some(t.answers.iter().map(|a| vec![a.response_id]).collect()),
                thumbs: t
                    .answers
                    .iter()
                    .take(1)
                    .map(|a| (a.response_id, true))
                    .collect(),
                comment: Some("Answer one is clearer and cites its source.".into()),
                ..Default::default()
            },
            shown_order: t.answers.iter().map(|a| a.response_id).collect(),
            time_spent_ms: 4000,
            ..Default::default()
        };
        let start = Instant::now();
        let submitted: Submitted = client
            .post(format!("{base}/serverfn/submit_annotation"))
            .header("cookie", cookie)
            .json(&serde_json::json!({ "slug": slug, "input": input }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        task = submitted.next;
    }
    Ok(latencies)
}

/// pgbench's rate for single-row inserts of about an annotation's size at `clients`.
fn pgbench(bin: &PathBuf, url: &str, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let setup = std::process::Command::new("psql")
        .args([url, "-q", "-c", "CREATE TABLE IF NOT EXISTS bench_insert (id uuid, ranking jsonb, thumbs jsonb, comment text, shown uuid[], at timestamptz DEFAULT now())"])
        .status()?;
    if !setup.success() {
        bail!("creating the pgbench table failed");
    }
    let script = std::env::temp_dir().join("verdict-pgbench.sql");
    let ids: Vec<String> = (0..4).map(|_| format!("\"{}\"", Uuid::new_v4())).collect();
    std::fs::write(
        &script,
        format!(
            "INSERT INTO bench_insert (id, ranking, thumbs, comment, shown) VALUES (gen_random_uuid(), '[[{}],[{}],[{}],[{}]]', '{{{}: true}}', 'Answer one is clearer and cites its source.', '{{{}}}');\n",
            ids[0],
            ids[1],
            ids[2],
            ids[3],
            ids[0],
            ids.iter()
                .map(|i| i.trim_matches('"'))
                .collect::<Vec<_>>()
                .join(",")
        ),
    )?;
    let output = std::process::Command::new(bin)
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .with_context(|| {
            format!(
                "no tps in pgbench output: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}
