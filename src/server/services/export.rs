//! Exporting a project's feedback in the formats training code reads: the permission
//! check, then the dataset subsystem's engine (`server::dataset`).

use super::projects::authorize;
use super::{Actor, Result};
use crate::model::api::Scope;
use crate::model::export::ExportPreview;
use crate::server::dataset::parquet::PairsWriter;
use crate::server::dataset::{self, ExportFormat, Sink};
use crate::server::error::Error;
use anyhow::Context;
use sqlx::PgPool;
use tokio::io::AsyncWrite;

pub use crate::server::dataset::{ExportFilters, ExportOptions, ExportSummary};

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
        &mut Sink::jsonl(out),
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

/// Refuses a Parquet export of a format that is not preference pairs.
pub fn require_parquet(format: ExportFormat) -> Result<()> {
    if parquet_supported(format) {
        Ok(())
    } else {
        Err(Error::invalid(
            "format",
            "Parquet is written for preference pairs (dpo_pairs, dpo_conversational)",
        ))
    }
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
    require_parquet(options.format)?;
    let conversational = options.format == ExportFormat::DpoConversational;
    let mut writer = PairsWriter::new(out, conversational, options.margin)
        .context("starting the Parquet file")?;
    let summary = export(
        pool,
        actor,
        slug,
        options,
        filters,
        &mut Sink::Parquet(&mut writer),
        progress,
    )
    .await?;
    writer.finish().context("finishing the Parquet file")?;
    Ok(summary)
}

async fn export(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    sink: &mut Sink<'_>,
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
    let source = dataset::export::live(project.project_id, filters);
    let summary = dataset::run(
        pool,
        project.project_id,
        source,
        options,
        filters.limit,
        sink,
        &mut dataset::export::Progress(progress),
    )
    .await?;
    tracing::info!(
        project.slug = slug,
        items = summary.items,
        records = summary.records,
        "export finished"
    );
    Ok(summary)
}

/// How many items and records the export would give, and its first records: one pass that
/// counts, without writing the records it does not show.
pub async fn preview(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
) -> Result<ExportPreview> {
    let mut sink = Sink::count(5);
    let summary = export(pool, actor, slug, options, filters, &mut sink, &mut |_| {}).await?;
    let Sink::Count { first, .. } = sink else {
        unreachable!("the sink was made as a count")
    };
    Ok(ExportPreview {
        items: summary.items,
        records: summary.records,
        first,
    })
}
