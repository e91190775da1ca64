//! Adaptive overlap: a project's rule, and the items' raised targets (see the migration
//! `adaptive_judge`).

use sqlx::PgExecutor;
use uuid::Uuid;

/// A project's adaptive-overlap rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Rule {
    /// The most annotators an item may get (at least the project's overlap).
    pub max_overlap: i32,
    /// Another annotator when the item's pairwise agreement is below this share.
    pub min_agreement: Option<f64>,
    /// ... or its Kendall's W is below this.
    pub min_kendall_w: Option<f64>,
    /// ... or the human consensus contradicts the model's proposal.
    pub on_proposal_conflict: bool,
}

pub async fn rule(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Option<Rule>> {
    sqlx::query_as!(
        Rule,
        "SELECT max_overlap, min_agreement, min_kendall_w, on_proposal_conflict
         FROM project_adaptive WHERE project_id = $1",
        project_id
    )
    .fetch_optional(db)
    .await
}

pub async fn save_rule(db: impl PgExecutor<'_>, project_id: Uuid, r: &Rule) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO project_adaptive (project_id, max_overlap, min_agreement, min_kendall_w, on_proposal_conflict)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (project_id) DO UPDATE SET max_overlap = $2, min_agreement = $3,
             min_kendall_w = $4, on_proposal_conflict = $5",
        project_id,
        r.max_overlap,
        r.min_agreement,
        r.min_kendall_w,
        r.on_proposal_conflict,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Lowers raised targets above `max_overlap` to it (the admin lowered the maximum).
pub async fn cap_targets(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    max_overlap: i32,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "UPDATE items SET target_overlap = $2
         WHERE project_id = $1 AND target_overlap > $2",
        project_id,
        max_overlap
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
