use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub struct Lease {
    pub item_id: Uuid,
    pub shown_order: Vec<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// Makes this transaction the only one taking a lease for the user in the project until it
/// ends: two tabs asking at once then get the same item instead of one finding nothing
/// (the other's candidate is locked) or two leases.
pub async fn serialize_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    project_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text, 0))",
        user_id.to_string(),
        project_id.to_string()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The user's unexpired lease in the project, if any (the oldest, when several).
pub async fn find_active(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    project_id: Uuid,
) -> sqlx::Result<Option<Lease>> {
    sqlx::query_as!(
        Lease,
        r#"SELECT item_id, shown_order, expires_at AS "expires_at: DateTime<Utc>" FROM assignments
         WHERE user_id = $1 AND project_id = $2 AND expires_at > now()
         ORDER BY leased_at LIMIT 1"#,
        user_id,
        project_id
    )
    .fetch_optional(db)
    .await
}

/// Leases the item to the user for `seconds` if it has room for them: fewer submitted
/// annotations and other people's unexpired leases than its target (`overlap`, or more when
/// disagreement raised it). The caller holds the item's
/// row lock, and this statement starts after it was taken, so it sees every lease committed
/// before (later ones must wait for the lock). `None` when the item is full. Renewing
/// one's own (expired) lease keeps the answer order it was first shown in.
pub async fn lease_if_free(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    user_id: Uuid,
    project_id: Uuid,
    shown_order: &[Uuid],
    seconds: i32,
    overlap: i32,
) -> sqlx::Result<Option<Lease>> {
    sqlx::query_as!(
        Lease,
        r#"INSERT INTO assignments (item_id, user_id, project_id, shown_order, expires_at)
         SELECT $1, $2, $3, $4, now() + make_interval(secs => $5)
         FROM items i
         WHERE i.item_id = $1
           AND i.annotation_count + (SELECT count(*) FROM assignments l
                                     WHERE l.item_id = $1 AND l.user_id <> $2 AND l.expires_at > now())
               < greatest(i.target_overlap, $6)
         ON CONFLICT (item_id, user_id)
             DO UPDATE SET leased_at = now(), expires_at = EXCLUDED.expires_at
         RETURNING item_id, shown_order, expires_at AS "expires_at: DateTime<Utc>""#,
        item_id,
        user_id,
        project_id,
        shown_order,
        f64::from(seconds),
        overlap
    )
    .fetch_optional(db)
    .await
}

pub async fn release(db: impl PgExecutor<'_>, item_id: Uuid, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM assignments WHERE item_id = $1 AND user_id = $2",
        item_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
