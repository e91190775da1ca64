//! The connection pool and migrations.

use super::config::DbConfig;
use super::local_pg::{self, LocalPostgres};
use anyhow::Context;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;
use tower_sessions_sqlx_store::PostgresStore;

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// An open database, and the local PostgreSQL behind it when Verdict started one.
pub struct Database {
    pub pool: PgPool,
    pub local: Option<LocalPostgres>,
}

/// Connects to `DATABASE_URL`, or starts (or reuses) the local PostgreSQL without it.
pub async fn open(config: &DbConfig) -> anyhow::Result<Database> {
    let (url, local) = url(config).await?;
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
        .connect(&url)
        .await
        .context("could not connect to PostgreSQL (check DATABASE_URL)")?;
    Ok(Database { pool, local })
}

/// The database's URL: `DATABASE_URL`, or the local PostgreSQL's (started when not running).
pub async fn url(config: &DbConfig) -> anyhow::Result<(String, Option<LocalPostgres>)> {
    Ok(match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let local = local_pg::ensure_running(&config.data_dir, config.local_pg_port).await?;
            (local.url.clone(), Some(local))
        }
    })
}

/// Applies Verdict's migrations and creates the session store's table.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")?;
    PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("creating the session table")?;
    Ok(())
}
