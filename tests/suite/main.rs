//! Verdict's database, HTTP and process tests, in one test binary.
//!
//! One binary instead of one per file: each integration-test binary links the whole
//! application: two dozen of them spent minutes linking on two cores and took gigabytes of
//! disk, and a CI run died in the linker with SIGBUS, as `ld` does when its output file
//! cannot be backed by the disk. Each module is what used to be a file of its own.

mod common;

mod adaptive;
mod api;
mod assist;
mod backup;
mod dashboard;
mod datasets;
mod fault;
mod gold;
mod http_auth;
mod http_export;
mod http_import;
mod http_limits;
mod http_permissions;
mod http_security;
mod judgments;
mod labeling;
mod leaderboard;
mod local_pg;
mod members;
mod permissions;
mod quality;
mod review;
mod services;
mod transfer;
mod unavailable;
