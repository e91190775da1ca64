//! Adding items with their answers (one, or a pushed batch), and an item's labeling status.

use super::Result;
use super::projects::authorize;
use crate::model::api::{
    AnswerRef, FieldError, ItemStatus, PushReport, PushResult, PushStatus, Scope,
};
use crate::model::project::NewItem;
use crate::server::dataset::consensus::consensus;
use crate::server::dataset::import::parse_verdict_item;
use crate::server::dataset::reader::{Page, Pseudonyms};
use crate::server::error::Error;
use crate::server::store::{items, responses};
use sqlx::PgConnection;
use uuid::Uuid;

/// Validates and inserts an item with its answers on `conn` (the caller's transaction).
/// Returns `None` when the project already has an item with this `external_id`.
pub async fn add(
    conn: &mut PgConnection,
    project_id: Uuid,
    item: &NewItem,
) -> Result<Option<Uuid>> {
    item.validate()?;
    let messages = serde_json::to_value(&item.messages).map_err(anyhow::Error::from)?;
    let gold = item
        .gold
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(anyhow::Error::from)?;
    let Some(item_id) = items::insert(
        &mut *conn,
        project_id,
        item.external_id.as_deref(),
        &messages,
        &item.metadata,
        gold.as_ref(),
    )
    .await?
    else {
        return Ok(None);
    };
    for (ordinal, response) in item.responses.iter().enumerate() {
        let ordinal = i16::try_from(ordinal).map_err(anyhow::Error::from)?;
        responses::insert(
            &mut *conn,
            item_id,
            ordinal,
            response.model.as_deref(),
            &response.content,
        )
        .await?;
    }
    Ok(Some(item_id))
}

/// Most items one push may carry.
pub const MAX_PUSH: usize = 10_000;

/// Adds pushed items (Verdict's import schema) to the project: valid items are stored,
/// items whose `external_id` the project has are left alone, invalid ones are reported by
/// index with the field and why. All stored items commit together.
pub async fn push(
    pool: &sqlx::PgPool,
    actor: &super::Actor,
    slug: &str,
    values: &[serde_json::Value],
) -> Result<PushReport> {
    let project = authorize(pool, actor, slug, &[Scope::ItemsWrite]).await?;
    if values.len() > MAX_PUSH {
        return Err(Error::invalid(
            "items",
            format!("a push holds at most {MAX_PUSH} items; send several"),
        ));
    }
    let mut results = Vec::with_capacity(values.len());
    let mut valid = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match parse_verdict_item(index, value) {
            Ok(item) => {
                results.push(PushResult {
                    index,
                    status: PushStatus::Created,
                    external_id: item.external_id.clone(),
                    item_id: None,
                    errors: vec![],
                });
                valid.push((index, item));
            }
            Err(e) => results.push(PushResult {
                index,
                status: PushStatus::Invalid,
                external_id: value
                    .get("external_id")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                item_id: None,
                errors: vec![FieldError {
                    field: e.field,
                    message: e.message,
                }],
            }),
        }
    }
    let (indexes, batch): (Vec<usize>, Vec<NewItem>) = valid.into_iter().unzip();
    let mut tx = pool.begin().await?;
    let created = if batch.is_empty() {
        vec![]
    } else {
        super::import::insert(&mut tx, project.project_id, batch).await?
    };
    let stored = created.iter().filter(|id| id.is_some()).count();
    if stored > 0 {
        super::audit::record(
            &mut *tx,
            actor,
            "items.push",
            Some(project.project_id),
            None,
            None,
            Some(serde_json::json!({ "created": stored, "sent": values.len() })),
        )
        .await?;
    }
    tx.commit().await?;
    for (index, item_id) in indexes.into_iter().zip(created) {
        let result = &mut results[index];
        result.item_id = item_id;
        if item_id.is_none() {
            result.status = PushStatus::AlreadyPresent;
        }
    }
    let count = |s: PushStatus| results.iter().filter(|r| r.status == s).count();
    let report = PushReport {
        created: count(PushStatus::Created),
        already_present: count(PushStatus::AlreadyPresent),
        invalid: count(PushStatus::Invalid),
        results,
    };
    tracing::info!(
        project.slug = slug,
        created = report.created,
        already_present = report.already_present,
        invalid = report.invalid,
        "items pushed"
    );
    Ok(report)
}

/// How far labeling of the item with `external_id` has come, and its consensus ranking once
/// it has all its annotations.
pub async fn status(
    pool: &sqlx::PgPool,
    actor: &super::Actor,
    slug: &str,
    external_id: &str,
) -> Result<ItemStatus> {
    let project = authorize(pool, actor, slug, &[Scope::ItemsWrite, Scope::FeedbackRead]).await?;
    let mut tx = pool.begin().await?;
    let row = items::find_by_external_id(&mut *tx, project.project_id, external_id)
        .await?
        .ok_or(Error::NotFound("item"))?;
    let (item_id, range) = (row.item_id, (row.item_seq, row.item_seq));
    let target = items::target_overlap(&mut *tx, item_id)
        .await?
        .map_or(project.overlap, |t| t.max(project.overlap));
    let annotations = items::export_annotations(
        &mut *tx,
        project.project_id,
        range,
        None,
        None,
        false,
        "raw",
    )
    .await?;
    let page = Page {
        answers: items::export_answers(&mut *tx, project.project_id, range, &[item_id]).await?,
        items: vec![row],
        annotations,
    };
    tx.commit().await?;
    let answers: Vec<AnswerRef> = page
        .answers
        .iter()
        .map(|a| AnswerRef {
            response_id: a.response_id,
            ordinal: a.ordinal,
            model: a.model.clone(),
        })
        .collect();
    let ids: Vec<Uuid> = answers.iter().map(|a| a.response_id).collect();
    let mut annotators = Pseudonyms::new(project.project_id);
    let annotations = page
        .into_items(&mut annotators)
        .next()
        .map(|item| item.annotations)
        .unwrap_or_default();
    let by_annotators: Vec<_> = annotations
        .iter()
        .filter(|a| a.source == "annotator")
        .collect();
    let complete = by_annotators.len() >= usize::try_from(target).unwrap_or(1);
    let rankings: Vec<Vec<Vec<Uuid>>> = by_annotators
        .iter()
        .filter_map(|a| a.body.ranking.clone())
        .collect();
    Ok(ItemStatus {
        item_id,
        external_id: external_id.to_owned(),
        answers,
        annotations: by_annotators.len(),
        end_user_feedback: annotations.len() - by_annotators.len(),
        overlap: target,
        complete,
        consensus: (complete && !rankings.is_empty()).then(|| consensus(&rankings, &ids)),
    })
}

/// Deletes the project's item with `external_id`, its answers and labels; dataset versions
/// that hold it keep what they need of it.
pub async fn delete(
    pool: &sqlx::PgPool,
    actor: &super::Actor,
    slug: &str,
    external_id: &str,
) -> Result<()> {
    let project = authorize(pool, actor, slug, &[Scope::ItemsWrite]).await?;
    let mut tx = pool.begin().await?;
    // What the item added to the agreement sums goes with it.
    if let Some(found) =
        items::find_by_external_id(&mut *tx, project.project_id, external_id).await?
    {
        items::lock(&mut *tx, found.item_id).await?;
        super::quality::forget(&mut tx, project.project_id, found.item_id).await?;
    }
    if !items::delete(&mut *tx, project.project_id, external_id).await? {
        return Err(Error::NotFound("item"));
    }
    super::audit::record(
        &mut *tx,
        actor,
        "item.delete",
        Some(project.project_id),
        Some(external_id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project.slug = slug, "item deleted");
    Ok(())
}
