//! Bradley-Terry with covariates ("style control", as Chatbot Arena's): model `a` beats
//! model `b` with probability `σ(θ_a − θ_b + β·(x_a − x_b))`, where `x` describes an answer
//! (here: its length), so that a model is not rated higher for what the covariates explain.
//!
//! Scores are as in [`super::bradley_terry`]: 1, 0, or ½ each way for a tie. The fit is
//! maximum likelihood by Newton's method with step halving, the first model present held at
//! 0 (the θ are then centred to mean 0 over the models present, as the plain fit's are).
//! When the comparison graph alone has no finite maximum, the same virtual ties as the plain
//! fit's (weight [`super::bradley_terry::PRIOR`], no covariate difference) are added; when
//! the covariates alone separate the outcomes, Newton's method does not converge and the
//! result says `regularized` with the iterate it stopped at.

use super::bradley_terry::{self, Comparison, PRIOR};

const MAX_ITERATIONS: usize = 200;
const TOLERANCE: f64 = 1e-12;

/// A comparison with the covariates' differences (`a`'s minus `b`'s).
#[derive(Clone, Debug, PartialEq)]
pub struct Styled {
    pub comparison: Comparison,
    pub difference: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StyledFit {
    pub theta: Vec<f64>,
    /// One coefficient per covariate: log-odds per unit of difference.
    pub beta: Vec<f64>,
    pub regularized: bool,
    pub iterations: usize,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves `m x = v` for a symmetric positive definite `m` (Cholesky); `None` if it is not.
fn solve(m: &[Vec<f64>], v: &[f64]) -> Option<Vec<f64>> {
    let n = v.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if d <= 1e-300 {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (v[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// The maximum-likelihood fit of `n` models and `k` covariates.
pub fn fit(n: usize, k: usize, data: &[Styled]) -> StyledFit {
    let plain: Vec<Comparison> = data.iter().map(|s| s.comparison).collect();
    let present: Vec<bool> = (0..n)
        .map(|i| plain.iter().any(|c| c.a == i || c.b == i))
        .collect();
    let mut rows: Vec<(usize, usize, f64, f64, Vec<f64>)> = data
        .iter()
        .map(|s| {
            (
                s.comparison.a,
                s.comparison.b,
                s.comparison.score,
                1.0,
                s.difference.clone(),
            )
        })
        .collect();
    let mut regularized = bradley_terry::fit(n, &plain).regularized;
    if regularized {
        for i in 0..n {
            for j in i + 1..n {
                if present[i] && present[j] {
                    rows.push((i, j, 0.5, PRIOR, vec![0.0; k]));
                }
            }
        }
    }
    // Parameters: θ of the models present but the first, then β of the covariates that
    // vary (one that never differs says nothing: its β is 0).
    let free: Vec<usize> = (0..n).filter(|&i| present[i]).skip(1).collect();
    let varying: Vec<usize> = (0..k)
        .filter(|&j| {
            data.iter()
                .any(|s| s.difference.get(j).is_some_and(|d| *d != 0.0))
        })
        .collect();
    let mut slot = vec![None; n];
    for (p, &i) in free.iter().enumerate() {
        slot[i] = Some(p);
    }
    let dim = free.len() + varying.len();
    let mut w = vec![0.0; dim];
    let design = |a: usize, b: usize, d: &[f64]| {
        let mut x: Vec<(usize, f64)> = Vec::with_capacity(2 + k);
        if let Some(p) = slot[a] {
            x.push((p, 1.0));
        }
        if let Some(p) = slot[b] {
            x.push((p, -1.0));
        }
        x.extend(
            varying
                .iter()
                .enumerate()
                .map(|(p, &j)| (free.len() + p, d[j])),
        );
        x
    };
    let likelihood = |w: &[f64]| -> f64 {
        rows.iter()
            .map(|(a, b, s, weight, d)| {
                let z: f64 = design(*a, *b, d).iter().map(|(p, v)| w[*p] * v).sum();
                let (p, q) = (sigmoid(z).max(1e-300), sigmoid(-z).max(1e-300));
                weight * (s * p.ln() + (1.0 - s) * q.ln())
            })
            .sum()
    };
    let mut current = likelihood(&w);
    let mut iterations = 0;
    let mut converged = dim == 0;
    while !converged && iterations < MAX_ITERATIONS {
        iterations += 1;
        let mut gradient = vec![0.0; dim];
        let mut information = vec![vec![0.0; dim]; dim];
        for (a, b, s, weight, d) in &rows {
            let x = design(*a, *b, d);
            let z: f64 = x.iter().map(|(p, v)| w[*p] * v).sum();
            let p = sigmoid(z);
            for &(i, vi) in &x {
                gradient[i] += weight * (s - p) * vi;
                for &(j, vj) in &x {
                    information[i][j] += weight * p * (1.0 - p) * vi * vj;
                }
            }
        }
        let Some(step) = solve(&information, &gradient) else {
            break;
        };
        // Halve the step until the likelihood does not fall.
        let mut scale = 1.0;
        let mut next;
        loop {
            next = w
                .iter()
                .zip(&step)
                .map(|(w, s)| w + scale * s)
                .collect::<Vec<_>>();
            let value = likelihood(&next);
            if value >= current - 1e-12 || scale < 1e-6 {
                current = value;
                break;
            }
            scale /= 2.0;
        }
        let change = step.iter().map(|s| (scale * s).abs()).fold(0.0, f64::max);
        w = next;
        converged = change < TOLERANCE.max(1e-9 * w.iter().map(|v| v.abs()).fold(1.0, f64::max));
    }
    if !converged {
        regularized = true;
    }
    let mut theta = vec![0.0; n];
    for (p, &i) in free.iter().enumerate() {
        theta[i] = w[p];
    }
    let count = present.iter().filter(|x| **x).count().max(1) as f64;
    let mean: f64 = (0..n)
        .filter(|&i| present[i])
        .map(|i| theta[i])
        .sum::<f64>()
        / count;
    for i in (0..n).filter(|&i| present[i]) {
        theta[i] -= mean;
    }
    let mut beta = vec![0.0; k];
    for (p, &j) in varying.iter().enumerate() {
        beta[j] = w[free.len() + p];
    }
    StyledFit {
        theta,
        beta,
        regularized,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: usize, b: usize, score: f64, d: f64) -> Styled {
        Styled {
            comparison: Comparison { a, b, score },
            difference: vec![d],
        }
    }

    #[test]
    fn without_covariate_differences_it_is_the_plain_fit() {
        let data: Vec<Styled> = [
            (0, 1, 1.0),
            (0, 1, 1.0),
            (1, 0, 1.0),
            (1, 2, 1.0),
            (2, 1, 0.5),
            (2, 0, 1.0),
            (0, 2, 0.0),
        ]
        .into_iter()
        .map(|(a, b, sc)| s(a, b, sc, 0.0))
        .collect();
        let styled = fit(3, 1, &data);
        let plain = bradley_terry::fit(3, &data.iter().map(|d| d.comparison).collect::<Vec<_>>());
        for (x, y) in styled.theta.iter().zip(&plain.theta) {
            assert!((x - y).abs() < 1e-8, "{styled:?} against {plain:?}");
        }
        assert!(!styled.regularized);
    }

    #[test]
    fn a_model_that_wins_only_by_length_loses_its_lead() {
        // Model 0 writes the longer answer in 20 games and wins 15; the shorter in 4 and
        // wins 1. The longer answer wins 3 in 4 either way: with length, the models are
        // equal (θ0 − θ1 + β/2 = logit ¾, θ0 − θ1 − β/2 = logit ¼, so β = 2 ln 3); without
        // it, model 0 leads by ln 2 (16 wins to 8).
        let mut data = Vec::new();
        for k in 0..20 {
            data.push(s(0, 1, if k < 15 { 1.0 } else { 0.0 }, 0.5));
        }
        for k in 0..4 {
            data.push(s(0, 1, if k < 1 { 1.0 } else { 0.0 }, -0.5));
        }
        let f = fit(2, 1, &data);
        assert!(!f.regularized);
        assert!((f.theta[0] - f.theta[1]).abs() < 1e-8, "{f:?}");
        assert!((f.beta[0] - 2.0 * 3f64.ln()).abs() < 1e-8, "{f:?}");
        let plain = bradley_terry::fit(2, &data.iter().map(|d| d.comparison).collect::<Vec<_>>());
        assert!(
            (plain.theta[0] - plain.theta[1] - 2f64.ln()).abs() < 1e-8,
            "{plain:?}"
        );
    }

    #[test]
    fn a_model_that_always_wins_is_finite_and_marked() {
        let data = [
            s(0, 1, 1.0, 0.1),
            s(0, 2, 1.0, -0.2),
            s(1, 2, 1.0, 0.3),
            s(2, 1, 1.0, 0.0),
        ];
        let f = fit(3, 1, &data);
        assert!(f.regularized);
        assert!(
            f.theta.iter().chain(&f.beta).all(|t| t.is_finite()),
            "{f:?}"
        );
    }
}
