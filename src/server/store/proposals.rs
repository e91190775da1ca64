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
/// Returns false when the item already had a done proposal.
pub async fn upsert(db: impl PgExecutor<'_>, p: &NewProposal<'_>) -> sqlx::Result<bool> {
    let j = p.judgement;
    let done = sqlx::query!(
        r#"INSERT INTO proposals (item_id, project_id, status, model, ranking, thumbs, rationale,
                                  confidence, latency_ms, error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (item_id) DO UPDATE SET
               status = EXCLUDED.status, model = EXCLUDED.model, ranking = EXCLUDED.ranking,
               thumbs = EXCLUDED.thumbs, rationale = EXCLUDED.rationale,
               confidence = EXCLUDED.confidence, latency_ms = EXCLUDED.latency_ms,
               error = EXCLUDED.error, created_at = now()
           WHERE proposals.status <> 'done'"#,
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
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The item's done proposal and the share of annotators its project holds out.
pub async fn for_item(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
) -> sqlx::Result<Option<(ProposalView, f32)>> {
    let row = sqlx::query!(
        r#"SELECT p.proposal_id, p.model, p.ranking AS "ranking!: Json<Vec<Vec<Uuid>>>",
                  p.thumbs AS "thumbs!: Json<BTreeMap<Uuid, bool>>", p.rationale AS "rationale!",
                  p.confidence AS "confidence!", pr.proposal_holdout
           FROM proposals p JOIN projects pr ON pr.project_id = p.project_id
           WHERE p.item_id = $1 AND p.status = 'done'"#,
        item_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        (
            ProposalView {
                proposal_id: r.proposal_id,
                model: r.model,
                ranking: r.ranking.0,
                thumbs: r.thumbs.0,
                rationale: r.rationale,
                confidence: r.confidence,
            },
            r.proposal_holdout,
        )
    }))
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
