//! Exporting a project's feedback in the formats training code reads. Pages of rows stream
//! from one database snapshot into the writer: memory stays bounded whatever the project's
//! size.

use super::projects::authorize;
use super::{Actor, Result};
use crate::model::api::Scope;
use crate::model::export::{
    ExportAnnotation, ExportFormat, ExportItem, ExportOptions, ItemRecords,
};
use crate::model::project::ResponseView;
use crate::server::error::Error;
use crate::server::parquet::PairsWriter;
use crate::server::store::items;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

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

impl ExportFilters {
    /// The filters of an export form or query (the date bounds and the overlap filter).
    pub fn from_request(
        request: &crate::model::export::ExportRequest,
    ) -> std::result::Result<Self, crate::model::AppError> {
        let (from, to) = request.period()?;
        Ok(Self {
            from,
            to,
            complete_only: request.complete_only(),
            limit: None,
        })
    }
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

/// Items read per page of an export.
const PAGE: i64 = 2000;

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

/// One page of an export as read from the database.
struct Page {
    items: Vec<items::ExportItemRow>,
    answers: Vec<items::ExportAnswerRow>,
    annotations: Vec<items::ExportAnnotationRow>,
}

/// Pages a reader task keeps ready ahead of the writer.
const PAGES_AHEAD: usize = 2;

/// Streams the records into `sink`. A reader task reads pages of items, their answers and
/// annotations as flat rows, all in one read-only snapshot, and hands them over a bounded
/// channel: the database prepares the next page while this task writes the current one,
/// and memory stays at a few pages whatever the project's size.
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
    let mut tx = pool.begin().await?;
    items::read_snapshot(&mut tx).await?;
    let (pages_in, mut pages) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    // The reader stops at the end, at an error, or when this task stops listening.
    tokio::spawn(read_pages(
        tx,
        project.project_id,
        filters.clone(),
        pages_in,
    ));
    let mut annotators = Pseudonyms::new(project.project_id);
    let mut summary = ExportSummary::default();
    let mut line = Vec::with_capacity(8192);
    let full = |s: &ExportSummary| filters.limit.is_some_and(|limit| s.records >= limit);
    'pages: while let Some(page) = pages.recv().await {
        let Page {
            items,
            answers,
            annotations,
        } = page?;
        let mut answers = answers.into_iter().peekable();
        let mut annotations = annotations.into_iter().peekable();
        for row in items {
            let mut item = ExportItem {
                item_id: row.item_id,
                external_id: row.external_id,
                messages: Vec::new(),
                answers: Vec::new(),
                annotations: Vec::new(),
            };
            while let Some(a) = annotations.next_if(|a| a.item_seq <= row.item_seq) {
                if a.item_seq == row.item_seq {
                    item.annotations.push(annotators.export(a));
                }
            }
            while let Some(answer) = answers.next_if(|a| a.item_seq <= row.item_seq) {
                if answer.item_seq == row.item_seq {
                    item.answers.push(ResponseView {
                        response_id: answer.response_id,
                        ordinal: answer.ordinal,
                        model: answer.model,
                        content: answer.content,
                    });
                }
            }
            if item.annotations.is_empty() {
                continue;
            }
            item.messages = row.messages.0;
            let records = ItemRecords::new(&item, options);
            for record in records.iter() {
                match &mut sink {
                    Sink::Jsonl(out) => {
                        line.clear();
                        serde_json::to_writer(&mut line, &record).map_err(anyhow::Error::from)?;
                        line.push(b'\n');
                        out.write_all(&line).await.context("writing the export")?;
                    }
                    Sink::Parquet(writer) => {
                        let pair = record
                            .pair()
                            .context("Parquet is written for preference pairs")?;
                        writer.push(&pair).context("writing the export")?;
                    }
                }
                summary.records += 1;
                if full(&summary) {
                    break;
                }
            }
            summary.items += 1;
            progress(summary);
            if full(&summary) {
                break 'pages;
            }
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

/// Reads the export's pages in `tx` and sends them to `pages` until the project ends.
async fn read_pages(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    project_id: Uuid,
    filters: ExportFilters,
    pages: tokio::sync::mpsc::Sender<Result<Page>>,
) {
    let mut after = 0;
    loop {
        let page = match read_page(&mut tx, project_id, &filters, after).await {
            Ok(None) => return,
            Ok(Some(page)) => page,
            Err(e) => {
                // The writer reports it; nothing more to read either way.
                let _ = pages.send(Err(e)).await;
                return;
            }
        };
        after = page.items.last().map_or(after, |item| item.item_seq);
        if pages.send(Ok(page)).await.is_err() {
            return;
        }
    }
}

/// The page of items after `after` with what the export needs of them; `None` after the
/// last item.
async fn read_page(
    tx: &mut sqlx::PgConnection,
    project_id: Uuid,
    filters: &ExportFilters,
    after: i64,
) -> Result<Option<Page>> {
    let items =
        items::export_items(&mut *tx, project_id, filters.complete_only, after, PAGE).await?;
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return Ok(None);
    };
    let range = (first.item_seq, last.item_seq);
    let annotations =
        items::export_annotations(&mut *tx, project_id, range, filters.from, filters.to).await?;
    // Answers only of the items that have annotations (both lists are by item_seq).
    let mut labeled: Vec<Uuid> = Vec::new();
    let mut seqs: Vec<i64> = annotations.iter().map(|a| a.item_seq).collect();
    seqs.dedup();
    for seq in seqs {
        if let Ok(i) = items.binary_search_by_key(&seq, |i| i.item_seq) {
            labeled.push(items[i].item_id);
        }
    }
    let answers = items::export_answers(&mut *tx, project_id, range, &labeled).await?;
    Ok(Some(Page {
        items,
        answers,
        annotations,
    }))
}

/// Annotators' pseudonyms, computed once per person in an export.
struct Pseudonyms {
    project: String,
    known: HashMap<Uuid, String>,
}

impl Pseudonyms {
    fn new(project_id: Uuid) -> Self {
        Self {
            project: project_id.to_string(),
            known: HashMap::new(),
        }
    }

    fn export(&mut self, a: items::ExportAnnotationRow) -> ExportAnnotation {
        let annotator = match (a.source.as_str(), a.user_id) {
            ("annotator", Some(user)) => self
                .known
                .entry(user)
                .or_insert_with(|| pseudonym(&a.source, Some(user), None, &self.project))
                .clone(),
            _ => pseudonym(
                &a.source,
                a.user_id,
                a.end_user_id.as_deref(),
                &self.project,
            ),
        };
        ExportAnnotation {
            annotation_id: a.annotation_id,
            annotator,
            source: a.source,
            ranking: a.ranking.map(|r| r.0),
            thumbs: a.thumbs.0,
            ideal_answer: a.ideal_answer,
            ideal_from: a.ideal_from,
            flags: a.flags,
            comment: a.comment,
            shown_order: a.shown_order,
            proposal_id: a.proposal_id,
            time_spent_ms: a.time_spent_ms,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The stable pseudonym of an annotation's author within a project: the same as the SQL
/// function `annotation_json` gives the feedback stream.
pub fn pseudonym(
    source: &str,
    user: Option<uuid::Uuid>,
    end_user: Option<&str>,
    project: &str,
) -> String {
    use sha2::{Digest, Sha256};
    let (prefix, who) = match (source, user, end_user) {
        ("end_user", _, Some(id)) => ("end-user-", id.to_owned()),
        (_, Some(user), _) => ("annotator-", user.to_string()),
        _ => ("annotator-", String::new()),
    };
    let digest = Sha256::digest(format!("{who}{project}").as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
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
