//! Agreement statistics: pure functions, no SQL and no I/O. The quality service feeds them
//! from the store's running sums; each is checked against a reference implementation on
//! fixed data (`reference.json`, written by `scripts/stats-reference.py` with the
//! `krippendorff`, `scipy` and `scikit-learn` packages; see `tests.rs`).
//! `significance` (binomial and chi-square tests) is for the scorecards' position bias;
//! `calibration` (reliability bins, expected calibration error) for the model's proposals.

pub mod alpha;
pub mod bradley_terry;
pub mod calibration;
pub mod kappa;
pub mod ranking;
pub mod significance;
pub mod style;

pub use alpha::{Coincidences, Level, unit_agreement};
pub use kappa::Contingency;
pub use ranking::{Agreement, kendall_w, mid_ranks, pairwise};

#[cfg(test)]
mod tests;
