//! The model leaderboard: Bradley-Terry strengths of the models that wrote a project's
//! answers, from the annotators' rankings, on an Elo-like scale with bootstrap intervals.
//!
//! Every ranking gives, for each two answers of different models, a win for the one placed
//! higher, or a tie (half a win each way) when they share a place. Thumbs are read as a
//! ranking of two tiers (up above down): with `thumbs`, labels without a ranking count so;
//! end users' thumbs (their only judgment; each feedback is an item of its own) are summed
//! per prompt and model first (ups minus downs), the prompt being the unit.
//! The source is the annotators' labels, the model's proposals, or end users' feedback.
//! With `length_control`, each comparison carries the answers' length difference (over
//! their sum) as a covariate ([`crate::server::stats::style`]), as Chatbot Arena's style
//! control does, so that a model does not rate higher for writing more. Strengths are fitted by
//! maximum likelihood ([`crate::server::stats::bradley_terry`]); 95% intervals come from
//! refitting on items drawn with replacement (`rounds` times, a fixed seed, so a report is
//! reproducible); a model ranks above another only when their intervals do not overlap.

use super::{Actor, Result};
use crate::model::api::Scope;
use crate::server::Error;
use crate::server::stats::bradley_terry::{self, Comparison};
use crate::server::stats::style;
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
    /// Whose judgments: `labels` (the annotators', default), `proposals` (the model's), or
    /// `end_users` (their thumbs from the feedback API).
    pub source: Option<String>,
    /// Also labels that have thumbs but no ranking (up above down): `true` or `false`.
    pub thumbs: Option<String>,
    /// The answers' length as a covariate: `true` or `false`.
    pub length_control: Option<String>,
}

/// Whose judgments the board is fitted to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[default]
    Labels,
    Proposals,
    EndUsers,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Labels, Source::Proposals, Source::EndUsers];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Labels => "labels",
            Source::Proposals => "proposals",
            Source::EndUsers => "end_users",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Source::Labels => "Annotators' labels",
            Source::Proposals => "Model proposals",
            Source::EndUsers => "End-user feedback",
        }
    }

    fn parse(text: Option<&str>) -> Result<Self> {
        match text.map(str::trim).unwrap_or_default() {
            "" | "labels" => Ok(Source::Labels),
            "proposals" => Ok(Source::Proposals),
            "end_users" => Ok(Source::EndUsers),
            other => Err(Error::invalid(
                "source",
                format!("must be labels, proposals or end_users, not {other:?}"),
            )),
        }
    }
}

fn flag(field: &str, text: Option<&str>) -> Result<bool> {
    match text.map(str::trim).unwrap_or_default() {
        "" | "false" | "0" | "off" => Ok(false),
        "true" | "1" | "on" => Ok(true),
        other => Err(Error::invalid(
            field,
            format!("must be true or false, not {other:?}"),
        )),
    }
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
    pub source: Source,
    pub thumbs: bool,
    pub length_control: bool,
    /// With length control: the log-odds of winning per unit of length difference over the
    /// lengths' sum (above 0: the longer answer is preferred, all else equal).
    pub length_coefficient: Option<f64>,
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
    /// The annotators' mean rubric score of each model's answers, per criterion (the
    /// `labels` source only; by model, then criterion).
    pub criteria: Vec<CriterionMean>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CriterionMean {
    pub model: String,
    /// The criterion's key.
    pub criterion: String,
    pub mean: f64,
    /// Scores given.
    pub scores: u64,
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

/// One comparison and the answers' length difference over their sum (`a`'s minus `b`'s).
#[derive(Clone, Copy, Debug)]
struct Game {
    c: Comparison,
    d: f64,
}

/// A judgment of an item's answers as tiers, best first, with the item's slice value.
struct Judgment {
    item_id: Uuid,
    slice: Option<String>,
    tiers: Vec<Vec<Uuid>>,
}

/// Thumbs as two tiers: up above down (an empty tier left out).
fn thumb_tiers(thumbs: &BTreeMap<Uuid, bool>) -> Vec<Vec<Uuid>> {
    let up: Vec<Uuid> = thumbs
        .iter()
        .filter(|(_, u)| **u)
        .map(|(id, _)| *id)
        .collect();
    let down: Vec<Uuid> = thumbs
        .iter()
        .filter(|(_, u)| !**u)
        .map(|(id, _)| *id)
        .collect();
    [up, down].into_iter().filter(|t| !t.is_empty()).collect()
}

fn judgments(rows: Vec<leaderboard::JudgmentRow>, thumbs: bool) -> Vec<Judgment> {
    rows.into_iter()
        .filter_map(|r| {
            let tiers = match (r.ranking, r.thumbs) {
                (Some(ranking), _) => ranking.0,
                (None, Some(t)) if thumbs => thumb_tiers(&t.0),
                _ => return None,
            };
            Some(Judgment {
                item_id: r.item_id,
                slice: r.slice,
                tiers,
            })
        })
        .collect()
}

/// End users' thumbs per prompt: models liked on balance above those disliked.
fn end_user_judgments(rows: Vec<leaderboard::EndUserRow>) -> Vec<Judgment> {
    let mut out: Vec<Judgment> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|j| j.item_id != r.prompt) {
            out.push(Judgment {
                item_id: r.prompt,
                slice: r.slice.clone(),
                tiers: vec![Vec::new(), Vec::new()],
            });
        }
        let j = out.last_mut().expect("pushed above");
        match r.net.signum() {
            1 => j.tiers[0].push(r.response_id),
            -1 => j.tiers[1].push(r.response_id),
            _ => {}
        }
    }
    for j in &mut out {
        j.tiers.retain(|t| !t.is_empty());
    }
    out
}

/// The comparisons each judgment makes between answers of different models, by item.
fn comparisons_by_item(
    judgments: &[&Judgment],
    model_of: &HashMap<Uuid, (usize, f64)>,
) -> Vec<Vec<Game>> {
    let mut by_item: Vec<Vec<Game>> = Vec::new();
    let mut last: Option<Uuid> = None;
    for row in judgments {
        if last != Some(row.item_id) {
            by_item.push(Vec::new());
            last = Some(row.item_id);
        }
        let out = by_item.last_mut().expect("pushed above");
        let tiers: Vec<Vec<(usize, f64)>> = row
            .tiers
            .iter()
            .map(|tier| {
                tier.iter()
                    .filter_map(|id| model_of.get(id).copied())
                    .collect()
            })
            .collect();
        let game = |(a, la): (usize, f64), (b, lb): (usize, f64), score: f64| Game {
            c: Comparison { a, b, score },
            d: if la + lb > 0.0 {
                (la - lb) / (la + lb)
            } else {
                0.0
            },
        };
        for (place, tier) in tiers.iter().enumerate() {
            for (k, &a) in tier.iter().enumerate() {
                for &b in &tier[k + 1..] {
                    if a.0 != b.0 {
                        out.push(game(a, b, 0.5));
                    }
                }
                for lower in &tiers[place + 1..] {
                    for &b in lower {
                        if a.0 != b.0 {
                            out.push(game(a, b, 1.0));
                        }
                    }
                }
            }
        }
    }
    by_item.retain(|c| !c.is_empty());
    by_item
}

/// θ of each model (and the length coefficient with length control).
fn fit(n: usize, games: &[Game], length: bool) -> (Vec<f64>, bool, Option<f64>) {
    if length {
        let data: Vec<style::Styled> = games
            .iter()
            .map(|g| style::Styled {
                comparison: g.c,
                difference: vec![g.d],
            })
            .collect();
        let f = style::fit(n, 1, &data);
        (f.theta, f.regularized, f.beta.first().copied())
    } else {
        let plain: Vec<Comparison> = games.iter().map(|g| g.c).collect();
        let f = bradley_terry::fit(n, &plain);
        (f.theta, f.regularized, None)
    }
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
    let source = Source::parse(options.source.as_deref())?;
    compute(pool, project.project_id, options, source, true).await
}

/// The board of every source, side by side (each with the options but the source; a source
/// where the anchor model was not compared takes its own most compared model).
pub async fn side_by_side(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    options: &Options,
) -> Result<Vec<Leaderboard>> {
    let project = super::projects::authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    let mut out = Vec::new();
    for source in Source::ALL {
        out.push(compute(pool, project.project_id, options, source, false).await?);
    }
    Ok(out)
}

async fn compute(
    pool: &PgPool,
    project_id: Uuid,
    options: &Options,
    source: Source,
    strict: bool,
) -> Result<Leaderboard> {
    let rounds = options.rounds.unwrap_or(DEFAULT_ROUNDS);
    if rounds > MAX_ROUNDS {
        return Err(Error::invalid(
            "rounds",
            format!("must be at most {MAX_ROUNDS}"),
        ));
    }
    let thumbs = flag("thumbs", options.thumbs.as_deref())?;
    let length = flag("length_control", options.length_control.as_deref())?;
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
    let answers = leaderboard::answer_models(pool, project_id).await?;
    let mut names: Vec<String> = answers.iter().map(|(_, m, _)| m.clone()).collect();
    names.sort();
    names.dedup();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let model_of: HashMap<Uuid, (usize, f64)> = answers
        .iter()
        .map(|(id, m, len)| (*id, (index[m.as_str()], f64::from(*len))))
        .collect();
    let judged = match source {
        Source::Labels => judgments(
            leaderboard::labels(pool, project_id, by, from, to).await?,
            thumbs,
        ),
        Source::Proposals => judgments(
            leaderboard::proposals(pool, project_id, by, from, to).await?,
            thumbs,
        ),
        Source::EndUsers => {
            end_user_judgments(leaderboard::end_user_thumbs(pool, project_id, by, from, to).await?)
        }
    };
    let anchor = options
        .anchor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let all: Vec<&Judgment> = judged.iter().collect();
    let settings = Settings { rounds, length };
    let mut whole = board(
        &names,
        &comparisons_by_item(&all, &model_of),
        settings,
        anchor,
        strict,
    )?;
    whole.source = source;
    whole.thumbs = thumbs || source == Source::EndUsers;
    if source == Source::Labels {
        whole.criteria = leaderboard::rubric_means(pool, project_id, from, to)
            .await?
            .into_iter()
            .map(|(model, criterion, mean, scores)| CriterionMean {
                model,
                criterion,
                mean,
                scores: scores.max(0) as u64,
            })
            .collect();
    }
    if by.is_some() {
        let mut values: Vec<Option<String>> = judged.iter().map(|r| r.slice.clone()).collect();
        values.sort();
        values.dedup();
        for value in values {
            let part: Vec<&Judgment> = judged.iter().filter(|r| r.slice == value).collect();
            let b = board(
                &names,
                &comparisons_by_item(&part, &model_of),
                settings,
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

#[derive(Clone, Copy)]
struct Settings {
    rounds: u32,
    length: bool,
}

/// One board from comparisons grouped by item. `anchor`: the model rated 1000; where it was
/// not compared, a `strict` board refuses it and a slice takes its own most compared model.
fn board(
    names: &[String],
    by_item: &[Vec<Game>],
    settings: Settings,
    anchor: Option<&str>,
    strict: bool,
) -> Result<Leaderboard> {
    let Settings { rounds, length } = settings;
    let games_played: Vec<Game> = by_item.iter().flatten().copied().collect();
    let all: Vec<Comparison> = games_played.iter().map(|g| g.c).collect();
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
    let (theta, regularized, length_coefficient) = fit(n, &games_played, length);
    let ratings = anchor.map(|a| bradley_terry::elo(&theta, a, ANCHOR_RATING));
    // Bootstrap over items.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    if let (Some(a), true) = (anchor, rounds > 0 && !by_item.is_empty()) {
        let mut rng = StdRng::seed_from_u64(SEED);
        for _ in 0..rounds {
            let drawn: Vec<Game> = (0..by_item.len())
                .flat_map(|_| by_item[rng.gen_range(0..by_item.len())].iter().copied())
                .collect();
            let (refit, _, _) = fit(n, &drawn, length);
            let present = |i: usize| drawn.iter().any(|g| g.c.a == i || g.c.b == i);
            if !present(a) {
                continue;
            }
            let r = bradley_terry::elo(&refit, a, ANCHOR_RATING);
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
        source: Source::Labels,
        thumbs: false,
        length_control: length,
        length_coefficient,
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
        regularized,
        slices: Vec::new(),
        criteria: Vec::new(),
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
        "{}{}; {} comparisons from {} items; anchor {} = {ANCHOR_RATING}; {} bootstrap rounds{}\n",
        board.source.title(),
        match board.length_coefficient {
            Some(b) => format!(" with length control (coefficient {b:.3})"),
            None => String::new(),
        },
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
