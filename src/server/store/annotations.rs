use crate::model::annotation::{AnnotationBody, AnnotationInput, AnnotationView, Flag};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Owner {
    /// None for end-user feedback.
    pub user_id: Option<Uuid>,
    pub item_id: Uuid,
    pub version: i32,
}

impl Owner {
    /// Whether this is the user's annotation of the item.
    pub fn is(&self, user_id: Uuid, item_id: Uuid) -> bool {
        self.user_id == Some(user_id) && self.item_id == item_id
    }
}

/// Who wrote the annotation with this id, if it exists.
pub async fn find_owner(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
) -> sqlx::Result<Option<Owner>> {
    sqlx::query_as!(
        Owner,
        "SELECT user_id, item_id, version FROM annotations WHERE annotation_id = $1",
        annotation_id
    )
    .fetch_optional(db)
    .await
}

/// Locks the user's annotation in the project for an edit; returns its current version.
pub async fn lock_own(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    user_id: Uuid,
    project_id: Uuid,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "SELECT version FROM annotations
         WHERE annotation_id = $1 AND user_id = $2 AND project_id = $3 FOR UPDATE",
        annotation_id,
        user_id,
        project_id
    )
    .fetch_optional(db)
    .await
}

/// How many annotators an item needs, and whether the submission being stored raised it to
/// that (adaptive overlap).
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub overlap: i32,
    pub raised: bool,
}

/// Stores a new annotation (with the proposal its author was shown and how they treated
/// it), counts it on its item (complete at the `target`, which is stored on the item when
/// raised) and on its author's day, marks the item for the agreement count when `compare`
/// (it has other labels to compare with) or it has a proposal, and
/// ends the author's lease on the item, in one statement. `None` when the annotation id is already
/// stored (nothing changes then): a retry, or someone else's id, or a label a reviewer
/// rejected (a late retry must not bring it back).
pub async fn insert_counted(
    db: impl PgExecutor<'_>,
    a: &AnnotationInput,
    project_id: Uuid,
    user_id: Uuid,
    target: Target,
    proposal: Option<(Uuid, crate::model::proposal::ProposalOutcome)>,
    compare: bool,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "WITH stored AS (
             INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, thumbs,
                                      ideal_answer, ideal_from, flags, comment, shown_order,
                                      time_spent_ms, proposal_id, proposal_outcome, judgments,
                                      guideline_version)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $18, $19
             WHERE NOT EXISTS (SELECT 1 FROM reviews v WHERE v.annotation_id = $1)
             ON CONFLICT (annotation_id) DO NOTHING
             RETURNING version),
         released AS (
             DELETE FROM assignments
             WHERE item_id = $2 AND user_id = $4 AND EXISTS (SELECT 1 FROM stored)),
         counted AS (
             UPDATE items SET annotation_count = annotation_count + 1,
                    target_overlap = CASE WHEN $17 THEN $15 ELSE target_overlap END,
                    completed_at = CASE WHEN annotation_count + 1 >= $15 THEN now() ELSE completed_at END
             WHERE item_id = $2 AND EXISTS (SELECT 1 FROM stored)),
         tallied AS (
             INSERT INTO annotator_days AS d (user_id, project_id, day, annotations)
             SELECT $4, $3, current_date, 1 FROM stored
             ON CONFLICT (user_id, project_id, day) DO UPDATE SET annotations = d.annotations + 1),
         marked AS (
             INSERT INTO agreement_marks (item_id, project_id)
             SELECT $2, $3 FROM stored
             WHERE $16 OR EXISTS (SELECT 1 FROM proposals p WHERE p.item_id = $2 AND p.status = 'done')
             ON CONFLICT (item_id) DO NOTHING)
         SELECT version FROM stored",
        a.annotation_id,
        a.item_id,
        project_id,
        user_id,
        a.body.ranking.as_ref().map(Json) as _,
        Json(&a.body.thumbs) as _,
        a.body.ideal_answer,
        a.body.ideal_from,
        &a.body.flags as &[Flag],
        a.body.comment,
        &a.shown_order,
        i32::try_from(a.time_spent_ms).unwrap_or(i32::MAX),
        proposal.map(|p| p.0),
        proposal.map(|p| p.1.as_str()),
        target.overlap,
        compare,
        target.raised,
        Json(&a.body.judgments) as _,
        a.guideline_version,
    )
    .fetch_optional(db)
    .await
}

/// Replaces the content, bumps the version and takes a new cursor sequence number.
pub async fn update(db: impl PgExecutor<'_>, a: &AnnotationInput) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE annotations
         SET ranking = $2, thumbs = $3, ideal_answer = $4, ideal_from = $5, flags = $6, comment = $7,
             judgments = $9, guideline_version = $10,
             time_spent_ms = time_spent_ms + $8, version = version + 1, seq = nextval('annotation_seq'),
             tx = pg_current_xact_id(), updated_at = now()
         WHERE annotation_id = $1
         RETURNING version",
        a.annotation_id,
        a.body.ranking.as_ref().map(Json) as _,
        Json(&a.body.thumbs) as _,
        a.body.ideal_answer,
        a.body.ideal_from,
        &a.body.flags as &[Flag],
        a.body.comment,
        i32::try_from(a.time_spent_ms).unwrap_or(i32::MAX),
        Json(&a.body.judgments) as _,
        a.guideline_version,
    )
    .fetch_one(db)
    .await
}

/// The user's annotation in the project.
pub async fn find_own(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    user_id: Uuid,
    project_id: Uuid,
) -> sqlx::Result<Option<AnnotationView>> {
    let row = sqlx::query!(
        r#"SELECT annotation_id, item_id,
                  ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>",
                  ideal_answer, ideal_from, flags AS "flags!: Vec<Flag>", comment, shown_order, version,
                  judgments AS "judgments!: Json<crate::model::judgment::Judgments>",
                  updated_at AS "updated_at: DateTime<Utc>"
           FROM annotations WHERE annotation_id = $1 AND user_id = $2 AND project_id = $3"#,
        annotation_id,
        user_id,
        project_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| AnnotationView {
        annotation_id: r.annotation_id,
        item_id: r.item_id,
        body: AnnotationBody {
            ranking: r.ranking.map(|j| j.0),
            thumbs: r.thumbs.0,
            ideal_answer: r.ideal_answer,
            ideal_from: r.ideal_from,
            flags: r.flags,
            comment: r.comment,
            judgments: r.judgments.0,
        },
        shown_order: r.shown_order,
        version: r.version,
        updated_at: r.updated_at,
    }))
}

/// One of the user's annotations, with its latest review.
pub struct HistoryRow {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub prompt_excerpt: String,
    pub flags: Vec<Flag>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The latest review of the label, if any.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub original: Option<serde_json::Value>,
    pub fixed: Option<serde_json::Value>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The user's annotations in a project, newest first, optionally only those whose prompt,
/// ideal answer or comment matches the ILIKE pattern `%search%` (the caller escapes
/// `search`'s own `%`, `_` and `\`).
pub async fn history(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    project_id: Uuid,
    search: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<HistoryRow>> {
    sqlx::query_as!(
        HistoryRow,
        r#"SELECT a.annotation_id, a.item_id,
                  left(coalesce(i.messages -> -1 ->> 'content', ''), 160) AS "prompt_excerpt!",
                  a.flags AS "flags!: Vec<Flag>", a.version, a.updated_at AS "updated_at: DateTime<Utc>",
                  v.outcome::text AS "outcome?", v.reason AS "reason?", v.original AS "original?",
                  v.fixed AS "fixed?", v.decided_at AS "decided_at?: DateTime<Utc>"
           FROM annotations a JOIN items i ON i.item_id = a.item_id
           LEFT JOIN reviews v ON v.annotation_id = a.annotation_id
           WHERE a.user_id = $1 AND a.project_id = $2
             AND ($3::text IS NULL
                  OR i.messages::text ILIKE '%' || $3 || '%'
                  OR a.ideal_answer ILIKE '%' || $3 || '%'
                  OR a.comment ILIKE '%' || $3 || '%')
           ORDER BY a.updated_at DESC
           LIMIT $4"#,
        user_id,
        project_id,
        search,
        limit
    )
    .fetch_all(db)
    .await
}

/// End-user feedback to store: one row per (item, end user), merged on repeat.
pub struct EndUserAnnotation<'a> {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub project_id: Uuid,
    pub end_user_id: &'a str,
    pub response_id: Uuid,
    pub thumb: Option<bool>,
    pub correction: Option<&'a str>,
    pub comment: Option<&'a str>,
}

pub struct Stored {
    pub annotation_id: Uuid,
    pub version: i32,
}

/// Inserts the end user's feedback on the item, or merges it into what they said before
/// (thumbs per answer add up; a new correction or comment replaces the old). Nothing is
/// written when the merge changes nothing, so a retried request is harmless.
pub async fn upsert_end_user(
    db: impl PgExecutor<'_>,
    a: &EndUserAnnotation<'_>,
) -> sqlx::Result<Option<Stored>> {
    let thumbs: BTreeMap<Uuid, bool> = a.thumb.map(|t| (a.response_id, t)).into_iter().collect();
    sqlx::query_as!(
        Stored,
        r#"INSERT INTO annotations (annotation_id, item_id, project_id, source, end_user_id, thumbs,
                                    ideal_answer, ideal_from, comment, shown_order)
           VALUES ($1, $2, $3, 'end_user', $4, $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE $7::uuid END,
                   $8, ARRAY[$7::uuid])
           ON CONFLICT (item_id, end_user_id) DO UPDATE SET
               thumbs = annotations.thumbs || EXCLUDED.thumbs,
               ideal_answer = coalesce(EXCLUDED.ideal_answer, annotations.ideal_answer),
               ideal_from = coalesce(EXCLUDED.ideal_from, annotations.ideal_from),
               comment = coalesce(EXCLUDED.comment, annotations.comment),
               shown_order = CASE WHEN $7 = ANY (annotations.shown_order) THEN annotations.shown_order
                                  ELSE annotations.shown_order || EXCLUDED.shown_order END,
               version = annotations.version + 1, seq = nextval('annotation_seq'),
               tx = pg_current_xact_id(), updated_at = now(), guideline_version = NULL
           WHERE annotations.thumbs || EXCLUDED.thumbs IS DISTINCT FROM annotations.thumbs
              OR coalesce(EXCLUDED.ideal_answer, annotations.ideal_answer) IS DISTINCT FROM annotations.ideal_answer
              OR coalesce(EXCLUDED.ideal_from, annotations.ideal_from) IS DISTINCT FROM annotations.ideal_from
              OR coalesce(EXCLUDED.comment, annotations.comment) IS DISTINCT FROM annotations.comment
           RETURNING annotation_id, version"#,
        a.annotation_id,
        a.item_id,
        a.project_id,
        a.end_user_id,
        Json(&thumbs) as _,
        a.correction,
        a.response_id,
        a.comment,
    )
    .fetch_optional(db)
    .await
}

/// The end user's feedback on the item as it stands.
pub async fn find_end_user(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    end_user_id: &str,
) -> sqlx::Result<Stored> {
    sqlx::query_as!(
        Stored,
        "SELECT annotation_id, version FROM annotations WHERE item_id = $1 AND end_user_id = $2",
        item_id,
        end_user_id
    )
    .fetch_one(db)
    .await
}

/// Up to `limit` annotations of the project after the cursor (`tx`, `seq`), in cursor
/// order, as export rows whose `item_seq` is their place in the page (from 1) and with their
/// cursor positions. Only rows written by transactions older than every transaction still
/// running are read: a transaction that commits late cannot then land behind a cursor
/// already handed out. Stops before (`until_tx`, `until_seq`) when given.
pub async fn stream_page(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    after: (i64, i64),
    until: Option<(i64, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<super::items::ExportAnnotationRow>> {
    sqlx::query_as!(
        super::items::ExportAnnotationRow,
        r#"SELECT row_number() OVER (ORDER BY a.tx, a.seq) AS "item_seq!",
                  a.annotation_id, a.user_id, a.end_user_id, a.source,
                  a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.thumbs AS "thumbs!: Json<std::collections::BTreeMap<Uuid, bool>>",
                  a.ideal_answer, a.ideal_from, a.flags AS "flags!: Vec<crate::model::annotation::Flag>",
                  a.comment, a.judgments AS "judgments!: Json<crate::model::judgment::Judgments>", a.guideline_version,
                  a.shown_order, a.proposal_id, a.time_spent_ms, a.version,
                  a.created_at AS "created_at: chrono::DateTime<chrono::Utc>",
                  a.updated_at AS "updated_at: chrono::DateTime<chrono::Utc>",
                  NULL::text AS "annotator_status?",
                  a.item_id AS "item_id?", a.tx::text::bigint AS "stream_tx?", a.seq AS "stream_seq?"
           FROM annotations a
           WHERE a.project_id = $1
             AND (a.tx, a.seq) > ($2::text::xid8, $3)
             AND ($4::bigint IS NULL OR (a.tx, a.seq) <= ($4::text::xid8, $5))
             AND a.tx < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY a.tx, a.seq
           LIMIT $6"#,
        project_id,
        after.0.to_string(),
        after.1,
        until.map(|u| u.0),
        until.map(|u| u.1),
        limit
    )
    .fetch_all(db)
    .await
}
