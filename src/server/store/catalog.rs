//! What the database holds, from PostgreSQL's catalog (for `verdict restore`).

use sqlx::PgExecutor;

/// Tables outside PostgreSQL's own schemas: 0 in a fresh database.
pub async fn user_table_count(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%'",
    )
    .fetch_one(db)
    .await
}

/// Other sessions connected to this database (a running Verdict server's pool among them),
/// each as "application from address (state)".
pub async fn other_connections(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT format('%s from %s (%s)', coalesce(nullif(application_name, ''), 'a client'), \
                       coalesce(client_addr::text, 'a local socket'), state) \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND backend_type = 'client backend'",
    )
    .fetch_all(db)
    .await
}
