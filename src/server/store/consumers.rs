use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct ConsumerRow {
    pub cursor_tx: i64,
    pub cursor_seq: i64,
    pub batch_id: Option<Uuid>,
    pub batch_expires_at: Option<DateTime<Utc>>,
    pub batch_expired: bool,
}

/// The consumer's row, created at the start of the stream if new, locked until the caller's
/// transaction ends: pulls and acks of one consumer run one at a time.
pub async fn lock(
    db: &mut PgConnection,
    project_id: Uuid,
    name: &str,
) -> sqlx::Result<ConsumerRow> {
    sqlx::query!(
        "INSERT INTO consumers (project_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        project_id,
        name
    )
    .execute(&mut *db)
    .await?;
    sqlx::query_as!(
        ConsumerRow,
        r#"SELECT cursor_tx::text::bigint AS "cursor_tx!", cursor_seq, batch_id,
                  batch_expires_at AS "batch_expires_at: DateTime<Utc>",
                  coalesce(batch_expires_at <= now(), true) AS "batch_expired!"
           FROM consumers WHERE project_id = $1 AND name = $2 FOR UPDATE"#,
        project_id,
        name
    )
    .fetch_one(db)
    .await
}

/// Records a delivered batch that ends at (`end_tx`, `end_seq`) and expires in `ttl_secs`.
pub async fn start_batch(
    db: &mut PgConnection,
    project_id: Uuid,
    name: &str,
    batch_id: Uuid,
    end: (i64, i64),
    ttl_secs: i32,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        r#"UPDATE consumers
           SET batch_id = $3, batch_end_tx = $4::text::xid8, batch_end_seq = $5,
               batch_expires_at = now() + make_interval(secs => $6)
           WHERE project_id = $1 AND name = $2
           RETURNING batch_expires_at AS "expires_at!: DateTime<Utc>""#,
        project_id,
        name,
        batch_id,
        end.0.to_string(),
        end.1,
        f64::from(ttl_secs)
    )
    .fetch_one(db)
    .await
}

/// Moves the cursor to the end of batch `batch_id` if it is the consumer's outstanding
/// batch. Returns the new cursor, or `None` when `batch_id` is not outstanding.
pub async fn ack(
    db: &mut PgConnection,
    project_id: Uuid,
    name: &str,
    batch_id: Uuid,
) -> sqlx::Result<Option<(i64, i64)>> {
    let row = sqlx::query!(
        r#"UPDATE consumers
           SET cursor_tx = batch_end_tx, cursor_seq = batch_end_seq, batch_id = NULL,
               batch_end_tx = NULL, batch_end_seq = NULL, batch_expires_at = NULL, acked_at = now()
           WHERE project_id = $1 AND name = $2 AND batch_id = $3
           RETURNING cursor_tx::text::bigint AS "tx!", cursor_seq"#,
        project_id,
        name,
        batch_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.tx, r.cursor_seq)))
}
