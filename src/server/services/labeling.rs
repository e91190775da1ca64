//! The annotator's loop: take the next item (leased), submit or skip it and get the
//! next one in the same call, reopen and edit earlier work.

use super::{Actor, Result, gold, quality};
use crate::model::annotation::Progress;
use crate::model::annotation::{
    AnnotationBody, AnnotationInput, Flag, HistoryEntry, ReviewNote, Submitted, Task,
};
use crate::model::project::{ChatRole, Message, ProjectSettings, ResponseView};
use crate::model::proposal::{held_out, outcome};
use crate::server::error::Error;
use crate::server::markdown::{render_item, to_safe_html};
use crate::server::store::{
    agreement, annotations, assignments, items, proposals, responses, reviews, skips,
};
use anyhow::Context;
use rand::seq::SliceRandom;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Items tried per request before concluding none is free (each try is one locked row).
const MAX_CANDIDATES: usize = 16;
pub const HISTORY_LIMIT: i64 = 100;

/// The project, if the actor may work on it (a member, or an admin).
async fn project(pool: &PgPool, actor: &Actor, slug: &str) -> Result<ProjectSettings> {
    super::projects::visible(pool, actor, slug).await
}

/// The item the annotator should label now: the one they already hold, or a new lease.
/// `None` when nothing is left for them.
pub async fn next(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Option<Task>> {
    let project = project(pool, actor, slug).await?;
    next_in(pool, actor, &project).await
}

async fn next_in(pool: &PgPool, actor: &Actor, project: &ProjectSettings) -> Result<Option<Task>> {
    let mut tx = pool.begin().await?;
    assignments::serialize_user(&mut *tx, actor.user_id, project.project_id).await?;
    let lease = lease_in(&mut tx, actor, project, Wait::ForHeldItems).await?;
    tx.commit().await?;
    task_for(pool, actor, project, lease).await
}

/// The next item once a submission or skip has committed: the lease it took, or, when
/// none was free at once, one taken now (which may wait, holding no item).
async fn next_after(
    pool: &PgPool,
    actor: &Actor,
    project: &ProjectSettings,
    lease: Option<assignments::Lease>,
) -> Result<Option<Task>> {
    match lease {
        Some(lease) => task_for(pool, actor, project, Some(lease)).await,
        None => next_in(pool, actor, project).await,
    }
}

/// Whether taking a new lease may wait for an item another transaction holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Only in a transaction that holds no item itself: otherwise two submissions, each
    /// holding its own item and waiting for the other's, deadlock.
    ForHeldItems,
    /// In a submission or a skip, which hold their item: take a free one or none.
    No,
}

/// The lease the annotator already holds in the project, or a new one. The transaction
/// holds the annotator's lock (`assignments::serialize_user`), taken first thing.
async fn lease_in(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    wait: Wait,
) -> Result<Option<assignments::Lease>> {
    let (settings, limit) =
        gold::ensure_active(&mut *tx, project.project_id, actor.user_id).await?;
    match assignments::find_active(&mut *tx, actor.user_id, project.project_id).await? {
        Some(lease) => Ok(Some(lease)),
        // A member at their limit finishes the item they hold but takes no new one.
        None => match limit {
            Some(reason) => Err(Error::Paused(reason)),
            None => lease_new(tx, actor, project, settings.as_ref(), wait).await,
        },
    }
}

async fn task_for(
    pool: &PgPool,
    actor: &Actor,
    project: &ProjectSettings,
    lease: Option<assignments::Lease>,
) -> Result<Option<Task>> {
    match lease {
        Some(lease) => Ok(Some(
            task(
                pool,
                actor,
                project,
                lease.item_id,
                lease.shown_order,
                lease.expires_at,
            )
            .await?,
        )),
        None => Ok(None),
    }
}

async fn lease_new(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    gold_settings: Option<&gold::Settings>,
    wait: Wait,
) -> Result<Option<assignments::Lease>> {
    // A gold item, when one is due: it has room for every annotator.
    if let Some(candidate) =
        gold::due_candidate(&mut *tx, project.project_id, actor.user_id, gold_settings).await?
        && let Some(lease) = lease_candidate(tx, actor, project, candidate, i32::MAX).await?
    {
        return Ok(Some(lease));
    }
    for attempt in 0..MAX_CANDIDATES {
        let mut candidate = items::lock_next_candidate(
            &mut *tx,
            project.project_id,
            actor.user_id,
            project.overlap,
            false,
        )
        .await?;
        // Nothing free is not yet nothing left: the items left may be held for a moment
        // (a submission, the agreement counter). Waiting once for the first of them tells.
        if candidate.is_none() && attempt == 0 && wait == Wait::ForHeldItems {
            candidate = items::lock_next_candidate(
                &mut *tx,
                project.project_id,
                actor.user_id,
                project.overlap,
                true,
            )
            .await?;
        }
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        if let Some(lease) = lease_candidate(tx, actor, project, candidate, project.overlap).await?
        {
            return Ok(Some(lease));
        }
    }
    Ok(None)
}

/// Leases the locked candidate in the order this annotator will see its answers, if it still
/// has room for `capacity` annotators.
async fn lease_candidate(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    candidate: items::Candidate,
    capacity: i32,
) -> Result<Option<assignments::Lease>> {
    let mut order = candidate.answers;
    if project.shuffle_answers {
        order.shuffle(&mut rand::thread_rng());
    }
    // The candidate query judged capacity on its snapshot; the lease is taken only if a
    // fresh statement, now that the row is ours, still finds room.
    Ok(assignments::lease_if_free(
        &mut *tx,
        candidate.item_id,
        actor.user_id,
        project.project_id,
        &order,
        project.lease_seconds,
        capacity,
    )
    .await?)
}

async fn task(
    pool: &PgPool,
    actor: &Actor,
    project: &ProjectSettings,
    item_id: Uuid,
    shown_order: Vec<Uuid>,
    lease_expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<Task> {
    let content = items::task_content(pool, item_id, actor.user_id).await?;
    let messages: Vec<Message> = content.messages.0;
    let mut answers: Vec<ResponseView> = content
        .answer_ids
        .into_iter()
        .zip(content.answer_ordinals)
        .zip(
            content
                .answer_models
                .into_iter()
                .zip(content.answer_contents),
        )
        .map(|((response_id, ordinal), (model, content))| ResponseView {
            response_id,
            ordinal,
            model,
            content,
        })
        .collect();
    answers.sort_by_key(|a| shown_order.iter().position(|id| *id == a.response_id));
    let progress = Progress {
        completed: content.completed,
        total: content.total,
        mine_today: content.mine_today,
    };
    let proposal = match content.proposal {
        Some(p) if !held_out(actor.user_id, project.project_id, content.proposal_holdout) => Some(
            serde_json::from_value(p)
                .with_context(|| format!("item {item_id} has an unreadable proposal"))?,
        ),
        _ => None,
    };
    let html = render_item(&messages, &answers);
    Ok(Task {
        project_slug: project.slug.clone(),
        project_name: project.name.clone(),
        guidelines: project.guidelines.clone(),
        kinds: project.kinds,
        guideline_version: project.guideline_version,
        judgment: project.judgment.clone(),
        item_id,
        messages,
        answers,
        lease_expires_at,
        progress,
        existing: None,
        proposal,
        guidelines_html: to_safe_html(&project.guidelines),
        html,
    })
}

/// Stores an annotation (or, with `base_version`, an edit) and returns the next item.
/// Resubmitting an annotation id that is already stored changes nothing and succeeds.
pub async fn submit(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    input: AnnotationInput,
) -> Result<Submitted> {
    let project = project(pool, actor, slug).await?;
    let mut tx = pool.begin().await?;
    // The annotator's lock before the item's, in the order `next` takes them: a second
    // tab of the same annotator waiting for an item this submission holds cannot hold the
    // lock this submission then needs.
    assignments::serialize_user(&mut *tx, actor.user_id, project.project_id).await?;
    // A refused submission rolls back before it answers: a transaction only dropped is
    // rolled back later, in the background, and until then it still holds the item's lock,
    // which hides the item from the next annotator's queue (SKIP LOCKED).
    let stored = match store(&mut tx, actor, &project, input).await {
        Ok(stored) => stored,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    // The next lease is taken in the same transaction: one commit per submission. A label
    // that just paused its author on the project is kept; they are told why instead.
    let (lease, notice) = match lease_in(&mut tx, actor, &project, Wait::No).await {
        Ok(lease) => (lease, None),
        Err(Error::Paused(reason)) => (None, Some(reason)),
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    tx.commit().await?;
    let next = match notice {
        Some(_) => None,
        None => next_after(pool, actor, &project, lease).await?,
    };
    Ok(Submitted {
        annotation_id: Some(stored.0),
        version: Some(stored.1),
        next,
        notice,
        feedback: stored.2,
    })
}

/// A new label, or an edit of one of the author's own.
async fn store(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    input: AnnotationInput,
) -> Result<(Uuid, i32, Option<String>)> {
    if input.base_version.is_none() {
        return create(tx, actor, project, input).await;
    }
    match annotations::find_owner(&mut *tx, input.annotation_id).await? {
        Some(owner) if !owner.is(actor.user_id, input.item_id) => Err(Error::invalid(
            "annotation_id",
            "belongs to another annotation",
        )),
        Some(_) => edit(tx, actor, project, input).await,
        None => Err(Error::NotFound("annotation")),
    }
}

async fn create(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    input: AnnotationInput,
) -> Result<(Uuid, i32, Option<String>)> {
    let item = items::lock(&mut *tx, input.item_id)
        .await?
        .ok_or(Error::NotFound("item"))?;
    if item.project_id != project.project_id {
        return Err(Error::NotFound("item"));
    }
    let input = validate_shown(&mut *tx, project, input, &item.answers).await?;
    // How the annotator treated the proposal they were shown (if it is this item's).
    let shown = match input.proposal_id {
        Some(id) => proposals::for_item(&mut *tx, input.item_id)
            .await?
            .map(|(p, _)| p)
            .filter(|p| p.proposal_id == id),
        None => None,
    };
    let proposal = shown.as_ref().map(|p| {
        (
            p.proposal_id,
            outcome(p, input.body.ranking.as_ref(), &input.body.thumbs),
        )
    });
    // A gold item takes every annotator's label; others as many as their target, which a
    // disagreement on reaching it raises (up to the project's maximum).
    let overlap = if item.gold.is_some() {
        i32::MAX
    } else {
        item.target_overlap
            .map_or(project.overlap, |t| t.max(project.overlap))
    };
    let raise_to = if item.annotation_count + 1 == overlap {
        quality::adaptive::raised_target(
            &mut *tx,
            project.project_id,
            project.max_overlap,
            overlap,
            actor.user_id,
            &input,
        )
        .await?
    } else {
        None
    };
    let stored = if item.annotation_count < overlap {
        annotations::insert_counted(
            &mut *tx,
            &input,
            project.project_id,
            actor.user_id,
            annotations::Target {
                overlap: raise_to.unwrap_or(overlap),
                raised: raise_to.is_some(),
            },
            proposal,
            // Agreement needs a second label; it is counted beside the submissions.
            item.annotation_count >= 1,
        )
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db)
                if db.constraint() == Some("annotations_item_id_user_id_key") =>
            {
                Error::Conflict(
                    "you have already labeled this item; edit it from your history instead".into(),
                )
            }
            other => other.into(),
        })?
    } else {
        None
    };
    if let Some(version) = stored {
        // The explanation after a missed gold item, when the project shows it.
        let feedback = match &item.gold {
            Some(expected) => {
                gold::check(
                    tx,
                    project.project_id,
                    actor.user_id,
                    &input,
                    &item.answers,
                    expected,
                )
                .await?
            }
            None => None,
        };
        tracing::info!(annotation.id = %input.annotation_id, item.id = %input.item_id, "annotation stored");
        return Ok((input.annotation_id, version, feedback));
    }
    // Not stored: a retry of a submission that was, someone else's id, or a full item.
    match annotations::find_owner(&mut *tx, input.annotation_id).await? {
        Some(owner) if owner.is(actor.user_id, input.item_id) => {
            Ok((input.annotation_id, owner.version, None))
        }
        Some(_) => Err(Error::invalid(
            "annotation_id",
            "belongs to another annotation",
        )),
        None => match reviews::rejected(&mut *tx, input.annotation_id).await? {
            Some(reason) => Err(Error::Conflict(format!(
                "this label was rejected in review: {reason}"
            ))),
            None => Err(Error::Conflict(
                "this item already has all the annotations it needs; your lease had expired. Take the next item.".into(),
            )),
        },
    }
}

async fn edit(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
    input: AnnotationInput,
) -> Result<(Uuid, i32, Option<String>)> {
    let current = annotations::lock_own(
        &mut *tx,
        input.annotation_id,
        actor.user_id,
        project.project_id,
    )
    .await?
    .ok_or(Error::NotFound("annotation"))?;
    if Some(current) != input.base_version {
        return Err(Error::Conflict(format!(
            "this annotation was changed elsewhere (now version {current}); reload it to see the change before editing"
        )));
    }
    let input = validate(tx, project, input).await?;
    // The replaced version is kept by the `annotations_keep_version` trigger.
    let version = annotations::update(&mut *tx, &input).await?;
    agreement::mark(&mut *tx, input.item_id, project.project_id).await?;
    tracing::info!(annotation.id = %input.annotation_id, version, "annotation edited");
    Ok((input.annotation_id, version, None))
}

async fn validate(
    tx: &mut PgConnection,
    project: &ProjectSettings,
    input: AnnotationInput,
) -> Result<AnnotationInput> {
    let answers: Vec<Uuid> = responses::for_item(&mut *tx, input.item_id)
        .await?
        .into_iter()
        .map(|r| r.response_id)
        .collect();
    validate_shown(tx, project, input, &answers).await
}

/// Validates the input against the judgment schema of the guideline version the item was
/// shown with (the current one when the input names none), and records that version.
async fn validate_shown(
    tx: &mut PgConnection,
    project: &ProjectSettings,
    mut input: AnnotationInput,
    answers: &[Uuid],
) -> Result<AnnotationInput> {
    let version = input.guideline_version.unwrap_or(project.guideline_version);
    let schema = super::projects::judgment_schema(&mut *tx, project, version).await?;
    input.guideline_version = Some(version);
    let input = input.validate(answers, &project.kinds, &schema)?;
    if !input.body.judgments.turns.is_empty() {
        let messages: Vec<Message> =
            serde_json::from_value(items::messages(&mut *tx, input.item_id).await?)
                .map_err(|e| Error::Internal(anyhow::anyhow!("an item's messages: {e}")))?;
        let assistant: BTreeSet<u16> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == ChatRole::Assistant)
            .map(|(i, _)| i as u16)
            .collect();
        input.body.judgments.check_turns(&assistant)?;
    }
    Ok(input)
}

/// Sets the item aside for this annotator (never offered to them again); returns the next.
pub async fn skip(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    item_id: Uuid,
    reason: Option<String>,
) -> Result<Submitted> {
    let project = project(pool, actor, slug).await?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(Error::invalid("reason", "must be at most 500 characters"));
    }
    let mut tx = pool.begin().await?;
    assignments::serialize_user(&mut *tx, actor.user_id, project.project_id).await?;
    let item = items::lock(&mut *tx, item_id)
        .await?
        .ok_or(Error::NotFound("item"))?;
    if item.project_id != project.project_id {
        return Err(Error::NotFound("item"));
    }
    skips::insert(&mut *tx, item_id, actor.user_id, reason.as_deref()).await?;
    assignments::release(&mut *tx, item_id, actor.user_id).await?;
    let lease = lease_in(&mut tx, actor, &project, Wait::No).await?;
    tx.commit().await?;
    let next = next_after(pool, actor, &project, lease).await?;
    Ok(Submitted {
        annotation_id: None,
        version: None,
        next,
        notice: None,
        feedback: None,
    })
}

/// What a reviewer's fix changed, as its annotator reads it: each changed field, before →
/// after, answers by letter in the item's order (`original` and `fixed` are `to_jsonb`
/// snapshots of the label's row).
pub fn review_changes(
    original: Option<&serde_json::Value>,
    fixed: Option<&serde_json::Value>,
    answers: &[Uuid],
) -> Vec<String> {
    use super::review::{letter, ranking_text};
    let (Some(original), Some(fixed)) = (original, fixed) else {
        return Vec::new();
    };
    let body = |v: &serde_json::Value| {
        serde_json::from_value::<AnnotationBody>(v.clone()).unwrap_or_default()
    };
    let (was, now) = (body(original), body(fixed));
    let or_none = |s: String| if s.is_empty() { "none".to_owned() } else { s };
    let ranking = |r: &Option<Vec<Vec<Uuid>>>| {
        or_none(
            r.as_ref()
                .map_or_else(String::new, |r| ranking_text(r, answers)),
        )
    };
    let thumbs = |t: &std::collections::BTreeMap<Uuid, bool>| {
        or_none(
            answers
                .iter()
                .enumerate()
                .filter_map(|(i, id)| {
                    t.get(id)
                        .map(|up| format!("{} {}", letter(i), if *up { "up" } else { "down" }))
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    let flags = |f: &[Flag]| or_none(f.iter().map(|f| f.label()).collect::<Vec<_>>().join(", "));
    let short = |t: &Option<String>| {
        let t = t.as_deref().unwrap_or("");
        let cut: String = t.chars().take(80).collect();
        if cut.is_empty() {
            "none".to_owned()
        } else if cut.len() < t.len() {
            format!("“{cut}…”")
        } else {
            format!("“{cut}”")
        }
    };
    let mut out = Vec::new();
    if was.ranking != now.ranking {
        out.push(format!(
            "ranking: {} → {}",
            ranking(&was.ranking),
            ranking(&now.ranking)
        ));
    }
    if was.thumbs != now.thumbs {
        out.push(format!(
            "thumbs: {} → {}",
            thumbs(&was.thumbs),
            thumbs(&now.thumbs)
        ));
    }
    if was.ideal_answer != now.ideal_answer {
        let diff = crate::model::diff::line_diff(
            was.ideal_answer.as_deref().unwrap_or(""),
            now.ideal_answer.as_deref().unwrap_or(""),
        );
        let (added, removed) = crate::model::diff::stats(&diff);
        out.push(format!("ideal answer: +{added} −{removed} lines"));
    }
    if was.flags != now.flags {
        out.push(format!(
            "flags: {} → {}",
            flags(&was.flags),
            flags(&now.flags)
        ));
    }
    if was.comment != now.comment {
        out.push(format!(
            "comment: {} → {}",
            short(&was.comment),
            short(&now.comment)
        ));
    }
    out
}

pub async fn history(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    search: Option<String>,
) -> Result<Vec<HistoryEntry>> {
    let project = project(pool, actor, slug).await?;
    // Typed text is matched literally: its own LIKE wildcards are escaped.
    let search = search
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        });
    let rows = annotations::history(
        pool,
        actor.user_id,
        project.project_id,
        search.as_deref(),
        HISTORY_LIMIT,
    )
    .await?;
    // The item's answers, for naming them in a fix's changes (few labels are fixed).
    let fixed_items: std::collections::BTreeSet<Uuid> = rows
        .iter()
        .filter(|r| r.fixed.is_some())
        .map(|r| r.item_id)
        .collect();
    let mut answers_of = std::collections::HashMap::new();
    for item_id in fixed_items {
        let ids: Vec<Uuid> = responses::for_item(pool, item_id)
            .await?
            .into_iter()
            .map(|a| a.response_id)
            .collect();
        answers_of.insert(item_id, ids);
    }
    let mut entries: Vec<HistoryEntry> = rows
        .into_iter()
        .map(|r| HistoryEntry {
            annotation_id: r.annotation_id,
            item_id: r.item_id,
            prompt_excerpt: r.prompt_excerpt,
            flags: r.flags,
            version: r.version,
            updated_at: r.updated_at,
            review: match (r.outcome, r.decided_at) {
                (Some(outcome), Some(decided_at)) => Some(ReviewNote {
                    changes: review_changes(
                        r.original.as_ref(),
                        r.fixed.as_ref(),
                        answers_of.get(&r.item_id).map_or(&[], Vec::as_slice),
                    ),
                    outcome,
                    reason: r.reason,
                    decided_at,
                }),
                _ => None,
            },
            removed: false,
        })
        .collect();
    // Labels a reviewer rejected and removed are gone from the table, not from the history
    // (a search leaves them out: their text is no longer the annotator's).
    if search.is_none() {
        for r in reviews::outcomes(pool, project.project_id, actor.user_id, HISTORY_LIMIT).await? {
            if r.removed {
                entries.push(HistoryEntry {
                    annotation_id: r.annotation_id,
                    item_id: r.item_id,
                    prompt_excerpt: r.prompt_excerpt,
                    flags: Vec::new(),
                    version: r
                        .original
                        .get("version")
                        .and_then(|v| v.as_i64())
                        .unwrap_or(1) as i32,
                    updated_at: r.decided_at,
                    review: Some(ReviewNote {
                        outcome: r.outcome,
                        reason: r.reason,
                        changes: Vec::new(),
                        decided_at: r.decided_at,
                    }),
                    removed: true,
                });
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.updated_at));
        entries.truncate(HISTORY_LIMIT as usize);
    }
    Ok(entries)
}

/// One of the actor's own annotations with its item, for editing.
pub async fn reopen(pool: &PgPool, actor: &Actor, slug: &str, annotation_id: Uuid) -> Result<Task> {
    let project = project(pool, actor, slug).await?;
    let existing = annotations::find_own(pool, annotation_id, actor.user_id, project.project_id)
        .await?
        .ok_or(Error::NotFound("annotation"))?;
    let mut task = task(
        pool,
        actor,
        &project,
        existing.item_id,
        existing.shown_order.clone(),
        chrono::Utc::now(),
    )
    .await?;
    task.existing = Some(existing);
    Ok(task)
}
