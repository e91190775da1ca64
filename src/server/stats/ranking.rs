//! Agreement of rankings given as tiers, best first (a tier of several answers is a tie):
//! mid-ranks, Kendall's W with the tie correction, and pairwise preference agreement.

use std::collections::BTreeMap;

/// Each object's rank, ties sharing the mean of the ranks they span (1-based): tiers
/// `[[a], [b, c], [d]]` give a 1, b and c 2.5, d 4.
pub fn mid_ranks<T: Ord + Copy>(tiers: &[Vec<T>]) -> BTreeMap<T, f64> {
    let mut ranks = BTreeMap::new();
    let mut above = 0usize;
    for tier in tiers {
        let rank = above as f64 + (tier.len() as f64 + 1.0) / 2.0;
        for &object in tier {
            ranks.insert(object, rank);
        }
        above += tier.len();
    }
    ranks
}

/// Kendall's coefficient of concordance W over raters who each ranked all `objects`, with
/// the correction for ties: 12 S / (m^2 (n^3 - n) - m sum(t^3 - t)). `None` with fewer than
/// two raters or two objects, or when every rater tied everything.
pub fn kendall_w<T: Ord + Copy>(objects: &[T], rankings: &[&[Vec<T>]]) -> Option<f64> {
    let m = rankings.len() as f64;
    let n = objects.len() as f64;
    if rankings.len() < 2 || objects.len() < 2 {
        return None;
    }
    let mut sums: BTreeMap<T, f64> = objects.iter().map(|&o| (o, 0.0)).collect();
    let mut ties = 0.0;
    for tiers in rankings {
        for (object, rank) in mid_ranks(tiers) {
            if let Some(sum) = sums.get_mut(&object) {
                *sum += rank;
            }
        }
        ties += tiers
            .iter()
            .map(|t| {
                let t = t.len() as f64;
                t * t * t - t
            })
            .sum::<f64>();
    }
    let mean = m * (n + 1.0) / 2.0;
    let s: f64 = sums.values().map(|r| (r - mean) * (r - mean)).sum();
    let denominator = m * m * (n * n * n - n) - m * ties;
    (denominator > 0.0).then(|| 12.0 * s / denominator)
}

/// Pairs of (rater pair, object pair) that were compared, and those that agreed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    pub agree: u64,
    pub compared: u64,
}

impl Agreement {
    pub fn share(self) -> Option<f64> {
        (self.compared > 0).then(|| self.agree as f64 / self.compared as f64)
    }
}

impl std::ops::AddAssign for Agreement {
    fn add_assign(&mut self, other: Self) {
        self.agree += other.agree;
        self.compared += other.compared;
    }
}

/// Pairwise preference agreement of two rankings: over every pair of objects both ranked,
/// whether they put the same one above the other. A tie agrees only with a tie: a tie
/// against a strict order counts as a disagreement.
pub fn pairwise<T: Ord + Copy>(first: &[Vec<T>], second: &[Vec<T>]) -> Agreement {
    let a = tier_index(first);
    let b = tier_index(second);
    let shared: Vec<(usize, usize)> = a
        .iter()
        .filter_map(|(object, &ta)| b.get(object).map(|&tb| (ta, tb)))
        .collect();
    let mut result = Agreement::default();
    for (i, &(a1, b1)) in shared.iter().enumerate() {
        for &(a2, b2) in &shared[i + 1..] {
            result.compared += 1;
            if a1.cmp(&a2) == b1.cmp(&b2) {
                result.agree += 1;
            }
        }
    }
    result
}

fn tier_index<T: Ord + Copy>(tiers: &[Vec<T>]) -> BTreeMap<T, usize> {
    tiers
        .iter()
        .enumerate()
        .flat_map(|(i, tier)| tier.iter().map(move |&o| (o, i)))
        .collect()
}
