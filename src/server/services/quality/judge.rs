//! Judge calibration: the model's proposals as a rater. Per model, agreement of its proposals
//! with the human consensus of each item (Cohen's kappa of thumbs against the majority
//! thumb, pairwise agreement of its ranking with the consensus ranking; see
//! [`super::consensus`]), how well its confidence is calibrated (a reliability table and the
//! expected calibration error, a proposal being right when its sole first answer is the
//! consensus' sole best, or, without rankings, when it gives every majority thumb), and,
//! from items judged a second time with the answers reversed (the pre-label job's
//! `swap_share`), whether it prefers a position.
//!
//! The agreement and calibration figures are running sums beside the annotators' (cells
//! `judge:{model}:…`, see [`super::item::metric::judge`]); the position figures read the
//! swapped items, a share of the proposals.

use super::item::metric::{self, judge};
use super::{ByMetric, Cells, PositionBias, round_count};
use crate::server::stats::calibration::{self, Bin};
use crate::server::stats::{Contingency, significance};
use crate::server::store::proposals::Swap;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// One model's proposals against the annotators.
#[derive(Debug, Serialize, ToSchema)]
pub struct JudgeCalibration {
    pub model: String,
    /// Items with one of its proposals and at least one annotator's label.
    pub items: u64,
    /// Its thumbs against the annotators' majority thumb, per answer with a majority.
    pub thumbs_kappa: Option<f64>,
    pub thumbs_agreement: Option<f64>,
    pub thumbs_compared: u64,
    /// Answer pairs its ranking orders as the consensus ranking does (a tie agrees only
    /// with a tie).
    pub pairwise_agreement: Option<f64>,
    pub pairs_compared: u64,
    /// Proposals the consensus decides, and the share of them that are right.
    pub judged: u64,
    pub accuracy: Option<f64>,
    /// Expected calibration error over the ten confidence bins.
    pub expected_calibration_error: Option<f64>,
    pub reliability: Vec<ReliabilityBin>,
    pub position: JudgePosition,
}

/// Proposals whose confidence fell in (lower, upper] (the first bin includes 0).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub proposals: u64,
    pub mean_confidence: Option<f64>,
    pub accuracy: Option<f64>,
}

/// The model's choices when the same item was shown with its answers reversed.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct JudgePosition {
    pub swapped_items: u64,
    /// Swapped items whose two judgements name the same sole best answer, among those
    /// where both name one.
    pub consistent: Option<f64>,
    pub compared: u64,
    /// Over both judgements of each swapped item: how often the sole first place is the
    /// answer shown first, by number of answers, against 1 / answers.
    pub first_shown: Vec<PositionBias>,
}

/// Every model's calibration from the project's running sums and its swapped items.
pub fn calibrations(by_metric: &ByMetric, swaps: &[Swap]) -> Vec<JudgeCalibration> {
    let mut models: BTreeMap<&str, BTreeMap<&str, &Cells>> = BTreeMap::new();
    for (m, cells) in by_metric {
        if let Some((model, kind)) = metric::parse_judge(m) {
            models.entry(model).or_default().insert(kind, cells);
        }
    }
    let mut positions = positions(swaps);
    let ratio = |num: f64, den: f64| (den > 0.5).then(|| num / den);
    models
        .into_iter()
        .map(|(model, kinds)| {
            let cells = |kind: &str| kinds.get(kind).map(|c| c.as_slice()).unwrap_or_default();
            let sum = |kind: &str| cells(kind).iter().map(|(_, n)| n).sum::<f64>();
            let thumbs = Contingency::from_cells(cells(judge::THUMBS).iter().copied());
            let mut bins = [Bin::default(); calibration::BINS];
            for &((bin, right), n) in cells(judge::CALIB) {
                let b = &mut bins[bin.clamp(0, calibration::BINS as i64 - 1) as usize];
                b.predictions += n;
                if right == 1 {
                    b.right += n;
                }
            }
            for &((bin, _), n) in cells(judge::CONF) {
                bins[bin.clamp(0, calibration::BINS as i64 - 1) as usize].confidence_sum += n;
            }
            let judged: f64 = bins.iter().map(|b| b.predictions).sum();
            let right: f64 = bins.iter().map(|b| b.right).sum();
            let compared = round_count(sum(judge::PREF_COMPARED));
            let width = 1.0 / calibration::BINS as f64;
            JudgeCalibration {
                model: model.to_owned(),
                items: round_count(sum(judge::ITEMS)) as u64,
                thumbs_kappa: thumbs.kappa(),
                thumbs_agreement: thumbs.observed(),
                thumbs_compared: round_count(thumbs.units()) as u64,
                pairwise_agreement: ratio(sum(judge::PREF_AGREE), compared),
                pairs_compared: compared as u64,
                judged: round_count(judged) as u64,
                accuracy: ratio(right, judged),
                expected_calibration_error: calibration::expected_calibration_error(&bins),
                reliability: bins
                    .iter()
                    .enumerate()
                    .map(|(k, b)| ReliabilityBin {
                        lower: k as f64 * width,
                        upper: (k + 1) as f64 * width,
                        proposals: round_count(b.predictions) as u64,
                        mean_confidence: b.mean_confidence(),
                        accuracy: b.accuracy(),
                    })
                    .collect(),
                position: positions.remove(model).unwrap_or_default(),
            }
        })
        .collect()
}

fn sole_first(ranking: &[Vec<Uuid>]) -> Option<Uuid> {
    match ranking.first()?.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

/// Position figures per model from its swapped items.
pub fn positions(swaps: &[Swap]) -> BTreeMap<String, JudgePosition> {
    // Per model: swapped items, (consistent, compared), and per answer count (runs, first).
    type Tally = (u64, (u64, u64), BTreeMap<usize, (u64, u64)>);
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for s in swaps {
        let t = tallies.entry(&s.model).or_default();
        t.0 += 1;
        let first = sole_first(&s.first.0);
        let second = sole_first(&s.second.0);
        if let (Some(a), Some(b)) = (first, second) {
            t.1.1 += 1;
            t.1.0 += u64::from(a == b);
        }
        if s.answers.len() >= 2 {
            let by_count = t.2.entry(s.answers.len()).or_default();
            for (pick, shown) in [(first, &s.answers), (second, &s.shown_order)] {
                by_count.0 += 1;
                by_count.1 += u64::from(pick.is_some() && pick == shown.first().copied());
            }
        }
    }
    tallies
        .into_iter()
        .map(|(model, (swapped, (consistent, compared), counts))| {
            let first_shown = counts
                .into_iter()
                .map(|(answers, (runs, first))| {
                    let expected = 1.0 / answers as f64;
                    PositionBias {
                        answers: answers as u32,
                        rankings: runs,
                        first_shown: first,
                        share: first as f64 / runs.max(1) as f64,
                        expected,
                        p_value: significance::binomial_two_sided(first, runs, expected),
                    }
                })
                .collect();
            (
                model.to_owned(),
                JudgePosition {
                    swapped_items: swapped,
                    consistent: (compared > 0).then(|| consistent as f64 / compared as f64),
                    compared,
                    first_shown,
                },
            )
        })
        .collect()
}

/// The model's figures for the items whose metadata field has one value.
#[derive(Debug, Serialize, ToSchema)]
pub struct JudgeSlice {
    /// The field's value (`null`: items without it).
    pub value: Option<String>,
    /// Per model, as in the report (without the position figures).
    pub judges: Vec<JudgeCalibration>,
}

/// The model's figures broken down by the value of an item metadata field (e.g.
/// `category`), so an admin sees for which kinds of items proposals can be trusted. Reads
/// every counted item's stored part: a pass over the project's items, not the running sums.
pub async fn by_field(
    pool: &sqlx::PgPool,
    actor: &crate::server::services::Actor,
    slug: &str,
    field: &str,
) -> crate::server::Result<Vec<JudgeSlice>> {
    use crate::model::api::Scope;
    let project =
        crate::server::services::projects::authorize(pool, actor, slug, &[Scope::ExportRead])
            .await?;
    let field = field.trim();
    if field.is_empty() || field.chars().count() > 100 || field.chars().any(char::is_control) {
        return Err(crate::server::Error::invalid(
            "by",
            "name an item metadata field (1 to 100 characters, no control characters)",
        ));
    }
    let mut slices: BTreeMap<Option<String>, ByMetric> = BTreeMap::new();
    for (value, part) in
        crate::server::store::agreement::parts_by_metadata(pool, project.project_id, field).await?
    {
        let part = super::item::ItemPart::from_json(part.0).map_err(|e| {
            crate::server::Error::Internal(anyhow::anyhow!("an item's agreement part: {e}"))
        })?;
        let sums = slices.entry(value).or_default();
        for ((m, a, b), n) in part.cells {
            if metric::parse_judge(&m).is_some() {
                sums.entry(m).or_default().push(((a, b), n));
            }
        }
    }
    Ok(slices
        .into_iter()
        .map(|(value, sums)| JudgeSlice {
            value,
            judges: calibrations(&sums, &[]),
        })
        .filter(|s| !s.judges.is_empty())
        .collect())
}
