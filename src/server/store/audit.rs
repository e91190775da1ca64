//! The audit log: append a change, read it back filtered (see the migration `review_audit`:
//! the table refuses updates and deletions).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A change to record.
pub struct Entry<'a> {
    pub actor_id: Uuid,
    pub token_id: Option<Uuid>,
    pub action: &'a str,
    pub project_id: Option<Uuid>,
    pub target: Option<&'a str>,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
}

pub async fn append(db: impl PgExecutor<'_>, e: &Entry<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, token_id, action, project_id, target, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        e.actor_id,
        e.token_id,
        e.action,
        e.project_id,
        e.target,
        e.before,
        e.after
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What to read: every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub project_id: Option<Uuid>,
    /// An action (`member.add`) or its first part (`member`).
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    /// The actor's email; `null` for the command line.
    pub actor: Option<String>,
    pub token_id: Option<Uuid>,
    pub action: String,
    pub project_id: Option<Uuid>,
    pub project: Option<String>,
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Up to `limit` entries matching `f`, newest first, older than `before` (a `seq`).
pub async fn page(
    db: impl PgExecutor<'_>,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as!(
        Row,
        r#"SELECT l.seq, l.at AS "at: DateTime<Utc>", l.actor_id, u.email AS "actor?", l.token_id,
                  l.action, l.project_id, p.slug AS "project?", l.target, l.before, l.after
           FROM audit_log l
           LEFT JOIN users u ON u.user_id = l.actor_id
           LEFT JOIN projects p ON p.project_id = l.project_id
           WHERE ($1::uuid IS NULL OR l.project_id = $1)
             AND ($2::text IS NULL OR l.action = $2 OR l.action LIKE $2 || '.%')
             AND ($3::uuid IS NULL OR l.actor_id = $3)
             AND ($4::timestamptz IS NULL OR l.at >= $4)
             AND ($5::timestamptz IS NULL OR l.at < $5)
             AND ($6::bigint IS NULL OR l.seq < $6)
           ORDER BY l.seq DESC
           LIMIT $7"#,
        f.project_id,
        f.action,
        f.actor_id,
        f.from as _,
        f.to as _,
        before,
        limit
    )
    .fetch_all(db)
    .await
}
