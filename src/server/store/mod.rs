//! All SQL lives here, one module per table family, one function per statement.
//! Functions take an executor, so the calling service decides where transactions begin.

pub mod adaptive;
pub mod agreement;
pub mod annotations;
pub mod assignments;
pub mod audit;
pub mod batches;
pub mod catalog;
pub mod consumers;
pub mod datasets;
pub mod days;
pub mod gold;
pub mod items;
pub mod jobs;
pub mod leaderboard;
pub mod login_failures;
pub mod members;
pub mod progress;
pub mod projects;
pub mod proposals;
pub mod responses;
pub mod reviews;
pub mod skips;
pub mod tokens;
pub mod users;
