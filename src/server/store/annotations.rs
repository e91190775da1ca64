use crate::model::annotation::{AnnotationInput, AnnotationView, Flag, HistoryEntry};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Owner {
    pub user_id: Uuid,
    pub item_id: Uuid,
    pub version: i32,
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

/// Locks the user's annotation for an edit; returns its current version.
pub async fn lock_own(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "SELECT version FROM annotations WHERE annotation_id = $1 AND user_id = $2 FOR UPDATE",
        annotation_id,
        user_id
    )
    .fetch_optional(db)
    .await
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    a: &AnnotationInput,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "INSERT INTO annotations (annotation_id, item_id, project_id, user_id, ranking, thumbs, ideal_answer,
                                  ideal_from, flags, comment, shown_order, time_spent_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING version",
        a.annotation_id,
        a.item_id,
        project_id,
        user_id,
        a.ranking.as_ref().map(Json) as _,
        Json(&a.thumbs) as _,
        a.ideal_answer,
        a.ideal_from,
        &a.flags as &[Flag],
        a.comment,
        &a.shown_order,
        i32::try_from(a.time_spent_ms).unwrap_or(i32::MAX),
    )
    .fetch_one(db)
    .await
}

/// Keeps the current content as a past version before an edit replaces it.
pub async fn archive_current(db: impl PgExecutor<'_>, annotation_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO annotation_versions (annotation_id, version, body)
         SELECT annotation_id, version,
                jsonb_build_object('ranking', ranking, 'thumbs', thumbs, 'ideal_answer', ideal_answer,
                                   'ideal_from', ideal_from, 'flags', flags, 'comment', comment,
                                   'time_spent_ms', time_spent_ms, 'updated_at', updated_at)
         FROM annotations WHERE annotation_id = $1",
        annotation_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces the content, bumps the version and takes a new cursor sequence number.
pub async fn update(db: impl PgExecutor<'_>, a: &AnnotationInput) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE annotations
         SET ranking = $2, thumbs = $3, ideal_answer = $4, ideal_from = $5, flags = $6, comment = $7,
             time_spent_ms = time_spent_ms + $8, version = version + 1, seq = nextval('annotation_seq'),
             updated_at = now()
         WHERE annotation_id = $1
         RETURNING version",
        a.annotation_id,
        a.ranking.as_ref().map(Json) as _,
        Json(&a.thumbs) as _,
        a.ideal_answer,
        a.ideal_from,
        &a.flags as &[Flag],
        a.comment,
        i32::try_from(a.time_spent_ms).unwrap_or(i32::MAX),
    )
    .fetch_one(db)
    .await
}

pub async fn find_own(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<Option<AnnotationView>> {
    let row = sqlx::query!(
        r#"SELECT annotation_id, item_id,
                  ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>",
                  ideal_answer, ideal_from, flags AS "flags!: Vec<Flag>", comment, shown_order, version,
                  updated_at AS "updated_at: DateTime<Utc>"
           FROM annotations WHERE annotation_id = $1 AND user_id = $2"#,
        annotation_id,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| AnnotationView {
        annotation_id: r.annotation_id,
        item_id: r.item_id,
        ranking: r.ranking.map(|j| j.0),
        thumbs: r.thumbs.0,
        ideal_answer: r.ideal_answer,
        ideal_from: r.ideal_from,
        flags: r.flags,
        comment: r.comment,
        shown_order: r.shown_order,
        version: r.version,
        updated_at: r.updated_at,
    }))
}

/// The user's annotations in a project, newest first, optionally only those whose prompt,
/// ideal answer or comment contains `search` (case-insensitive).
pub async fn history(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    project_id: Uuid,
    search: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<HistoryEntry>> {
    sqlx::query_as!(
        HistoryEntry,
        r#"SELECT a.annotation_id, a.item_id,
                  left(coalesce(i.messages -> -1 ->> 'content', ''), 160) AS "prompt_excerpt!",
                  a.flags AS "flags!: Vec<Flag>", a.version, a.updated_at AS "updated_at: DateTime<Utc>"
           FROM annotations a JOIN items i ON i.item_id = a.item_id
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
