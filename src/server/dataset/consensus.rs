//! The consensus of several annotators' rankings (Borda count), and how many agree with
//! a pair of it.

use uuid::Uuid;

/// Consensus of several rankings by Borda count. In a ranking over n answers, the answer
/// at position p (0 = best) gets n - 1 - p points; tied answers share the average of the
/// positions their tier spans; answers missing from a ranking get nothing from it.
/// Answers are ordered by total points, highest first; equal totals form one tier, inside
/// which answers keep their order in `answers`.
pub fn consensus(rankings: &[Vec<Vec<Uuid>>], answers: &[Uuid]) -> Vec<Vec<Uuid>> {
    // Doubled points, so that shared half positions stay exact integers.
    let mut points = vec![0i64; answers.len()];
    for ranking in rankings {
        let n: i64 = ranking.iter().map(|tier| tier.len() as i64).sum();
        let mut start = 0i64;
        for tier in ranking {
            let len = tier.len() as i64;
            // Positions start ..= start + len - 1 average start + (len - 1) / 2.
            let doubled = 2 * (n - 1) - (2 * start + len - 1);
            for id in tier {
                if let Some(i) = answers.iter().position(|a| a == id) {
                    points[i] += doubled;
                }
            }
            start += len;
        }
    }
    let mut order: Vec<usize> = (0..answers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(points[i])); // stable: keeps `answers` order
    let mut tiers: Vec<Vec<Uuid>> = Vec::new();
    let mut last: Option<i64> = None;
    for i in order {
        if last == Some(points[i])
            && let Some(tier) = tiers.last_mut()
        {
            tier.push(answers[i]);
        } else {
            tiers.push(vec![answers[i]]);
            last = Some(points[i]);
        }
    }
    tiers
}

/// Share of the rankings containing both answers that put `better` strictly above `worse`
/// (0.0 when none contains both).
pub fn pair_agreement(rankings: &[Vec<Vec<Uuid>>], better: Uuid, worse: Uuid) -> f64 {
    let tier_of = |r: &[Vec<Uuid>], id: Uuid| r.iter().position(|tier| tier.contains(&id));
    let (mut both, mut agree) = (0usize, 0usize);
    for ranking in rankings {
        if let (Some(b), Some(w)) = (tier_of(ranking, better), tier_of(ranking, worse)) {
            both += 1;
            agree += usize::from(b < w);
        }
    }
    if both == 0 {
        0.0
    } else {
        agree as f64 / both as f64
    }
}
