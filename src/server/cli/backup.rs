//! `verdict backup --out FILE` and `verdict restore FILE`: PostgreSQL's own `pg_dump` and
//! `pg_restore` (custom format: compressed, and `pg_restore` checks it whole).

use crate::server::config::DbConfig;
use crate::server::local_pg;
use crate::server::{db, store};
use anyhow::{Context, bail};
use sqlx::Connection;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;
use tokio::process::Command;

/// Dumps the whole database into `out`, written beside it first and renamed once complete,
/// so a failed backup never leaves a truncated file under the name asked for.
pub async fn backup(config: &DbConfig, out: &Path) -> anyhow::Result<()> {
    let (url, _local) = db::url(config).await?;
    let started = Instant::now();
    let partial = out.with_extension("partial");
    let output = Command::new(local_pg::client_program("pg_dump")?)
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(&partial)
        .arg("--dbname")
        .arg(&url)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running pg_dump")?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::rename(&partial, out).with_context(|| format!("writing {}", out.display()))?;
    let bytes = std::fs::metadata(out)?.len();
    eprintln!(
        "backup written to {} ({bytes} bytes, {:.1} s); restore it with `verdict restore {}`",
        out.display(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// Restores a backup into the configured database, in one transaction: on any error the
/// database is left as it was. An empty database is expected; `replace` drops the objects
/// the backup holds first. Migrations newer than the backup are applied afterwards.
pub async fn restore(config: &DbConfig, file: &Path, replace: bool) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let pg_restore = local_pg::client_program("pg_restore")?;
    let listing = Command::new(&pg_restore)
        .arg("--list")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running pg_restore")?;
    if !listing.status.success() {
        bail!(
            "{} is not a backup pg_restore can read: {}",
            file.display(),
            String::from_utf8_lossy(&listing.stderr).trim()
        );
    }
    if !String::from_utf8_lossy(&listing.stdout).contains(" TABLE public _sqlx_migrations ") {
        bail!(
            "{} is a PostgreSQL backup but not of a Verdict database (no migrations table)",
            file.display()
        );
    }

    let (url, _local) = db::url(config).await?;
    {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .context("could not connect to PostgreSQL (check DATABASE_URL)")?;
        let tables = store::catalog::user_table_count(&mut conn).await?;
        if tables > 0 && !replace {
            bail!(
                "the database is not empty ({tables} tables): restore into an empty database, \
                 or pass --replace to drop what the backup holds first"
            );
        }
        // A running server would keep plans of the tables dropped under it, and write
        // between the drop and the restore: stop it first.
        // Sessions just closed can linger a moment in pg_stat_activity: wait up to 2 s.
        let mut others = store::catalog::other_connections(&mut conn).await?;
        for _ in 0..10 {
            if others.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            others = store::catalog::other_connections(&mut conn).await?;
        }
        if !others.is_empty() {
            bail!(
                "{} other connections to the database are open (a running `verdict serve`?): \
                 stop them before restoring: {}",
                others.len(),
                others.join(", ")
            );
        }
        conn.close().await?;
    }
    let started = Instant::now();
    let mut command = Command::new(&pg_restore);
    command.args([
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
    ]);
    if replace {
        command.args(["--clean", "--if-exists"]);
    }
    let output = command
        .arg("--dbname")
        .arg(&url)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running pg_restore")?;
    if !output.status.success() {
        bail!(
            "pg_restore failed ({}), nothing was restored: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let database = db::open(config).await?;
    db::migrate(&database.pool).await?;
    eprintln!(
        "restored {} ({:.1} s)",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
