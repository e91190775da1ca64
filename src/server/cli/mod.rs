//! The command line: `verdict [serve]`, `migrate`, `user …`, `project …`, `import`,
//! `export`, `token …`, `backup`, `restore`.

use super::config::{DbConfig, ServeConfig};
use super::services::users;
use super::{db, startup};

mod backup;
mod transfer;
use crate::model::import::ImportFormat;
use crate::model::user::{NewUser, Role};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "verdict",
    version,
    about = "Human feedback on language-model answers, turned into training data"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbConfig,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `verdict` alone serves, with these settings.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web application (the default).
    Serve(ServeConfig),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Import items from a file (JSONL in Verdict, TRL, HH or OpenAI chat form, or CSV; gzip too).
    Import(ImportArgs),
    /// Export a project's feedback as JSON Lines in a training format.
    Export(ExportArgs),
    /// Manage API tokens for model backends.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Seal stored secrets again under the configured secret key (after changing it),
    /// opening them with the old one.
    Rekey {
        #[arg(long)]
        old_key_file: std::path::PathBuf,
    },
    /// Write the whole database to FILE (PostgreSQL's pg_dump, custom format).
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a `verdict backup` FILE into an empty database (in one transaction).
    Restore {
        file: std::path::PathBuf,
        /// Drop the objects the backup holds from the database first.
        #[arg(long)]
        replace: bool,
    },
    /// Dataset versions: export specs frozen as immutable, re-downloadable datasets.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Ask the inference server to propose labels for the project's items without one,
    /// showing progress; the job also runs in any `verdict serve` on the same database.
    Prelabel(PrelabelArgs),
    /// Agreement between a project's annotators.
    #[command(subcommand)]
    Quality(QualityCommand),
    /// The project dashboard's figures per day, as JSON (what `dashboard.json` answers).
    Dashboard {
        #[arg(long)]
        project: String,
        /// First day (YYYY-MM-DD, UTC; default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, included (default: today).
        #[arg(long)]
        to: Option<String>,
        /// One annotator's figures (their email).
        #[arg(long)]
        annotator: Option<String>,
        /// Items whose metadata field has a value: field=value.
        #[arg(long)]
        facet: Option<String>,
        /// First set the metadata fields the dashboard filters by (comma-separated; "" for
        /// none), which computes the figures anew.
        #[arg(long)]
        fields: Option<String>,
        /// First compute the figures anew from the labels (after deleting items, say).
        #[arg(long)]
        rebuild: bool,
    },
    /// The project's models ranked from the annotators' rankings (Bradley-Terry, Elo-like
    /// scale, 95% bootstrap intervals).
    Leaderboard {
        #[arg(long)]
        project: String,
        /// Bootstrap rounds (default 200, at most 2000; 0: no intervals).
        #[arg(long)]
        rounds: Option<u32>,
        /// The model rated 1000 (default: the most compared).
        #[arg(long)]
        anchor: Option<String>,
        /// Also a board per value of this item metadata field (e.g. category).
        #[arg(long)]
        by: Option<String>,
        /// Only rankings last changed on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: Option<String>,
        /// ... and on or before this day.
        #[arg(long)]
        to: Option<String>,
        /// Whose judgments: labels (default), proposals or end_users.
        #[arg(long)]
        source: Option<String>,
        /// Also labels with thumbs but no ranking (up above down).
        #[arg(long)]
        thumbs: bool,
        /// The answers' length as a covariate (style control).
        #[arg(long)]
        length_control: bool,
        /// The API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum QualityCommand {
    /// Print the project's agreement figures (`--json`: the API's report).
    Report {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: bool,
    },
    /// Count every labeled item of the project again (the running sums are kept by every
    /// submission; this repairs them, and is a no-op where they are right).
    Rebuild {
        #[arg(long)]
        project: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct PrelabelArgs {
    #[arg(long)]
    pub project: String,
    /// Generate answers instead, until items have this many (2 to 8).
    #[arg(long)]
    pub generate_answers: Option<u32>,
    /// Sampling temperature for generated answers.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f32,
    /// Models to ask in turn for generated answers (comma-separated; default: the configured one).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Judge this share of the items (0 to 1) a second time with the answers reversed, to
    /// measure the model's position preference (the quality report's judge calibration).
    #[arg(long, default_value_t = 0.0)]
    pub swap_share: f64,
    #[command(flatten)]
    pub inference: crate::server::config::InferenceDefaults,
}

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Save an export spec as a new version (the next number of NAME unless --version).
    Create {
        #[arg(long)]
        project: String,
        /// Lower-case letters, digits, '.', '_', '-'.
        #[arg(long)]
        name: String,
        #[arg(long)]
        version: Option<i32>,
        #[command(flatten)]
        spec: crate::server::dataset::ExportSpec,
    },
    /// List a project's versions, newest first.
    List {
        #[arg(long)]
        project: String,
    },
    /// Print a version's manifest (spec, counts, lineage, files) as JSON.
    Show {
        #[arg(long)]
        project: String,
        /// NAME v3 (or NAME@3).
        version: String,
    },
    /// Write one of a version's files, checked against its recorded SHA-256.
    Download {
        #[arg(long)]
        project: String,
        /// NAME v3 (or NAME@3).
        version: String,
        /// jsonl, parquet (pair formats) or card (a folder as .tar for `datasets`).
        #[arg(long, value_enum, default_value = "jsonl")]
        file: crate::server::dataset::version::FileKind,
        /// Where to write; `-` for standard output.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Added, removed and changed records between two versions, as JSON.
    Diff {
        #[arg(long)]
        project: String,
        from: String,
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// items:write, feedback:write, feedback:read or export:read; repeat for several.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<crate::model::api::Scope>,
        /// Limit the token to this project (slug).
        #[arg(long)]
        project: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id.
    Revoke { token_id: uuid::Uuid },
}

fn parse_scope(s: &str) -> Result<crate::model::api::Scope, String> {
    crate::model::api::Scope::parse(s).map_err(|e| e.message)
}

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create an empty project with default settings.
    Create {
        /// Used in addresses: lowercase letters, digits and dashes.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List projects with their item counts.
    List,
    /// Who works on a project: annotators and reviewers see only their projects.
    Members {
        #[command(subcommand)]
        command: MembersCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// Add a member (or change a member's limits).
    Add {
        #[arg(long)]
        project: String,
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The most items they may label in the project (default: no limit).
        #[arg(long)]
        max_items: Option<i32>,
        /// The most per day, UTC (default: no limit).
        #[arg(long)]
        daily_max: Option<i32>,
    },
    /// Remove a member (their labels stay).
    Remove {
        #[arg(long)]
        project: String,
        #[arg(long)]
        email: String,
    },
    /// List a project's members with their limits and labels.
    List {
        #[arg(long)]
        project: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file to import (`.gz` compressed or not).
    pub file: std::path::PathBuf,
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// verdict, trl, hh, openai or csv; detected from the first line when left out.
    #[arg(long, value_parser = parse_import_format)]
    pub format: Option<ImportFormat>,
    /// Import the valid lines and report the invalid ones (by default nothing is imported
    /// when any line is invalid).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Refuse lines that would otherwise be imported with a warning: Anthropic HH pairs
    /// whose transcripts part before their last turn (by default they are cut at the first
    /// differing Assistant turn).
    #[arg(long)]
    pub strict: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub project: String,
    /// Where to write; `-` for standard output. A name ending in `.parquet` gets Parquet
    /// (preference pairs only).
    #[arg(long)]
    pub out: std::path::PathBuf,
    #[command(flatten)]
    pub spec: crate::server::dataset::ExportSpec,
}

fn parse_import_format(s: &str) -> Result<ImportFormat, String> {
    ImportFormat::parse(s).ok_or_else(|| format!("unknown import format {s:?}"))
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Prints the password when it was generated.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "annotator")]
        role: Role,
        /// The password; without it a random one is generated and printed.
        #[arg(long, env = "VERDICT_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List accounts.
    List,
    /// Set a new password. Prints it when it was generated.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "VERDICT_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.message)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => startup::serve(&cli.db, &cli.serve).await,
        Some(Command::Serve(serve)) => startup::serve(&cli.db, &serve).await,
        Some(Command::Migrate) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            let key = cli.db.secret_key()?;
            crate::server::services::assist::seal_plain_keys(&database.pool, &key)
                .await
                .map_err(user_facing)?;
            let counted = crate::server::services::quality::rebuild_pending(&database.pool)
                .await
                .map_err(user_facing)?;
            println!("migrations applied");
            if counted > 0 {
                println!("agreement counted on {counted} items labeled before");
            }
            Ok(())
        }
        Some(Command::Dashboard {
            project,
            from,
            to,
            annotator,
            facet,
            fields,
            rebuild,
        }) => {
            use crate::server::services::dashboard;
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            let cli_actor = crate::server::services::Actor::cli();
            if let Some(fields) = fields {
                dashboard::set_fields(&database.pool, &cli_actor, &project, &fields)
                    .await
                    .map_err(user_facing)?;
            } else if rebuild {
                dashboard::rebuild(&database.pool, &cli_actor, &project)
                    .await
                    .map_err(user_facing)?;
            }
            let filters = dashboard::Filters {
                from,
                to,
                annotator,
                facet,
            };
            let board = dashboard::dashboard(&database.pool, &cli_actor, &project, &filters)
                .await
                .map_err(user_facing)?;
            println!("{}", serde_json::to_string_pretty(&board)?);
            Ok(())
        }
        Some(Command::Leaderboard {
            project,
            rounds,
            anchor,
            by,
            from,
            to,
            source,
            thumbs,
            length_control,
            json,
        }) => {
            use crate::server::services::leaderboard;
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            let options = leaderboard::Options {
                rounds,
                anchor,
                by,
                from,
                to,
                source,
                thumbs: thumbs.then(|| "true".to_owned()),
                length_control: length_control.then(|| "true".to_owned()),
            };
            let board = leaderboard::leaderboard(
                &database.pool,
                &crate::server::services::Actor::cli(),
                &project,
                &options,
            )
            .await
            .map_err(user_facing)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&board)?);
            } else {
                print!("{}", leaderboard::table(&board));
            }
            Ok(())
        }
        Some(Command::Quality(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            quality_command(&database.pool, command).await
        }
        Some(Command::Project(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            project_command(&database.pool, command).await
        }
        Some(Command::Import(args)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            transfer::import(&database.pool, args).await
        }
        Some(Command::Export(args)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            transfer::export(&database.pool, args).await
        }
        Some(Command::Prelabel(mut args)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            args.inference.secret_key = Some(cli.db.secret_key()?);
            prelabel(&database.pool, args).await
        }
        Some(Command::Rekey { old_key_file }) => {
            let old = crate::server::secrets::SecretKey::load_existing(&old_key_file)?;
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            let new = cli.db.secret_key()?;
            let changed = crate::server::services::assist::rekey(&database.pool, &old, &new)
                .await
                .map_err(user_facing)?;
            eprintln!(
                "{changed} stored API keys sealed again, from key {} to key {}",
                old.id(),
                new.id()
            );
            Ok(())
        }
        Some(Command::Backup { out }) => backup::backup(&cli.db, &out).await,
        Some(Command::Restore { file, replace }) => backup::restore(&cli.db, &file, replace).await,
        Some(Command::Dataset(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            transfer::dataset(&database.pool, command).await
        }
        Some(Command::Token(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            token_command(&database.pool, command).await
        }
        Some(Command::User(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            user_command(&database.pool, command).await
        }
    }
}

async fn user_command(pool: &sqlx::PgPool, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            password,
        } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(users::random_password);
            let new = NewUser::parse(&email, &name, &password, role)?;
            let user = users::create_account(pool, new)
                .await
                .map_err(user_facing)?;
            println!(
                "created {} ({}) as {}",
                user.email,
                user.display_name,
                user.role.as_str()
            );
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            for user in users::list_accounts(pool).await? {
                let status = if user.disabled { "disabled" } else { "active" };
                println!(
                    "{:<40} {:<10} {:<9} {}",
                    user.email,
                    user.role.as_str(),
                    status,
                    user.display_name
                );
            }
        }
        UserCommand::SetPassword { email, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(users::random_password);
            users::set_password(
                pool,
                &crate::server::services::Actor::cli(),
                &email,
                &password,
            )
            .await
            .map_err(user_facing)?;
            println!("password changed for {email}");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

async fn quality_command(pool: &sqlx::PgPool, command: QualityCommand) -> anyhow::Result<()> {
    use crate::server::services::quality;
    let actor = crate::server::services::Actor::cli();
    match command {
        QualityCommand::Report { project, json } => {
            // Counts what the servers have not counted yet, so the figures are current.
            quality::count_marked(pool).await.map_err(user_facing)?;
            let report = quality::report(pool, &actor, &project)
                .await
                .map_err(user_facing)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", quality::summary(&report));
            }
        }
        QualityCommand::Rebuild { project } => {
            let counted = quality::rebuild_project(pool, &actor, &project)
                .await
                .map_err(user_facing)?;
            println!("counted {counted} items of {project} with two or more labels");
        }
    }
    Ok(())
}

async fn project_command(pool: &sqlx::PgPool, command: ProjectCommand) -> anyhow::Result<()> {
    let actor = crate::server::services::Actor::cli();
    match command {
        ProjectCommand::Create { slug, name } => {
            let project = crate::server::services::projects::create(pool, &actor, &slug, &name)
                .await
                .map_err(user_facing)?;
            println!("created project {} ({})", project.slug, project.name);
        }
        ProjectCommand::List => {
            for p in crate::server::services::projects::list(pool, &actor)
                .await
                .map_err(user_facing)?
            {
                println!(
                    "{:<30} {:>9} items {:>9} end-user feedback  {}",
                    p.slug, p.item_count, p.feedback_count, p.name
                );
            }
        }
        ProjectCommand::Members { command } => members_command(pool, &actor, command).await?,
    }
    Ok(())
}

async fn members_command(
    pool: &sqlx::PgPool,
    actor: &crate::server::services::Actor,
    command: MembersCommand,
) -> anyhow::Result<()> {
    use crate::server::services::members;
    match command {
        MembersCommand::Add {
            project,
            email,
            max_items,
            daily_max,
        } => {
            members::add(pool, actor, &project, &email, max_items, daily_max)
                .await
                .map_err(user_facing)?;
            println!("{email} is a member of {project}");
        }
        MembersCommand::Remove { project, email } => {
            if members::remove(pool, actor, &project, &email)
                .await
                .map_err(user_facing)?
            {
                println!("{email} is no longer a member of {project}");
            } else {
                anyhow::bail!("{email} was not a member of {project}");
            }
        }
        MembersCommand::List { project } => {
            let limit = |n: Option<i32>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
            for m in members::list(pool, actor, &project)
                .await
                .map_err(user_facing)?
            {
                println!(
                    "{:<40} {:<10} {:>7} labels  max {:>6}  per day {:>6}",
                    m.email,
                    m.role,
                    m.labels,
                    limit(m.max_items),
                    limit(m.daily_max)
                );
            }
        }
    }
    Ok(())
}

/// Starts a job and works on it in this process until it is finished, with a progress line.
async fn prelabel(pool: &sqlx::PgPool, args: PrelabelArgs) -> anyhow::Result<()> {
    use crate::server::services::assist::{self, JobKind};
    use std::io::Write;
    let actor = crate::server::services::Actor::cli();
    let kind = match args.generate_answers {
        Some(answers) => JobKind::Generate {
            answers,
            temperature: args.temperature,
            models: args.models.clone(),
        },
        None => JobKind::Prelabel {
            swap_share: args.swap_share,
        },
    };
    let mut job = assist::start_job(pool, &actor, &args.project, kind)
        .await
        .map_err(user_facing)?;
    let started = std::time::Instant::now();
    loop {
        let progress = job.done + job.failed;
        let rate = f64::from(progress) / started.elapsed().as_secs_f64().max(0.001);
        let eta = if rate > 0.0 && job.total > progress {
            format!(", ETA {:.0} s", f64::from(job.total - progress) / rate)
        } else {
            String::new()
        };
        eprint!(
            "\r{} {}/{} done, {} failed, {:.1} items/s{}   ",
            job.kind, job.done, job.total, job.failed, rate, eta
        );
        std::io::stderr().flush().ok();
        if job.status != "running" {
            break;
        }
        let worked =
            crate::server::inference::worker::step(pool, &args.inference, Some(job.job_id)).await?;
        if worked == 0 {
            // Other processes hold the remaining items; wait for them.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        job = assist::jobs(pool, &actor, &args.project)
            .await
            .map_err(user_facing)?
            .into_iter()
            .find(|j| j.job_id == job.job_id)
            .ok_or_else(|| anyhow::anyhow!("the job disappeared"))?;
    }
    eprintln!();
    for (item, why) in &job.failures {
        eprintln!("failed: {item}: {why}");
    }
    println!(
        "job {} {}: {} done, {} failed of {}",
        job.job_id, job.status, job.done, job.failed, job.total
    );
    Ok(())
}

async fn token_command(pool: &sqlx::PgPool, command: TokenCommand) -> anyhow::Result<()> {
    use crate::server::services::tokens;
    let actor = crate::server::services::Actor::cli();
    match command {
        TokenCommand::Create {
            name,
            scopes,
            project,
        } => {
            let new = crate::model::api::NewToken {
                name,
                scopes,
                project,
            };
            let created = tokens::create(pool, &actor, &new)
                .await
                .map_err(user_facing)?;
            println!(
                "created token {} ({})",
                created.token.token_id, created.token.name
            );
            println!("secret (shown once): {}", created.secret);
        }
        TokenCommand::List => {
            for t in tokens::list(pool, &actor).await.map_err(user_facing)? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                let state = match (t.revoked_at, t.last_used_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    (None, Some(at)) => format!("last used {}", at.format("%Y-%m-%d %H:%M")),
                    (None, None) => "never used".to_owned(),
                };
                println!(
                    "{}  {:<24} {}…  {:<50} {:<20} {}",
                    t.token_id,
                    t.name,
                    t.prefix,
                    scopes.join(","),
                    t.project.as_deref().unwrap_or("(all projects)"),
                    state
                );
            }
        }
        TokenCommand::Revoke { token_id } => {
            tokens::revoke(pool, &actor, token_id)
                .await
                .map_err(user_facing)?;
            println!("revoked {token_id}");
        }
    }
    Ok(())
}

fn user_facing(e: crate::server::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.to_app_error())
}
