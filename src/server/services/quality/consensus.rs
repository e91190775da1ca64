//! The human consensus of one item's labels: what the model's proposal is compared with
//! (judge calibration) and what a contradicted proposal is judged by (adaptive overlap).

use super::item::Label;
use crate::server::stats;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Mean ranks closer than this are a tie (mean mid-ranks are ratios of small integers).
const SAME_RANK: f64 = 1e-9;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Consensus {
    /// Best to worst by each answer's mean mid-rank over the annotators who ranked it (equal
    /// means share a tier); `None` when nobody ranked.
    pub ranking: Option<Vec<Vec<Uuid>>>,
    /// Per answer, the thumb a strict majority of the annotators who thumbed it gave (an
    /// even split decides nothing and is left out).
    pub thumbs: BTreeMap<Uuid, bool>,
}

impl Consensus {
    pub fn of(labels: &[Label]) -> Self {
        Self::of_refs(&labels.iter().collect::<Vec<_>>())
    }

    pub fn of_refs(labels: &[&Label]) -> Self {
        let mut ranks: BTreeMap<Uuid, (f64, u32)> = BTreeMap::new();
        for ranking in labels.iter().filter_map(|l| l.ranking.as_deref()) {
            for (answer, rank) in stats::mid_ranks(ranking) {
                let entry = ranks.entry(answer).or_default();
                entry.0 += rank;
                entry.1 += 1;
            }
        }
        let ranking = (!ranks.is_empty()).then(|| {
            let mut means: Vec<(f64, Uuid)> = ranks
                .into_iter()
                .map(|(answer, (sum, n))| (sum / f64::from(n), answer))
                .collect();
            means.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut tiers: Vec<(f64, Vec<Uuid>)> = Vec::new();
            for (mean, answer) in means {
                match tiers.last_mut() {
                    Some((m, tier)) if (mean - *m).abs() < SAME_RANK => tier.push(answer),
                    _ => tiers.push((mean, vec![answer])),
                }
            }
            tiers.into_iter().map(|(_, tier)| tier).collect()
        });
        let mut votes: BTreeMap<Uuid, (u32, u32)> = BTreeMap::new();
        for label in labels {
            for (&answer, &up) in &label.thumbs {
                let v = votes.entry(answer).or_default();
                if up {
                    v.0 += 1;
                } else {
                    v.1 += 1;
                }
            }
        }
        let thumbs = votes
            .into_iter()
            .filter(|(_, (up, down))| up != down)
            .map(|(answer, (up, down))| (answer, up > down))
            .collect();
        Self { ranking, thumbs }
    }

    /// The answer the consensus ranks first on its own, if one is.
    pub fn best(&self) -> Option<Uuid> {
        match self.ranking.as_deref()?.first()?.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// Whether a proposed label contradicts the consensus: the consensus' sole best answer is
    /// not among the proposal's first, or a majority thumb is the opposite of the proposal's.
    pub fn contradicts(&self, ranking: &[Vec<Uuid>], thumbs: &BTreeMap<Uuid, bool>) -> bool {
        let best_missed = match (self.best(), ranking.first()) {
            (Some(best), Some(top)) => !top.contains(&best),
            _ => false,
        };
        best_missed
            || self
                .thumbs
                .iter()
                .any(|(answer, up)| thumbs.get(answer).is_some_and(|p| p != up))
    }

    /// Whether a proposed label is right, for calibration: with rankings, its sole first
    /// answer is the consensus' sole best; with thumbs only, it gives every majority thumb.
    /// `None` when the consensus decides nothing (a tie at the top, even splits).
    pub fn judges_right(
        &self,
        ranking: &[Vec<Uuid>],
        thumbs: &BTreeMap<Uuid, bool>,
    ) -> Option<bool> {
        if self.ranking.is_some() {
            let best = self.best()?;
            return Some(ranking.first().is_some_and(|top| top.as_slice() == [best]));
        }
        (!self.thumbs.is_empty()).then(|| {
            self.thumbs
                .iter()
                .all(|(answer, up)| thumbs.get(answer) == Some(up))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn label(ranking: Option<Vec<Vec<u128>>>, thumbs: &[(u128, bool)]) -> Label {
        Label {
            user_id: Uuid::new_v4(),
            ranking: ranking.map(|r| {
                r.into_iter()
                    .map(|t| t.into_iter().map(id).collect())
                    .collect()
            }),
            thumbs: thumbs.iter().map(|&(a, up)| (id(a), up)).collect(),
            flags: vec![],
            ..Label::default()
        }
    }

    #[test]
    fn mean_ranks_order_the_consensus_and_equal_means_tie() {
        // Answer 1: ranks 1, 2 (mean 1.5); 2: 2, 1 (1.5); 3: 3, 3.
        let c = Consensus::of(&[
            label(Some(vec![vec![1], vec![2], vec![3]]), &[]),
            label(Some(vec![vec![2], vec![1], vec![3]]), &[]),
        ]);
        assert_eq!(c.ranking, Some(vec![vec![id(1), id(2)], vec![id(3)]]));
        assert_eq!(c.best(), None);
        assert_eq!(
            c.judges_right(&[vec![id(1)], vec![id(2)]], &BTreeMap::new()),
            None
        );
        // A third annotator breaks the tie.
        let c = Consensus::of(&[
            label(Some(vec![vec![1], vec![2], vec![3]]), &[]),
            label(Some(vec![vec![2], vec![1], vec![3]]), &[]),
            label(Some(vec![vec![1], vec![3], vec![2]]), &[]),
        ]);
        assert_eq!(c.best(), Some(id(1)));
        assert!(c.contradicts(&[vec![id(2)], vec![id(1)]], &BTreeMap::new()));
        assert!(!c.contradicts(&[vec![id(1), id(2)]], &BTreeMap::new()));
        assert_eq!(
            c.judges_right(&[vec![id(1), id(2)]], &BTreeMap::new()),
            Some(false)
        );
        assert_eq!(
            c.judges_right(&[vec![id(1)], vec![id(2)]], &BTreeMap::new()),
            Some(true)
        );
    }

    #[test]
    fn thumbs_need_a_strict_majority() {
        let c = Consensus::of(&[
            label(None, &[(1, true), (2, false)]),
            label(None, &[(1, true), (2, true)]),
        ]);
        assert_eq!(c.thumbs, BTreeMap::from([(id(1), true)]));
        let proposed = BTreeMap::from([(id(1), false), (id(2), true)]);
        assert!(c.contradicts(&[], &proposed));
        assert_eq!(c.judges_right(&[], &proposed), Some(false));
        let proposed = BTreeMap::from([(id(1), true)]);
        assert!(!c.contradicts(&[], &proposed));
        assert_eq!(c.judges_right(&[], &proposed), Some(true));
    }
}
