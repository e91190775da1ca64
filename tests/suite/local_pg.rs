//! Verdict's own PostgreSQL: created on first use, reused after, stopped by its starter.

use verdict::server::local_pg;

#[tokio::test]
async fn a_local_cluster_is_created_then_reused() {
    if std::env::var_os("VERDICT_SKIP_LOCAL_PG_TEST").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The cluster may belong to another user (`postgres`, when tests run as root).
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // A port free now, as the system hands them out (a fixed or pid-derived one in the
    // ephemeral range was once taken by another connection's client side mid-run).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let first = local_pg::ensure_running(dir.path(), port)
        .await
        .expect("initdb and start");
    let pool = sqlx::PgPool::connect(&first.url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);

    let second = local_pg::ensure_running(dir.path(), port)
        .await
        .expect("reuse");
    second.stop().await.unwrap(); // not started by `second`: a no-op
    let still: i32 = sqlx::query_scalar("SELECT 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(still, 2, "the reusing caller must not stop the server");
    pool.close().await;

    first.stop().await.unwrap();
    use sqlx::Connection;
    assert!(
        sqlx::PgConnection::connect(&first.url).await.is_err(),
        "stopped"
    );
}
