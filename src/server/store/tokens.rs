use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub struct TokenRow {
    pub token_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    db: impl PgExecutor<'_>,
    name: &str,
    prefix: &str,
    secret_hash: &[u8],
    scopes: &[String],
    project_id: Option<Uuid>,
    created_by: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO api_tokens (name, prefix, secret_hash, scopes, project_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING token_id",
        name,
        prefix,
        secret_hash,
        scopes,
        project_id,
        created_by
    )
    .fetch_one(db)
    .await
}

/// Every token, newest first, or the one with `token_id`.
pub async fn list(db: impl PgExecutor<'_>, token_id: Option<Uuid>) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as!(
        TokenRow,
        r#"SELECT t.token_id, t.name, t.prefix, t.scopes, p.slug AS "project?",
                  t.created_at AS "created_at: DateTime<Utc>",
                  t.last_used_at AS "last_used_at: DateTime<Utc>",
                  t.revoked_at AS "revoked_at: DateTime<Utc>"
           FROM api_tokens t LEFT JOIN projects p ON p.project_id = t.project_id
           WHERE $1::uuid IS NULL OR t.token_id = $1
           ORDER BY t.created_at DESC"#,
        token_id as _
    )
    .fetch_all(db)
    .await
}

/// Revokes the token; false when there is no such token or it was revoked already.
pub async fn revoke(db: impl PgExecutor<'_>, token_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL",
        token_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct Authenticated {
    pub token_id: Uuid,
    pub scopes: Vec<String>,
    pub project_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    /// Requests in the current window, this one included.
    pub window_count: i32,
    /// Seconds until the current window ends.
    pub window_left_secs: f64,
}

/// Looks up a live token by the hash of its secret and, in the same statement, records the
/// use and counts the request in the token's one-minute rate window.
pub async fn authenticate(
    db: impl PgExecutor<'_>,
    secret_hash: &[u8],
) -> sqlx::Result<Option<Authenticated>> {
    sqlx::query_as!(
        Authenticated,
        r#"UPDATE api_tokens SET
               last_used_at = now(),
               window_count = CASE WHEN window_start > now() - interval '1 minute' THEN window_count + 1 ELSE 1 END,
               window_start = CASE WHEN window_start > now() - interval '1 minute' THEN window_start ELSE now() END
           WHERE secret_hash = $1 AND revoked_at IS NULL
           RETURNING token_id, scopes, project_id, created_by, window_count,
                     extract(epoch FROM window_start + interval '1 minute' - now())::float8 AS "window_left_secs!""#,
        secret_hash
    )
    .fetch_optional(db)
    .await
}
