use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

pub struct ItemRow {
    pub item_id: Uuid,
    pub item_seq: i64,
    pub external_id: Option<String>,
    pub messages: serde_json::Value,
    pub is_gold: bool,
}

/// Inserts an item unless the project already has one with this `external_id`.
/// Returns the new item's id, or `None` when it was already there.
pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    external_id: Option<&str>,
    messages: &serde_json::Value,
    metadata: &serde_json::Value,
    gold: Option<&serde_json::Value>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        r#"INSERT INTO items (project_id, external_id, messages, metadata, gold, is_gold)
           VALUES ($1, $2, $3, $4, $5, $5::jsonb IS NOT NULL)
           ON CONFLICT (project_id, external_id) DO NOTHING
           RETURNING item_id"#,
        project_id,
        external_id,
        Json(messages) as _,
        Json(metadata) as _,
        gold.map(Json) as _,
    )
    .fetch_optional(db)
    .await
}

/// Up to `limit` items after `after` (an `item_seq`), in insertion order.
pub async fn page(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<ItemRow>> {
    sqlx::query_as!(
        ItemRow,
        r#"SELECT item_id, item_seq, external_id, messages, is_gold
           FROM items WHERE project_id = $1 AND item_seq > $2
           ORDER BY item_seq LIMIT $3"#,
        project_id,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// An item [`lock_next_candidate`] found and locked.
pub struct Candidate {
    pub item_id: Uuid,
    /// The item's answers in their original order.
    pub answers: Vec<Uuid>,
}

/// The first item of the project this user may still label (not one they labeled, skipped
/// or had a label rejected on in review), locked for this transaction.
/// Rows other transactions hold are skipped, so concurrent callers get different items;
/// with `wait`, the first such item is taken even if another transaction holds it, waiting
/// for it (for when skipping found nothing: the items left may only be busy for a moment,
/// a submission or the agreement counter holding them).
/// `NO KEY UPDATE` does not conflict with the key-share locks that inserts referencing the
/// item (assignments, annotations, proposals) take, so those do not hide it.
/// The capacity test here reads the statement's snapshot; [`assignments::lease_if_free`]
/// confirms it.
///
/// [`assignments::lease_if_free`]: super::assignments::lease_if_free
pub async fn lock_next_candidate(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
    overlap: i32,
    wait: bool,
) -> sqlx::Result<Option<Candidate>> {
    // One statement twice: a locking clause cannot be a parameter.
    if wait {
        sqlx::query_as!(
            Candidate,
            r#"SELECT i.item_id,
                  (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}')
                   FROM responses r WHERE r.item_id = i.item_id) AS "answers!"
           FROM items i
           WHERE i.project_id = $1 AND i.completed_at IS NULL AND NOT i.is_gold
             AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.item_id AND a.user_id = $2)
             AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.item_id AND s.user_id = $2)
             AND NOT EXISTS (SELECT 1 FROM reviews v
                             WHERE v.item_id = i.item_id AND v.annotator_id = $2 AND v.outcome = 'rejected')
             AND i.annotation_count + (SELECT count(*) FROM assignments l
                                       WHERE l.item_id = i.item_id AND l.user_id <> $2 AND l.expires_at > now())
                 < greatest(i.target_overlap, $3)
           ORDER BY i.item_seq
           LIMIT 1
           FOR NO KEY UPDATE OF i"#,
            project_id,
            user_id,
            overlap
        )
        .fetch_optional(db)
        .await
    } else {
        sqlx::query_as!(
            Candidate,
            r#"SELECT i.item_id,
                  (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}')
                   FROM responses r WHERE r.item_id = i.item_id) AS "answers!"
           FROM items i
           WHERE i.project_id = $1 AND i.completed_at IS NULL AND NOT i.is_gold
             AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.item_id AND a.user_id = $2)
             AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.item_id AND s.user_id = $2)
             AND NOT EXISTS (SELECT 1 FROM reviews v
                             WHERE v.item_id = i.item_id AND v.annotator_id = $2 AND v.outcome = 'rejected')
             AND i.annotation_count + (SELECT count(*) FROM assignments l
                                       WHERE l.item_id = i.item_id AND l.user_id <> $2 AND l.expires_at > now())
                 < greatest(i.target_overlap, $3)
           ORDER BY i.item_seq
           LIMIT 1
           FOR NO KEY UPDATE OF i SKIP LOCKED"#,
            project_id,
            user_id,
            overlap
        )
        .fetch_optional(db)
        .await
    }
}

pub struct LockedItem {
    pub project_id: Uuid,
    pub annotation_count: i32,
    /// The item's answers in their original order.
    pub answers: Vec<Uuid>,
    /// Its expected label, when it is a gold item.
    pub gold: Option<sqlx::types::Json<crate::model::gold::Gold>>,
    /// Annotators it needs now, when disagreement raised it above the project's overlap.
    pub target_overlap: Option<i32>,
}

/// Locks an item for a submission; returns it with its answers.
pub async fn lock(db: impl PgExecutor<'_>, item_id: Uuid) -> sqlx::Result<Option<LockedItem>> {
    sqlx::query_as!(
        LockedItem,
        r#"SELECT i.project_id, i.annotation_count,
                  (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}')
                   FROM responses r WHERE r.item_id = i.item_id) AS "answers!",
                  i.gold AS "gold: sqlx::types::Json<crate::model::gold::Gold>",
                  i.target_overlap
           FROM items i WHERE i.item_id = $1 FOR NO KEY UPDATE OF i"#,
        item_id
    )
    .fetch_optional(db)
    .await
}

pub async fn messages(db: impl PgExecutor<'_>, item_id: Uuid) -> sqlx::Result<serde_json::Value> {
    sqlx::query_scalar!("SELECT messages FROM items WHERE item_id = $1", item_id)
        .fetch_one(db)
        .await
}

/// What the workspace shows for an item, in one round trip: its messages and answers
/// (in original order, as parallel arrays), the project's completed and total items and
/// the user's annotations stored today (UTC, the connections' time zone; from
/// `annotator_days`), and the item's done
/// proposal (JSON) with the share of annotators the project holds out.
pub struct TaskContent {
    pub messages: Json<Vec<crate::model::project::Message>>,
    pub answer_ids: Vec<Uuid>,
    pub answer_ordinals: Vec<i16>,
    pub answer_models: Vec<Option<String>>,
    pub answer_contents: Vec<String>,
    pub completed: i64,
    pub total: i64,
    pub mine_today: i64,
    pub proposal: Option<serde_json::Value>,
    pub proposal_holdout: f32,
}

pub async fn task_content(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<TaskContent> {
    sqlx::query_as!(
        TaskContent,
        r#"SELECT i.messages AS "messages: Json<Vec<crate::model::project::Message>>",
                  r.ids AS "answer_ids!", r.ordinals AS "answer_ordinals!",
                  r.models AS "answer_models!: Vec<Option<String>>", r.contents AS "answer_contents!",
                  c.completed AS "completed!", c.total AS "total!",
                  coalesce((SELECT d.annotations FROM annotator_days d
                            WHERE d.user_id = $2 AND d.project_id = i.project_id AND d.day = current_date),
                           0) AS "mine_today!",
                  (SELECT jsonb_build_object('proposal_id', p.proposal_id, 'model', p.model,
                              'ranking', p.ranking, 'thumbs', p.thumbs, 'rationale', p.rationale,
                              'confidence', p.confidence)
                   FROM proposals p WHERE p.item_id = i.item_id AND p.status = 'done') AS proposal,
                  pr.proposal_holdout
           FROM items i JOIN projects pr ON pr.project_id = i.project_id
           CROSS JOIN LATERAL (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}') AS ids,
                                      coalesce(array_agg(r.ordinal ORDER BY r.ordinal), '{}') AS ordinals,
                                      coalesce(array_agg(r.model ORDER BY r.ordinal), '{}') AS models,
                                      coalesce(array_agg(r.content ORDER BY r.ordinal), '{}') AS contents
                               FROM responses r WHERE r.item_id = i.item_id) r
           CROSS JOIN LATERAL (SELECT coalesce(sum(p.completed), 0)::bigint AS completed,
                                      coalesce(sum(p.items), 0)::bigint AS total
                               FROM project_progress p WHERE p.project_id = i.project_id) c
           WHERE i.item_id = $1"#,
        item_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Re-derives which items are complete after the project's overlap (or an item's target)
/// changed. Gold items take every annotator and are never complete.
pub async fn recompute_completion(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    overlap: i32,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE items
         SET completed_at = CASE WHEN annotation_count >= greatest(target_overlap, $2) AND NOT is_gold
                                 THEN coalesce(completed_at, now()) END
         WHERE project_id = $1",
        project_id,
        overlap
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts a batch of items in one statement, skipping those whose `external_id` the
/// project already has. Returns the ids that were inserted.
pub async fn insert_batch(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    item_ids: &[Uuid],
    external_ids: &[Option<String>],
    messages: &[serde_json::Value],
    metadata: &[serde_json::Value],
    gold: &[Option<serde_json::Value>],
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"INSERT INTO items (item_id, project_id, external_id, messages, metadata, gold, is_gold)
           SELECT u.item_id, $1, u.external_id, u.messages, u.metadata, u.gold, u.gold IS NOT NULL
           FROM UNNEST($2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::jsonb[])
                AS u(item_id, external_id, messages, metadata, gold)
           ON CONFLICT (project_id, external_id) DO NOTHING
           RETURNING item_id"#,
        project_id,
        item_ids,
        external_ids as &[Option<String>],
        messages,
        metadata,
        gold as &[Option<serde_json::Value>],
    )
    .fetch_all(db)
    .await
}

/// The items `ids` (of the project), one row per entry, whose `item_seq` is the entry's
/// place in `ids` (from 1): an item named twice comes twice.
pub async fn export_items_by_id(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    ids: &[Uuid],
) -> sqlx::Result<Vec<ExportItemRow>> {
    sqlx::query_as!(
        ExportItemRow,
        r#"SELECT e.n AS "item_seq!", i.item_id, i.external_id,
                  i.messages AS "messages: Json<Vec<crate::model::project::Message>>",
                  i.is_gold AS "gold?"
           FROM unnest($2::uuid[]) WITH ORDINALITY AS e(item_id, n)
           JOIN items i ON i.item_id = e.item_id
           WHERE i.project_id = $1
           ORDER BY e.n"#,
        project_id,
        ids
    )
    .fetch_all(db)
    .await
}

/// The answers of the items `ids`, by entry as [`export_items_by_id`] numbers them, then by
/// ordinal.
pub async fn export_answers_by_id(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> sqlx::Result<Vec<ExportAnswerRow>> {
    sqlx::query_as!(
        ExportAnswerRow,
        r#"SELECT e.n AS "item_seq!", r.response_id, r.ordinal, r.model, r.content
           FROM unnest($1::uuid[]) WITH ORDINALITY AS e(item_id, n)
           JOIN responses r ON r.item_id = e.item_id
           ORDER BY e.n, r.ordinal"#,
        ids
    )
    .fetch_all(db)
    .await
}

/// How many annotators the item needs now, when disagreement raised it above its project's
/// overlap.
pub async fn target_overlap(db: impl PgExecutor<'_>, item_id: Uuid) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        "SELECT target_overlap FROM items WHERE item_id = $1",
        item_id
    )
    .fetch_one(db)
    .await
}

/// The project's item with `external_id`: its id and place.
pub async fn find_by_external_id(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    external_id: &str,
) -> sqlx::Result<Option<ExportItemRow>> {
    sqlx::query_as!(
        ExportItemRow,
        r#"SELECT i.item_seq, i.item_id, i.external_id,
                  i.messages AS "messages: Json<Vec<crate::model::project::Message>>",
                  i.is_gold AS "gold?"
           FROM items i WHERE i.project_id = $1 AND i.external_id = $2"#,
        project_id,
        external_id
    )
    .fetch_optional(db)
    .await
}

/// Deletes the project's item with `external_id` (its answers, annotations and queue rows
/// go with it; what dataset versions hold of it is kept by a trigger). False when there is
/// none.
pub async fn delete(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    external_id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM items WHERE project_id = $1 AND external_id = $2",
        project_id,
        external_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub struct EndUserItem {
    pub item_id: Uuid,
    pub origin: String,
}

/// Creates the item end-user feedback is about, kept out of the annotators' queue (it has a
/// single answer), unless the project has one with this `external_id`: then that one is
/// locked and returned.
pub async fn upsert_for_feedback(
    db: &mut sqlx::PgConnection,
    project_id: Uuid,
    external_id: Option<&str>,
    messages: &serde_json::Value,
) -> sqlx::Result<EndUserItem> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO items (project_id, external_id, messages, origin, completed_at)
           VALUES ($1, $2, $3, 'end_user', now())
           ON CONFLICT (project_id, external_id) DO NOTHING
           RETURNING item_id"#,
        project_id,
        external_id,
        Json(messages) as _,
    )
    .fetch_optional(&mut *db)
    .await?;
    if let Some(item_id) = inserted {
        return Ok(EndUserItem {
            item_id,
            origin: "end_user".into(),
        });
    }
    sqlx::query_as!(
        EndUserItem,
        "SELECT item_id, origin FROM items WHERE project_id = $1 AND external_id = $2 FOR UPDATE",
        project_id,
        external_id
    )
    .fetch_one(db)
    .await
}

/// Makes the (just begun) transaction read one snapshot throughout, read-only: an export
/// reads its pages as of one moment. With `shared`, the snapshot is the one another open
/// transaction exported ([`export_snapshot`]), so several connections read the same moment.
/// Its page queries run without parallel workers: each reads a few thousand rows by index,
/// where starting workers costs more than it saves (and the exporting process wants the
/// other cores).
pub async fn read_snapshot(db: &mut sqlx::PgConnection, shared: Option<&str>) -> sqlx::Result<()> {
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *db)
        .await?;
    if let Some(snapshot) = shared {
        // SET takes no parameters; a snapshot id is hex digits and dashes, checked here.
        if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(sqlx::Error::Protocol(format!(
                "not a snapshot id: {snapshot}"
            )));
        }
        sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
            .execute(&mut *db)
            .await?;
    }
    sqlx::query!("SET LOCAL max_parallel_workers_per_gather = 0")
        .execute(db)
        .await?;
    Ok(())
}

/// The id of this transaction's snapshot, for other connections to read it too while this
/// transaction is open.
pub async fn export_snapshot(db: &mut sqlx::PgConnection) -> sqlx::Result<String> {
    sqlx::query_scalar!(r#"SELECT pg_export_snapshot() AS "id!""#)
        .fetch_one(db)
        .await
}

pub struct ExportItemRow {
    pub item_seq: i64,
    pub item_id: Uuid,
    pub external_id: Option<String>,
    pub messages: Json<Vec<crate::model::project::Message>>,
    /// Whether it is a gold item (`None`: a dataset version made before this was recorded).
    pub gold: Option<bool>,
}

/// Up to `limit` of the project's items after `after` (an `item_seq`) (only complete ones
/// with `complete_only`), in insertion order. Whether they have annotations is for the
/// caller to see: asking here costs an index probe per item.
pub async fn export_items(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    complete_only: bool,
    include_gold: bool,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<ExportItemRow>> {
    sqlx::query_as!(
        ExportItemRow,
        r#"SELECT i.item_seq, i.item_id, i.external_id,
                  i.messages AS "messages: Json<Vec<crate::model::project::Message>>",
                  i.is_gold AS "gold?"
           FROM items i
           WHERE i.project_id = $1 AND i.item_seq > $3 AND (NOT $2 OR i.completed_at IS NOT NULL)
             AND ($5 OR NOT i.is_gold)
           ORDER BY i.item_seq LIMIT $4"#,
        project_id,
        complete_only,
        after,
        limit,
        include_gold
    )
    .fetch_all(db)
    .await
}

pub struct ExportAnswerRow {
    pub item_seq: i64,
    pub response_id: Uuid,
    pub ordinal: i16,
    pub model: Option<String>,
    pub content: String,
}

/// The answers of the items `ids` (of the project, with `item_seq` in [`first`, `last`]),
/// by item, then by ordinal.
pub async fn export_answers(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    (first, last): (i64, i64),
    ids: &[Uuid],
) -> sqlx::Result<Vec<ExportAnswerRow>> {
    sqlx::query_as!(
        ExportAnswerRow,
        r#"SELECT i.item_seq, r.response_id, r.ordinal, r.model, r.content
           FROM items i JOIN responses r ON r.item_id = i.item_id
           WHERE i.project_id = $1 AND i.item_seq BETWEEN $2 AND $3 AND i.item_id = ANY($4)
           ORDER BY i.item_seq, r.ordinal"#,
        project_id,
        first,
        last,
        ids
    )
    .fetch_all(db)
    .await
}

pub struct ExportAnnotationRow {
    pub item_seq: i64,
    pub annotation_id: Uuid,
    pub user_id: Option<Uuid>,
    pub end_user_id: Option<String>,
    pub source: String,
    pub ranking: Option<Json<Vec<Vec<Uuid>>>>,
    pub thumbs: Json<std::collections::BTreeMap<Uuid, bool>>,
    pub ideal_answer: Option<String>,
    pub ideal_from: Option<Uuid>,
    pub flags: Vec<crate::model::annotation::Flag>,
    pub comment: Option<String>,
    pub judgments: Json<crate::model::judgment::Judgments>,
    /// The guideline version the label was made under (`None`: before they were recorded).
    pub guideline_version: Option<i32>,
    pub shown_order: Vec<Uuid>,
    pub proposal_id: Option<Uuid>,
    pub time_spent_ms: i32,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The author's standing on the project (an annotator's: active, flagged or paused).
    pub annotator_status: Option<String>,
    /// The feedback stream's rows only: the annotation's item and cursor position.
    pub item_id: Option<Uuid>,
    pub stream_tx: Option<i64>,
    pub stream_seq: Option<i64>,
}

/// The annotations of the project's items with `item_seq` in [`first`, `last`] last
/// changed within [`from`, `to`), by item, then oldest first.
pub async fn export_annotations(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    (first, last): (i64, i64),
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    without_flagged: bool,
    review: &str,
) -> sqlx::Result<Vec<ExportAnnotationRow>> {
    sqlx::query_as!(
        ExportAnnotationRow,
        r#"SELECT i.item_seq, a.annotation_id, a.user_id, a.end_user_id, a.source,
                  a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.thumbs AS "thumbs!: Json<std::collections::BTreeMap<Uuid, bool>>",
                  a.ideal_answer, a.ideal_from, a.flags AS "flags!: Vec<crate::model::annotation::Flag>",
                  a.comment, a.judgments AS "judgments!: Json<crate::model::judgment::Judgments>", a.guideline_version,
                  a.shown_order, a.proposal_id, a.time_spent_ms, a.version,
                  a.created_at AS "created_at: chrono::DateTime<chrono::Utc>",
                  a.updated_at AS "updated_at: chrono::DateTime<chrono::Utc>",
                  CASE WHEN a.user_id IS NULL THEN NULL WHEN s.paused THEN 'paused'
                       WHEN s.flagged THEN 'flagged' ELSE 'active' END AS annotator_status,
                  NULL::uuid AS "item_id?", NULL::bigint AS "stream_tx?", NULL::bigint AS "stream_seq?"
           FROM items i JOIN annotations a ON a.item_id = i.item_id
           LEFT JOIN annotator_status s ON s.project_id = a.project_id AND s.user_id = a.user_id
           WHERE i.project_id = $1 AND i.item_seq BETWEEN $2 AND $3
             AND ($4::timestamptz IS NULL OR a.updated_at >= $4)
             AND ($5::timestamptz IS NULL OR a.updated_at < $5)
             AND (NOT $6 OR NOT EXISTS (SELECT 1 FROM annotator_status s
                                        WHERE s.project_id = $1 AND s.user_id = a.user_id AND s.flagged))
             AND CASE $7::text
                 WHEN 'reviewed' THEN EXISTS (
                     SELECT 1 FROM reviews v WHERE v.annotation_id = a.annotation_id
                       AND v.reviewed_version = a.version AND v.outcome <> 'rejected')
                 WHEN 'adjudicated' THEN NOT EXISTS (
                     SELECT 1 FROM adjudications d
                     WHERE d.item_id = a.item_id AND d.annotation_id <> a.annotation_id)
                 ELSE true END
           ORDER BY i.item_seq, a.created_at"#,
        project_id,
        first,
        last,
        from as _,
        to as _,
        without_flagged,
        review
    )
    .fetch_all(db)
    .await
}
