//! Exporting a project's feedback in the formats training code reads. Rows stream from a
//! database cursor, one item at a time, into the writer: memory stays bounded whatever
//! the project's size.

use super::{Actor, Result};
use crate::model::export::{ExportItem, ExportOptions, records};
use crate::model::user::Role;
use crate::server::error::Error;
use crate::server::store::{items, projects};
use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use sqlx::PgPool;
use std::io::Write;

/// Which annotations and items to export.
#[derive(Clone, Debug, Default)]
pub struct ExportFilters {
    /// Only annotations last changed at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only annotations last changed before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only items that have all the annotations the project's overlap asks for.
    pub complete_only: bool,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ExportSummary {
    pub items: u64,
    pub records: u64,
}

/// Writes the project's records as JSON Lines to `out`; `progress` is called after each item.
pub async fn export_jsonl(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(ExportSummary),
) -> Result<ExportSummary> {
    actor.require(Role::Admin)?;
    if !(0.0..1.0).contains(&options.test_fraction) || !(0.0..=1.0).contains(&options.min_agreement)
    {
        return Err(Error::invalid(
            "options",
            "test_fraction must be in [0, 1) and min_agreement in [0, 1]",
        ));
    }
    let project = projects::find_settings(pool, slug)
        .await?
        .ok_or(Error::NotFound("project"))?;
    let mut rows = items::export_rows(
        pool,
        project.project_id,
        filters.complete_only,
        filters.from,
        filters.to,
    );
    let mut summary = ExportSummary::default();
    let mut line = Vec::with_capacity(4096);
    while let Some(row) = rows.next().await {
        let item: ExportItem =
            serde_json::from_value(row?.item).context("an exported item did not decode")?;
        if item.annotations.is_empty() {
            continue;
        }
        for record in records(&item, options) {
            line.clear();
            serde_json::to_writer(&mut line, &record).map_err(anyhow::Error::from)?;
            line.push(b'\n');
            out.write_all(&line).context("writing the export")?;
            summary.records += 1;
        }
        summary.items += 1;
        progress(summary);
    }
    out.flush().context("writing the export")?;
    tracing::info!(
        project.slug = slug,
        items = summary.items,
        records = summary.records,
        "export finished"
    );
    Ok(summary)
}
