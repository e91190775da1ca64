use crate::model::user::{Role, UserView};
use sqlx::PgExecutor;
use uuid::Uuid;

/// What login needs to check a password.
pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
    pub disabled: bool,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<UserView> {
    sqlx::query_as!(
        UserView,
        r#"INSERT INTO users (email, display_name, password_hash, role)
           VALUES ($1, $2, $3, $4)
           RETURNING user_id, email, display_name, role AS "role: Role", disabled"#,
        email,
        display_name,
        password_hash,
        role as Role,
    )
    .fetch_one(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<Option<UserView>> {
    sqlx::query_as!(
        UserView,
        r#"SELECT user_id, email, display_name, role AS "role: Role", disabled
           FROM users WHERE user_id = $1"#,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// The user with the epoch their sessions must carry.
pub async fn find_for_session(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Option<(UserView, i32)>> {
    let row = sqlx::query!(
        r#"SELECT user_id, email, display_name, role AS "role: Role", disabled, session_epoch
           FROM users WHERE user_id = $1"#,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let user = UserView {
            user_id: r.user_id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            disabled: r.disabled,
        };
        (user, r.session_epoch)
    }))
}

/// Ends every session of the user (see [`find_for_session`]); false when there is no such
/// user.
pub async fn end_sessions(db: impl PgExecutor<'_>, user_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET session_epoch = session_epoch + 1, updated_at = now()
         WHERE user_id = $1",
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<UserView>> {
    sqlx::query_as!(
        UserView,
        r#"SELECT user_id, email, display_name, role AS "role: Role", disabled
           FROM users WHERE lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(db)
    .await
}

pub async fn find_credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as!(
        Credentials,
        "SELECT user_id, password_hash, disabled FROM users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(db)
    .await
}

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<UserView>> {
    sqlx::query_as!(
        UserView,
        r#"SELECT user_id, email, display_name, role AS "role: Role", disabled
           FROM users ORDER BY role DESC, lower(email)"#
    )
    .fetch_all(db)
    .await
}

pub async fn count(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM users"#)
        .fetch_one(db)
        .await
}

/// Returns false when there is no such user.
pub async fn set_disabled(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    disabled: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET disabled = $2, updated_at = now() WHERE user_id = $1",
        user_id,
        disabled
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the password and ends the user's sessions; false when there is no user with that
/// email.
pub async fn set_password_hash(
    db: impl PgExecutor<'_>,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1, updated_at = now()
         WHERE lower(email) = lower($1)",
        email,
        password_hash
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
