//! One item's part of its project's agreement figures. Every figure is a sum over items, so
//! the store keeps running totals: when an item's labels change, the service computes the
//! item's part anew, and the difference to the part it stored last time goes into the
//! totals (see [`ItemPart::minus`]).

use super::consensus::Consensus;
use crate::model::annotation::Flag;
use crate::model::judgment::{Judgments, StrengthScale};
use crate::model::proposal::ProposalView;
use crate::server::stats::{self, Agreement, Coincidences};
use crate::server::store::agreement::LabelRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One annotator's label of the item, as agreement sees it.
#[derive(Default)]
pub struct Label {
    pub user_id: Uuid,
    pub ranking: Option<Vec<Vec<Uuid>>>,
    pub thumbs: BTreeMap<Uuid, bool>,
    pub flags: Vec<Flag>,
    pub judgments: Judgments,
    /// The strength scale the label was made under.
    pub strength: Option<StrengthScale>,
}

impl From<LabelRow> for Label {
    fn from(row: LabelRow) -> Self {
        Self {
            user_id: row.user_id,
            ranking: row.ranking.map(|r| r.0),
            thumbs: row.thumbs.0,
            flags: row.flags,
            judgments: row.judgments.0,
            strength: row.strength.map(|s| s.0),
        }
    }
}

/// The running totals' names. Coincidence matrices (`thumbs`, `rank`, `flag:*`) are keyed
/// by value pairs; counters use (0, 0).
pub mod metric {
    /// Coincidences of thumbs (0 down, 1 up); the units are the answers.
    pub const THUMBS: &str = "thumbs";
    /// Coincidences of twice each answer's mid-rank within its item.
    pub const RANK: &str = "rank";
    /// Coincidences of preference strengths; the units are the answer pairs in adjacent
    /// places of a ranking, the values signed strengths (see `ItemPart::strengths`).
    pub const STRENGTH: &str = "strength";
    /// Coincidences of rubric scores on one criterion (`rubric:{key}`); the units are the
    /// answers.
    pub const RUBRIC: &str = "rubric:";
    pub fn rubric(key: &str) -> String {
        format!("{RUBRIC}{key}")
    }
    /// Pairs of annotators' thumbs on one answer that were the same, and all such pairs.
    pub const THUMBS_SAME: &str = "thumbs_same";
    pub const THUMBS_PAIRS: &str = "thumbs_pairs";
    /// Annotator pairs x answer pairs ordered alike, and compared.
    pub const PREF_AGREE: &str = "pref_agree";
    pub const PREF_COMPARED: &str = "pref_compared";
    /// Sum of the items' Kendall's W, and the items that have one.
    pub const W_SUM: &str = "w_sum";
    pub const W_ITEMS: &str = "w_items";
    /// Items with two or more annotators (for a pair: items both labeled).
    pub const ITEMS: &str = "items";
    /// For one annotator (the pair (user, user)): their label against the consensus of the
    /// item's other labels (leave one out, see [`super::Consensus`]). Answer pairs ordered
    /// as the others' consensus ranking, and compared; (mine, majority) thumbs contingency
    /// over the answers the others decide.
    pub const LOO_PREF_AGREE: &str = "loo_pref_agree";
    pub const LOO_PREF_COMPARED: &str = "loo_pref_compared";
    pub const LOO_THUMBS: &str = "loo_thumbs";

    /// The model's proposals against the human consensus, per model (`judge:{model}:{kind}`):
    /// `items` compared; `thumbs` (proposed, majority) contingency; `pref_agree` and
    /// `pref_compared` with the consensus ranking; `calib` (confidence bin, right) counts and
    /// `conf` (bin, 0) the confidences' sum, for the reliability table.
    pub fn judge(model: &str, kind: &str) -> String {
        format!("{JUDGE}{model}:{kind}")
    }
    pub const JUDGE: &str = "judge:";
    pub mod judge {
        pub const ITEMS: &str = "items";
        pub const THUMBS: &str = "thumbs";
        pub const PREF_AGREE: &str = "pref_agree";
        pub const PREF_COMPARED: &str = "pref_compared";
        pub const CALIB: &str = "calib";
        pub const CONF: &str = "conf";
    }

    /// The model and kind of a judge metric.
    pub fn parse_judge(metric: &str) -> Option<(&str, &str)> {
        metric.strip_prefix(JUDGE)?.rsplit_once(':')
    }

    pub fn flag(flag: super::Flag) -> &'static str {
        use super::Flag;
        match flag {
            Flag::Favourite => "flag:favourite",
            Flag::Unsafe => "flag:unsafe",
            Flag::FactuallyWrong => "flag:factually_wrong",
            Flag::NotRankable => "flag:not_rankable",
        }
    }
}

/// A running total's key: metric and value pair.
pub type Cell = (String, i64, i64);
/// For an annotator pair (the smaller user id first): thumbs contingency and counters.
pub type PairCell = (Uuid, Uuid, String, i64, i64);

/// What one item adds to its project's totals, and its own figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemPart {
    pub cells: BTreeMap<Cell, f64>,
    pub pairs: BTreeMap<PairCell, f64>,
    pub annotators: i32,
    pub kendall_w: Option<f64>,
    pub preference: Agreement,
}

impl ItemPart {
    /// The item's part from its labels and, when it has one, the model's proposal (compared
    /// with the consensus even of a single label).
    pub fn of(labels: &[Label], proposal: Option<&ProposalView>) -> Self {
        let mut part = Self {
            annotators: labels.len() as i32,
            ..Self::default()
        };
        if let Some(p) = proposal
            && !labels.is_empty()
        {
            part.judge(labels, p);
        }
        if labels.len() >= 2 {
            part.add(metric::ITEMS, 0, 0, 1.0);
            part.thumbs(labels);
            part.rankings(labels);
            part.strengths(labels);
            part.rubric(labels);
            part.flags(labels);
            part.leave_one_out(labels);
        }
        part
    }

    /// What has to be added to the totals to go from `old` to `self`; cells that do not
    /// change are left out.
    pub fn minus(&self, old: &Self) -> Self {
        fn difference<K: Ord + Clone>(
            new: &BTreeMap<K, f64>,
            old: &BTreeMap<K, f64>,
        ) -> BTreeMap<K, f64> {
            let mut d = new.clone();
            for (key, n) in old {
                *d.entry(key.clone()).or_default() -= n;
            }
            d.retain(|_, n| *n != 0.0);
            d
        }
        Self {
            cells: difference(&self.cells, &old.cells),
            pairs: difference(&self.pairs, &old.pairs),
            ..Self::default()
        }
    }

    /// The sums' part as stored (`item_agreement.part`): `{"cells": [[metric, a, b, n]…],
    /// "pairs": [[user_a, user_b, metric, a, b, n]…]}`.
    pub fn to_json(&self) -> Value {
        let stored = Stored {
            cells: self
                .cells
                .iter()
                .map(|((m, a, b), n)| (m.clone(), *a, *b, *n))
                .collect(),
            pairs: self
                .pairs
                .iter()
                .map(|((ua, ub, m, a, b), n)| (*ua, *ub, m.clone(), *a, *b, *n))
                .collect(),
        };
        serde_json::to_value(stored).unwrap_or(Value::Null)
    }

    /// The part read back; only the sums' cells (the item's own figures are columns).
    pub fn from_json(value: Value) -> serde_json::Result<Self> {
        let stored: Stored = serde_json::from_value(value)?;
        Ok(Self {
            cells: stored
                .cells
                .into_iter()
                .map(|(m, a, b, n)| ((m, a, b), n))
                .collect(),
            pairs: stored
                .pairs
                .into_iter()
                .map(|(ua, ub, m, a, b, n)| ((ua, ub, m, a, b), n))
                .collect(),
            ..Self::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.pairs.is_empty()
    }

    fn add(&mut self, metric: &str, a: i64, b: i64, n: f64) {
        *self.cells.entry((metric.to_owned(), a, b)).or_default() += n;
    }

    fn add_pair(&mut self, first: Uuid, second: Uuid, metric: &str, a: i64, b: i64, n: f64) {
        let (first, second, a, b) = if first <= second {
            (first, second, a, b)
        } else {
            (second, first, b, a)
        };
        *self
            .pairs
            .entry((first, second, metric.to_owned(), a, b))
            .or_default() += n;
    }

    fn add_matrix(&mut self, metric: &str, matrix: &Coincidences) {
        for ((c, k), o) in matrix.cells() {
            self.add(metric, c, k, o);
        }
    }

    fn thumbs(&mut self, labels: &[Label]) {
        let answers: std::collections::BTreeSet<Uuid> = labels
            .iter()
            .flat_map(|l| l.thumbs.keys().copied())
            .collect();
        let mut matrix = Coincidences::new();
        for answer in answers {
            let values: Vec<i64> = labels
                .iter()
                .filter_map(|l| l.thumbs.get(&answer))
                .map(|&up| i64::from(up))
                .collect();
            matrix.add_unit(&values);
            let (same, pairs) = stats::unit_agreement(&values);
            self.add(metric::THUMBS_SAME, 0, 0, same);
            self.add(metric::THUMBS_PAIRS, 0, 0, pairs);
        }
        self.add_matrix(metric::THUMBS, &matrix);
        for (i, first) in labels.iter().enumerate() {
            for second in &labels[i + 1..] {
                for (answer, &up) in &first.thumbs {
                    if let Some(&other) = second.thumbs.get(answer) {
                        self.add_pair(
                            first.user_id,
                            second.user_id,
                            metric::THUMBS,
                            i64::from(up),
                            i64::from(other),
                            1.0,
                        );
                    }
                }
            }
        }
        for (i, first) in labels.iter().enumerate() {
            for second in &labels[i + 1..] {
                self.add_pair(first.user_id, second.user_id, metric::ITEMS, 0, 0, 1.0);
            }
        }
    }

    fn rankings(&mut self, labels: &[Label]) {
        let ranked: Vec<(Uuid, &[Vec<Uuid>])> = labels
            .iter()
            .filter_map(|l| l.ranking.as_deref().map(|r| (l.user_id, r)))
            .collect();
        if ranked.len() < 2 {
            return;
        }
        // Ranks per answer: the units of the ordinal alpha.
        let ranks: Vec<BTreeMap<Uuid, f64>> =
            ranked.iter().map(|(_, r)| stats::mid_ranks(r)).collect();
        let answers: std::collections::BTreeSet<Uuid> =
            ranks.iter().flat_map(|r| r.keys().copied()).collect();
        let mut matrix = Coincidences::new();
        for answer in &answers {
            let values: Vec<i64> = ranks
                .iter()
                .filter_map(|r| r.get(answer))
                .map(|&rank| (rank * 2.0) as i64)
                .collect();
            matrix.add_unit(&values);
        }
        self.add_matrix(metric::RANK, &matrix);
        for (i, &(first, a)) in ranked.iter().enumerate() {
            for &(second, b) in &ranked[i + 1..] {
                let agreement = stats::pairwise(a, b);
                self.preference += agreement;
                self.add_pair(
                    first,
                    second,
                    metric::PREF_AGREE,
                    0,
                    0,
                    agreement.agree as f64,
                );
                self.add_pair(
                    first,
                    second,
                    metric::PREF_COMPARED,
                    0,
                    0,
                    agreement.compared as f64,
                );
            }
        }
        self.add(metric::PREF_AGREE, 0, 0, self.preference.agree as f64);
        self.add(metric::PREF_COMPARED, 0, 0, self.preference.compared as f64);
        // Kendall's W over the rankings that cover every answer.
        let objects: Vec<Uuid> = answers.into_iter().collect();
        let complete: Vec<&[Vec<Uuid>]> = ranked
            .iter()
            .zip(&ranks)
            .filter(|(_, r)| r.len() == objects.len())
            .map(|((_, tiers), _)| *tiers)
            .collect();
        self.kendall_w = stats::kendall_w(&objects, &complete);
        if let Some(w) = self.kendall_w {
            self.add(metric::W_SUM, 0, 0, w);
            self.add(metric::W_ITEMS, 0, 0, 1.0);
        }
    }

    fn judge(&mut self, labels: &[Label], p: &ProposalView) {
        use metric::judge;
        let consensus = Consensus::of(labels);
        let m = |kind: &str| metric::judge(&p.model, kind);
        self.add(&m(judge::ITEMS), 0, 0, 1.0);
        for (answer, &majority) in &consensus.thumbs {
            if let Some(&proposed) = p.thumbs.get(answer) {
                self.add(
                    &m(judge::THUMBS),
                    i64::from(proposed),
                    i64::from(majority),
                    1.0,
                );
            }
        }
        if let Some(ranking) = &consensus.ranking {
            let a = stats::pairwise(&p.ranking, ranking);
            self.add(&m(judge::PREF_AGREE), 0, 0, a.agree as f64);
            self.add(&m(judge::PREF_COMPARED), 0, 0, a.compared as f64);
        }
        if let Some(right) = consensus.judges_right(&p.ranking, &p.thumbs) {
            let confidence = f64::from(p.confidence);
            let bin = stats::calibration::bin(confidence) as i64;
            self.add(&m(judge::CALIB), bin, i64::from(right), 1.0);
            self.add(&m(judge::CONF), bin, 0, confidence);
        }
    }

    fn leave_one_out(&mut self, labels: &[Label]) {
        for (i, label) in labels.iter().enumerate() {
            let others: Vec<&Label> = labels
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, l)| l)
                .collect();
            let consensus = Consensus::of_refs(&others);
            let me = label.user_id;
            if let (Some(mine), Some(theirs)) = (&label.ranking, &consensus.ranking) {
                let a = stats::pairwise(mine, theirs);
                self.add_pair(me, me, metric::LOO_PREF_AGREE, 0, 0, a.agree as f64);
                self.add_pair(me, me, metric::LOO_PREF_COMPARED, 0, 0, a.compared as f64);
            }
            for (answer, &majority) in &consensus.thumbs {
                if let Some(&up) = label.thumbs.get(answer) {
                    self.add_pair(
                        me,
                        me,
                        metric::LOO_THUMBS,
                        i64::from(up),
                        i64::from(majority),
                        1.0,
                    );
                }
            }
        }
    }

    /// Each criterion's scores: the answers are the units.
    fn rubric(&mut self, labels: &[Label]) {
        let mut units: BTreeMap<(&str, Uuid), Vec<i64>> = BTreeMap::new();
        for label in labels {
            for (answer, scores) in &label.judgments.ratings {
                for (key, &score) in scores {
                    units
                        .entry((key.as_str(), *answer))
                        .or_default()
                        .push(i64::from(score));
                }
            }
        }
        let mut matrices: BTreeMap<&str, Coincidences> = BTreeMap::new();
        for ((key, _), values) in &units {
            matrices.entry(key).or_default().add_unit(values);
        }
        for (key, matrix) in matrices {
            self.add_matrix(&metric::rubric(key), &matrix);
        }
    }

    /// Preference strengths. A unit is a pair of answers that some label puts in adjacent
    /// places; each such label gives it a signed value: the number of steps of its scale
    /// with a margin above 0 from the step chosen to the weakest of them (Llama 2's scale:
    /// much better 3, better 2, slightly better 1, about the same 0), positive when the
    /// pair's first answer (by id) is the better one, negative otherwise.
    fn strengths(&mut self, labels: &[Label]) {
        let mut units: BTreeMap<(Uuid, Uuid), Vec<i64>> = BTreeMap::new();
        for label in labels {
            let (Some(scale), Some(tiers)) = (&label.strength, &label.ranking) else {
                continue;
            };
            let positive = scale.steps.iter().filter(|s| s.margin > 0.0).count() as i64;
            for (i, &step) in label.judgments.strengths.iter().enumerate() {
                let (Some(upper), Some(lower)) = (tiers.get(i), tiers.get(i + 1)) else {
                    continue;
                };
                let size = (positive - i64::from(step)).max(0);
                for &better in upper {
                    for &worse in lower {
                        let (first, sign) = if better < worse {
                            ((better, worse), 1)
                        } else {
                            ((worse, better), -1)
                        };
                        units.entry(first).or_default().push(sign * size);
                    }
                }
            }
        }
        let mut matrix = Coincidences::new();
        for values in units.values() {
            matrix.add_unit(values);
        }
        self.add_matrix(metric::STRENGTH, &matrix);
    }

    fn flags(&mut self, labels: &[Label]) {
        for flag in Flag::ALL {
            let values: Vec<i64> = labels
                .iter()
                .map(|l| i64::from(l.flags.contains(&flag)))
                .collect();
            let mut matrix = Coincidences::new();
            matrix.add_unit(&values);
            self.add_matrix(metric::flag(flag), &matrix);
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    cells: Vec<(String, i64, i64, f64)>,
    pairs: Vec<(Uuid, Uuid, String, i64, i64, f64)>,
}
