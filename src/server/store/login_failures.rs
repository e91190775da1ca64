use sqlx::PgExecutor;

pub async fn record(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<()> {
    sqlx::query!("INSERT INTO login_failures (email) VALUES ($1)", email)
        .execute(db)
        .await?;
    Ok(())
}

/// Failures for this email in the last `window_secs` seconds, and how many seconds remain
/// until the oldest of them leaves the window.
pub async fn recent(
    db: impl PgExecutor<'_>,
    email: &str,
    window_secs: i32,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "count!",
                  coalesce(ceil(extract(epoch FROM min(failed_at) + make_interval(secs => $2) - now())), 0)::bigint
                      AS "retry_after_secs!"
           FROM login_failures
           WHERE lower(email) = lower($1) AND failed_at > now() - make_interval(secs => $2)"#,
        email,
        f64::from(window_secs),
    )
    .fetch_one(db)
    .await?;
    Ok((row.count, row.retry_after_secs))
}

pub async fn clear(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM login_failures WHERE lower(email) = lower($1)",
        email
    )
    .execute(db)
    .await?;
    Ok(())
}
