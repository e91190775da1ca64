//! The model leaderboard: Bradley-Terry strengths of the models that wrote a project's
//! answers, from the annotators' rankings, on an Elo-like scale with bootstrap intervals.
//!
//! Every ranking gives, for each two answers of different models, a win for the one placed
//! higher, or a tie (half a win each way) when they share a place. Strengths are fitted by
//! maximum likelihood ([`crate::server::stats::bradley_terry`]); 95% intervals come from
//! refitting on items drawn with replacement (`rounds` times, a fixed seed, so a report is
//! reproducible); a model ranks above another only when their intervals do not overlap.

use super::{Actor, Result};
use crate::model::api::Scope;
use crate::server::Error;
use crate::server::stats::bradley_terry::{self, Comparison};
use crate::server::store::leaderboard;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub const DEFAULT_ROUNDS: u32 = 200;
pub const MAX_ROUNDS: u32 = 2000;
/// The anchor model's rating.
pub const ANCHOR_RATING: f64 = 1000.0;
const SEED: u64 = 20261203;

/// What to compute; blank fields take the defaults.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Options {
    /// Bootstrap rounds for the intervals (default 200, at most 2000; 0: no intervals).
    pub rounds: Option<u32>,
    /// The model rated 1000 (default: the one with the most comparisons).
    pub anchor: Option<String>,
    /// Also a board per value of this item metadata field (e.g. `category`).
    pub by: Option<String>,
    /// Only rankings last changed at or after this day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// ... and up to and including this day.
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ModelStanding {
    pub model: String,
    /// Elo-like: 400 points are a factor of 10 in the odds of winning.
    pub rating: f64,
    /// The 95% bootstrap interval (`null` without rounds).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// 1 + the number of models whose interval lies wholly above this one's.
    pub rank: usize,
    pub comparisons: u64,
    pub wins: u64,
    pub ties: u64,
    pub losses: u64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Leaderboard {
    /// Best first.
    pub models: Vec<ModelStanding>,
    pub anchor: Option<String>,
    pub rounds: u32,
    /// Comparisons and the items they come from.
    pub comparisons: u64,
    pub items: u64,
    /// The data alone has no finite fit (a model never lost, or never won): a small
    /// symmetric prior was added, and the ratings of such models are a bound, not a value.
    pub regularized: bool,
    /// `win_rate[i][j]`: the share of model i's comparisons with model j it won (ties half),
    /// `null` where they never met; `games[i][j]` the number of those comparisons.
    pub win_rate: Vec<Vec<Option<f64>>>,
    pub games: Vec<Vec<u64>>,
    /// With `by`: the board of each value of the field (items without it: `value` null),
    /// each with its own anchor (the board's, where that model was compared).
    pub slices: Vec<Slice>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Slice {
    pub value: Option<String>,
    pub models: Vec<ModelStanding>,
    pub anchor: Option<String>,
    pub comparisons: u64,
    pub items: u64,
    pub regularized: bool,
}

/// The comparisons each ranking makes between answers of different models, by item.
fn comparisons_by_item(
    rankings: &[&leaderboard::RankingRow],
    model_of: &HashMap<Uuid, usize>,
) -> Vec<Vec<Comparison>> {
    let mut by_item: Vec<Vec<Comparison>> = Vec::new();
    let mut last: Option<Uuid> = None;
    for row in rankings {
        if last != Some(row.item_id) {
            by_item.push(Vec::new());
            last = Some(row.item_id);
        }
        let out = by_item.last_mut().expect("pushed above");
        let tiers: Vec<Vec<usize>> = row
            .ranking
            .0
            .iter()
            .map(|tier| {
                tier.iter()
                    .filter_map(|id| model_of.get(id).copied())
                    .collect()
            })
            .collect();
        for (place, tier) in tiers.iter().enumerate() {
            for (k, &a) in tier.iter().enumerate() {
                for &b in &tier[k + 1..] {
                    if a != b {
                        out.push(Comparison { a, b, score: 0.5 });
                    }
                }
                for lower in &tiers[place + 1..] {
                    for &b in lower {
                        if a != b {
                            out.push(Comparison { a, b, score: 1.0 });
                        }
                    }
                }
            }
        }
    }
    by_item.retain(|c| !c.is_empty());
    by_item
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// The leaderboard of the project's models (admins, and tokens with `export:read`).
pub async fn leaderboard(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &Options,
) -> Result<Leaderboard> {
    let project = super::projects::authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    let rounds = options.rounds.unwrap_or(DEFAULT_ROUNDS);
    if rounds > MAX_ROUNDS {
        return Err(Error::invalid(
            "rounds",
            format!("must be at most {MAX_ROUNDS}"),
        ));
    }
    let from = super::form::day("from", options.from.as_deref(), false)?;
    let to = super::form::day("to", options.to.as_deref(), true)?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(Error::invalid("to", "must not be before from"));
    }
    let by = options
        .by
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let answers = leaderboard::answer_models(pool, project.project_id).await?;
    let mut names: Vec<String> = answers.iter().map(|(_, m)| m.clone()).collect();
    names.sort();
    names.dedup();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let model_of: HashMap<Uuid, usize> = answers
        .iter()
        .map(|(id, m)| (*id, index[m.as_str()]))
        .collect();
    let rankings = leaderboard::rankings(pool, project.project_id, by, from, to).await?;
    let anchor = options
        .anchor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let all: Vec<&leaderboard::RankingRow> = rankings.iter().collect();
    let mut whole = board(
        &names,
        &comparisons_by_item(&all, &model_of),
        rounds,
        anchor,
        true,
    )?;
    if by.is_some() {
        let mut values: Vec<Option<String>> = rankings.iter().map(|r| r.slice.clone()).collect();
        values.sort();
        values.dedup();
        for value in values {
            let part: Vec<&leaderboard::RankingRow> =
                rankings.iter().filter(|r| r.slice == value).collect();
            let b = board(
                &names,
                &comparisons_by_item(&part, &model_of),
                rounds,
                whole.anchor.as_deref(),
                false,
            )?;
            whole.slices.push(Slice {
                value,
                models: b.models,
                anchor: b.anchor,
                comparisons: b.comparisons,
                items: b.items,
                regularized: b.regularized,
            });
        }
    }
    Ok(whole)
}

/// One board from comparisons grouped by item. `anchor`: the model rated 1000; where it was
/// not compared, a `strict` board refuses it and a slice takes its own most compared model.
fn board(
    names: &[String],
    by_item: &[Vec<Comparison>],
    rounds: u32,
    anchor: Option<&str>,
    strict: bool,
) -> Result<Leaderboard> {
    let all: Vec<Comparison> = by_item.iter().flatten().copied().collect();
    let n = names.len();
    let mut games = vec![vec![0u64; n]; n];
    let mut scored = vec![vec![0.0f64; n]; n];
    let mut record = vec![(0u64, 0u64, 0u64); n];
    for c in &all {
        games[c.a][c.b] += 1;
        games[c.b][c.a] += 1;
        scored[c.a][c.b] += c.score;
        scored[c.b][c.a] += 1.0 - c.score;
        let (wa, wb) = match c.score {
            s if s > 0.75 => ((1, 0, 0), (0, 0, 1)),
            s if s < 0.25 => ((0, 0, 1), (1, 0, 0)),
            _ => ((0, 1, 0), (0, 1, 0)),
        };
        for (who, (w, t, l)) in [(c.a, wa), (c.b, wb)] {
            record[who].0 += w;
            record[who].1 += t;
            record[who].2 += l;
        }
    }
    // Only models that were compared stand on the board.
    let compared: Vec<usize> = (0..n)
        .filter(|&i| games[i].iter().any(|g| *g > 0))
        .collect();
    let chosen = anchor.and_then(|name| {
        names
            .iter()
            .position(|n| n == name)
            .filter(|i| compared.contains(i))
    });
    if let (Some(name), None, true) = (anchor, chosen, strict) {
        return Err(Error::invalid(
            "anchor",
            format!("no compared model is called {name:?}"),
        ));
    }
    let anchor = match chosen {
        Some(i) => Some(i),
        None => compared
            .iter()
            .copied()
            .max_by_key(|&i| (games[i].iter().sum::<u64>(), std::cmp::Reverse(i))),
    };
    let fit = bradley_terry::fit(n, &all);
    let ratings = anchor.map(|a| bradley_terry::elo(&fit.theta, a, ANCHOR_RATING));
    // Bootstrap over items.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    if let (Some(a), true) = (anchor, rounds > 0 && !by_item.is_empty()) {
        let mut rng = StdRng::seed_from_u64(SEED);
        for _ in 0..rounds {
            let drawn: Vec<Comparison> = (0..by_item.len())
                .flat_map(|_| by_item[rng.gen_range(0..by_item.len())].iter().copied())
                .collect();
            let refit = bradley_terry::fit(n, &drawn);
            let present = |i: usize| drawn.iter().any(|c| c.a == i || c.b == i);
            if !present(a) {
                continue;
            }
            let r = bradley_terry::elo(&refit.theta, a, ANCHOR_RATING);
            for i in compared.iter().copied().filter(|&i| present(i)) {
                samples[i].push(r[i]);
            }
        }
    }
    let intervals: Vec<Option<(f64, f64)>> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            (!s.is_empty()).then(|| (percentile(s, 0.025), percentile(s, 0.975)))
        })
        .collect();
    let (lower, upper): (Vec<f64>, Vec<f64>) = compared
        .iter()
        .map(|&i| {
            let rating = ratings.as_ref().map_or(0.0, |r| r[i]);
            intervals[i].unwrap_or((rating, rating))
        })
        .unzip();
    let ranks = bradley_terry::ranks(&lower, &upper);
    let mut models: Vec<ModelStanding> = compared
        .iter()
        .enumerate()
        .map(|(k, &i)| ModelStanding {
            model: names[i].clone(),
            rating: ratings.as_ref().map_or(ANCHOR_RATING, |r| r[i]),
            lower: intervals[i].map(|(l, _)| l),
            upper: intervals[i].map(|(_, u)| u),
            rank: ranks[k],
            comparisons: games[i].iter().sum(),
            wins: record[i].0,
            ties: record[i].1,
            losses: record[i].2,
        })
        .collect();
    models.sort_by(|a, b| b.rating.total_cmp(&a.rating));
    let order: Vec<usize> = models
        .iter()
        .map(|m| {
            names
                .iter()
                .position(|n| *n == m.model)
                .expect("a known model")
        })
        .collect();
    Ok(Leaderboard {
        win_rate: order
            .iter()
            .map(|&i| {
                order
                    .iter()
                    .map(|&j| (games[i][j] > 0).then(|| scored[i][j] / games[i][j] as f64))
                    .collect()
            })
            .collect(),
        games: order
            .iter()
            .map(|&i| order.iter().map(|&j| games[i][j]).collect())
            .collect(),
        models,
        anchor: anchor.map(|a| names[a].clone()),
        rounds,
        comparisons: all.len() as u64,
        items: by_item.len() as u64,
        regularized: fit.regularized,
        slices: Vec::new(),
    })
}

impl ModelStanding {
    /// The interval as the table and the page write it.
    pub fn interval_text(&self) -> String {
        match (self.lower, self.upper) {
            (Some(l), Some(u)) => format!("{l:.0} to {u:.0}"),
            _ => "n/a".into(),
        }
    }
}

/// The leaderboard as a table for the terminal.
pub fn table(board: &Leaderboard) -> String {
    let mut out = format!(
        "{:<4} {:<32} {:>8} {:>19} {:>7} {:>6} {:>6} {:>6}\n",
        "rank", "model", "rating", "95% interval", "games", "wins", "ties", "losses"
    );
    for m in &board.models {
        let interval = m.interval_text();
        out.push_str(&format!(
            "{:<4} {:<32} {:>8.0} {:>19} {:>7} {:>6} {:>6} {:>6}\n",
            m.rank, m.model, m.rating, interval, m.comparisons, m.wins, m.ties, m.losses
        ));
    }
    out.push_str(&format!(
        "{} comparisons from {} items; anchor {} = {ANCHOR_RATING}; {} bootstrap rounds{}\n",
        board.comparisons,
        board.items,
        board.anchor.as_deref().unwrap_or("none"),
        board.rounds,
        if board.regularized {
            "; a model never lost or never won: ratings are bounded by a small prior"
        } else {
            ""
        }
    ));
    for slice in &board.slices {
        out.push_str(&format!(
            "\n{}: {} comparisons from {} items\n",
            slice.value.as_deref().unwrap_or("(no value)"),
            slice.comparisons,
            slice.items
        ));
        for m in &slice.models {
            out.push_str(&format!(
                "  {:<4} {:<32} {:>8.0}\n",
                m.rank, m.model, m.rating
            ));
        }
    }
    out
}
