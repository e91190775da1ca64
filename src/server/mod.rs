//! Everything that runs only on the server: configuration, the database, the store (all
//! SQL), the services (use cases and permission checks), HTTP and the CLI.

pub mod cli;
pub mod config;
pub mod dataset;
pub mod db;
pub mod error;
pub mod http;
pub mod inference;
pub mod local_pg;
pub mod markdown;
pub mod secrets;
pub mod seed;
pub mod services;
pub mod startup;
pub mod state;
pub mod stats;
pub mod store;
pub mod telemetry;

pub use error::{Error, Result};
pub use state::AppState;
