//! A PostgreSQL of Verdict's own, for running without `DATABASE_URL`: a cluster in
//! `<data-dir>/postgres` on its own port, created on first use and reused after.

use anyhow::{Context, bail};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tokio::process::Command;

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found.\n\
     Install them, e.g. on Debian/Ubuntu: sudo apt-get install -y postgresql\n\
     (or point VERDICT_PG_BINDIR at their folder), or set DATABASE_URL to an existing database.";

pub struct LocalPostgres {
    pub url: String,
    bindir: PathBuf,
    data: PathBuf,
    /// True when this process started the server (and so stops it on shutdown).
    started_here: bool,
}

pub async fn ensure_running(data_dir: &Path, port: u16) -> anyhow::Result<LocalPostgres> {
    let bindir = find_bindir().context(INSTALL_HINT)?;
    let root = absolute(&data_dir.join("postgres"))?;
    let data = root.join("data");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let as_root = running_as_root()?;
    if as_root {
        // initdb and postgres refuse to run as root: the cluster belongs to `postgres`.
        run(Command::new("chown")
            .arg("-R")
            .arg("postgres:postgres")
            .arg(&root))
        .await?;
    }

    if !data.join("PG_VERSION").exists() {
        tracing::info!(path = %data.display(), "creating a local PostgreSQL cluster");
        run(pg_command(as_root, &bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]))
        .await
        .context("initdb failed")?;
    }

    let running = pg_command(as_root, &bindir.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("status")
        .output()
        .await?
        .status
        .success();
    if !running {
        tracing::info!(port, "starting the local PostgreSQL");
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            root.display()
        );
        run(pg_command(as_root, &bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(root.join("server.log"))
            .args(["-w", "-o", &options, "start"]))
        .await
        .with_context(|| {
            format!(
                "starting PostgreSQL failed; see {}",
                root.join("server.log").display()
            )
        })?;
    }

    create_database_if_missing(port).await?;
    Ok(LocalPostgres {
        url: format!("postgres://postgres@127.0.0.1:{port}/verdict"),
        bindir,
        data,
        started_here: !running,
    })
}

impl LocalPostgres {
    /// Stops the server if this process started it.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        tracing::info!("stopping the local PostgreSQL");
        run(pg_command(running_as_root()?, &self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "stop"]))
        .await
    }
}

async fn create_database_if_missing(port: u16) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .context("connecting to the local PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'verdict')")
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        sqlx::query("CREATE DATABASE verdict")
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`): from `VERDICT_PG_BINDIR`, the
/// newest Debian-style `/usr/lib/postgresql/N/bin`, or `PATH`.
pub fn client_program(name: &str) -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("VERDICT_PG_BINDIR") {
        return Ok(PathBuf::from(dir).join(name));
    }
    versioned_bindirs()
        .into_iter()
        .rev()
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ))
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "{name} was not found: install PostgreSQL's client programs (on Debian/Ubuntu: \
                 sudo apt-get install -y postgresql-client) or point VERDICT_PG_BINDIR at them"
            )
        })
}

/// `/usr/lib/postgresql/N/bin` folders, oldest first.
fn versioned_bindirs() -> Vec<PathBuf> {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    candidates.sort();
    candidates.into_iter().map(|(_, dir)| dir).collect()
}

fn find_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("VERDICT_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    // Debian and Ubuntu keep each major version apart; take the newest.
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    versioned_bindirs()
        .into_iter()
        .rev()
        .chain(std::env::split_paths(&search_path))
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .context("no initdb and pg_ctl found")
}

fn running_as_root() -> anyhow::Result<bool> {
    Ok(std::fs::metadata("/proc/self")
        .context("reading /proc/self")?
        .uid()
        == 0)
}

fn pg_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

async fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .await
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    })
}
