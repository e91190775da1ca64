//! Feedback for model backends: end-user feedback coming in, and the feedback stream going
//! out, read statelessly with cursors or through named consumers that ack batches.

use super::{Actor, Result, projects::authorize};
use crate::model::api::{
    AckReceipt, BatchReport, BatchResult, BatchStatus, ConsumerBatch, Cursor, EndUserFeedback,
    FeedbackEntry, FeedbackPage, FeedbackReceipt, FieldError, Scope, Thumb,
};
use crate::model::project::MAX_ANSWERS;
use crate::server::dataset::reader::{Page, Pseudonyms};
use crate::server::dataset::{ExportOptions, records};
use crate::server::error::{Error, ResultExt};
use crate::server::store::{annotations, batches, consumers, items, responses};
use anyhow::Context;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;
pub const DEFAULT_ACK_TIMEOUT_SECS: i32 = 60;
pub const MAX_ACK_TIMEOUT_SECS: i32 = 3600;

/// Stores what an end user of a model backend said about an answer, as feedback with source
/// "end user" on the item of that prompt (created if new; found by `external_id` if given).
pub async fn capture(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    input: &EndUserFeedback,
) -> Result<FeedbackReceipt> {
    let project = authorize(pool, actor, slug, &[Scope::FeedbackWrite]).await?;
    input.validate()?;
    let mut tx = pool.begin().await?;
    let receipt = store_event(&mut tx, project.project_id, input).await?;
    tx.commit().await?;
    Ok(receipt)
}

/// The most events one batch holds.
pub const MAX_BATCH: usize = 1000;

/// The longest idempotency key.
pub const MAX_KEY_CHARS: usize = 200;

/// Stores a batch of end-user feedback (each event as [`capture`] does) in one transaction,
/// and says what happened to each event: an invalid one (its field named) is left out and
/// the others are stored. With an idempotency key, a batch sent again (a retry after a lost
/// answer) gets the first answer back and stores nothing twice; keys are kept a day.
pub async fn capture_batch(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    key: Option<&str>,
    events: &[serde_json::Value],
) -> Result<BatchReport> {
    let project = authorize(pool, actor, slug, &[Scope::FeedbackWrite]).await?;
    if events.len() > MAX_BATCH {
        return Err(Error::invalid(
            "events",
            format!("a batch holds at most {MAX_BATCH} events; send several"),
        ));
    }
    if let Some(key) = key
        && (key.is_empty()
            || key.chars().count() > MAX_KEY_CHARS
            || key.chars().any(|c| c.is_control()))
    {
        return Err(Error::invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_CHARS} characters, without control characters"),
        ));
    }
    let mut results: Vec<BatchResult> = Vec::with_capacity(events.len());
    let mut parsed: Vec<(usize, EndUserFeedback)> = Vec::with_capacity(events.len());
    for (index, value) in events.iter().enumerate() {
        let event = serde_path_to_error::deserialize::<_, EndUserFeedback>(value)
            .map_err(|e| {
                let message = e.inner().to_string();
                // A missing field is reported at its parent: name the field itself.
                let field = match message.strip_prefix("missing field `") {
                    Some(rest) if e.path().to_string() == "." => {
                        rest.trim_end_matches('`').to_owned()
                    }
                    _ => e.path().to_string(),
                };
                crate::model::AppError::invalid(field, message)
            })
            .and_then(|event| event.validate().map(|()| event));
        match event {
            Ok(event) => parsed.push((index, event)),
            Err(e) => results.push(invalid(index, e.field.unwrap_or_default(), e.message)),
        }
    }
    // A batch can still meet a single capture on a counter row each needs (a deadlock, which
    // PostgreSQL ends by refusing one): the batch is then stored again, from the start.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store_batch(pool, project.project_id, key, &parsed, results.clone()).await {
            Err(Error::Database(e)) if attempt < 3 && crate::server::error::deadlock(&e) => {
                continue;
            }
            other => return other,
        }
    }
}

/// One attempt at a batch: the events parsed, beside the results of those that were not.
async fn store_batch(
    pool: &PgPool,
    project_id: Uuid,
    key: Option<&str>,
    parsed: &[(usize, EndUserFeedback)],
    mut results: Vec<BatchResult>,
) -> Result<BatchReport> {
    let mut tx = pool.begin().await?;
    batches::lock_project(&mut *tx, project_id).await?;
    if let Some(key) = key {
        batches::prune(&mut *tx).await?;
        if !batches::claim(&mut *tx, project_id, key).await? {
            let stored = batches::report(&mut *tx, project_id, key)
                .await?
                .context("an idempotency key without its answer")?;
            let mut report: BatchReport =
                serde_json::from_value(stored).context("a stored batch answer")?;
            report.replayed = true;
            return Ok(report);
        }
    }
    for (index, event) in parsed {
        // A savepoint per event: a refusal takes back only that event's statements.
        let mut one = sqlx::Connection::begin(&mut *tx).await?;
        match store_event(&mut one, project_id, event).await {
            Ok(receipt) => {
                one.commit().await?;
                results.push(BatchResult {
                    index: *index,
                    status: BatchStatus::Stored,
                    receipt: Some(receipt),
                    errors: vec![],
                });
            }
            Err(Error::Invalid(e)) => {
                one.rollback().await?;
                results.push(invalid(*index, e.field.unwrap_or_default(), e.message));
            }
            Err(other) => return Err(other),
        }
    }
    results.sort_by_key(|r| r.index);
    let stored = results
        .iter()
        .filter(|r| r.status == BatchStatus::Stored)
        .count();
    let report = BatchReport {
        stored,
        invalid: results.len() - stored,
        replayed: false,
        results,
    };
    if let Some(key) = key {
        let json = serde_json::to_value(&report).context("a batch answer")?;
        batches::save_report(&mut *tx, project_id, key, &json).await?;
    }
    tx.commit().await?;
    Ok(report)
}

fn invalid(index: usize, field: String, message: String) -> BatchResult {
    BatchResult {
        index,
        status: BatchStatus::Invalid,
        receipt: None,
        errors: vec![FieldError { field, message }],
    }
}

/// One event, validated, into the transaction.
async fn store_event(
    tx: &mut sqlx::PgConnection,
    project_id: Uuid,
    input: &EndUserFeedback,
) -> Result<FeedbackReceipt> {
    let messages = serde_json::to_value(input.prompt_messages()?).map_err(anyhow::Error::from)?;
    let item = items::upsert_for_feedback(
        &mut *tx,
        project_id,
        input.external_id.as_deref(),
        &messages,
    )
    .await?;
    let response_id =
        match responses::find_by_content(&mut *tx, item.item_id, &input.answer).await? {
            Some(id) => id,
            None if item.origin != "end_user" => {
                return Err(Error::invalid(
                    "answer",
                    "is not one of the answers of the item with this external_id; \
                 feedback on a pushed item must name one of its answers",
                ));
            }
            None => {
                let (id, ordinal) = responses::append(
                    &mut *tx,
                    item.item_id,
                    input.model.as_deref(),
                    &input.answer,
                )
                .await?;
                if usize::try_from(ordinal).unwrap_or(usize::MAX) >= MAX_ANSWERS {
                    return Err(Error::invalid(
                        "answer",
                        format!("the item already has {MAX_ANSWERS} different answers"),
                    ));
                }
                id
            }
        };
    let row = annotations::EndUserAnnotation {
        annotation_id: input.feedback_id.unwrap_or_else(Uuid::new_v4),
        item_id: item.item_id,
        project_id,
        end_user_id: &input.end_user,
        response_id,
        thumb: input.thumb.map(|t| t == Thumb::Up),
        correction: input.correction.as_deref(),
        comment: input.comment.as_deref(),
    };
    let stored = match annotations::upsert_end_user(&mut *tx, &row)
        .await
        .on_constraint("annotations_pkey", || {
            Error::invalid("feedback_id", "is already the id of other feedback")
        })? {
        Some(stored) => stored,
        None => annotations::find_end_user(&mut *tx, item.item_id, &input.end_user).await?,
    };
    Ok(FeedbackReceipt {
        feedback_id: stored.annotation_id,
        item_id: item.item_id,
        response_id,
        version: stored.version,
    })
}

fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(Error::invalid("limit", format!("must be 1 to {MAX_PAGE}"))),
    }
}

/// Reads up to `limit` entries after `after` (and up to `until`); says whether more follow.
/// Each entry is an item with its answers and only this annotation, read and turned into
/// records by the export's own page reader.
async fn read(
    db: &mut sqlx::PgConnection,
    project_id: Uuid,
    after: Cursor,
    limit: i64,
    options: &ExportOptions,
) -> Result<(Vec<FeedbackEntry>, bool)> {
    let mut rows =
        annotations::stream_page(&mut *db, project_id, (after.tx, after.seq), None, limit + 1)
            .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().filter_map(|a| a.item_id).collect();
    let positions: HashMap<Uuid, (Cursor, i32)> = rows
        .iter()
        .map(|a| {
            let cursor = Cursor {
                tx: a.stream_tx.unwrap_or_default(),
                seq: a.stream_seq.unwrap_or_default(),
            };
            (a.annotation_id, (cursor, a.version))
        })
        .collect();
    let page = Page {
        items: items::export_items_by_id(&mut *db, project_id, &ids).await?,
        answers: items::export_answers_by_id(&mut *db, &ids).await?,
        annotations: rows,
    };
    let mut entries = Vec::with_capacity(positions.len());
    for item in page.into_items(&mut Pseudonyms::new(project_id)) {
        let annotation = item
            .annotations
            .first()
            .context("a feedback entry without annotation")?;
        let (cursor, version) = positions[&annotation.annotation_id];
        entries.push(FeedbackEntry {
            cursor: cursor.to_string(),
            annotation_id: annotation.annotation_id,
            item_id: item.item_id,
            external_id: item.external_id.clone(),
            source: annotation.source.clone(),
            version,
            records: records(&item, options),
        });
    }
    Ok((entries, has_more))
}

/// The feedback stream after `after` (the start when `None`): every annotation and end-user
/// feedback of the project in a stable order, each with its records in `options.format`.
/// An edited annotation appears again, later in the stream, with its new version.
pub async fn page(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    after: Option<&str>,
    limit: Option<i64>,
    options: &ExportOptions,
) -> Result<FeedbackPage> {
    let project = authorize(pool, actor, slug, &[Scope::FeedbackRead]).await?;
    let after = match after {
        Some(s) => Cursor::parse(s, "after")?,
        None => Cursor::default(),
    };
    let limit = page_limit(limit)?;
    let mut conn = pool.acquire().await?;
    let (feedback, has_more) = read(&mut conn, project.project_id, after, limit, options).await?;
    let next_cursor = feedback
        .last()
        .map_or_else(|| after.to_string(), |e| e.cursor.clone());
    Ok(FeedbackPage {
        feedback,
        next_cursor,
        has_more,
    })
}

fn consumer_name(name: &str) -> Result<()> {
    let ok = (1..=100).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "consumer",
            "1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit",
        ))
    }
}

/// Delivers the consumer's next batch. While a batch is outstanding and not expired, other
/// pulls are refused (409); once it expires unacked, the next pull delivers its entries again
/// under a new batch id.
pub async fn consumer_pull(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    limit: Option<i64>,
    ack_timeout_secs: Option<i32>,
    options: &ExportOptions,
) -> Result<ConsumerBatch> {
    let project = authorize(pool, actor, slug, &[Scope::FeedbackRead]).await?;
    consumer_name(name)?;
    let limit = page_limit(limit)?;
    let ttl = ack_timeout_secs.unwrap_or(DEFAULT_ACK_TIMEOUT_SECS);
    if !(1..=MAX_ACK_TIMEOUT_SECS).contains(&ttl) {
        return Err(Error::invalid(
            "ack_timeout_secs",
            format!("must be 1 to {MAX_ACK_TIMEOUT_SECS}"),
        ));
    }
    let mut tx = pool.begin().await?;
    let consumer = consumers::lock(&mut tx, project.project_id, name).await?;
    if let (Some(batch), false) = (consumer.batch_id, consumer.batch_expired) {
        let until = consumer
            .batch_expires_at
            .map_or_else(String::new, |t| format!(" until {}", t.to_rfc3339()));
        return Err(Error::Conflict(format!(
            "batch {batch} of consumer {name:?} is outstanding{until}; ack it first"
        )));
    }
    let after = Cursor {
        tx: consumer.cursor_tx,
        seq: consumer.cursor_seq,
    };
    let (feedback, has_more) = read(&mut tx, project.project_id, after, limit, options).await?;
    let Some(last) = feedback.last() else {
        tx.commit().await?;
        return Ok(ConsumerBatch {
            batch_id: None,
            expires_at: None,
            feedback,
            has_more,
        });
    };
    let end = Cursor::parse(&last.cursor, "cursor")?;
    let batch_id = Uuid::new_v4();
    let expires_at = consumers::start_batch(
        &mut tx,
        project.project_id,
        name,
        batch_id,
        (end.tx, end.seq),
        ttl,
    )
    .await?;
    tx.commit().await?;
    Ok(ConsumerBatch {
        batch_id: Some(batch_id),
        expires_at: Some(expires_at),
        feedback,
        has_more,
    })
}

/// Acknowledges the consumer's outstanding batch: its cursor moves past it for good.
pub async fn consumer_ack(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    batch_id: Uuid,
) -> Result<AckReceipt> {
    let project = authorize(pool, actor, slug, &[Scope::FeedbackRead]).await?;
    consumer_name(name)?;
    let mut tx = pool.begin().await?;
    let moved = consumers::ack(&mut tx, project.project_id, name, batch_id).await?;
    tx.commit().await?;
    let (tx_id, seq) = moved.ok_or_else(|| {
        Error::Conflict(format!(
            "batch {batch_id} is not the outstanding batch of consumer {name:?} \
             (acked already, or expired and delivered again)"
        ))
    })?;
    Ok(AckReceipt {
        cursor: Cursor { tx: tx_id, seq }.to_string(),
    })
}
