//! `verdict import` and `verdict export`, with progress on standard error.

use super::{DatasetCommand, ExportArgs, ImportArgs};
use crate::model::import::LineError;
use crate::server::services::datasets;
use crate::server::services::export::export_jsonl;
use crate::server::services::{Actor, import};
use anyhow::Context;
use sqlx::PgPool;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub async fn import(pool: &PgPool, args: ImportArgs) -> anyhow::Result<()> {
    let total = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let ticker = {
        let read = read.clone();
        tokio::spawn(async move {
            let interactive = std::io::stderr().is_terminal();
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = read.load(Ordering::Relaxed);
                let percent = (done * 100).checked_div(total).unwrap_or(100);
                if interactive {
                    eprint!(
                        "\r  reading {percent:>3}%  ({} of {} MB)",
                        done >> 20,
                        total >> 20
                    );
                }
            }
        })
    };
    let started = Instant::now();
    let result = import::import_file(
        pool,
        &Actor::cli(),
        &args.project,
        &args.file,
        import::ImportOptions {
            format: args.format,
            skip_invalid: args.skip_invalid,
            strict: args.strict,
        },
        read,
    )
    .await;
    ticker.abort();
    eprintln!();
    let report = result.map_err(|e| anyhow::anyhow!("{}", e.to_app_error()))?;
    print_lines("", &report.invalid, report.invalid_count, "invalid lines");
    print_lines(
        "warning: ",
        &report.warnings,
        report.warning_count,
        "warnings",
    );
    let seconds = started.elapsed().as_secs_f64();
    if !report.committed {
        anyhow::bail!(
            "{} of {} lines are invalid: nothing was imported (fix them, or pass --skip-invalid)",
            report.invalid_count,
            report.lines
        );
    }
    println!(
        "imported {} items ({} already present, {} invalid lines skipped, {} with warnings) from {} lines as {} in {seconds:.1} s ({:.0} items/s)",
        report.imported,
        report.already_present,
        report.invalid_count,
        report.warning_count,
        report.lines,
        report.format.label(),
        report.imported as f64 / seconds.max(1e-9),
    );
    Ok(())
}

pub async fn export(pool: &PgPool, args: ExportArgs) -> anyhow::Result<()> {
    let (options, filters) = args.spec.resolve(None).map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut progress = |s: crate::server::services::export::ExportSummary| {
        if interactive && last.elapsed() > Duration::from_millis(250) {
            eprint!("\r  {} items, {} records", s.items, s.records);
            last = Instant::now();
        }
    };
    let (partial, file) = if args.out.as_os_str() == "-" {
        (None, None)
    } else {
        let (partial, file) = Partial::create(&args.out)?;
        (Some(partial), Some(file))
    };
    let summary = match file {
        Some(file) if args.out.extension().is_some_and(|e| e == "parquet") => {
            crate::server::services::export::export_parquet(
                pool,
                &Actor::cli(),
                &args.project,
                &options,
                &filters,
                Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
                &mut progress,
            )
            .await
        }
        file => {
            let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match file {
                Some(file) => Box::new(tokio::io::BufWriter::with_capacity(
                    1 << 20,
                    tokio::fs::File::from_std(file),
                )),
                None => Box::new(tokio::io::BufWriter::new(tokio::io::stdout())),
            };
            export_jsonl(
                pool,
                &Actor::cli(),
                &args.project,
                &options,
                &filters,
                &mut out,
                &mut progress,
            )
            .await
        }
    }
    .map_err(|e| anyhow::anyhow!("{}", e.to_app_error()))?;
    if let Some(partial) = partial {
        partial.keep()?;
    }
    report(interactive, started, summary, options.format)
}

/// An export to a file is written to a new file beside it, renamed over it once the
/// export has succeeded: a failed export (an unknown project, a bad option, a lost
/// connection) leaves an existing file as it was, and no partial one.
struct Partial {
    path: PathBuf,
    target: PathBuf,
    kept: bool,
}

impl Partial {
    fn create(target: &Path) -> anyhow::Result<(Self, std::fs::File)> {
        let name = target
            .file_name()
            .with_context(|| format!("{} does not name a file", target.display()))?;
        let mut partial = std::ffi::OsString::from(".");
        partial.push(name);
        partial.push(format!(".partial-{}", std::process::id()));
        let path = target.with_file_name(partial);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", target.display()))?;
        let partial = Self {
            path,
            target: target.to_owned(),
            kept: false,
        };
        Ok((partial, file))
    }

    fn keep(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.path, &self.target)
            .with_context(|| format!("writing {}", self.target.display()))?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn report(
    interactive: bool,
    started: Instant,
    summary: crate::server::services::export::ExportSummary,
    format: crate::server::dataset::ExportFormat,
) -> anyhow::Result<()> {
    if interactive {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {} records from {} items as {} in {seconds:.1} s ({:.0} records/s)",
        summary.records,
        summary.items,
        format.as_str(),
        summary.records as f64 / seconds.max(1e-9)
    );
    Ok(())
}

fn version_label(label: &str) -> anyhow::Result<(String, i32)> {
    datasets::parse_label(label)
        .with_context(|| format!("{label:?} names no version: write NAME v3 or NAME@3"))
}

fn app(e: crate::server::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.to_app_error())
}

/// `verdict dataset …`.
pub async fn dataset(pool: &PgPool, command: DatasetCommand) -> anyhow::Result<()> {
    let cli = Actor::cli();
    match command {
        DatasetCommand::Create {
            project,
            name,
            version,
            spec,
        } => {
            let m = datasets::create(pool, &cli, &project, &name, version, &spec)
                .await
                .map_err(app)?;
            println!(
                "made {}: {} items, {} annotations, {} records",
                m.label(),
                m.counts.items,
                m.counts.annotations,
                m.counts.records
            );
            for (kind, f) in &m.files {
                println!(
                    "  {kind:<8} {}  {} bytes  sha256 {}",
                    f.name, f.bytes, f.sha256
                );
            }
        }
        DatasetCommand::List { project } => {
            let mut after: Option<String> = None;
            loop {
                let page = datasets::list(pool, &cli, &project, after.as_deref(), Some(200))
                    .await
                    .map_err(app)?;
                for m in &page.versions {
                    println!(
                        "{:<30} {}  {:<22} {:>8} records  by {}",
                        m.label(),
                        m.created_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        m.format.as_str(),
                        m.counts.records,
                        m.created_by
                    );
                }
                match page.next_cursor {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        DatasetCommand::Show { project, version } => {
            let (name, number) = version_label(&version)?;
            let m = datasets::show(pool, &cli, &project, &name, number)
                .await
                .map_err(app)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        DatasetCommand::Download {
            project,
            version,
            file,
            out,
        } => {
            let (name, number) = version_label(&version)?;
            let (_, made) = datasets::download(pool, &cli, &project, &name, number, file)
                .await
                .map_err(app)?;
            if out.as_os_str() == "-" {
                let mut source = std::fs::File::open(&made.path.0)?;
                std::io::copy(&mut source, &mut std::io::stdout().lock())?;
            } else {
                let (partial, mut target) = Partial::create(&out)?;
                let mut source = std::fs::File::open(&made.path.0)?;
                std::io::copy(&mut source, &mut target)?;
                target.sync_all()?;
                partial.keep()?;
            }
            eprintln!("{} bytes, sha256 {} (checked)", made.bytes, made.sha256);
        }
        DatasetCommand::Diff { project, from, to } => {
            let (a, b) = (version_label(&from)?, version_label(&to)?);
            let diff = datasets::diff(pool, &cli, &project, (&a.0, a.1), (&b.0, b.1))
                .await
                .map_err(app)?;
            println!("{}", serde_json::to_string_pretty(&diff)?);
        }
    }
    Ok(())
}

/// The report's lines of one kind, then how many more there were than it holds in full.
fn print_lines(prefix: &str, lines: &[LineError], count: usize, kind: &str) {
    for line in lines {
        eprintln!("  {prefix}{line}");
    }
    if count > lines.len() {
        eprintln!("  … and {} more {kind}", count - lines.len());
    }
}
