//! Review: the project's review settings, reviewers' holds on items, their decisions on
//! labels, and adjudicated final labels (see the migration `review_audit`). Which labels are
//! due is the SQL function `review_pending`'s one rule.

use crate::model::annotation::Flag;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Which labels a project's reviewers check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "review_selection", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReviewSelection {
    /// Every label.
    #[default]
    All,
    /// A random share of the labels (stable per label).
    Sample,
    /// The labels of annotators whose gold accuracy is below `min_accuracy`.
    BelowGold,
    /// Every label of items whose agreement is below `max_agreement`, worst first.
    Disagreement,
}

impl ReviewSelection {
    pub const ALL: [Self; 4] = [Self::All, Self::Sample, Self::BelowGold, Self::Disagreement];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Sample => "sample",
            Self::BelowGold => "below_gold",
            Self::Disagreement => "disagreement",
        }
    }
}

/// A project's review settings (off until an admin turns review on).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReviewSettings {
    pub enabled: bool,
    pub selection: ReviewSelection,
    pub share: f64,
    pub min_accuracy: f64,
    pub max_agreement: f64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            selection: ReviewSelection::All,
            share: 0.1,
            min_accuracy: 0.8,
            max_agreement: 0.5,
        }
    }
}

pub async fn settings(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Option<ReviewSettings>> {
    sqlx::query_as!(
        ReviewSettings,
        r#"SELECT enabled, selection AS "selection: ReviewSelection", share, min_accuracy, max_agreement
           FROM project_review WHERE project_id = $1"#,
        project_id
    )
    .fetch_optional(db)
    .await
}

pub async fn save_settings(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    s: &ReviewSettings,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO project_review (project_id, enabled, selection, share, min_accuracy, max_agreement)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project_id) DO UPDATE
         SET enabled = $2, selection = $3, share = $4, min_accuracy = $5, max_agreement = $6,
             updated_at = now()",
        project_id,
        s.enabled,
        s.selection as ReviewSelection,
        s.share,
        s.min_accuracy,
        s.max_agreement
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The item the reviewer holds (unexpired) in the project that still has labels due for
/// them, if any.
pub async fn held(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT l.item_id FROM review_leases l
         JOIN project_review r ON r.project_id = l.project_id
         WHERE l.project_id = $1 AND l.reviewer_id = $2 AND l.expires_at > now()
           AND EXISTS (SELECT 1 FROM annotations a
                       WHERE a.item_id = l.item_id AND review_pending(a, r, $2))
         ORDER BY l.leased_at LIMIT 1",
        project_id,
        reviewer_id
    )
    .fetch_optional(db)
    .await
}

/// The next finished item with labels due for this reviewer that no other reviewer holds,
/// leaving out `tried`: worst agreement first when the project reviews disagreement,
/// otherwise in the order the items were finished. The hold itself is taken by [`lease`].
pub async fn candidate(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    reviewer_id: Uuid,
    tried: &[Uuid],
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT i.item_id FROM items i
         JOIN project_review r ON r.project_id = i.project_id
         LEFT JOIN item_agreement q ON q.item_id = i.item_id
         WHERE i.project_id = $1 AND r.enabled AND i.completed_at IS NOT NULL AND NOT i.is_gold
           AND NOT (i.item_id = ANY($3))
           AND NOT EXISTS (SELECT 1 FROM review_leases l
                           WHERE l.item_id = i.item_id AND l.reviewer_id <> $2 AND l.expires_at > now())
           AND EXISTS (SELECT 1 FROM annotations a
                       WHERE a.item_id = i.item_id AND review_pending(a, r, $2))
         ORDER BY CASE WHEN r.selection = 'disagreement'
                       THEN coalesce(q.kendall_w, q.pref_agree::float8 / nullif(q.pref_compared, 0)) END
                      NULLS LAST,
                  i.completed_at, i.item_seq
         LIMIT 1",
        project_id,
        reviewer_id,
        tried
    )
    .fetch_optional(db)
    .await
}

/// Items with labels due for this reviewer (held by nobody else).
pub async fn due_items(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM items i
           JOIN project_review r ON r.project_id = i.project_id
           WHERE i.project_id = $1 AND r.enabled AND i.completed_at IS NOT NULL AND NOT i.is_gold
             AND NOT EXISTS (SELECT 1 FROM review_leases l
                             WHERE l.item_id = i.item_id AND l.reviewer_id <> $2 AND l.expires_at > now())
             AND EXISTS (SELECT 1 FROM annotations a
                         WHERE a.item_id = i.item_id AND review_pending(a, r, $2))"#,
        project_id,
        reviewer_id
    )
    .fetch_one(db)
    .await
}

/// Whether the item still has labels due for this reviewer.
pub async fn due_on(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM annotations a
                          JOIN project_review r ON r.project_id = a.project_id
                          WHERE a.item_id = $1 AND review_pending(a, r, $2)) AS "due!""#,
        item_id,
        reviewer_id
    )
    .fetch_one(db)
    .await
}

/// Takes (or renews) the reviewer's hold on the item for `seconds`; false when another
/// reviewer holds it. Two reviewers racing for one item: the second insert waits for the
/// first to commit, then finds its unexpired hold and takes nothing.
pub async fn lease(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    project_id: Uuid,
    reviewer_id: Uuid,
    seconds: i32,
) -> sqlx::Result<bool> {
    let taken = sqlx::query_scalar!(
        "INSERT INTO review_leases (item_id, project_id, reviewer_id, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (item_id) DO UPDATE
         SET reviewer_id = EXCLUDED.reviewer_id, leased_at = now(), expires_at = EXCLUDED.expires_at
         WHERE review_leases.reviewer_id = EXCLUDED.reviewer_id OR review_leases.expires_at <= now()
         RETURNING item_id",
        item_id,
        project_id,
        reviewer_id,
        f64::from(seconds)
    )
    .fetch_optional(db)
    .await?;
    Ok(taken.is_some())
}

/// Whether the reviewer's hold on the item is still theirs (expired holds count until
/// another reviewer takes the item over).
pub async fn holds(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM review_leases WHERE item_id = $1 AND reviewer_id = $2) AS "held!""#,
        item_id,
        reviewer_id
    )
    .fetch_one(db)
    .await
}

pub async fn release(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM review_leases WHERE item_id = $1 AND reviewer_id = $2",
        item_id,
        reviewer_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One human label of an item as the reviewer sees it, with its latest decision.
pub struct LabelRow {
    pub annotation_id: Uuid,
    pub user_id: Uuid,
    pub ranking: Option<Json<Vec<Vec<Uuid>>>>,
    pub thumbs: Json<BTreeMap<Uuid, bool>>,
    pub ideal_answer: Option<String>,
    pub ideal_from: Option<Uuid>,
    pub flags: Vec<Flag>,
    pub comment: Option<String>,
    pub judgments: Json<crate::model::judgment::Judgments>,
    pub guideline_version: Option<i32>,
    pub shown_order: Vec<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// Due for this reviewer now.
    pub pending: bool,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub adjudicated: bool,
}

/// The item's human labels, oldest first.
pub async fn labels(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<Vec<LabelRow>> {
    sqlx::query_as!(
        LabelRow,
        r#"SELECT a.annotation_id, a.user_id AS "user_id!",
                  a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>",
                  a.ideal_answer, a.ideal_from, a.flags AS "flags!: Vec<Flag>", a.comment,
                  a.judgments AS "judgments!: Json<crate::model::judgment::Judgments>", a.guideline_version,
                  a.shown_order, a.version, a.created_at AS "created_at: DateTime<Utc>",
                  coalesce(r.enabled AND review_pending(a, r, $2), false) AS "pending!",
                  v.outcome::text AS outcome, v.reason,
                  EXISTS (SELECT 1 FROM adjudications j WHERE j.annotation_id = a.annotation_id) AS "adjudicated!"
           FROM annotations a
           LEFT JOIN project_review r ON r.project_id = a.project_id
           LEFT JOIN reviews v ON v.annotation_id = a.annotation_id
           WHERE a.item_id = $1 AND a.user_id IS NOT NULL
           ORDER BY a.created_at, a.annotation_id"#,
        item_id,
        reviewer_id
    )
    .fetch_all(db)
    .await
}

/// A label locked for a decision, as it is now (`to_jsonb` of its row).
pub struct LockedLabel {
    pub item_id: Uuid,
    pub project_id: Uuid,
    pub user_id: Option<Uuid>,
    pub version: i32,
    pub shown_order: Vec<Uuid>,
    pub ranking: Option<Json<Vec<Vec<Uuid>>>>,
    pub judgments: Json<crate::model::judgment::Judgments>,
    pub guideline_version: Option<i32>,
    pub snapshot: serde_json::Value,
}

pub async fn lock_label(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
) -> sqlx::Result<Option<LockedLabel>> {
    sqlx::query_as!(
        LockedLabel,
        r#"SELECT a.item_id, a.project_id, a.user_id, a.version, a.shown_order,
                  a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.judgments AS "judgments!: Json<crate::model::judgment::Judgments>", a.guideline_version,
                  to_jsonb(a) AS "snapshot!"
           FROM annotations a WHERE a.annotation_id = $1 FOR UPDATE"#,
        annotation_id
    )
    .fetch_optional(db)
    .await
}

/// The label now (`to_jsonb` of its row), after a fix.
pub async fn snapshot(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
) -> sqlx::Result<serde_json::Value> {
    sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) AS "snapshot!" FROM annotations a WHERE a.annotation_id = $1"#,
        annotation_id
    )
    .fetch_one(db)
    .await
}

/// A decision to store (replacing an earlier one on the same label).
pub struct Decision<'a> {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub project_id: Uuid,
    pub annotator_id: Uuid,
    pub reviewer_id: Uuid,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub requeued: bool,
    pub original: &'a serde_json::Value,
    pub fixed: Option<&'a serde_json::Value>,
    pub reviewed_version: i32,
}

pub async fn record(db: impl PgExecutor<'_>, d: &Decision<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO reviews (annotation_id, item_id, project_id, annotator_id, reviewer_id, outcome,
                              reason, requeued, original, fixed, reviewed_version)
         VALUES ($1, $2, $3, $4, $5, $6::text::review_outcome, $7, $8, $9, $10, $11)
         ON CONFLICT (annotation_id) DO UPDATE
         SET reviewer_id = $5, outcome = $6::text::review_outcome, reason = $7, requeued = $8,
             fixed = $10, reviewed_version = $11, decided_at = now()",
        d.annotation_id,
        d.item_id,
        d.project_id,
        d.annotator_id,
        d.reviewer_id,
        d.outcome,
        d.reason,
        d.requeued,
        d.original,
        d.fixed,
        d.reviewed_version
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a rejected label: the item counts one label less (and, when `requeue`, waits for
/// another annotator: the rejected one is not offered it again), and its agreement is
/// counted again; in one statement.
pub async fn remove_label(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    requeue: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH removed AS (
             DELETE FROM annotations WHERE annotation_id = $1 RETURNING item_id, project_id),
         counted AS (
             UPDATE items i SET annotation_count = i.annotation_count - 1,
                    completed_at = CASE WHEN $2 THEN NULL ELSE i.completed_at END
             FROM removed WHERE i.item_id = removed.item_id)
         INSERT INTO agreement_marks (item_id, project_id)
         SELECT item_id, project_id FROM removed
         ON CONFLICT (item_id) DO NOTHING",
        annotation_id,
        requeue
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the label the item's final one.
pub async fn adjudicate(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    project_id: Uuid,
    annotation_id: Uuid,
    reviewer_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO adjudications (item_id, project_id, annotation_id, reviewer_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (item_id) DO UPDATE SET annotation_id = $3, reviewer_id = $4, decided_at = now()",
        item_id,
        project_id,
        annotation_id,
        reviewer_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether a rejection removed the label with this id (a late retry must not bring it back).
pub async fn rejected(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT reason FROM reviews WHERE annotation_id = $1 AND outcome = 'rejected'",
        annotation_id
    )
    .fetch_optional(db)
    .await
    .map(Option::flatten)
}

/// Decisions on each annotator's labels in the project (one annotator: `only`).
pub struct CountRow {
    pub annotator_id: Uuid,
    pub accepted: i64,
    pub fixed: i64,
    pub rejected: i64,
}

pub async fn counts(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<CountRow>> {
    sqlx::query_as!(
        CountRow,
        r#"SELECT annotator_id,
                  count(*) FILTER (WHERE outcome = 'accepted') AS "accepted!",
                  count(*) FILTER (WHERE outcome = 'fixed') AS "fixed!",
                  count(*) FILTER (WHERE outcome = 'rejected') AS "rejected!"
           FROM reviews WHERE project_id = $1 AND ($2::uuid IS NULL OR annotator_id = $2)
           GROUP BY annotator_id ORDER BY annotator_id"#,
        project_id,
        only
    )
    .fetch_all(db)
    .await
}

/// A decision on one of the annotator's labels, for their history.
pub struct OutcomeRow {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub outcome: String,
    pub reason: Option<String>,
    pub requeued: bool,
    pub original: serde_json::Value,
    pub fixed: Option<serde_json::Value>,
    pub decided_at: DateTime<Utc>,
    /// The rejection removed the label.
    pub removed: bool,
    pub prompt_excerpt: String,
}

/// The decisions on the annotator's labels in the project, newest first.
pub async fn outcomes(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    annotator_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<OutcomeRow>> {
    sqlx::query_as!(
        OutcomeRow,
        r#"SELECT v.annotation_id, v.item_id, v.outcome::text AS "outcome!", v.reason, v.requeued,
                  v.original, v.fixed, v.decided_at AS "decided_at: DateTime<Utc>",
                  NOT EXISTS (SELECT 1 FROM annotations a WHERE a.annotation_id = v.annotation_id) AS "removed!",
                  left(coalesce(i.messages -> -1 ->> 'content', ''), 160) AS "prompt_excerpt!"
           FROM reviews v JOIN items i ON i.item_id = v.item_id
           WHERE v.project_id = $1 AND v.annotator_id = $2
           ORDER BY v.decided_at DESC LIMIT $3"#,
        project_id,
        annotator_id,
        limit
    )
    .fetch_all(db)
    .await
}
