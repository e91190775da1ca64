use crate::model::proposal::ProposalView;
use chrono::NaiveDate;
use sqlx::PgExecutor;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A judged or failed attempt to store.
pub struct NewProposal<'a> {
    pub item_id: Uuid,
    pub project_id: Uuid,
    pub model: &'a str,
    /// `None` for a failed attempt, with `error` saying why.
    pub judgement: Option<&'a crate::model::proposal::Judgement>,
    pub latency_ms: i32,
    pub error: Option<&'a str>,
}

/// Stores the item's proposal, replacing an earlier failed attempt (never a done one).
/// Returns false when the item already had a done proposal. A done proposal of an item
/// annotators labeled marks the item for the agreement count (the proposal is compared with
/// their consensus).
pub async fn upsert(db: impl PgExecutor<'_>, p: &NewProposal<'_>) -> sqlx::Result<bool> {
    let j = p.judgement;
    let done = sqlx::query!(
        r#"WITH stored AS (
               INSERT INTO proposals (item_id, project_id, status, model, ranking, thumbs, rationale,
                                      confidence, latency_ms, error)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (item_id) DO UPDATE SET
                   status = EXCLUDED.status, model = EXCLUDED.model, ranking = EXCLUDED.ranking,
                   thumbs = EXCLUDED.thumbs, rationale = EXCLUDED.rationale,
                   confidence = EXCLUDED.confidence, latency_ms = EXCLUDED.latency_ms,
                   error = EXCLUDED.error, created_at = now()
               WHERE proposals.status <> 'done'
               RETURNING item_id, project_id, status),
           marked AS (
               INSERT INTO agreement_marks (item_id, project_id)
               SELECT s.item_id, s.project_id FROM stored s
               WHERE s.status = 'done'
                 AND EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = s.item_id AND a.user_id IS NOT NULL)
               ON CONFLICT (item_id) DO NOTHING)
           SELECT count(*) AS "stored!" FROM stored"#,
        p.item_id,
        p.project_id,
        if j.is_some() { "done" } else { "failed" },
        p.model,
        j.map(|j| Json(&j.ranking)) as _,
        j.map(|j| Json(&j.thumbs)) as _,
        j.map(|j| j.rationale.as_str()),
        j.map(|j| j.confidence),
        p.latency_ms,
        p.error,
    )
    .fetch_one(db)
    .await?;
    Ok(done.stored == 1)
}

/// A done proposal as stored, with the share of annotators its project holds out.
struct DoneRow {
    item_id: Uuid,
    proposal_id: Uuid,
    model: String,
    ranking: Json<Vec<Vec<Uuid>>>,
    thumbs: Json<BTreeMap<Uuid, bool>>,
    rationale: String,
    confidence: f32,
    proposal_holdout: f32,
}

impl DoneRow {
    fn view(self) -> ProposalView {
        ProposalView {
            proposal_id: self.proposal_id,
            model: self.model,
            ranking: self.ranking.0,
            thumbs: self.thumbs.0,
            rationale: self.rationale,
            confidence: self.confidence,
        }
    }
}

/// The done proposals of these items (with their projects' hold-out share).
async fn done(db: impl PgExecutor<'_>, item_ids: &[Uuid]) -> sqlx::Result<Vec<DoneRow>> {
    sqlx::query_as!(
        DoneRow,
        r#"SELECT p.item_id, p.proposal_id, p.model, p.ranking AS "ranking!: Json<Vec<Vec<Uuid>>>",
                  p.thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>", p.rationale AS "rationale!",
                  p.confidence AS "confidence!", pr.proposal_holdout
           FROM proposals p JOIN projects pr ON pr.project_id = p.project_id
           WHERE p.item_id = ANY($1) AND p.status = 'done'"#,
        item_ids
    )
    .fetch_all(db)
    .await
}

/// The item's done proposal and the share of annotators its project holds out.
pub async fn for_item(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
) -> sqlx::Result<Option<(ProposalView, f32)>> {
    Ok(done(db, &[item_id]).await?.pop().map(|r| {
        let holdout = r.proposal_holdout;
        (r.view(), holdout)
    }))
}

/// The done proposals of these items, by item.
pub async fn done_for_items(
    db: impl PgExecutor<'_>,
    item_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, ProposalView)>> {
    Ok(done(db, item_ids)
        .await?
        .into_iter()
        .map(|r| (r.item_id, r.view()))
        .collect())
}

/// Proposals of the project by status: (done, failed).
pub async fn counts(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'done') AS "done!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!"
           FROM proposals WHERE project_id = $1"#,
        project_id
    )
    .fetch_one(db)
    .await?;
    Ok((row.done, row.failed))
}

/// An annotation made with a proposal in view, for the agreement report.
pub struct Compared {
    pub day: NaiveDate,
    pub outcome: Option<String>,
    pub proposed: Json<Vec<Vec<Uuid>>>,
    pub given: Option<Json<Vec<Vec<Uuid>>>>,
}

/// Annotations of the project whose author was shown a proposal, with both rankings.
pub async fn compared(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<Compared>> {
    sqlx::query_as!(
        Compared,
        r#"SELECT (a.created_at AT TIME ZONE 'UTC')::date AS "day!: NaiveDate", a.proposal_outcome AS outcome,
                  p.ranking AS "proposed!: Json<Vec<Vec<Uuid>>>",
                  a.ranking AS "given: Json<Vec<Vec<Uuid>>>"
           FROM annotations a JOIN proposals p ON p.proposal_id = a.proposal_id
           WHERE a.project_id = $1 AND a.source = 'annotator'
           ORDER BY a.created_at"#,
        project_id
    )
    .fetch_all(db)
    .await
}

/// Stores the item's second judgement, with its answers in `shown_order`, beside its done
/// proposal (none is stored when the item has no done proposal).
pub async fn upsert_swap(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    shown_order: &[Uuid],
    judgement: &crate::model::proposal::Judgement,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO proposal_swaps (item_id, proposal_id, project_id, model, shown_order, ranking,
                                     thumbs, confidence)
         SELECT p.item_id, p.proposal_id, p.project_id, p.model, $2, $3, $4, $5
         FROM proposals p WHERE p.item_id = $1 AND p.status = 'done'
         ON CONFLICT (item_id) DO UPDATE SET proposal_id = EXCLUDED.proposal_id,
             model = EXCLUDED.model, shown_order = EXCLUDED.shown_order,
             ranking = EXCLUDED.ranking, thumbs = EXCLUDED.thumbs,
             confidence = EXCLUDED.confidence, created_at = now()",
        item_id,
        shown_order,
        Json(&judgement.ranking) as _,
        Json(&judgement.thumbs) as _,
        judgement.confidence,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An item the model judged twice: its answers in their original order (as first shown to
/// the model), and both rankings.
pub struct Swap {
    pub model: String,
    pub answers: Vec<Uuid>,
    pub first: Json<Vec<Vec<Uuid>>>,
    pub shown_order: Vec<Uuid>,
    pub second: Json<Vec<Vec<Uuid>>>,
}

pub async fn swaps(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<Swap>> {
    sqlx::query_as!(
        Swap,
        r#"SELECT s.model,
                  (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}')
                   FROM responses r WHERE r.item_id = s.item_id) AS "answers!",
                  p.ranking AS "first!: Json<Vec<Vec<Uuid>>>", s.shown_order,
                  s.ranking AS "second!: Json<Vec<Vec<Uuid>>>"
           FROM proposal_swaps s JOIN proposals p ON p.proposal_id = s.proposal_id
           WHERE s.project_id = $1 AND p.status = 'done'
           ORDER BY s.item_id"#,
        project_id
    )
    .fetch_all(db)
    .await
}
