//! Plain types shared by the server and the browser: ids, people, projects, items,
//! validation and errors. No I/O here: everything compiles for wasm too.

pub mod annotation;
pub mod api;
pub mod diff;
pub mod error;
pub mod export;
pub mod gold;
pub mod import;
pub mod judgment;
pub mod project;
pub mod proposal;
pub mod url;
pub mod user;

pub use error::{AppError, ErrorCode};
