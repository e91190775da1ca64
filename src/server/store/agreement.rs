//! The agreement sums (see the migration `agreement`): items' parts, the projects' sharded
//! totals and the annotator pairs' totals.

use crate::model::annotation::Flag;
use crate::model::judgment::{Judgments, StrengthScale};
use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One human label, as agreement reads it.
pub struct LabelRow {
    pub item_id: Uuid,
    pub user_id: Uuid,
    pub ranking: Option<Json<Vec<Vec<Uuid>>>>,
    pub thumbs: Json<BTreeMap<Uuid, bool>>,
    pub flags: Vec<Flag>,
    pub judgments: Json<Judgments>,
    /// The strength scale of the guideline version the label was made under.
    pub strength: Option<Json<StrengthScale>>,
}

/// The annotators' labels of these items (end users' feedback is not a rater's label).
pub async fn labels(db: impl PgExecutor<'_>, item_ids: &[Uuid]) -> sqlx::Result<Vec<LabelRow>> {
    sqlx::query_as!(
        LabelRow,
        r#"SELECT a.item_id, a.user_id AS "user_id!",
                  a.ranking AS "ranking: Json<Vec<Vec<Uuid>>>",
                  a.thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>",
                  a.flags AS "flags!: Vec<Flag>",
                  a.judgments AS "judgments!: Json<Judgments>",
                  g.judgment -> 'strength' AS "strength: Json<StrengthScale>"
           FROM annotations a
           JOIN items i ON i.item_id = a.item_id
           LEFT JOIN guideline_versions g
                  ON g.project_id = i.project_id AND g.version = a.guideline_version
           WHERE a.item_id = ANY($1) AND a.user_id IS NOT NULL
           ORDER BY a.item_id, a.user_id"#,
        item_ids
    )
    .fetch_all(db)
    .await
}

/// The parts the items added to the sums last time (none for an item never counted).
pub async fn parts(
    db: impl PgExecutor<'_>,
    item_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, Json<serde_json::Value>)>> {
    let rows = sqlx::query!(
        r#"SELECT item_id, part AS "part: Json<serde_json::Value>"
           FROM item_agreement WHERE item_id = ANY($1)"#,
        item_ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.item_id, r.part)).collect())
}

/// An item's figures and its part of the sums, as now counted.
pub struct ItemRow {
    pub item_id: Uuid,
    pub annotators: i32,
    pub kendall_w: Option<f64>,
    pub pref_agree: i32,
    pub pref_compared: i32,
    pub part: serde_json::Value,
}

pub async fn save_items(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    rows: &[ItemRow],
) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.item_id).collect();
    let annotators: Vec<i32> = rows.iter().map(|r| r.annotators).collect();
    let w: Vec<Option<f64>> = rows.iter().map(|r| r.kendall_w).collect();
    let agree: Vec<i32> = rows.iter().map(|r| r.pref_agree).collect();
    let compared: Vec<i32> = rows.iter().map(|r| r.pref_compared).collect();
    let parts: Vec<serde_json::Value> = rows.iter().map(|r| r.part.clone()).collect();
    sqlx::query!(
        "INSERT INTO item_agreement AS i (item_id, project_id, annotators, kendall_w, pref_agree,
                                          pref_compared, part)
         SELECT item_id, $1, annotators, w, agree, compared, part
         FROM unnest($2::uuid[], $3::int[], $4::float8[], $5::int[], $6::int[], $7::jsonb[])
              AS t (item_id, annotators, w, agree, compared, part)
         ORDER BY item_id
         ON CONFLICT (item_id) DO UPDATE
             SET annotators = excluded.annotators, kendall_w = excluded.kendall_w,
                 pref_agree = excluded.pref_agree, pref_compared = excluded.pref_compared,
                 part = excluded.part, updated_at = now()",
        project_id,
        &ids,
        &annotators,
        &w as &[Option<f64>],
        &agree,
        &compared,
        &parts
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds to the project's totals: (slot, metric, a, b) -> n, locked in key order.
pub async fn add_cells(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    cells: &BTreeMap<(i16, String, i64, i64), f64>,
) -> sqlx::Result<()> {
    if cells.is_empty() {
        return Ok(());
    }
    let mut slots = Vec::with_capacity(cells.len());
    let mut metrics = Vec::with_capacity(cells.len());
    let mut a = Vec::with_capacity(cells.len());
    let mut b = Vec::with_capacity(cells.len());
    let mut n = Vec::with_capacity(cells.len());
    for ((slot, metric, ca, cb), count) in cells {
        slots.push(*slot);
        metrics.push(metric.clone());
        a.push(*ca as i32);
        b.push(*cb as i32);
        n.push(*count);
    }
    sqlx::query!(
        "INSERT INTO agreement_cells AS c (project_id, metric, a, b, slot, n)
         SELECT $1, metric, a, b, slot, n
         FROM unnest($2::text[], $3::int[], $4::int[], $5::smallint[], $6::float8[])
              AS t (metric, a, b, slot, n)
         ORDER BY metric, a, b, slot
         ON CONFLICT (project_id, metric, a, b, slot) DO UPDATE SET n = c.n + excluded.n",
        project_id,
        &metrics,
        &a,
        &b,
        &slots,
        &n
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds to the annotator pairs' totals: (user_a, user_b, metric, a, b) -> n.
pub async fn add_pairs(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    pairs: &BTreeMap<(Uuid, Uuid, String, i64, i64), f64>,
) -> sqlx::Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut users_a = Vec::with_capacity(pairs.len());
    let mut users_b = Vec::with_capacity(pairs.len());
    let mut metrics = Vec::with_capacity(pairs.len());
    let mut a = Vec::with_capacity(pairs.len());
    let mut b = Vec::with_capacity(pairs.len());
    let mut n = Vec::with_capacity(pairs.len());
    for ((ua, ub, metric, ca, cb), count) in pairs {
        users_a.push(*ua);
        users_b.push(*ub);
        metrics.push(metric.clone());
        a.push(*ca as i32);
        b.push(*cb as i32);
        n.push(*count);
    }
    sqlx::query!(
        "INSERT INTO agreement_pairs AS p (project_id, user_a, user_b, metric, a, b, n)
         SELECT $1, user_a, user_b, metric, a, b, n
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::int[], $7::float8[])
              AS t (user_a, user_b, metric, a, b, n)
         ORDER BY user_a, user_b, metric, a, b
         ON CONFLICT (project_id, user_a, user_b, metric, a, b) DO UPDATE SET n = p.n + excluded.n",
        project_id,
        &users_a,
        &users_b,
        &metrics,
        &a,
        &b,
        &n
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The project's totals, slots summed: (metric, a, b, n).
pub async fn totals(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<(String, i64, i64, f64)>> {
    let rows = sqlx::query!(
        r#"SELECT metric, a, b, sum(n) AS "n!" FROM agreement_cells
           WHERE project_id = $1 GROUP BY metric, a, b ORDER BY metric, a, b"#,
        project_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.metric, i64::from(r.a), i64::from(r.b), r.n))
        .collect())
}

pub struct PairTotal {
    pub user_a: Uuid,
    pub user_b: Uuid,
    pub metric: String,
    pub a: i32,
    pub b: i32,
    pub n: f64,
}

/// The annotator pairs' totals.
pub async fn pair_totals(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<PairTotal>> {
    sqlx::query_as!(
        PairTotal,
        "SELECT user_a, user_b, metric, a, b, n FROM agreement_pairs
         WHERE project_id = $1 ORDER BY user_a, user_b, metric, a, b",
        project_id
    )
    .fetch_all(db)
    .await
}

pub struct ContentiousItem {
    pub item_id: Uuid,
    pub external_id: Option<String>,
    pub annotators: i32,
    pub kendall_w: Option<f64>,
    pub pref_agree: i32,
    pub pref_compared: i32,
}

/// The items whose rankings agree least (lowest Kendall's W first).
pub async fn contentious(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<ContentiousItem>> {
    sqlx::query_as!(
        ContentiousItem,
        "SELECT q.item_id, i.external_id, q.annotators, q.kendall_w, q.pref_agree, q.pref_compared
         FROM item_agreement q JOIN items i ON i.item_id = q.item_id
         WHERE q.project_id = $1 AND q.kendall_w IS NOT NULL
         ORDER BY q.kendall_w, q.item_id
         LIMIT $2",
        project_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// Projects whose sums are still to be computed from their labels.
pub async fn pending_rebuilds(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!("SELECT project_id FROM agreement_rebuilds ORDER BY project_id")
        .fetch_all(db)
        .await
}

pub async fn finish_rebuild(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM agreement_rebuilds WHERE project_id = $1",
        project_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The next items (by insertion order, after `after_seq`) that two or more annotators
/// labeled, locked like a submission locks its item; with their insertion numbers.
pub async fn lock_labeled_items(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> sqlx::Result<Vec<(Uuid, i64)>> {
    let rows = sqlx::query!(
        "SELECT i.item_id, i.item_seq FROM items i
         WHERE i.project_id = $1 AND i.item_seq > $2 AND i.annotation_count >= 2
         ORDER BY i.item_seq LIMIT $3
         FOR NO KEY UPDATE OF i",
        project_id,
        after_seq,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.item_id, r.item_seq)).collect())
}

/// Marks an item for the agreement count (an edited label).
pub async fn mark(db: impl PgExecutor<'_>, item_id: Uuid, project_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO agreement_marks (item_id, project_id) VALUES ($1, $2)
         ON CONFLICT (item_id) DO NOTHING",
        item_id,
        project_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Takes up to `limit` marked items whose rows no transaction holds (a submission still
/// running keeps its item for a later pass), locking them like a submission does and
/// removing their marks; with their projects.
pub async fn take_marked(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    let rows = sqlx::query!(
        "WITH taken AS (
             SELECT m.item_id, m.project_id FROM agreement_marks m
             JOIN items i ON i.item_id = m.item_id
             ORDER BY m.project_id, m.item_id
             LIMIT $1
             FOR UPDATE OF m SKIP LOCKED
             FOR NO KEY UPDATE OF i SKIP LOCKED)
         DELETE FROM agreement_marks m USING taken
         WHERE m.item_id = taken.item_id
         RETURNING taken.item_id, taken.project_id",
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.item_id, r.project_id))
        .collect())
}

/// Items marked and not counted yet (all projects, or one).
pub async fn marked(db: impl PgExecutor<'_>, project_id: Option<Uuid>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM agreement_marks WHERE $1::uuid IS NULL OR project_id = $1"#,
        project_id
    )
    .fetch_one(db)
    .await
}

/// One annotator's work on a project, for the scorecards: all of it (`week` `None`), or
/// one week (Monday, UTC).
pub struct WorkRow {
    pub user_id: Uuid,
    pub week: Option<chrono::NaiveDate>,
    pub labels: i64,
    pub median_ms: Option<f64>,
    /// Labels shown a proposal, and those that took it as it was.
    pub proposals: i64,
    pub accepted: i64,
}

/// Every annotator's (one: `only`) labels on the project, in all and per week since
/// `since`, in one pass over them.
pub async fn work(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
    since: chrono::NaiveDate,
) -> sqlx::Result<Vec<WorkRow>> {
    let rows = sqlx::query!(
        r#"SELECT w.user_id AS "user_id!", w.week AS "week: chrono::NaiveDate",
                  grouping(w.week) = 1 AS "overall!",
                  count(*) AS "labels!",
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY w.time_spent_ms) AS median_ms,
                  count(*) FILTER (WHERE w.proposal_id IS NOT NULL) AS "proposals!",
                  count(*) FILTER (WHERE w.proposal_outcome = 'accepted') AS "accepted!"
           FROM (SELECT a.user_id, a.time_spent_ms, a.proposal_id, a.proposal_outcome,
                        CASE WHEN a.created_at >= $3::date
                             THEN date_trunc('week', a.created_at AT TIME ZONE 'UTC')::date END AS week
                 FROM annotations a
                 WHERE a.project_id = $1 AND a.user_id IS NOT NULL
                   AND ($2::uuid IS NULL OR a.user_id = $2)) w
           GROUP BY GROUPING SETS ((w.user_id), (w.user_id, w.week))
           ORDER BY 1, 2"#,
        project_id,
        only,
        since as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        // Weeks before `since` fall into one group without a week: neither row is wanted.
        .filter(|r| r.overall || r.week.is_some())
        .map(|r| WorkRow {
            user_id: r.user_id,
            week: if r.overall { None } else { r.week },
            labels: r.labels,
            median_ms: r.median_ms,
            proposals: r.proposals,
            accepted: r.accepted,
        })
        .collect())
}

/// Per annotator and number of answers shown: rankings, and those whose sole first place
/// is the answer shown first.
pub struct FirstPickRow {
    pub user_id: Uuid,
    pub answers: i32,
    pub rankings: i64,
    pub first_shown: i64,
}

pub async fn first_picks(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<FirstPickRow>> {
    sqlx::query_as!(
        FirstPickRow,
        r#"SELECT a.user_id AS "user_id!", abs(a.first_pick)::int AS "answers!",
                  count(*) AS "rankings!", count(*) FILTER (WHERE a.first_pick > 0) AS "first_shown!"
           FROM annotations a
           WHERE a.project_id = $1 AND a.user_id IS NOT NULL AND a.first_pick IS NOT NULL
             AND ($2::uuid IS NULL OR a.user_id = $2)
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        project_id,
        only
    )
    .fetch_all(db)
    .await
}

/// Items each annotator skipped in the project.
pub async fn skips(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<(Uuid, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT s.user_id, count(*) AS "n!" FROM skips s JOIN items i ON i.item_id = s.item_id
           WHERE i.project_id = $1 AND ($2::uuid IS NULL OR s.user_id = $2)
           GROUP BY s.user_id"#,
        project_id,
        only
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.n)).collect())
}

/// Per annotator: labels of items with a done proposal made without seeing it (held-out
/// annotators, or labels made before the proposal arrived), and those identical to it (the
/// ranking, when there is one, and the thumbs), as an accepted proposal would be.
pub struct UnpromptedRow {
    pub user_id: Uuid,
    pub labels: i64,
    pub matched: i64,
}

pub async fn unprompted(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Vec<UnpromptedRow>> {
    sqlx::query_as!(
        UnpromptedRow,
        r#"SELECT a.user_id AS "user_id!", count(*) AS "labels!",
                  count(*) FILTER (WHERE (a.ranking IS NULL OR a.ranking = p.ranking)
                                     AND a.thumbs = p.thumbs) AS "matched!"
           FROM annotations a JOIN proposals p ON p.item_id = a.item_id AND p.status = 'done'
           WHERE a.project_id = $1 AND a.user_id IS NOT NULL AND a.proposal_id IS NULL
           GROUP BY a.user_id ORDER BY a.user_id"#,
        project_id
    )
    .fetch_all(db)
    .await
}

/// Every counted item's stored part with the value of its metadata field `field` (`None`:
/// absent, or not a string or number).
pub async fn parts_by_metadata(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    field: &str,
) -> sqlx::Result<Vec<(Option<String>, Json<serde_json::Value>)>> {
    let rows = sqlx::query!(
        r#"SELECT CASE WHEN jsonb_typeof(i.metadata -> $2) IN ('string', 'number', 'boolean')
                       THEN i.metadata ->> $2 END AS value,
                  q.part AS "part: Json<serde_json::Value>"
           FROM item_agreement q JOIN items i ON i.item_id = q.item_id
           WHERE q.project_id = $1"#,
        project_id,
        field
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.value, r.part)).collect())
}
