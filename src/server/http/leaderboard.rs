//! The model leaderboard for admins (`GET /projects/{slug}/leaderboard`), server-rendered:
//! a chart of the ratings with their 95% intervals (SVG, drawn here: it shows without
//! JavaScript, prints and saves), the same figures as a table, the win-rate matrix, and the
//! JSON (`GET /projects/{slug}/leaderboard.json`, the API's answer).

use super::charts::{COLOURS, GRID, MUTED, nice_step};
use super::page::{self, Page, document};
use super::session;
use crate::server::services::leaderboard::{self, Leaderboard, Options};
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use leptos::prelude::*;
use tower_sessions::Session;

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(options): Query<Options>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let (board, refusal) =
        match leaderboard::leaderboard(&state.pool, &actor, &slug, &options).await {
            Ok(board) => (Some(board), None),
            Err(e @ Error::Invalid(_)) => (None, Some(e)),
            Err(e) => return Err(e.into()),
        };
    // Every source with the same options, when the chosen one was accepted.
    let others = match &board {
        Some(_) => leaderboard::side_by_side(&state.pool, &actor, &slug, &options).await?,
        None => Vec::new(),
    };
    let chosen = board
        .as_ref()
        .map_or(leaderboard::Source::Labels, |b| b.source);
    let source_options = leaderboard::Source::ALL
        .map(|s| view! { <option value=s.as_str() selected=s == chosen>{s.title()}</option> })
        .into_iter()
        .collect_view();
    let ticked = |v: &Option<String>| matches!(v.as_deref(), Some("true" | "on" | "1"));
    let status = refusal.as_ref().map_or(StatusCode::OK, Error::status);
    let rounds = options
        .rounds
        .unwrap_or(leaderboard::DEFAULT_ROUNDS)
        .to_string();
    let anchor = options.anchor.clone().unwrap_or_default();
    let json = format!("/projects/{slug}/leaderboard.json");
    let body = view! {
        <section>
            <h1>"Model leaderboard · " {slug.clone()}</h1>
            <p class="muted">
                "Bradley-Terry ratings from the annotators' rankings of answers by different models: 400 points "
                "are a factor of 10 in the odds of winning; a tie is half a win each way; the whiskers are 95% "
                "bootstrap intervals over items, and a model ranks above another only when their intervals do "
                "not overlap. The anchor model is 1000 (its interval is its rating: the scale is relative to it)."
            </p>
            {refusal.as_ref().map(page::refusal)}
            <form method="get" class="filters" aria-label="Leaderboard options">
                <label>"Bootstrap rounds " <input name="rounds" inputmode="numeric" value=rounds/></label>
                <label>"Anchor model " <input name="anchor" value=anchor/></label>
                <label>"By metadata field " <input name="by" value=options.by.clone().unwrap_or_default()/></label>
                <label>"From " <input name="from" type="date" value=options.from.clone().unwrap_or_default()/></label>
                <label>"To " <input name="to" type="date" value=options.to.clone().unwrap_or_default()/></label>
                <label>"Source " <select name="source">{source_options}</select></label>
                <label><input type="checkbox" name="thumbs" value="true" checked=ticked(&options.thumbs)/>" Thumbs as pairs"</label>
                <label><input type="checkbox" name="length_control" value="true" checked=ticked(&options.length_control)/>" Length control"</label>
                <button type="submit">"Show"</button>
                <a href=json>"Download as JSON"</a>
            </form>
            {board.map(|b| board_view(&b))}
            {(!others.is_empty()).then(|| side_by_side(&others))}
        </section>
    };
    Ok((
        status,
        document(&format!("Leaderboard of {slug}"), body.into_any()),
    )
        .into_response())
}

/// `GET /projects/{slug}/leaderboard.json`: what the API answers, for a signed-in admin.
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(options): Query<Options>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let board = leaderboard::leaderboard(&state.pool, &actor, &slug, &options).await?;
    Ok(Json(board).into_response())
}

/// `GET /projects/{slug}/leaderboard.svg`: the chart alone, a document of its own (the
/// dashboard shows it as an image, so its page does not wait for the bootstrap).
pub async fn svg(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(options): Query<Options>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let board = leaderboard::leaderboard(&state.pool, &actor, &slug, &options).await?;
    let svg = super::charts::standalone(if board.models.is_empty() {
        view! {
            <svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 720 40" width="720" height="40"
                font-family="system-ui, sans-serif">
                <title>"No leaderboard yet"</title>
                <text x="10" y="24" font-size="13" fill=MUTED>{EMPTY}</text>
            </svg>
        }
        .to_html()
    } else {
        chart(&board).to_html()
    });
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "private, max-age=60"),
        ],
        svg,
    )
        .into_response())
}

const EMPTY: &str = "No rankings of answers by two or more named models yet: answers need a model name (`model` in the import) and annotators' rankings.";

fn board_view(board: &Leaderboard) -> AnyView {
    if board.models.is_empty() {
        return view! {
            <p class="muted">{EMPTY}</p>
        }
        .into_any();
    }
    let rows = board
        .models
        .iter()
        .map(|m| {
            let interval = m.interval_text();
            view! {
                <tr>
                    <td class="num">{m.rank}</td>
                    <td>{m.model.clone()}</td>
                    <td class="num">{format!("{:.0}", m.rating)}</td>
                    <td class="num">{interval}</td>
                    <td class="num">{m.comparisons}</td>
                    <td class="num">{m.wins}</td>
                    <td class="num">{m.ties}</td>
                    <td class="num">{m.losses}</td>
                </tr>
            }
        })
        .collect_view();
    let header = board
        .models
        .iter()
        .map(|m| view! { <th class="num">{m.model.clone()}</th> })
        .collect_view();
    let matrix = board
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let cells = (0..board.models.len())
                .map(|j| {
                    let text = match board.win_rate[i][j] {
                        Some(r) => format!("{:.0}% of {}", r * 100.0, board.games[i][j]),
                        None => "—".into(),
                    };
                    view! { <td class="num">{text}</td> }
                })
                .collect_view();
            view! { <tr><th>{m.model.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let note = format!(
        "{}{}: {} comparisons from {} items; {} bootstrap rounds.{}",
        board.source.title(),
        match board.length_coefficient {
            Some(b) => format!(
                ", with length control (coefficient {b:.2}: {})",
                if b > 0.0 {
                    "longer answers are preferred, all else equal"
                } else {
                    "shorter answers are preferred, all else equal"
                }
            ),
            None => String::new(),
        },
        board.comparisons,
        board.items,
        board.rounds,
        if board.regularized {
            " A model never lost or never won: the ratings are bounded by a small prior, not estimates."
        } else {
            ""
        }
    );
    view! {
        {chart(board)}
        <p class="muted">{note}</p>
        <table class="list" aria-label="Ratings">
            <thead><tr>
                <th class="num">"Rank"</th><th>"Model"</th><th class="num">"Rating"</th>
                <th class="num">"95% interval"</th><th class="num">"Comparisons"</th>
                <th class="num">"Wins"</th><th class="num">"Ties"</th><th class="num">"Losses"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {slices(board)}
        {criteria(board)}
        <h2>"Win rates (row over column; ties half)"</h2>
        <table class="list" aria-label="Win rates">
            <thead><tr><th></th>{header}</tr></thead>
            <tbody>{matrix}</tbody>
        </table>
    }
    .into_any()
}

/// Each source's rating and interval per model, in columns.
fn side_by_side(boards: &[Leaderboard]) -> AnyView {
    let mut models: Vec<&str> = boards
        .iter()
        .flat_map(|b| b.models.iter().map(|m| m.model.as_str()))
        .collect();
    models.sort();
    models.dedup();
    let head = boards
        .iter()
        .map(|b| view! { <th class="num">{b.source.title()}</th> })
        .collect_view();
    let rows = models
        .iter()
        .map(|name| {
            let cells = boards
                .iter()
                .map(|b| {
                    let text = b.models.iter().find(|m| m.model == *name).map_or_else(
                        || "—".to_owned(),
                        |m| {
                            format!(
                                "{:.0} ({}; {} comparisons)",
                                m.rating,
                                m.interval_text(),
                                m.comparisons
                            )
                        },
                    );
                    view! { <td class="num">{text}</td> }
                })
                .collect_view();
            view! { <tr><th>{name.to_string()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <h2>"Sources side by side"</h2>
        <p class="muted">"The same options fitted to the annotators' labels, the model's proposals and end users' thumbs (summed per prompt and model); each source's anchor is its own when the chosen one was not compared there."</p>
        <table class="list" aria-label="Sources side by side">
            <thead><tr><th>"Model"</th>{head}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The models' mean rubric scores: a model per row, a criterion per column.
fn criteria(board: &Leaderboard) -> AnyView {
    if board.criteria.is_empty() {
        return ().into_any();
    }
    let mut keys: Vec<String> = board.criteria.iter().map(|c| c.criterion.clone()).collect();
    keys.sort();
    keys.dedup();
    let mut models: Vec<String> = board.criteria.iter().map(|c| c.model.clone()).collect();
    models.dedup();
    let header = keys
        .iter()
        .map(|k| view! { <th class="num">{k.clone()}</th> })
        .collect_view();
    let rows = models
        .into_iter()
        .map(|model| {
            let cells = keys
                .iter()
                .map(|key| {
                    let text = board
                        .criteria
                        .iter()
                        .find(|c| c.model == model && &c.criterion == key)
                        .map_or_else(
                            || "—".to_owned(),
                            |c| format!("{:.2} ({})", c.mean, c.scores),
                        );
                    view! { <td class="num">{text}</td> }
                })
                .collect_view();
            view! { <tr><th>{model}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <h2>"Rubric: mean score per model (scores given)"</h2>
        <table class="list" aria-label="Rubric means">
            <thead><tr><th>"Model"</th>{header}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A board per value of the metadata field asked for.
fn slices(board: &Leaderboard) -> AnyView {
    board
        .slices
        .iter()
        .map(|slice| {
            let title = slice.value.clone().unwrap_or_else(|| "(no value)".into());
            let rows = slice
                .models
                .iter()
                .map(|m| {
                    let interval = m.interval_text();
                    view! {
                        <tr>
                            <td class="num">{m.rank}</td><td>{m.model.clone()}</td>
                            <td class="num">{format!("{:.0}", m.rating)}</td><td class="num">{interval}</td>
                            <td class="num">{m.comparisons}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <h2>{title.clone()} <span class="muted">{format!(" · {} comparisons from {} items", slice.comparisons, slice.items)}</span></h2>
                <table class="list" aria-label=format!("Ratings for {title}")>
                    <thead><tr><th class="num">"Rank"</th><th>"Model"</th><th class="num">"Rating"</th>
                        <th class="num">"95% interval"</th><th class="num">"Comparisons"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
        .collect_view()
        .into_any()
}

/// The ratings as dots with interval whiskers, one row per model, best at the top.
fn chart(board: &Leaderboard) -> AnyView {
    const LEFT: f64 = 200.0;
    const WIDTH: f64 = 720.0;
    const ROW: f64 = 30.0;
    const TOP: f64 = 30.0;
    let low = board
        .models
        .iter()
        .map(|m| m.lower.unwrap_or(m.rating).min(m.rating))
        .fold(f64::INFINITY, f64::min);
    let high = board
        .models
        .iter()
        .map(|m| m.upper.unwrap_or(m.rating).max(m.rating))
        .fold(f64::NEG_INFINITY, f64::max);
    let pad = ((high - low) * 0.1).max(10.0);
    let (low, high) = (low - pad, high + pad);
    let x = move |v: f64| LEFT + (v - low) / (high - low) * (WIDTH - LEFT - 20.0);
    let height = TOP + ROW * board.models.len() as f64 + 30.0;
    let axis_y = height - 24.0;
    let step = nice_step((high - low) / 5.0);
    let ticks = (((low / step).ceil() as i64)..=((high / step).floor() as i64))
        .map(|k| {
            let v = k as f64 * step;
            view! {
                <line x1=x(v) x2=x(v) y1=TOP - 10.0 y2=axis_y stroke=GRID/>
                <text x=x(v) y=axis_y + 16.0 text-anchor="middle" font-size="11" fill=MUTED>{format!("{v:.0}")}</text>
            }
        })
        .collect_view();
    let rows = board
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let y = TOP + ROW * i as f64 + ROW / 2.0;
            let whisker = m.lower.zip(m.upper).map(|(l, u)| {
                view! {
                    <line x1=x(l) x2=x(u) y1=y y2=y stroke=COLOURS[0] stroke-width="2"/>
                    <line x1=x(l) x2=x(l) y1=y - 6.0 y2=y + 6.0 stroke=COLOURS[0] stroke-width="2"/>
                    <line x1=x(u) x2=x(u) y1=y - 6.0 y2=y + 6.0 stroke=COLOURS[0] stroke-width="2"/>
                }
            });
            view! {
                <text x=LEFT - 10.0 y=y + 4.0 text-anchor="end" font-size="13" fill="#111827">{format!("{}. {}", m.rank, m.model)}</text>
                {whisker}
                <circle cx=x(m.rating) cy=y r="5" fill=COLOURS[0]/>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" role="img" aria-labelledby="leaderboard-title" viewBox=format!("0 0 {WIDTH} {height}")
            width=WIDTH.to_string() height=height.to_string() xmlns="http://www.w3.org/2000/svg"
            font-family="system-ui, sans-serif">
            <title id="leaderboard-title">"Ratings with 95% intervals, best first"</title>
            {ticks}
            <line x1=LEFT x2=WIDTH - 20.0 y1=axis_y y2=axis_y stroke=MUTED/>
            <text x=(LEFT + WIDTH) / 2.0 y=height - 2.0 text-anchor="middle" font-size="11" fill=MUTED>"rating"</text>
            {rows}
        </svg>
    }
    .into_any()
}
