//! Exporting a project's feedback in the formats training code reads. Rows stream from a
//! database cursor, one item at a time, into the writer: memory stays bounded whatever
//! the project's size.

use super::projects::authorize;
use super::{Actor, Result};
use crate::model::api::Scope;
use crate::model::export::{ExportFormat, ExportItem, ExportOptions, records};
use crate::server::error::Error;
use crate::server::parquet::PairsWriter;
use crate::server::store::items;
use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use sqlx::PgPool;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Which annotations and items to export.
#[derive(Clone, Debug, Default)]
pub struct ExportFilters {
    /// Only annotations last changed at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only annotations last changed before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only items that have all the annotations the project's overlap asks for.
    pub complete_only: bool,
    /// Stop after this many records (a preview).
    pub limit: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ExportSummary {
    pub items: u64,
    pub records: u64,
}

/// Where records go.
pub enum Sink<'a> {
    /// One JSON object per line.
    Jsonl(&'a mut (dyn AsyncWrite + Unpin + Send)),
    /// Parquet rows (preference pairs only).
    Parquet(&'a mut PairsWriter<Box<dyn std::io::Write + Send>>),
}

/// Writes the project's records as JSON Lines to `out`; `progress` is called after each item.
pub async fn export_jsonl(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    out: &mut (dyn AsyncWrite + Unpin + Send),
    progress: &mut (dyn FnMut(ExportSummary) + Send),
) -> Result<ExportSummary> {
    export(
        pool,
        actor,
        slug,
        options,
        filters,
        Sink::Jsonl(out),
        progress,
    )
    .await
}

/// Whether `format` can be written as Parquet.
pub fn parquet_supported(format: ExportFormat) -> bool {
    matches!(
        format,
        ExportFormat::DpoPairs | ExportFormat::DpoConversational
    )
}

/// Writes the project's preference pairs as a Parquet file to `out`.
pub async fn export_parquet(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    out: Box<dyn std::io::Write + Send>,
    progress: &mut (dyn FnMut(ExportSummary) + Send),
) -> Result<ExportSummary> {
    if !parquet_supported(options.format) {
        return Err(Error::invalid(
            "format",
            "Parquet is written for preference pairs (dpo_pairs, dpo_conversational)",
        ));
    }
    let conversational = options.format == ExportFormat::DpoConversational;
    let mut writer = PairsWriter::new(out, conversational).context("starting the Parquet file")?;
    let summary = export(
        pool,
        actor,
        slug,
        options,
        filters,
        Sink::Parquet(&mut writer),
        progress,
    )
    .await?;
    writer.finish().context("finishing the Parquet file")?;
    Ok(summary)
}

/// Streams the records into `sink`, one item at a time from a database cursor.
async fn export(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    mut sink: Sink<'_>,
    progress: &mut (dyn FnMut(ExportSummary) + Send),
) -> Result<ExportSummary> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    if !(0.0..1.0).contains(&options.test_fraction) || !(0.0..=1.0).contains(&options.min_agreement)
    {
        return Err(Error::invalid(
            "options",
            "test_fraction must be in [0, 1) and min_agreement in [0, 1]",
        ));
    }
    let mut rows = items::export_rows(
        pool,
        project.project_id,
        filters.complete_only,
        filters.from,
        filters.to,
        None,
    );
    let mut summary = ExportSummary::default();
    let mut line = Vec::with_capacity(4096);
    let full = |s: &ExportSummary| filters.limit.is_some_and(|limit| s.records >= limit);
    while let Some(row) = rows.next().await {
        let item: ExportItem =
            serde_json::from_value(row?.item).context("an exported item did not decode")?;
        if item.annotations.is_empty() {
            continue;
        }
        for record in records(&item, options) {
            match &mut sink {
                Sink::Jsonl(out) => {
                    line.clear();
                    serde_json::to_writer(&mut line, &record).map_err(anyhow::Error::from)?;
                    line.push(b'\n');
                    out.write_all(&line).await.context("writing the export")?;
                }
                Sink::Parquet(writer) => writer.push(record).context("writing the export")?,
            }
            summary.records += 1;
            if full(&summary) {
                break;
            }
        }
        summary.items += 1;
        progress(summary);
        if full(&summary) {
            break;
        }
    }
    if let Sink::Jsonl(out) = &mut sink {
        out.flush().await.context("writing the export")?;
    }
    tracing::info!(
        project.slug = slug,
        items = summary.items,
        records = summary.records,
        "export finished"
    );
    Ok(summary)
}

/// How many items and records the export would give, and its first records.
pub async fn preview(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
) -> Result<crate::model::export::ExportPreview> {
    let mut sink = tokio::io::sink();
    let summary = export_jsonl(pool, actor, slug, options, filters, &mut sink, &mut |_| {}).await?;
    let mut first = Vec::new();
    let limited = ExportFilters {
        limit: Some(5),
        ..filters.clone()
    };
    export_jsonl(
        pool,
        actor,
        slug,
        options,
        &limited,
        &mut first,
        &mut |_| {},
    )
    .await?;
    Ok(crate::model::export::ExportPreview {
        items: summary.items,
        records: summary.records,
        first: String::from_utf8_lossy(&first)
            .lines()
            .map(str::to_owned)
            .collect(),
    })
}
