//! Structured logs. `RUST_LOG` filters them; `VERDICT_LOG_FORMAT=json` writes JSON lines.
//! Nothing logs prompt or answer text, passwords or tokens.
//!
//! Logs go to standard error, coloured only on a terminal: standard output is data
//! (`verdict export --out -`) or what a command has to say.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("VERDICT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
