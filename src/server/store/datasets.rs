//! Dataset versions: the version rows, their frozen members, and reading the members back
//! as export rows (from the live tables, the replaced annotation versions, or what was
//! retired with a deleted item).

use super::items::{ExportAnnotationRow, ExportAnswerRow, ExportItemRow};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

/// Up to `limit` of the version's items after place `after`, in the version's order.
pub async fn frozen_items(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<ExportItemRow>> {
    sqlx::query_as!(
        ExportItemRow,
        r#"SELECT d.ord AS "item_seq!", d.item_id AS "item_id!",
                  coalesce(i.external_id, r.external_id) AS external_id,
                  coalesce(i.messages, r.messages) AS "messages!: Json<Vec<crate::model::project::Message>>",
                  d.gold
           FROM dataset_items d
           LEFT JOIN items i ON i.item_id = d.item_id
           LEFT JOIN retired_items r ON r.item_id = d.item_id
           WHERE d.version_id = $1 AND d.ord > $2
           ORDER BY d.ord LIMIT $3"#,
        version_id,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// The answers the version's items at places `first..=last` had, by place, then ordinal.
pub async fn frozen_answers(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    (first, last): (i64, i64),
) -> sqlx::Result<Vec<ExportAnswerRow>> {
    sqlx::query_as!(
        ExportAnswerRow,
        r#"SELECT d.ord AS "item_seq!", x.response_id AS "response_id!", x.ordinal AS "ordinal!",
                  x.model, x.content AS "content!"
           FROM dataset_items d
           CROSS JOIN LATERAL unnest(d.answers) AS a(response_id)
           JOIN (SELECT response_id, ordinal, model, content FROM responses
                 UNION ALL
                 SELECT response_id, ordinal, model, content FROM retired_responses) x
             ON x.response_id = a.response_id
           WHERE d.version_id = $1 AND d.ord BETWEEN $2 AND $3
           ORDER BY d.ord, x.ordinal"#,
        version_id,
        first,
        last
    )
    .fetch_all(db)
    .await
}

/// The annotation versions the version holds of its items at places `first..=last`, by
/// place, then oldest first.
pub async fn frozen_annotations(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    (first, last): (i64, i64),
) -> sqlx::Result<Vec<ExportAnnotationRow>> {
    sqlx::query_as!(
        ExportAnnotationRow,
        r#"SELECT d.ord AS "item_seq!", h.annotation_id AS "annotation_id!", h.user_id,
                  h.end_user_id, h.source AS "source!",
                  h.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  h.thumbs AS "thumbs!: Json<std::collections::BTreeMap<Uuid, bool>>",
                  h.ideal_answer, h.ideal_from,
                  h.flags AS "flags!: Vec<crate::model::annotation::Flag>",
                  h.comment, h.judgments AS "judgments!: Json<crate::model::judgment::Judgments>", h.guideline_version,
                  h.shown_order AS "shown_order!", h.proposal_id,
                  h.time_spent_ms AS "time_spent_ms!", h.version AS "version!",
                  h.created_at AS "created_at!: chrono::DateTime<chrono::Utc>",
                  h.updated_at AS "updated_at!: chrono::DateTime<chrono::Utc>",
                  d.annotator_status,
                  NULL::uuid AS "item_id?", NULL::bigint AS "stream_tx?", NULL::bigint AS "stream_seq?"
           FROM dataset_annotations d
           JOIN annotation_history h
             ON h.annotation_id = d.annotation_id AND h.version = d.annotation_version
           WHERE d.version_id = $1 AND d.ord BETWEEN $2 AND $3
           ORDER BY d.ord, h.created_at, h.annotation_id"#,
        version_id,
        first,
        last
    )
    .fetch_all(db)
    .await
}

/// The number the next version of `name` gets.
pub async fn next_number(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    name: &str,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(max(version), 0) + 1 AS "next!" FROM dataset_versions
           WHERE project_id = $1 AND name = $2"#,
        project_id,
        name
    )
    .fetch_one(db)
    .await
}

pub struct NewVersion<'a> {
    pub version_id: Uuid,
    pub project_id: Uuid,
    pub name: &'a str,
    pub version: i32,
    pub spec: &'a serde_json::Value,
    pub created_by: Option<Uuid>,
    pub created_via: &'a str,
}

/// Stores a version row, without manifest until its files are made;
/// `dataset_versions_project_id_name_version_key` when it exists.
pub async fn insert_version(db: impl PgExecutor<'_>, v: &NewVersion<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO dataset_versions (version_id, project_id, name, version, spec, created_by,
                                       created_via)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        v.version_id,
        v.project_id,
        v.name,
        v.version,
        v.spec,
        v.created_by,
        v.created_via
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Stores members: items at places `ords` with their answers (each as an array literal) and
/// whether each is gold.
pub async fn insert_items(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    ords: &[i64],
    item_ids: &[Uuid],
    answers: &[String],
    gold: &[bool],
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO dataset_items (version_id, ord, item_id, answers, gold)
         SELECT $1, o, i, a::uuid[], g
         FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::bool[]) AS t(o, i, a, g)",
        version_id,
        ords,
        item_ids,
        answers,
        gold
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Stores members: annotation `ids` at `versions`, of the items at places `ords`, with
/// their authors' standing (`None` for end users).
pub async fn insert_annotations(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    ords: &[i64],
    ids: &[Uuid],
    versions: &[i32],
    statuses: &[Option<String>],
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO dataset_annotations (version_id, ord, annotation_id, annotation_version,
                                          annotator_status)
         SELECT $1, o, a, v, s
         FROM unnest($2::bigint[], $3::uuid[], $4::int[], $5::text[]) AS t(o, a, v, s)",
        version_id,
        ords,
        ids,
        versions,
        statuses as &[Option<String>]
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The manifest of a version, stored once its files' digests are known.
pub async fn set_manifest(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
    manifest: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE dataset_versions SET manifest = $2 WHERE version_id = $1",
        version_id,
        manifest
    )
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct VersionRow {
    pub version_id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub version: i32,
    pub spec: serde_json::Value,
    pub created_by: Option<String>,
    pub created_via: String,
    pub created_at: DateTime<Utc>,
    pub manifest: serde_json::Value,
}

/// One version by name and number.
pub async fn find(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    name: &str,
    version: i32,
) -> sqlx::Result<Option<VersionRow>> {
    sqlx::query_as!(
        VersionRow,
        r#"SELECT v.version_id, v.project_id, v.name, v.version, v.spec, u.email AS "created_by?",
                  v.created_via, v.created_at AS "created_at: chrono::DateTime<chrono::Utc>", v.manifest AS "manifest!"
           FROM dataset_versions v LEFT JOIN users u ON u.user_id = v.created_by
           WHERE v.project_id = $1 AND v.name = $2 AND v.version = $3 AND v.manifest IS NOT NULL"#,
        project_id,
        name,
        version
    )
    .fetch_optional(db)
    .await
}

/// Up to `limit` of the project's versions, newest first, after the cursor
/// (`created_at`, `version_id`) of the last one seen.
pub async fn list(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<VersionRow>> {
    let (at, id) = before.unzip();
    sqlx::query_as!(
        VersionRow,
        r#"SELECT v.version_id, v.project_id, v.name, v.version, v.spec, u.email AS "created_by?",
                  v.created_via, v.created_at AS "created_at: chrono::DateTime<chrono::Utc>", v.manifest AS "manifest!"
           FROM dataset_versions v LEFT JOIN users u ON u.user_id = v.created_by
           WHERE v.project_id = $1 AND v.manifest IS NOT NULL
             AND ($2::timestamptz IS NULL OR (v.created_at, v.version_id) < ($2, $3))
           ORDER BY v.created_at DESC, v.version_id DESC LIMIT $4"#,
        project_id,
        at as _,
        id as _,
        limit
    )
    .fetch_all(db)
    .await
}

/// Labels per author (source, user, end user) among the version's annotations.
pub struct AuthorCount {
    pub source: String,
    pub user_id: Option<Uuid>,
    pub end_user_id: Option<String>,
    pub labels: i64,
}

pub async fn author_counts(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
) -> sqlx::Result<Vec<AuthorCount>> {
    sqlx::query_as!(
        AuthorCount,
        r#"SELECT h.source AS "source!", h.user_id, h.end_user_id, count(*) AS "labels!"
           FROM dataset_annotations d
           JOIN annotation_history h
             ON h.annotation_id = d.annotation_id AND h.version = d.annotation_version
           WHERE d.version_id = $1
           GROUP BY 1, 2, 3"#,
        version_id
    )
    .fetch_all(db)
    .await
}

/// Labels per guideline version (None: made before versions were recorded).
pub async fn guideline_counts(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
) -> sqlx::Result<Vec<(Option<i32>, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT h.guideline_version, count(*) AS "labels!"
           FROM dataset_annotations d
           JOIN annotation_history h
             ON h.annotation_id = d.annotation_id AND h.version = d.annotation_version
           WHERE d.version_id = $1
           GROUP BY 1 ORDER BY 1"#,
        version_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.guideline_version, r.labels))
        .collect())
}

/// Labels made with a model's proposal shown, per model: how many, and how many accepted
/// it as proposed.
pub struct ProposalCount {
    pub model: String,
    pub shown: i64,
    pub accepted: i64,
}

pub async fn proposal_counts(
    db: impl PgExecutor<'_>,
    version_id: Uuid,
) -> sqlx::Result<Vec<ProposalCount>> {
    sqlx::query_as!(
        ProposalCount,
        r#"SELECT p.model, count(*) AS "shown!",
                  count(*) FILTER (WHERE h.proposal_outcome = 'accepted') AS "accepted!"
           FROM dataset_annotations d
           JOIN annotation_history h
             ON h.annotation_id = d.annotation_id AND h.version = d.annotation_version
           JOIN proposals p ON p.proposal_id = h.proposal_id
           WHERE d.version_id = $1
           GROUP BY 1 ORDER BY 1"#,
        version_id
    )
    .fetch_all(db)
    .await
}

/// Annotation membership differences between versions `a` and `b`: (annotation id, version
/// in a, version in b), one side NULL when only the other holds it.
pub async fn member_diff(
    db: impl PgExecutor<'_>,
    a: Uuid,
    b: Uuid,
) -> sqlx::Result<Vec<(Uuid, Option<i32>, Option<i32>)>> {
    let rows = sqlx::query!(
        r#"SELECT coalesce(x.annotation_id, y.annotation_id) AS "annotation_id!",
                  x.annotation_version AS "in_a?", y.annotation_version AS "in_b?"
           FROM (SELECT annotation_id, annotation_version FROM dataset_annotations
                 WHERE version_id = $1) x
           FULL JOIN (SELECT annotation_id, annotation_version FROM dataset_annotations
                      WHERE version_id = $2) y ON x.annotation_id = y.annotation_id
           WHERE x.annotation_version IS DISTINCT FROM y.annotation_version
           ORDER BY 1"#,
        a,
        b
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.annotation_id, r.in_a, r.in_b))
        .collect())
}

/// Removes a version that could not be finished (its members go with it).
pub async fn delete(db: impl PgExecutor<'_>, version_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM dataset_versions WHERE version_id = $1",
        version_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// When the version being made was created (the database's clock).
pub async fn created_at(db: impl PgExecutor<'_>, version_id: Uuid) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        r#"SELECT created_at AS "created_at: DateTime<Utc>" FROM dataset_versions WHERE version_id = $1"#,
        version_id
    )
    .fetch_one(db)
    .await
}
