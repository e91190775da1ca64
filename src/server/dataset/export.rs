//! Running an export: reader tasks read pages from one snapshot, this task turns them into
//! records and writes them into a sink. Memory stays at a few pages whatever the size.
//! No permission checks here: the services call this after theirs.

use super::reader::{NextPage, Page, Pseudonyms, ReadPage, Source, read_pages};
use super::record::{ExportItem, ItemRecords};
use super::sink::Sink;
use super::spec::{ExportFilters, ExportOptions};
use crate::server::Result;
use crate::server::error::Error;
use crate::server::store::{items, projects};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub items: u64,
    pub records: u64,
}

/// Connections that read an export's pages at once, in one shared snapshot. PostgreSQL
/// takes about as long to prepare a page as the writer takes to write it, and a connection
/// is one backend on one core: two readers keep the database busy beside the writer.
const READERS: usize = 2;

/// Pages read and not yet written, at most: what bounds an export's memory.
const PAGES_IN_FLIGHT: usize = 3;

/// Sees every item written, with its records (progress, a version's members and counts).
pub trait Observer: Send {
    fn item(&mut self, _item: &ExportItem, _records: &ItemRecords<'_>, _summary: ExportSummary) {}
}

/// Progress: told the running totals after each item.
pub struct Progress<'a>(pub &'a mut (dyn FnMut(ExportSummary) + Send));

impl Observer for Progress<'_> {
    fn item(&mut self, _: &ExportItem, _: &ItemRecords<'_>, summary: ExportSummary) {
        (self.0)(summary)
    }
}

/// The live source of a project's export with these filters.
pub fn live(project_id: Uuid, filters: &ExportFilters) -> Source {
    Source::Live {
        project_id,
        from: filters.from,
        to: filters.to,
        complete_only: filters.complete_only,
        include_gold: filters.include_gold,
        exclude_flagged_annotators: filters.exclude_flagged_annotators,
        review: filters.review,
    }
}

/// Writes the records of `source` (of the project `project_id`, whose id seeds the
/// pseudonyms) into `sink`, up to `limit` records.
pub async fn run(
    pool: &PgPool,
    project_id: Uuid,
    source: Source,
    options: &ExportOptions,
    limit: Option<u64>,
    sink: &mut Sink<'_>,
    observer: &mut dyn Observer,
) -> Result<ExportSummary> {
    // A preview reads one page; a small pool keeps its connections for other requests.
    let options = &with_schemas(pool, project_id, options).await?;
    let readers = if limit.is_some() || pool.options().get_max_connections() < 4 {
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
    let room = Arc::new(tokio::sync::Semaphore::new(PAGES_IN_FLIGHT));
    let next = Arc::new(tokio::sync::Mutex::new(NextPage::default()));
    for tx in readers_tx {
        // A reader stops at the end, at an error, or when this task stops listening.
        tokio::spawn(read_pages(
            tx,
            source.clone(),
            next.clone(),
            room.clone(),
            pages_in.clone(),
        ));
    }
    drop(pages_in);
    let mut writer = Writer {
        sink,
        options,
        limit,
        annotators: Pseudonyms::new(project_id),
        summary: ExportSummary::default(),
        observer,
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
    let summary = writer.summary;
    writer.sink.flush().await?;
    Ok(summary)
}

/// The options with the project's judgment schemas, when they need them (margins, rubric
/// pairs); refuses rubric criteria that no version of the schema has.
async fn with_schemas(
    pool: &PgPool,
    project_id: Uuid,
    options: &ExportOptions,
) -> Result<ExportOptions> {
    let mut options = options.clone();
    if !options.margin && options.rubric.is_none() {
        return Ok(options);
    }
    let schemas = projects::judgments_by_version(pool, project_id).await?;
    for (key, _) in options.rubric.iter().flatten() {
        if !schemas
            .values()
            .any(|s| s.rubric.iter().any(|c| &c.key == key))
        {
            return Err(Error::invalid(
                "rubric",
                format!("{key} is not a criterion of this project's judgment schema"),
            ));
        }
    }
    options.schemas = Arc::new(schemas);
    Ok(options)
}

/// Writes pages of rows as records into a sink.
struct Writer<'s, 'k, 'p> {
    sink: &'s mut Sink<'k>,
    options: &'p ExportOptions,
    limit: Option<u64>,
    annotators: Pseudonyms,
    summary: ExportSummary,
    observer: &'p mut dyn Observer,
}

impl Writer<'_, '_, '_> {
    /// Writes the page's records; true once the limit is reached.
    async fn write(&mut self, page: Page) -> Result<bool> {
        let full = |summary: &ExportSummary| self.limit.is_some_and(|l| summary.records >= l);
        for item in page.into_items(&mut self.annotators) {
            let records = ItemRecords::new(&item, self.options);
            for record in records.iter() {
                self.sink.write(&record).await?;
                self.summary.records += 1;
                if full(&self.summary) {
                    break;
                }
            }
            self.summary.items += 1;
            self.observer.item(&item, &records, self.summary);
            if full(&self.summary) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
