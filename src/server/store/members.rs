//! Project membership (see the migration `members`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A member of a project, with their limits and how much they labeled there.
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: crate::model::user::Role,
    pub max_items: Option<i32>,
    pub daily_max: Option<i32>,
    pub labels: i64,
    pub added_at: DateTime<Utc>,
}

pub async fn list(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as!(
        MemberRow,
        r#"SELECT u.user_id, u.email, u.display_name, u.role AS "role: crate::model::user::Role",
                  m.max_items, m.daily_max,
                  coalesce((SELECT sum(d.annotations) FROM annotator_days d
                            WHERE d.user_id = m.user_id AND d.project_id = m.project_id), 0)::bigint
                      AS "labels!",
                  m.added_at AS "added_at: DateTime<Utc>"
           FROM project_members m JOIN users u ON u.user_id = m.user_id
           WHERE m.project_id = $1
           ORDER BY u.email"#,
        project_id
    )
    .fetch_all(db)
    .await
}

/// Adds the member, or changes their limits when they are one already.
pub async fn upsert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
    max_items: Option<i32>,
    daily_max: Option<i32>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO project_members (project_id, user_id, max_items, daily_max)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, user_id) DO UPDATE SET max_items = $3, daily_max = $4",
        project_id,
        user_id,
        max_items,
        daily_max
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the user a member (without limits) unless they are one.
pub async fn ensure(db: impl PgExecutor<'_>, project_id: Uuid, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)
         ON CONFLICT (project_id, user_id) DO NOTHING",
        project_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// False when the user was not a member.
pub async fn remove(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2",
        project_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
