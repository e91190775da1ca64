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
use std::collections::{BTreeMap, HashMap};
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
const PAGE: i64 = 1000;

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

/// Connections that read an export's pages at once, in one shared snapshot. PostgreSQL
/// takes about as long to prepare a page as the writer takes to write it, and a connection
/// is one backend on one core: two readers keep the database busy beside the writer.
const READERS: usize = 2;

/// Pages read and not yet written, at most: what bounds an export's memory.
const PAGES_IN_FLIGHT: usize = 3;

/// A page as a reader hands it to the writer: its number in the export, and its room among
/// the pages in flight, given back when the writer has written it.
type ReadPage = (usize, Result<Page>, tokio::sync::OwnedSemaphorePermit);

/// Where the next page starts; readers take pages from it in turn.
#[derive(Default)]
struct NextPage {
    number: usize,
    after: i64,
    done: bool,
}

/// Streams the records into `sink`. Reader tasks read pages of items, their answers and
/// annotations as flat rows, all in one read-only snapshot, and hand them over a bounded
/// channel: the database prepares the next pages while this task writes the current one,
/// and memory stays at a few pages whatever the project's size.
async fn export(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &ExportOptions,
    filters: &ExportFilters,
    sink: Sink<'_>,
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
    // A preview reads one page; a small pool keeps its connections for other requests.
    let readers = if filters.limit.is_some() || pool.options().get_max_connections() < 4 {
        1
    } else {
        READERS
    };
    let mut first = pool.begin().await?;
    items::read_snapshot(&mut first, None).await?;
    let mut readers_tx = Vec::with_capacity(readers);
    if readers > 1 {
        let snapshot = items::export_snapshot(&mut first).await?;
        for _ in 1..readers {
            let mut tx = pool.begin().await?;
            items::read_snapshot(&mut tx, Some(&snapshot)).await?;
            readers_tx.push(tx);
        }
    }
    // The first transaction joins last: the others have taken its snapshot by now.
    readers_tx.push(first);
    let (pages_in, mut pages) = tokio::sync::mpsc::channel::<ReadPage>(PAGES_IN_FLIGHT);
    let room = std::sync::Arc::new(tokio::sync::Semaphore::new(PAGES_IN_FLIGHT));
    let next = std::sync::Arc::new(tokio::sync::Mutex::new(NextPage::default()));
    for tx in readers_tx {
        // A reader stops at the end, at an error, or when this task stops listening.
        tokio::spawn(read_pages(
            tx,
            project.project_id,
            filters.clone(),
            next.clone(),
            room.clone(),
            pages_in.clone(),
        ));
    }
    drop(pages_in);
    let mut writer = Writer {
        sink,
        options,
        limit: filters.limit,
        annotators: Pseudonyms::new(project.project_id),
        summary: ExportSummary::default(),
        line: Vec::with_capacity(8192),
        progress,
    };
    // Pages may arrive out of order; each waits here for its turn.
    let mut waiting = BTreeMap::new();
    let mut turn = 0;
    'pages: while let Some((number, page, permit)) = pages.recv().await {
        waiting.insert(number, (page?, permit));
        while let Some((page, _permit)) = waiting.remove(&turn) {
            turn += 1;
            if writer.write(page).await? {
                break 'pages;
            }
        }
    }
    let summary = writer.finish().await?;
    tracing::info!(
        project.slug = slug,
        items = summary.items,
        records = summary.records,
        "export finished"
    );
    Ok(summary)
}

/// Writes pages of rows as records into a sink.
struct Writer<'s, 'p> {
    sink: Sink<'s>,
    options: &'p ExportOptions,
    limit: Option<u64>,
    annotators: Pseudonyms,
    summary: ExportSummary,
    line: Vec<u8>,
    progress: &'p mut (dyn FnMut(ExportSummary) + Send),
}

impl Writer<'_, '_> {
    /// Writes the page's records; true once the limit is reached.
    async fn write(&mut self, page: Page) -> Result<bool> {
        let Page {
            items,
            answers,
            annotations,
        } = page;
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
                    item.annotations.push(self.annotators.export(a));
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
            let records = ItemRecords::new(&item, self.options);
            for record in records.iter() {
                match &mut self.sink {
                    Sink::Jsonl(out) => {
                        self.line.clear();
                        serde_json::to_writer(&mut self.line, &record)
                            .map_err(anyhow::Error::from)?;
                        self.line.push(b'\n');
                        out.write_all(&self.line)
                            .await
                            .context("writing the export")?;
                    }
                    Sink::Parquet(writer) => {
                        let pair = record
                            .pair()
                            .context("Parquet is written for preference pairs")?;
                        writer.push(&pair).context("writing the export")?;
                    }
                }
                self.summary.records += 1;
                if self.full() {
                    break;
                }
            }
            self.summary.items += 1;
            (self.progress)(self.summary);
            if self.full() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn full(&self) -> bool {
        self.limit
            .is_some_and(|limit| self.summary.records >= limit)
    }

    async fn finish(mut self) -> Result<ExportSummary> {
        if let Sink::Jsonl(out) = &mut self.sink {
            out.flush().await.context("writing the export")?;
        }
        Ok(self.summary)
    }
}

/// Reads pages in `tx`, taking each from `next`, and sends them to `pages` until the
/// project ends. A page waits for `room` among the pages in flight before it is taken.
async fn read_pages(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    project_id: Uuid,
    filters: ExportFilters,
    next: std::sync::Arc<tokio::sync::Mutex<NextPage>>,
    room: std::sync::Arc<tokio::sync::Semaphore>,
    pages: tokio::sync::mpsc::Sender<ReadPage>,
) {
    loop {
        let Ok(permit) = room.clone().acquire_owned().await else {
            return;
        };
        // The page's items are read under the lock: they say where the page after starts.
        let (number, items, range) = {
            let mut next = next.lock().await;
            if next.done {
                return;
            }
            let number = next.number;
            let items = match items::export_items(
                &mut *tx,
                project_id,
                filters.complete_only,
                next.after,
                PAGE,
            )
            .await
            {
                Ok(items) => items,
                Err(e) => {
                    // The writer reports it (the channel has room for every page in flight).
                    next.done = true;
                    let _ = pages.send((number, Err(e.into()), permit)).await;
                    return;
                }
            };
            let (Some(first), Some(last)) = (items.first(), items.last()) else {
                next.done = true;
                return;
            };
            let range = (first.item_seq, last.item_seq);
            next.after = last.item_seq;
            next.number += 1;
            (number, items, range)
        };
        let page = read_page(&mut tx, project_id, &filters, items, range).await;
        if pages.send((number, page, permit)).await.is_err() {
            return;
        }
    }
}

/// What the export needs of the page's `items`, whose `item_seq`s span `range`.
async fn read_page(
    tx: &mut sqlx::PgConnection,
    project_id: Uuid,
    filters: &ExportFilters,
    items: Vec<items::ExportItemRow>,
    range: (i64, i64),
) -> Result<Page> {
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
    Ok(Page {
        items,
        answers,
        annotations,
    })
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
