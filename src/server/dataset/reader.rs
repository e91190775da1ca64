//! The one page reader: pages of items, their answers and annotations as flat rows, read
//! in one database snapshot by one or more connections, for every export path (file,
//! download, REST export, feedback stream, preview, dataset versions).

use super::record::{ExportAnnotation, ExportItem};
use crate::model::annotation::AnnotationBody;
use crate::model::project::ResponseView;
use crate::server::Result;
use crate::server::store::{datasets, items};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Where the rows come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A project's labels as they are now (in the reader's snapshot).
    Live {
        project_id: Uuid,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        complete_only: bool,
        include_gold: bool,
        exclude_flagged_annotators: bool,
        review: crate::model::export::ReviewMode,
    },
    /// A dataset version's frozen members: the annotation versions, items and answers it
    /// was made of, whatever has changed since.
    Frozen { version_id: Uuid },
}

/// Items read per page of an export.
pub const PAGE: i64 = 1000;

/// One page of an export as read from the database; every list is ordered by `item_seq`
/// (a version's own item order for a frozen source).
pub struct Page {
    pub items: Vec<items::ExportItemRow>,
    pub answers: Vec<items::ExportAnswerRow>,
    pub annotations: Vec<items::ExportAnnotationRow>,
}

impl Page {
    /// The page's items with their answers and annotations, skipping items without any
    /// annotation; each is built as it is asked for, so the writer works on an item while
    /// it is still in the cache.
    pub fn into_items(self, annotators: &mut Pseudonyms) -> impl Iterator<Item = ExportItem> + '_ {
        let Page {
            items,
            answers,
            annotations,
        } = self;
        let mut answers = answers.into_iter().peekable();
        let mut annotations = annotations.into_iter().peekable();
        items.into_iter().filter_map(move |row| {
            let mut item = ExportItem {
                item_id: row.item_id,
                external_id: row.external_id,
                messages: Vec::new(),
                answers: Vec::new(),
                annotations: Vec::new(),
                gold: row.gold,
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
                return None;
            }
            item.messages = row.messages.0;
            Some(item)
        })
    }
}

/// A page as a reader hands it to the writer: its number in the export, and its room among
/// the pages in flight, given back when the writer has written it.
pub type ReadPage = (usize, Result<Page>, tokio::sync::OwnedSemaphorePermit);

/// Where the next page starts; readers take pages from it in turn.
#[derive(Default)]
pub struct NextPage {
    number: usize,
    after: i64,
    done: bool,
}

/// Reads pages in `tx`, taking each from `next`, and sends them to `pages` until the
/// source ends. A page waits for `room` among the pages in flight before it is taken.
pub async fn read_pages(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    source: Source,
    next: Arc<tokio::sync::Mutex<NextPage>>,
    room: Arc<tokio::sync::Semaphore>,
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
            let items = match read_items(&mut tx, &source, next.after).await {
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
        let page = read_page(&mut tx, &source, items, range).await;
        if pages.send((number, page, permit)).await.is_err() {
            return;
        }
    }
}

async fn read_items(
    tx: &mut sqlx::PgConnection,
    source: &Source,
    after: i64,
) -> sqlx::Result<Vec<items::ExportItemRow>> {
    match source {
        Source::Live {
            project_id,
            complete_only,
            include_gold,
            ..
        } => {
            items::export_items(
                &mut *tx,
                *project_id,
                *complete_only,
                *include_gold,
                after,
                PAGE,
            )
            .await
        }
        Source::Frozen { version_id } => {
            datasets::frozen_items(&mut *tx, *version_id, after, PAGE).await
        }
    }
}

/// What the export needs of the page's `items`, whose `item_seq`s span `range`.
async fn read_page(
    tx: &mut sqlx::PgConnection,
    source: &Source,
    items: Vec<items::ExportItemRow>,
    range: (i64, i64),
) -> Result<Page> {
    let (project_id, from, to, without_flagged, review) = match source {
        Source::Frozen { version_id } => {
            let annotations = datasets::frozen_annotations(&mut *tx, *version_id, range).await?;
            let answers = datasets::frozen_answers(&mut *tx, *version_id, range).await?;
            return Ok(Page {
                items,
                answers,
                annotations,
            });
        }
        Source::Live {
            project_id,
            from,
            to,
            exclude_flagged_annotators,
            review,
            ..
        } => (
            *project_id,
            *from,
            *to,
            *exclude_flagged_annotators,
            *review,
        ),
    };
    let annotations = items::export_annotations(
        &mut *tx,
        project_id,
        range,
        from,
        to,
        without_flagged,
        review.as_str(),
    )
    .await?;
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
pub struct Pseudonyms {
    project: String,
    known: HashMap<Uuid, String>,
}

impl Pseudonyms {
    pub fn new(project_id: Uuid) -> Self {
        Self {
            project: project_id.to_string(),
            known: HashMap::new(),
        }
    }

    pub fn export(&mut self, a: items::ExportAnnotationRow) -> ExportAnnotation {
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
            body: AnnotationBody {
                ranking: a.ranking.map(|r| r.0),
                thumbs: a.thumbs.0,
                ideal_answer: a.ideal_answer,
                ideal_from: a.ideal_from,
                flags: a.flags,
                comment: a.comment,
                judgments: a.judgments.0,
            },
            guideline_version: a.guideline_version,
            shown_order: a.shown_order,
            proposal_id: a.proposal_id,
            time_spent_ms: a.time_spent_ms,
            version: a.version,
            created_at: a.created_at,
            annotator_status: a.annotator_status,
            updated_at: a.updated_at,
        }
    }
}

/// The stable pseudonym of an annotation's author within a project: the first 12 hex
/// digits of SHA-256 over the author's id and the project id.
pub fn pseudonym(
    source: &str,
    user: Option<Uuid>,
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
