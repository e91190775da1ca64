//! Importing items from files: Verdict's JSONL, TRL preference records, Anthropic HH
//! transcripts, OpenAI chat, CSV; gzip-compressed or not. A reader thread parses lines into
//! batches while this task inserts them, so memory stays constant. The whole import is one
//! transaction: with any invalid line (unless skipping them) nothing is stored.

use super::{Actor, Result};
use crate::model::project::{Message, NewItem, NewResponse};
use crate::model::user::Role;
use crate::server::dataset::import::{
    CsvLayout, ImportFormat, LineError, ParsedLine, csv_layout, detect_jsonl, openai_chat_parts,
    parse_csv_record, parse_jsonl_line, validate_at,
};
use crate::server::error::Error;
use crate::server::store::{items, projects, responses};
use anyhow::Context;
use sqlx::PgPool;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use crate::model::import::ImportReport;

const BATCH: usize = 1000;
/// Invalid lines reported in full; the rest are only counted.
const MAX_REPORTED: usize = 100;

/// OpenAI chat lines being gathered into one item: first line, prompt, answers, id.
type ChatGroup = Option<(usize, Vec<Message>, Vec<NewResponse>, Option<String>)>;

enum Parsed {
    Items(Vec<NewItem>),
    Invalid(LineError),
    Warning(LineError),
    Lines(usize),
}

/// Counts bytes read, for a progress display.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How to read an import file.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Detected from the first line when `None`.
    pub format: Option<ImportFormat>,
    /// Store the valid lines and report the invalid ones (by default nothing is stored
    /// when any line is invalid).
    pub skip_invalid: bool,
    /// Refuse lines that would otherwise be imported with a warning (HH pairs whose
    /// transcripts part before their last turn).
    pub strict: bool,
}

/// Imports `path` into the project. `progress` counts the (compressed) bytes read so far.
pub async fn import_file(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    path: &Path,
    options: ImportOptions,
    progress: Arc<AtomicU64>,
) -> Result<ImportReport> {
    let ImportOptions {
        format,
        skip_invalid,
        strict,
    } = options;
    actor.require(Role::Admin)?;
    let project = projects::find_settings(pool, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let counted = Counting {
        inner: file,
        read: progress,
    };
    let peek = BufReader::with_capacity(1 << 20, counted);
    let reader = decompressing(peek).map_err(anyhow::Error::from)?;

    let (tx, mut rx) = mpsc::channel::<Parsed>(4);
    let parser =
        std::thread::spawn(move || parse(reader, format, strict, |p| tx.blocking_send(p).is_ok()));

    let mut db = pool.begin().await?;
    let (mut imported, mut already_present, mut lines) = (0, 0, 0);
    let (mut invalid, mut warnings) = (Vec::new(), Vec::new());
    let (mut invalid_count, mut warning_count) = (0, 0);
    while let Some(message) = rx.recv().await {
        match message {
            Parsed::Items(batch) => {
                // Once a line is bad and bad lines are not skipped, nothing will be kept:
                // go on only to report every bad line.
                if invalid_count == 0 || skip_invalid {
                    let size = batch.len();
                    let created = insert(&mut db, project.project_id, batch).await?;
                    let added = created.iter().flatten().count();
                    imported += added;
                    already_present += size - added;
                }
            }
            Parsed::Invalid(e) => {
                invalid_count += 1;
                if invalid.len() < MAX_REPORTED {
                    invalid.push(e);
                }
            }
            Parsed::Warning(w) => {
                warning_count += 1;
                if warnings.len() < MAX_REPORTED {
                    warnings.push(w);
                }
            }
            Parsed::Lines(n) => lines = n,
        }
    }
    let format = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the import parser panicked"))?
        .map_err(Error::Invalid)?;
    let committed = invalid_count == 0 || skip_invalid;
    // An import that stored items is recorded with them (one that stored none changed
    // nothing).
    if committed && imported > 0 {
        super::audit::record(
            &mut *db,
            actor,
            "items.import",
            Some(project.project_id),
            path.file_name().and_then(|n| n.to_str()),
            None,
            Some(serde_json::json!({
                "format": format,
                "lines": lines,
                "imported": imported,
                "already_present": already_present,
                "invalid_skipped": invalid_count,
            })),
        )
        .await?;
    }
    if committed {
        db.commit().await?;
        super::projects::fold_progress(pool).await;
    } else {
        db.rollback().await?;
        imported = 0;
        already_present = 0;
    }
    tracing::info!(
        project.slug = slug,
        imported,
        invalid_count,
        warning_count,
        committed,
        "import finished"
    );
    Ok(ImportReport {
        format,
        lines,
        imported,
        already_present,
        invalid_count,
        invalid,
        warning_count,
        warnings,
        committed,
    })
}

/// The reader itself, or a gzip decoder over it when the data starts with gzip's magic.
fn decompressing<R: BufRead + Send + 'static>(
    mut reader: R,
) -> std::io::Result<Box<dyn BufRead + Send>> {
    if reader.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// A whole file parsed without a database, as an import parses it.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub format: Option<ImportFormat>,
    pub items: Vec<NewItem>,
    pub invalid: Vec<LineError>,
    pub warnings: Vec<LineError>,
    pub lines: usize,
}

/// Parses a file's bytes (gzip-compressed or not) exactly as `import_file` does, without
/// storing anything: the parsers' whole path, for the fuzz targets (scripts/fuzz) and tests.
/// `Err` is what would stop an import before any line is stored.
pub fn parse_bytes(
    bytes: Vec<u8>,
    format: Option<ImportFormat>,
    strict: bool,
) -> std::result::Result<ParsedFile, crate::model::AppError> {
    let reader = decompressing(std::io::Cursor::new(bytes))
        .map_err(|e| crate::model::AppError::invalid("file", e.to_string()))?;
    let mut parsed = ParsedFile::default();
    let detected = parse(reader, format, strict, |p| {
        match p {
            Parsed::Items(items) => parsed.items.extend(items),
            Parsed::Invalid(e) => parsed.invalid.push(e),
            Parsed::Warning(w) => parsed.warnings.push(w),
            Parsed::Lines(n) => parsed.lines = n,
        }
        true
    })?;
    parsed.format = Some(detected);
    Ok(parsed)
}

/// The id an item without `external_id` gets: `content-` and the first 32 hex digits of
/// SHA-256 over its messages and answers (content and model, in order) as JSON.
pub fn content_key(item: &NewItem) -> String {
    use sha2::{Digest, Sha256};
    let answers: Vec<(&Option<String>, &str)> = item
        .responses
        .iter()
        .map(|r| (&r.model, r.content.as_str()))
        .collect();
    let json = serde_json::to_vec(&(&item.messages, answers)).unwrap_or_default();
    let digest = Sha256::digest(&json);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("content-{hex}")
}

/// Inserts validated items with their answers in two statements. Returns, per item, its new
/// id, or `None` when the project already had an item with its `external_id`.
///
/// Items and answers get time-ordered ids (UUIDv7): each insert then lands at the right
/// edge of the primary key and (item_id, ordinal) indexes instead of on a random page, which
/// keeps a large import's index pages (and the WAL's full-page images) few.
pub(crate) async fn insert(
    db: &mut sqlx::PgConnection,
    project_id: Uuid,
    batch: Vec<NewItem>,
) -> Result<Vec<Option<Uuid>>> {
    let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
    // Without an id of its own, an item is known by its content: importing or pushing the
    // same prompt and answers again stores nothing twice.
    let external: Vec<Option<String>> = batch
        .iter()
        .map(|i| Some(i.external_id.clone().unwrap_or_else(|| content_key(i))))
        .collect();
    let messages = batch
        .iter()
        .map(|i| serde_json::to_value(&i.messages))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(anyhow::Error::from)?;
    let metadata: Vec<serde_json::Value> = batch.iter().map(|i| i.metadata.clone()).collect();
    let gold = batch
        .iter()
        .map(|i| i.gold.as_ref().map(serde_json::to_value).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::from)?;
    let inserted = items::insert_batch(
        &mut *db, project_id, &ids, &external, &messages, &metadata, &gold,
    )
    .await?;
    let inserted_set: std::collections::HashSet<Uuid> = inserted.iter().copied().collect();
    let created: Vec<Option<Uuid>> = ids
        .iter()
        .map(|id| inserted_set.contains(id).then_some(*id))
        .collect();
    let (mut r_ids, mut r_items, mut r_ordinals, mut r_models, mut r_contents) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (id, item) in ids.iter().zip(batch) {
        if !inserted_set.contains(id) {
            continue;
        }
        for (ordinal, response) in item.responses.into_iter().enumerate() {
            r_ids.push(Uuid::now_v7());
            r_items.push(*id);
            r_ordinals.push(ordinal as i16);
            r_models.push(response.model);
            r_contents.push(response.content);
        }
    }
    responses::insert_batch(
        &mut *db,
        &r_ids,
        &r_items,
        &r_ordinals,
        &r_models,
        &r_contents,
    )
    .await?;
    Ok(created)
}

/// Runs on its own thread: reads, detects the format, parses, sends batches.
fn parse(
    mut reader: Box<dyn BufRead + Send>,
    format: Option<ImportFormat>,
    strict: bool,
    sink: impl FnMut(Parsed) -> bool,
) -> std::result::Result<ImportFormat, crate::model::AppError> {
    use crate::model::AppError;
    let fatal = |line: usize, e: std::io::Error| {
        AppError::invalid(
            "file",
            format!(
                "reading stopped at line {line}: {e} (is the file truncated or not the format it claims?)"
            ),
        )
    };
    let detected = match format {
        Some(f) => f,
        None => {
            let head = reader.fill_buf().map_err(|e| fatal(1, e))?;
            let text = String::from_utf8_lossy(head);
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if first.trim_start().starts_with('{') {
                detect_jsonl(first).ok_or_else(|| {
                    AppError::invalid(
                        "format",
                        "could not tell the JSON Lines format from the first line; pass --format",
                    )
                })?
            } else if first.contains(',') {
                ImportFormat::Csv
            } else if first.is_empty() {
                return Err(AppError::invalid("file", "the file is empty"));
            } else {
                return Err(AppError::invalid(
                    "format",
                    "not JSON Lines or CSV; pass --format if it is",
                ));
            }
        }
    };
    let sink = std::cell::RefCell::new(sink);
    let send = |p: Parsed| (sink.borrow_mut())(p);
    let mut batch = Vec::with_capacity(BATCH);
    let mut push = |batch: &mut Vec<NewItem>, item: NewItem| {
        batch.push(item);
        if batch.len() >= BATCH {
            send(Parsed::Items(std::mem::take(batch)));
        }
    };

    let mut last_line = 0;
    if detected == ImportFormat::Csv {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut layout: Option<CsvLayout> = None;
        for (index, record) in csv.records().enumerate() {
            let line = record
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(index + 1, |p| p.line() as usize);
            last_line = line;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    send(Parsed::Invalid(LineError {
                        line,
                        field: "csv".into(),
                        message: e.to_string(),
                    }));
                    continue;
                }
            };
            let fields: Vec<String> = record.iter().map(str::to_owned).collect();
            match &layout {
                None => match csv_layout(&fields) {
                    Ok(l) => layout = Some(l),
                    Err(e) => {
                        return Err(AppError::invalid(
                            e.field,
                            format!("line {}: {}", e.line, e.message),
                        ));
                    }
                },
                Some(l) => match parse_csv_record(l, line, &fields) {
                    Ok(item) => push(&mut batch, item),
                    Err(e) => {
                        send(Parsed::Invalid(e));
                    }
                },
            }
        }
    } else {
        // OpenAI chat lines that share a prompt become one item with several answers.
        let mut group: ChatGroup = None;
        let flush = |group: &mut ChatGroup,
                     batch: &mut Vec<NewItem>,
                     push: &mut dyn FnMut(&mut Vec<NewItem>, NewItem)| {
            if let Some((line, messages, responses, external_id)) = group.take() {
                let item = NewItem {
                    external_id,
                    messages,
                    responses,
                    metadata: serde_json::json!({}),
                    gold: None,
                };
                match validate_at(line, item) {
                    Ok(item) => push(batch, item),
                    Err(e) => {
                        send(Parsed::Invalid(e));
                    }
                }
            }
        };
        let mut buf = Vec::new();
        let mut line = 0;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| fatal(line + 1, e))?;
            if n == 0 {
                break;
            }
            line += 1;
            let Ok(text) = std::str::from_utf8(&buf) else {
                send(Parsed::Invalid(LineError {
                    line,
                    field: "encoding".into(),
                    message: "not valid UTF-8".into(),
                }));
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            if detected == ImportFormat::OpenaiChat {
                match openai_chat_parts(line, text) {
                    Ok((prompt, answer, external_id)) => {
                        let same = group.as_ref().is_some_and(|(_, p, _, _)| *p == prompt);
                        if !same {
                            flush(&mut group, &mut batch, &mut push);
                            group = Some((line, prompt, Vec::new(), external_id));
                        }
                        if let Some((_, _, answers, _)) = group.as_mut() {
                            answers.push(answer);
                        }
                    }
                    Err(e) => {
                        send(Parsed::Invalid(e));
                    }
                }
            } else {
                match parse_jsonl_line(detected, line, text, strict) {
                    Ok(ParsedLine { item, warning }) => {
                        if let Some(w) = warning {
                            send(Parsed::Warning(w));
                        }
                        push(&mut batch, item)
                    }
                    Err(e) => {
                        send(Parsed::Invalid(e));
                    }
                }
            }
        }
        flush(&mut group, &mut batch, &mut push);
        last_line = line;
    }
    if !batch.is_empty() {
        send(Parsed::Items(batch));
    }
    send(Parsed::Lines(last_line));
    Ok(detected)
}
