//! Bradley-Terry strengths from pairwise outcomes, by maximum likelihood.
//!
//! Model `i` beats model `j` with probability `p_i / (p_i + p_j)`. Each comparison scores
//! 1 for a win, 0 for a loss and ½ each way for a tie (a tie counts as half a win for both
//! sides: with outcomes weighted so, the likelihood is the product of `p_i^s / (p_i+p_j)`
//! over comparisons, as in Davidson's treatment without a tie parameter). The fit is
//! Hunter's (2004) MM iteration, which converges to the maximum-likelihood estimate whenever
//! it exists: when every model has lost some score to, and taken some from, the rest — the
//! comparison graph is strongly connected. When it is not (a model that always wins, or
//! always loses), the estimate would be infinite; then every pair of models is given one
//! virtual tie of weight [`PRIOR`] (a small symmetric prior), the fit is finite, and the
//! result says so (`regularized`).

/// The weight of the virtual tie between each pair when the data alone has no finite fit.
pub const PRIOR: f64 = 0.1;
const MAX_ITERATIONS: usize = 10_000;
const TOLERANCE: f64 = 1e-10;

/// One comparison: `a` against `b`, `score` = 1 if `a` won, 0 if `b` won, 0.5 for a tie.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    pub a: usize,
    pub b: usize,
    pub score: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Log-strengths `θ_i = ln p_i`, centred to mean 0.
    pub theta: Vec<f64>,
    /// The data had no finite maximum; the virtual ties of [`PRIOR`] were added.
    pub regularized: bool,
    pub iterations: usize,
}

/// Whether the directed graph "i took some score from j" is strongly connected over the
/// models that appear (models with no comparison at all are left out of the question).
fn strongly_connected(n: usize, comparisons: &[Comparison]) -> bool {
    let mut took: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut seen = vec![false; n];
    for c in comparisons {
        seen[c.a] = true;
        seen[c.b] = true;
        if c.score > 0.0 {
            took[c.a].push(c.b);
        }
        if c.score < 1.0 {
            took[c.b].push(c.a);
        }
    }
    let reach = |edges: &Vec<Vec<usize>>, start: usize| {
        let mut on = vec![false; n];
        let mut stack = vec![start];
        on[start] = true;
        while let Some(i) = stack.pop() {
            for &j in &edges[i] {
                if !on[j] {
                    on[j] = true;
                    stack.push(j);
                }
            }
        }
        on
    };
    let Some(start) = seen.iter().position(|s| *s) else {
        return true;
    };
    let mut back: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, out) in took.iter().enumerate() {
        for &j in out {
            back[j].push(i);
        }
    }
    let forward = reach(&took, start);
    let backward = reach(&back, start);
    (0..n).all(|i| !seen[i] || (forward[i] && backward[i]))
}

/// The maximum-likelihood fit of `n` models (`θ` of a model without comparisons is 0).
pub fn fit(n: usize, comparisons: &[Comparison]) -> Fit {
    let regularized = !strongly_connected(n, comparisons);
    // Wins (scores) per model and comparisons per pair.
    let mut wins = vec![0.0; n];
    let mut games = vec![vec![0.0; n]; n];
    for c in comparisons {
        wins[c.a] += c.score;
        wins[c.b] += 1.0 - c.score;
        games[c.a][c.b] += 1.0;
        games[c.b][c.a] += 1.0;
    }
    let present: Vec<bool> = (0..n).map(|i| games[i].iter().any(|g| *g > 0.0)).collect();
    if regularized {
        for i in 0..n {
            for j in 0..n {
                if i != j && present[i] && present[j] {
                    games[i][j] += PRIOR;
                    wins[i] += PRIOR / 2.0;
                }
            }
        }
    }
    let mut p: Vec<f64> = vec![1.0; n];
    let mut iterations = 0;
    for _ in 0..MAX_ITERATIONS {
        iterations += 1;
        let mut next = p.clone();
        for i in (0..n).filter(|&i| present[i]) {
            let denominator: f64 = (0..n)
                .filter(|&j| games[i][j] > 0.0)
                .map(|j| games[i][j] / (p[i] + p[j]))
                .sum();
            next[i] = wins[i] / denominator;
        }
        // Geometric mean 1 over the models present.
        let count = present.iter().filter(|x| **x).count().max(1) as f64;
        let log_mean: f64 = (0..n)
            .filter(|&i| present[i])
            .map(|i| next[i].ln())
            .sum::<f64>()
            / count;
        for (i, value) in next.iter_mut().enumerate() {
            if present[i] {
                *value /= log_mean.exp();
            }
        }
        let change = (0..n)
            .filter(|&i| present[i])
            .map(|i| (next[i].ln() - p[i].ln()).abs())
            .fold(0.0, f64::max);
        p = next;
        if change < TOLERANCE {
            break;
        }
    }
    Fit {
        theta: p
            .iter()
            .zip(&present)
            .map(|(p, on)| if *on { p.ln() } else { 0.0 })
            .collect(),
        regularized,
        iterations,
    }
}

/// `θ` on an Elo-like scale: 400 points are a factor of 10 in the odds, `anchor` is at
/// `at` (e.g. 1000).
pub fn elo(theta: &[f64], anchor: usize, at: f64) -> Vec<f64> {
    let k = 400.0 / std::f64::consts::LN_10;
    theta.iter().map(|t| at + k * (t - theta[anchor])).collect()
}

/// Ranks that respect the intervals: a model's rank is 1 + the number of models whose
/// lower bound is above its upper bound (Chatbot Arena's rule).
pub fn ranks(lower: &[f64], upper: &[f64]) -> Vec<usize> {
    (0..lower.len())
        .map(|i| 1 + (0..lower.len()).filter(|&j| lower[j] > upper[i]).count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: usize, b: usize, score: f64) -> Comparison {
        Comparison { a, b, score }
    }

    #[test]
    fn two_models_fit_the_odds_of_their_record() {
        // 3 wins to 1: p0 / p1 = 3.
        let data = [c(0, 1, 1.0), c(0, 1, 1.0), c(1, 0, 0.0), c(0, 1, 0.0)];
        let f = fit(2, &data);
        assert!(!f.regularized);
        assert!((f.theta[0] - f.theta[1] - 3f64.ln()).abs() < 1e-9, "{f:?}");
        // A tie is half a win each way: a win and a tie make 1.5 to 0.5, odds of 3 again.
        let f = fit(2, &[c(0, 1, 1.0), c(0, 1, 0.5)]);
        assert!((f.theta[0] - f.theta[1] - 3f64.ln()).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn a_model_that_always_wins_gets_a_finite_marked_fit() {
        let data = [c(0, 1, 1.0), c(0, 2, 1.0), c(1, 2, 1.0), c(2, 1, 1.0)];
        let f = fit(3, &data);
        assert!(f.regularized);
        assert!(f.theta.iter().all(|t| t.is_finite()), "{f:?}");
        assert!(f.theta[0] > f.theta[1] && f.theta[0] > f.theta[2]);
    }

    #[test]
    fn ranks_respect_the_intervals() {
        // 0 is clearly above 1 and 2, whose intervals overlap.
        let r = ranks(&[10.0, 4.0, 3.0], &[12.0, 6.0, 5.0]);
        assert_eq!(r, vec![1, 2, 2]);
    }
}
