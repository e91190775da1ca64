//! `verdict serve`: open the database, migrate, bootstrap, then serve until a signal.

use super::config::{AppConfig, DbConfig, ServeConfig};
use super::services::users::{self, Created};
use super::{AppState, db, http, seed, services};
use anyhow::Context;
use leptos::config::get_configuration;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;
use tower_sessions_sqlx_store::PostgresStore;

pub async fn serve(db_config: &DbConfig, config: &ServeConfig) -> anyhow::Result<()> {
    let database = db::open(db_config).await?;
    let pool = database.pool.clone();
    db::migrate(&pool).await?;
    let secret_key = db_config.secret_key()?;
    services::assist::seal_plain_keys(&pool, &secret_key).await?;

    let admin =
        users::ensure_first_admin(&pool, &config.admin_email, config.admin_password.as_deref())
            .await?;
    let demo = if config.no_demo {
        None
    } else {
        let demo = seed::seed_demo(&pool, config.demo_password.as_deref()).await?;
        tracing::info!(items_added = demo.items_added, "demo project ready");
        Some(demo)
    };

    let mut leptos_options = get_configuration(None)
        .context("reading the Leptos configuration")?
        .leptos_options;
    leptos_options.site_addr = config.addr;
    let mut app_config = AppConfig::from(config);
    app_config.inference.secret_key = Some(secret_key);
    let inference = app_config.inference.clone();
    let state = AppState {
        pool: pool.clone(),
        config: Arc::new(app_config),
        leptos_options,
    };

    let session_cleanup = tokio::spawn(
        PostgresStore::new(pool.clone()).continuously_delete_expired(Duration::from_secs(3600)),
    );

    // Projects labeled before agreement was counted are counted beside serving.
    let agreement_rebuild = tokio::spawn({
        let pool = pool.clone();
        async move {
            if let Err(e) = services::quality::rebuild_pending(&pool).await {
                tracing::warn!(error = %e, "counting agreement of earlier labels failed");
            }
        }
    });

    let agreement_counting = tokio::spawn(services::quality::count_marked_forever(
        pool.clone(),
        Duration::from_secs(2),
    ));

    let progress_folding = tokio::spawn(services::projects::fold_progress_forever(
        pool.clone(),
        Duration::from_secs(10),
    ));

    // Pre-labeling and answer generation run here, sharing the queue with other processes.
    let worker = (!config.inference.no_worker).then(|| {
        tokio::spawn(crate::server::inference::worker::run(
            pool.clone(),
            inference,
            std::future::pending(),
        ))
    });

    let listener = TcpListener::bind(config.addr).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server using the port? set VERDICT_ADDR)",
            config.addr
        )
    })?;
    print_banner(
        config,
        admin.as_ref(),
        demo.as_ref().and_then(|d| d.annotator.as_ref()),
    );

    let header_timeout = std::time::Duration::from_secs(config.header_timeout_secs.max(1));
    http::serve::serve(
        listener,
        http::router(state),
        header_timeout,
        shutdown_signal(),
    )
    .await;

    tracing::info!("shutting down");
    session_cleanup.abort();
    progress_folding.abort();
    agreement_rebuild.abort();
    agreement_counting.abort();
    // An item cut off here keeps its lease and is picked up again after it runs out.
    if let Some(worker) = worker {
        worker.abort();
    }
    pool.close().await;
    if let Some(local) = &database.local {
        local.stop().await?;
    }
    Ok(())
}

fn print_banner(config: &ServeConfig, admin: Option<&Created>, annotator: Option<&Created>) {
    println!();
    println!("  Verdict is running at {}", config.public_url());
    match admin {
        Some(c) => println!(
            "  Sign in as {} with password {}  (shown only this once)",
            c.user.email, c.password
        ),
        None => println!(
            "  Sign in with your account (first admin: {}; reset a password with `verdict user set-password --email …`)",
            config.admin_email
        ),
    }
    if let Some(c) = annotator {
        println!(
            "  Demo annotator: {} with password {}  (shown only this once)",
            c.user.email, c.password
        );
    }
    println!("  Stop with Ctrl+C.");
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
