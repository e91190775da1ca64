//! Review: reviewers take finished items from a leased queue, see every annotator's label
//! side by side (pseudonymous) with the disagreements marked, and decide each label due for
//! review: accept it, fix and accept it (the original stays as a version), or reject it with
//! a reason (sending the item back for another annotator, or removing the label). A decision
//! can make the label the item's final (adjudicated) one. Every decision is in the audit log.

use super::{Actor, Result, audit, form};
use crate::model::annotation::{AnnotationBody, AnnotationInput};
use crate::model::project::{Message, ProjectSettings, ResponseView};
use crate::model::user::Role;
use crate::server::Error;
use crate::server::dataset::reader::pseudonym;
use crate::server::store::{agreement, annotations, assignments, items, responses, reviews};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

pub use crate::server::store::reviews::{ReviewSelection, ReviewSettings};

/// How long a reviewer holds an item.
pub const LEASE_SECONDS: i32 = 30 * 60;
/// Items tried per request before concluding none is free.
const MAX_CANDIDATES: usize = 16;
pub const REASON_MAX: usize = 2000;

/// The settings form's fields turned into settings; refusals name the field.
pub fn parse_settings(fields: &BTreeMap<String, String>) -> Result<ReviewSettings> {
    let d = ReviewSettings::default();
    let selection = match fields.get("selection").map(|s| s.trim()) {
        None | Some("") => d.selection,
        Some(s) => ReviewSelection::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "selection",
                    format!("must be all, sample, below_gold or disagreement, not {s:?}"),
                )
            })?,
    };
    let share = form::number(fields, "share", d.share, (0.0, 1.0))?;
    if share <= 0.0 {
        return Err(Error::invalid("share", "must be more than 0"));
    }
    Ok(ReviewSettings {
        enabled: form::ticked(fields, "enabled"),
        selection,
        share,
        min_accuracy: form::number(fields, "min_accuracy", d.min_accuracy, (0.0, 1.0))?,
        max_agreement: form::number(fields, "max_agreement", d.max_agreement, (0.0, 1.0))?,
    })
}

async fn admin_project(pool: &PgPool, actor: &Actor, slug: &str) -> Result<ProjectSettings> {
    actor.require(Role::Admin)?;
    super::projects::visible(pool, actor, slug).await
}

/// The project's review settings (defaults, review off, when never set).
pub async fn settings(pool: &PgPool, actor: &Actor, slug: &str) -> Result<ReviewSettings> {
    let project = admin_project(pool, actor, slug).await?;
    Ok(reviews::settings(pool, project.project_id)
        .await?
        .unwrap_or_default())
}

pub async fn save_settings(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    settings: &ReviewSettings,
) -> Result<()> {
    let project = admin_project(pool, actor, slug).await?;
    let mut tx = pool.begin().await?;
    let before = reviews::settings(&mut *tx, project.project_id).await?;
    reviews::save_settings(&mut *tx, project.project_id, settings).await?;
    audit::record(
        &mut *tx,
        actor,
        "review.settings",
        Some(project.project_id),
        None,
        audit::json(before),
        audit::json(settings),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project = slug, ?settings, "review settings saved");
    Ok(())
}

/// The project, if the actor may review it: a reviewer who is a member, or an admin.
/// Non-members learn nothing of it (404); annotators are refused (403).
async fn review_project(pool: &PgPool, actor: &Actor, slug: &str) -> Result<ProjectSettings> {
    let project = super::projects::visible(pool, actor, slug).await?;
    actor.require(Role::Reviewer)?;
    Ok(project)
}

/// One label as the reviewer sees it.
#[derive(Clone, Debug)]
pub struct ReviewLabel {
    pub annotation_id: Uuid,
    /// The annotator's pseudonym (as exports name them).
    pub annotator: String,
    pub body: AnnotationBody,
    pub version: i32,
    /// Due for this reviewer's decision.
    pub pending: bool,
    /// The latest decision, if any: accepted, fixed or rejected.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    /// The item's final label.
    pub adjudicated: bool,
}

/// An item in review: its conversation, its answers in their original order, and its labels.
#[derive(Clone, Debug)]
pub struct ReviewTask {
    pub item_id: Uuid,
    pub messages: Vec<Message>,
    pub answers: Vec<ResponseView>,
    pub labels: Vec<ReviewLabel>,
    /// Answers the labels disagree on: thumbed both ways, or ranked at different places.
    pub disagreements: BTreeSet<Uuid>,
    /// Items (this one included) with labels due for the reviewer.
    pub due_items: i64,
    pub expires_at: DateTime<Utc>,
}

/// Whether review is on for the project, and how many items await this reviewer.
pub struct QueueState {
    pub enabled: bool,
    pub due_items: i64,
}

pub async fn queue_state(pool: &PgPool, actor: &Actor, slug: &str) -> Result<QueueState> {
    let project = review_project(pool, actor, slug).await?;
    let enabled = reviews::settings(pool, project.project_id)
        .await?
        .is_some_and(|s| s.enabled);
    Ok(QueueState {
        enabled,
        due_items: reviews::due_items(pool, project.project_id, actor.user_id).await?,
    })
}

/// The item the reviewer should review now: the one they hold, or a new hold. `None` when
/// nothing is due (or review is off).
pub async fn next(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Option<ReviewTask>> {
    let project = review_project(pool, actor, slug).await?;
    let mut tx = pool.begin().await?;
    assignments::serialize_user(&mut *tx, actor.user_id, project.project_id).await?;
    let item = match reviews::held(&mut *tx, project.project_id, actor.user_id).await? {
        Some(item) => Some(item),
        None => lease_new(&mut tx, actor, &project).await?,
    };
    tx.commit().await?;
    match item {
        Some(item_id) => Ok(Some(task(pool, actor, &project, item_id).await?)),
        None => Ok(None),
    }
}

async fn lease_new(
    tx: &mut PgConnection,
    actor: &Actor,
    project: &ProjectSettings,
) -> Result<Option<Uuid>> {
    let mut tried = Vec::new();
    for _ in 0..MAX_CANDIDATES {
        let Some(item_id) =
            reviews::candidate(&mut *tx, project.project_id, actor.user_id, &tried).await?
        else {
            return Ok(None);
        };
        if reviews::lease(
            &mut *tx,
            item_id,
            project.project_id,
            actor.user_id,
            LEASE_SECONDS,
        )
        .await?
        {
            // Another reviewer may have decided it and let it go since it was picked: the
            // lease waited for their commit, so this sees their decisions.
            if reviews::due_on(&mut *tx, item_id, actor.user_id).await? {
                return Ok(Some(item_id));
            }
            reviews::release(&mut *tx, item_id, actor.user_id).await?;
        }
        tried.push(item_id);
    }
    Ok(None)
}

async fn task(
    pool: &PgPool,
    actor: &Actor,
    project: &ProjectSettings,
    item_id: Uuid,
) -> Result<ReviewTask> {
    let messages: Vec<Message> = serde_json::from_value(items::messages(pool, item_id).await?)
        .map_err(anyhow::Error::from)?;
    let answers = responses::for_item(pool, item_id).await?;
    let project_key = project.project_id.to_string();
    let labels: Vec<ReviewLabel> = reviews::labels(pool, item_id, actor.user_id)
        .await?
        .into_iter()
        .map(|l| ReviewLabel {
            annotation_id: l.annotation_id,
            annotator: pseudonym("annotator", Some(l.user_id), None, &project_key),
            body: AnnotationBody {
                ranking: l.ranking.map(|j| j.0),
                thumbs: l.thumbs.0,
                ideal_answer: l.ideal_answer,
                ideal_from: l.ideal_from,
                flags: l.flags,
                comment: l.comment,
                judgments: l.judgments.0,
            },
            version: l.version,
            pending: l.pending,
            outcome: l.outcome,
            reason: l.reason,
            adjudicated: l.adjudicated,
        })
        .collect();
    let bodies: Vec<&AnnotationBody> = labels.iter().map(|l| &l.body).collect();
    Ok(ReviewTask {
        item_id,
        messages,
        disagreements: disagreements(&bodies),
        answers,
        labels,
        due_items: reviews::due_items(pool, project.project_id, actor.user_id).await?,
        expires_at: Utc::now() + chrono::Duration::seconds(i64::from(LEASE_SECONDS)),
    })
}

/// The answers the labels disagree on: some thumbed it up and some down, or the labels that
/// ranked it put it at different places (its tier's index, best = 0).
pub fn disagreements(labels: &[&AnnotationBody]) -> BTreeSet<Uuid> {
    let mut thumbs: BTreeMap<Uuid, BTreeSet<bool>> = BTreeMap::new();
    let mut places: BTreeMap<Uuid, BTreeSet<usize>> = BTreeMap::new();
    for body in labels {
        for (answer, up) in &body.thumbs {
            thumbs.entry(*answer).or_default().insert(*up);
        }
        for (place, tier) in body.ranking.iter().flatten().enumerate() {
            for answer in tier {
                places.entry(*answer).or_default().insert(place);
            }
        }
    }
    thumbs
        .into_iter()
        .filter(|(_, seen)| seen.len() > 1)
        .map(|(a, _)| a)
        .chain(
            places
                .into_iter()
                .filter(|(_, seen)| seen.len() > 1)
                .map(|(a, _)| a),
        )
        .collect()
}

/// An answer's name on the review page: its position in the item's order as a letter.
pub fn letter(position: usize) -> String {
    match u8::try_from(position).ok().filter(|p| *p < 26) {
        Some(p) => char::from(b'A' + p).to_string(),
        None => format!("#{}", position + 1),
    }
}

/// A ranking as the review page writes it: letters, `>` between places, `=` in a tie.
pub fn ranking_text(ranking: &[Vec<Uuid>], answers: &[Uuid]) -> String {
    let name = |id: &Uuid| {
        answers
            .iter()
            .position(|a| a == id)
            .map_or_else(|| "?".to_owned(), letter)
    };
    ranking
        .iter()
        .map(|tier| tier.iter().map(name).collect::<Vec<_>>().join(" = "))
        .collect::<Vec<_>>()
        .join(" > ")
}

/// The fix form's fields (`ranking` as letters, `thumb_{position}` up/down/blank,
/// `ideal_answer`, `flag_{key}`, `comment`) as a label on the item's `answers`.
/// Completeness is checked when the fix is stored; here, each field must make sense.
pub fn parse_fix(fields: &BTreeMap<String, String>, answers: &[Uuid]) -> Result<AnnotationBody> {
    let text = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let answer = |field: &str, name: &str| -> Result<Uuid> {
        let name = name.trim();
        let mut chars = name.chars();
        let position = match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => {
                usize::from(c.to_ascii_uppercase() as u8 - b'A')
            }
            _ => usize::MAX,
        };
        answers.get(position).copied().ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{name:?} is not an answer of this item (A to {})",
                    letter(answers.len().saturating_sub(1))
                ),
            )
        })
    };
    let ranking = text("ranking")
        .map(|r| {
            r.split('>')
                .map(|tier| tier.split('=').map(|a| answer("ranking", a)).collect())
                .collect::<Result<Vec<Vec<Uuid>>>>()
        })
        .transpose()?;
    let mut thumbs = BTreeMap::new();
    for (position, id) in answers.iter().enumerate() {
        let field = format!("thumb_{position}");
        match fields.get(&field).map(|v| v.trim()).unwrap_or("") {
            "up" => {
                thumbs.insert(*id, true);
            }
            "down" => {
                thumbs.insert(*id, false);
            }
            "" => {}
            other => {
                return Err(Error::invalid(
                    field.as_str(),
                    format!("must be up, down or blank, not {other:?}"),
                ));
            }
        }
    }
    let flags = crate::model::annotation::Flag::ALL
        .into_iter()
        .filter(|f| form::ticked(fields, &format!("flag_{}", f.key())))
        .collect();
    Ok(AnnotationBody {
        ranking,
        thumbs,
        ideal_answer: text("ideal_answer"),
        ideal_from: None,
        flags,
        comment: text("comment"),
        // The label's judgments are carried over by the fix (see `decide`).
        judgments: Default::default(),
    })
}

/// What a reviewer decides about one label.
#[derive(Clone, Debug)]
pub enum Decision {
    Accept {
        /// Make it the item's final label.
        adjudicate: bool,
    },
    /// Accept it as the reviewer corrected it; the annotator's version is kept.
    Fix {
        body: Box<AnnotationBody>,
        adjudicate: bool,
    },
    Reject {
        reason: String,
        /// Send the item back to the queue for another annotator (else only remove the label).
        requeue: bool,
    },
}

impl Decision {
    fn action(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "review.accept",
            Self::Fix { .. } => "review.fix",
            Self::Reject { .. } => "review.reject",
        }
    }
}

/// The review page's decision form: `annotation_id`, `decision` (accept, fix or reject),
/// `adjudicate`, the fix's fields (see [`parse_fix`]), `reason` and `requeue` (yes/no).
pub async fn decide_form(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    fields: &BTreeMap<String, String>,
) -> Result<()> {
    review_project(pool, actor, slug).await?;
    let field = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or("");
    let annotation_id: Uuid = field("annotation_id")
        .parse()
        .map_err(|_| Error::invalid("annotation_id", "not a label id"))?;
    let adjudicate = form::ticked(fields, "adjudicate");
    let decision = match field("decision") {
        "accept" => Decision::Accept { adjudicate },
        "fix" => {
            let item_id = reviews::lock_label(pool, annotation_id)
                .await?
                .map(|l| l.item_id)
                .ok_or_else(|| Error::invalid("annotation_id", "is not a label in this project"))?;
            let answers: Vec<Uuid> = responses::for_item(pool, item_id)
                .await?
                .into_iter()
                .map(|r| r.response_id)
                .collect();
            Decision::Fix {
                body: Box::new(parse_fix(fields, &answers)?),
                adjudicate,
            }
        }
        "reject" => Decision::Reject {
            reason: field("reason").to_owned(),
            requeue: field("requeue") != "no",
        },
        other => {
            return Err(Error::invalid(
                "decision",
                format!("must be accept, fix or reject, not {other:?}"),
            ));
        }
    };
    decide(pool, actor, slug, annotation_id, decision).await
}

/// Stores the reviewer's decision on the label `annotation_id`, which must be due on an item
/// they hold in this project. Refusals name the field; nothing changes then.
pub async fn decide(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    annotation_id: Uuid,
    decision: Decision,
) -> Result<()> {
    let project = review_project(pool, actor, slug).await?;
    if let Decision::Reject { reason, .. } = &decision {
        if reason.trim().is_empty() {
            return Err(Error::invalid(
                "reason",
                "say why the label is rejected: the annotator sees it",
            ));
        }
        if reason.chars().count() > REASON_MAX {
            return Err(Error::invalid(
                "reason",
                format!("must be at most {REASON_MAX} characters"),
            ));
        }
    }
    let mut tx = pool.begin().await?;
    let label = reviews::lock_label(&mut *tx, annotation_id)
        .await?
        .filter(|l| l.project_id == project.project_id)
        .ok_or_else(|| Error::invalid("annotation_id", "is not a label in this project"))?;
    let annotator = match label.user_id {
        Some(user) if user == actor.user_id => {
            return Err(Error::invalid(
                "annotation_id",
                "is your own label: another reviewer decides on it",
            ));
        }
        Some(user) => user,
        None => {
            return Err(Error::invalid(
                "annotation_id",
                "is end-user feedback: only annotators' labels are reviewed",
            ));
        }
    };
    if !reviews::holds(&mut *tx, label.item_id, actor.user_id).await? {
        return Err(Error::Conflict(
            "you do not hold this item in review (another reviewer took it over, or it was never yours): take the next one from the review queue".into(),
        ));
    }
    let settings = reviews::settings(&mut *tx, project.project_id)
        .await?
        .unwrap_or_default();
    if !settings.enabled {
        return Err(Error::Conflict("review is off for this project".into()));
    }
    let (outcome, reason, requeued, fixed, version, adjudicate) = match &decision {
        Decision::Accept { adjudicate } => {
            ("accepted", None, false, None, label.version, *adjudicate)
        }
        Decision::Fix { body, adjudicate } => {
            let answers: Vec<Uuid> = responses::for_item(&mut *tx, label.item_id)
                .await?
                .into_iter()
                .map(|r| r.response_id)
                .collect();
            // The fix keeps the label's judgments (rubric scores, "none acceptable", the
            // rationale), and its strengths while the ranking stays: a reviewer who
            // reorders the answers does not grade strength, so they go with the old order.
            let version = label.guideline_version.unwrap_or(project.guideline_version);
            let mut schema = super::projects::judgment_schema(&mut tx, &project, version).await?;
            let mut body = (**body).clone();
            body.judgments = label.judgments.0.clone();
            if body.ranking != label.ranking.as_ref().map(|r| r.0.clone()) {
                body.judgments.strengths.clear();
                schema.strength = None;
            }
            let input = AnnotationInput {
                annotation_id,
                item_id: label.item_id,
                body,
                shown_order: label.shown_order.clone(),
                guideline_version: Some(version),
                ..AnnotationInput::default()
            }
            .validate(&answers, &project.kinds, &schema)?;
            // The replaced version is kept by the `annotations_keep_version` trigger.
            let version = annotations::update(&mut *tx, &input).await?;
            agreement::mark(&mut *tx, label.item_id, project.project_id).await?;
            let after = reviews::snapshot(&mut *tx, annotation_id).await?;
            ("fixed", None, false, Some(after), version, *adjudicate)
        }
        Decision::Reject { reason, requeue } => {
            reviews::remove_label(&mut *tx, annotation_id, *requeue).await?;
            (
                "rejected",
                Some(reason.trim().to_owned()),
                *requeue,
                None,
                label.version,
                false,
            )
        }
    };
    reviews::record(
        &mut *tx,
        &reviews::Decision {
            annotation_id,
            item_id: label.item_id,
            project_id: project.project_id,
            annotator_id: annotator,
            reviewer_id: actor.user_id,
            outcome,
            reason: reason.as_deref(),
            requeued,
            original: &label.snapshot,
            fixed: fixed.as_ref(),
            reviewed_version: version,
        },
    )
    .await?;
    if adjudicate {
        reviews::adjudicate(
            &mut *tx,
            label.item_id,
            project.project_id,
            annotation_id,
            actor.user_id,
        )
        .await?;
    }
    let after = serde_json::json!({
        "outcome": outcome, "reason": reason, "requeued": requeued,
        "adjudicated": adjudicate, "label": fixed,
    });
    audit::record(
        &mut *tx,
        actor,
        decision.action(),
        Some(project.project_id),
        Some(&annotation_id.to_string()),
        Some(label.snapshot.clone()),
        Some(after),
    )
    .await?;
    // The item leaves the reviewer's hands once nothing on it is due for them.
    if !reviews::due_on(&mut *tx, label.item_id, actor.user_id).await? {
        reviews::release(&mut *tx, label.item_id, actor.user_id).await?;
    }
    tx.commit().await?;
    tracing::info!(project = slug, annotation.id = %annotation_id, outcome, "label reviewed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ranking: &[&[u128]], thumbs: &[(u128, bool)]) -> AnnotationBody {
        AnnotationBody {
            ranking: Some(
                ranking
                    .iter()
                    .map(|t| t.iter().map(|n| Uuid::from_u128(*n)).collect())
                    .collect(),
            ),
            thumbs: thumbs
                .iter()
                .map(|(n, up)| (Uuid::from_u128(*n), *up))
                .collect(),
            ..AnnotationBody::default()
        }
    }

    #[test]
    fn the_fix_form_names_answers_by_letter_and_refuses_what_is_not_one() {
        let answers = [1, 2, 3].map(Uuid::from_u128);
        let fields: BTreeMap<String, String> = [
            ("ranking", "b > a = C"),
            ("thumb_0", "up"),
            ("thumb_2", "down"),
            ("ideal_answer", "  Better.  "),
            ("flag_unsafe", "on"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let body = parse_fix(&fields, &answers).unwrap();
        assert_eq!(
            body.ranking,
            Some(vec![vec![answers[1]], vec![answers[0], answers[2]]])
        );
        assert_eq!(
            body.thumbs,
            [(answers[0], true), (answers[2], false)].into()
        );
        assert_eq!(body.ideal_answer.as_deref(), Some("Better."));
        assert_eq!(body.flags, vec![crate::model::annotation::Flag::Unsafe]);
        assert_eq!(
            ranking_text(body.ranking.as_ref().unwrap(), &answers),
            "B > A = C"
        );
        for (field, value) in [
            ("ranking", "A > D"),
            ("ranking", "A > AB"),
            ("thumb_1", "maybe"),
        ] {
            let mut bad = fields.clone();
            bad.insert(field.to_owned(), value.to_owned());
            let e = parse_fix(&bad, &answers).unwrap_err().to_app_error();
            assert_eq!(e.field.as_deref(), Some(field), "{value:?}: {}", e.message);
        }
    }

    #[test]
    fn disagreements_are_the_answers_thumbed_both_ways_or_placed_differently() {
        let a = body(&[&[1], &[2], &[3]], &[(1, true), (3, false)]);
        let b = body(&[&[2], &[1], &[3]], &[(1, true), (3, true)]);
        let found = disagreements(&[&a, &b]);
        let expected: BTreeSet<Uuid> = [1, 2, 3].map(Uuid::from_u128).into();
        assert_eq!(
            found, expected,
            "1 and 2 swapped places; 3 thumbed both ways"
        );
        let same = disagreements(&[&a, &a.clone()]);
        assert!(same.is_empty(), "identical labels disagree on nothing");
        let tie = body(&[&[1, 2], &[3]], &[]);
        let untied = body(&[&[1], &[2, 3]], &[]);
        let found = disagreements(&[&tie, &untied]);
        assert_eq!(
            found,
            [2].map(Uuid::from_u128).into(),
            "tiers are places: 2 is first in one and second in the other"
        );
    }
}
