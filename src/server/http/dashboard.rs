//! The project dashboard (`GET /projects/{slug}/dashboard`), server-rendered: each chart an
//! SVG drawn here with its numbers in a table below it; `dashboard.json` is the whole
//! dashboard, `dashboard.csv?table=…` one table; `POST dashboard/fields` sets the metadata
//! fields it filters by.

use super::charts::{self, Series};
use super::page::{self, Page, document_with};
use super::session;
use crate::server::services::dashboard::{self, Dashboard, Filters};
use crate::server::services::form;
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use chrono::{Duration, NaiveDate, Utc};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tower_sessions::Session;

/// How far past the range the burn-up draws its projection.
const PROJECTION_DAYS: i64 = 120;

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(filters): Query<Filters>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let admin = actor.role >= crate::model::user::Role::Admin;
    let (board, refusal) = match dashboard::dashboard(&state.pool, &actor, &slug, &filters).await {
        Ok(board) => (Some(board), None),
        Err(e @ Error::Invalid(_)) => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, Error::status);
    let query = serde_urlencoded::to_string(&filters).unwrap_or_default();
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let annotator_choice = board.as_ref().filter(|b| !b.own).map(|b| {
        let chosen = value(&filters.annotator);
        let options = b
            .annotators
            .iter()
            .map(|a| view! { <option value=a.clone() selected=chosen == *a>{a.clone()}</option> })
            .collect_view();
        view! {
            <label>"Annotator "
                <select name="annotator"><option value="">"everyone"</option>{options}</select>
            </label>
        }
    });
    let facet_choice = board.as_ref().filter(|b| !b.fields.is_empty()).map(|b| {
        let chosen = b.facet.clone();
        let options = b
            .facets
            .iter()
            .map(|f| view! { <option value=f.clone() selected=chosen == *f>{f.clone()}</option> })
            .collect_view();
        view! {
            <label>"Items with "
                <select name="facet"><option value="">"any metadata"</option>{options}</select>
            </label>
        }
    });
    let fields_form = board.as_ref().filter(|_| admin).map(|b| {
        let action = format!("/projects/{slug}/dashboard/fields");
        view! {
            <form method="post" action=action class="filters" aria-label="Dashboard fields">
                <label>"Filter by metadata fields (comma-separated, at most 5) "
                    <input name="fields" value=b.fields.join(", ") placeholder="category, language"/>
                </label>
                <button type="submit">"Save fields"</button>
            </form>
        }
    });
    let downloads = {
        let json = format!("/projects/{slug}/dashboard.json?{query}");
        let csv = |t: &'static str| {
            let href = format!("/projects/{slug}/dashboard.csv?table={t}&{query}");
            view! { <a href=href>{t}</a> " " }
        };
        view! {
            <p class="downloads">"Download: " <a href=json>"everything as JSON"</a> " · CSV: "
                {dashboard::TABLES.into_iter().map(csv).collect_view()}
            </p>
        }
    };
    let leaderboard = admin.then(|| {
        let href = format!("/projects/{slug}/leaderboard");
        view! { <a href=href>"Model leaderboard"</a> }
    });
    let body = view! {
        <section class="dashboard">
            <h1>"Dashboard · " {slug.clone()}</h1>
            <p class="muted">
                "Figures per day (UTC), from sums the database keeps as labels arrive. "
                {leaderboard}
            </p>
            {refusal.as_ref().map(page::refusal)}
            <form method="get" class="filters" aria-label="Dashboard filters">
                <label>"From " <input name="from" type="date" value=value(&filters.from)/></label>
                <label>"To " <input name="to" type="date" value=value(&filters.to)/></label>
                {annotator_choice}
                {facet_choice}
                <button type="submit">"Show"</button>
            </form>
            {fields_form}
            {downloads}
            {board.as_ref().map(sections)}
        </section>
    };
    Ok((
        status,
        document_with(
            &format!("Dashboard of {slug}"),
            body.into_any(),
            None,
            admin,
        ),
    )
        .into_response())
}

/// `GET /projects/{slug}/dashboard.json`: the whole dashboard as shown.
pub async fn json(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(filters): Query<Filters>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let board = dashboard::dashboard(&state.pool, &actor, &slug, &filters).await?;
    Ok(Json(board).into_response())
}

#[derive(serde::Deserialize)]
pub struct CsvQuery {
    table: String,
    #[serde(flatten)]
    filters: Filters,
}

/// `GET /projects/{slug}/dashboard.csv?table=…`: one table of the dashboard.
pub async fn csv(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(q): Query<CsvQuery>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let board = dashboard::dashboard(&state.pool, &actor, &slug, &q.filters).await?;
    let text = dashboard::csv(&board, &q.table)?;
    let name = format!("attachment; filename=\"{slug}-{}.csv\"", q.table);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        text,
    )
        .into_response())
}

/// `POST /projects/{slug}/dashboard/fields`: the metadata fields to filter by.
pub async fn save_fields(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let text = form::text(&fields, "fields");
    dashboard::set_fields(&state.pool, &actor, &slug, &text).await?;
    Ok(Redirect::to(&format!("/projects/{slug}/dashboard")).into_response())
}

fn short(day: NaiveDate) -> String {
    day.format("%m-%d").to_string()
}

/// A table of the dashboard (the CSV download's, see [`dashboard::table`]) under its chart.
fn numbers(caption: &str, b: &Dashboard, name: &str) -> AnyView {
    let mut table = dashboard::table(b, name).unwrap_or_default().into_iter();
    let head = table
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| view! { <th>{h.replace('_', " ")}</th> })
        .collect_view();
    let rows = table
        .map(|r| {
            let cells = r
                .into_iter()
                .map(|c| view! { <td>{if c.is_empty() { "–".to_owned() } else { c }}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <details class="numbers">
            <summary>"Numbers: " {caption.to_owned()}</summary>
            <table class="list"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
        </details>
    }
    .into_any()
}

fn empty(text: &str) -> AnyView {
    view! { <p class="empty">{text.to_owned()}</p> }.into_any()
}

fn sections(b: &Dashboard) -> AnyView {
    view! {
        {progress(b)}
        {throughput(b)}
        {quality(b)}
        {positions(b)}
        {assistance(b)}
        {(!b.own).then(|| feedback(b))}
        {(!b.own).then(|| models(b))}
    }
    .into_any()
}

/// The leaderboard's chart, an image the server draws on its own request (the bootstrap
/// does not hold up this page), over the dashboard's days.
fn models(b: &Dashboard) -> AnyView {
    let query = format!("rounds=100&from={}&to={}", b.from, b.to);
    let src = format!("/projects/{}/leaderboard.svg?{query}", b.project);
    let href = format!("/projects/{}/leaderboard?{query}", b.project);
    view! {
        <section aria-labelledby="models-heading">
            <h2 id="models-heading">"Models"</h2>
            <p class="muted">"Bradley-Terry ratings from the annotators' rankings in these days, with 95% bootstrap intervals; the "
                <a href=href>"leaderboard"</a> " has the numbers, the win rates, other sources and length control."</p>
            <img class="chart" src=src alt="Model ratings with 95% intervals, best first"/>
        </section>
    }
    .into_any()
}

fn progress(b: &Dashboard) -> AnyView {
    let p = &b.progress;
    let today = Utc::now().date_naive();
    let finish = match p.projected_finish {
        Some(d) if p.open == 0 => format!("done ({d})"),
        Some(d) => format!("{d} at {:.1} items a day", p.rate),
        None => "no completions in the last 7 days to project from".to_owned(),
    };
    let share = if p.items > 0 {
        format!(" ({:.0}%)", 100.0 * p.completed as f64 / p.items as f64)
    } else {
        String::new()
    };
    let figures = view! {
        <dl class="figures">
            <div><dt>"Done"</dt><dd>{format!("{} / {}{share}", p.completed, p.items)}</dd></div>
            <div><dt>"Open"</dt><dd>{p.open}</dd></div>
            <div><dt>"Leased now"</dt><dd>{p.leased}</dd></div>
            <div><dt>"Skips"</dt><dd>{p.skips}</dd></div>
            <div><dt>"Gold items"</dt><dd>{p.gold}</dd></div>
            <div><dt>"Projected finish"</dt><dd>{finish}</dd></div>
        </dl>
    };
    let chart = if p.items == 0 {
        empty("No items yet: import some (Import, or the API) and their progress shows here.")
    } else {
        // The projection continues past the range when today is in it.
        let mut days: Vec<NaiveDate> = p.days.iter().map(|d| d.day).collect();
        let projection_to = p
            .projected_finish
            .filter(|f| p.open > 0 && b.to >= today && *f > b.to)
            .map(|f| f.min(b.to + Duration::days(PROJECTION_DAYS)));
        if let Some(end) = projection_to {
            days.extend(
                (b.to + Duration::days(1))
                    .iter_days()
                    .take_while(|d| *d <= end),
            );
        }
        let mut done: Vec<Option<f64>> = p
            .days
            .iter()
            .map(|d| Some(d.completed_total as f64))
            .collect();
        let mut scope: Vec<Option<f64>> =
            p.days.iter().map(|d| Some(d.items_total as f64)).collect();
        done.resize(days.len(), None);
        scope.resize(days.len(), Some(p.items as f64));
        let projection: Vec<Option<f64>> = days
            .iter()
            .map(|d| {
                (*d >= today && p.rate > 0.0 && p.open > 0).then(|| {
                    (p.completed as f64 + p.rate * (*d - today).num_days() as f64)
                        .min(p.items as f64)
                })
            })
            .collect();
        let mut series = vec![
            Series::new("items done", done),
            Series::new("items in all", scope),
        ];
        if projection.iter().any(Option::is_some) {
            series.push(Series::new("projection", projection).dashed());
        }
        let labels: Vec<String> = days.iter().map(|d| short(*d)).collect();
        charts::lines(
            "burn-up",
            "Burn-up: items done",
            ("day", "items"),
            &labels,
            &series,
            None,
        )
    };
    view! {
        <section aria-labelledby="progress-heading">
            <h2 id="progress-heading">"Progress"</h2>
            {figures}
            {chart}
            {numbers("items done per day", b, "progress")}
        </section>
    }
    .into_any()
}

fn throughput(b: &Dashboard) -> AnyView {
    let labels: Vec<String> = b.throughput.iter().map(|t| short(t.day)).collect();
    let total: i64 = b.throughput.iter().map(|t| t.labels).sum();
    let charts = if total == 0 {
        empty("No labels in these days: once annotators submit, their labels per day show here.")
    } else {
        // The busiest annotators each a layer, the rest together.
        let mut per: BTreeMap<&String, i64> = BTreeMap::new();
        for t in &b.throughput {
            for (a, n) in &t.by_annotator {
                *per.entry(a).or_default() += n;
            }
        }
        let mut order: Vec<(&String, i64)> = per.into_iter().collect();
        order.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        let shown: Vec<&String> = order
            .iter()
            .take(dashboard::MAX_SERIES - 1)
            .map(|(a, _)| *a)
            .collect();
        let mut series: Vec<Series> = shown
            .iter()
            .map(|a| {
                Series::new(
                    a.split('@').next().unwrap_or(a.as_str()),
                    b.throughput
                        .iter()
                        .map(|t| t.by_annotator.get(*a).map(|n| *n as f64))
                        .collect(),
                )
            })
            .collect();
        if order.len() > shown.len() {
            series.push(Series::new(
                "others",
                b.throughput
                    .iter()
                    .map(|t| {
                        Some(
                            t.by_annotator
                                .iter()
                                .filter(|(a, _)| !shown.contains(a))
                                .map(|(_, n)| *n as f64)
                                .sum(),
                        )
                    })
                    .collect(),
            ));
        }
        let medians = [Series::new(
            "median seconds per label",
            b.throughput.iter().map(|t| t.median_seconds).collect(),
        )];
        view! {
            {charts::stacked("throughput", "Labels per day, by annotator", ("day", "labels"), &labels, &series)}
            {charts::lines("time", "Median time per label", ("day", "seconds"), &labels, &medians, None)}
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="throughput-heading">
            <h2 id="throughput-heading">"Throughput"</h2>
            {charts}
            {numbers("labels per day", b, "throughput")}
        </section>
    }
    .into_any()
}

fn quality(b: &Dashboard) -> AnyView {
    let labels: Vec<String> = b.quality.iter().map(|q| short(q.day)).collect();
    let mut series = Vec::new();
    if !b.own {
        series.push(Series::new(
            "pair agreement",
            b.quality.iter().map(|q| q.pair_agreement).collect(),
        ));
        series.push(Series::new(
            "Kendall's W",
            b.quality.iter().map(|q| q.kendall_w).collect(),
        ));
    }
    series.push(Series::new(
        "gold accuracy",
        b.quality.iter().map(|q| q.gold_accuracy).collect(),
    ));
    let any_rate = series.iter().any(|s| s.values.iter().any(Option::is_some));
    let reviews: i64 = b
        .quality
        .iter()
        .map(|q| q.reviews_accepted + q.reviews_fixed + q.reviews_rejected)
        .sum();
    let rates = if any_rate {
        charts::lines(
            "quality",
            "Agreement and gold accuracy",
            ("day", "share"),
            &labels,
            &series,
            Some(1.0),
        )
    } else {
        empty(
            "No agreement or gold figures in these days: they need items labeled by two or more annotators, or gold items.",
        )
    };
    let review_chart = (reviews > 0).then(|| {
        let s = [
            Series::new(
                "accepted",
                b.quality
                    .iter()
                    .map(|q| Some(q.reviews_accepted as f64))
                    .collect(),
            ),
            Series::new(
                "fixed",
                b.quality
                    .iter()
                    .map(|q| Some(q.reviews_fixed as f64))
                    .collect(),
            ),
            Series::new(
                "rejected",
                b.quality
                    .iter()
                    .map(|q| Some(q.reviews_rejected as f64))
                    .collect(),
            ),
        ];
        charts::stacked(
            "reviews",
            "Review outcomes",
            ("day", "labels reviewed"),
            &labels,
            &s,
        )
    });
    view! {
        <section aria-labelledby="quality-heading">
            <h2 id="quality-heading">"Quality over time"</h2>
            <p class="muted">"Agreement counts each item on the day its labels last changed."</p>
            {rates}
            {review_chart}
            {numbers("quality per day", b, "quality")}
        </section>
    }
    .into_any()
}

fn positions(b: &Dashboard) -> AnyView {
    let picks: i64 = b.positions.iter().map(|p| p.picks).sum();
    let chart = if picks == 0 {
        empty("No rankings with a single best answer in these days.")
    } else {
        let labels: Vec<String> = b
            .positions
            .iter()
            .map(|p| format!("shown {}", p.position))
            .collect();
        let observed: Vec<f64> = b.positions.iter().map(|p| p.share).collect();
        let expected: Vec<f64> = b.positions.iter().map(|p| p.expected).collect();
        charts::bars_against(
            "positions",
            "Where the best pick was shown",
            ("position shown", "share of best picks"),
            &labels,
            &observed,
            &expected,
        )
    };
    view! {
        <section aria-labelledby="positions-heading">
            <h2 id="positions-heading">"Position bias"</h2>
            <p class="muted">"How often the sole first place went to the answer shown at each position, against what picks that ignore position would give (1/n of each n-answer item)."</p>
            {chart}
            {numbers("best picks by position", b, "positions")}
        </section>
    }
    .into_any()
}

fn assistance(b: &Dashboard) -> AnyView {
    let total: i64 = b
        .assistance
        .iter()
        .map(|a| a.accepted + a.modified + a.replaced)
        .sum();
    let labels: Vec<String> = b.assistance.iter().map(|a| short(a.day)).collect();
    let chart = if total == 0 {
        empty(
            "No labels made with a model's proposal shown in these days: pre-label items (Model assist) and annotators see proposals.",
        )
    } else {
        let s = [
            Series::new(
                "accepted",
                b.assistance
                    .iter()
                    .map(|a| Some(a.accepted as f64))
                    .collect(),
            ),
            Series::new(
                "modified",
                b.assistance
                    .iter()
                    .map(|a| Some(a.modified as f64))
                    .collect(),
            ),
            Series::new(
                "replaced",
                b.assistance
                    .iter()
                    .map(|a| Some(a.replaced as f64))
                    .collect(),
            ),
        ];
        charts::stacked(
            "assistance",
            "Proposal outcomes",
            ("day", "labels"),
            &labels,
            &s,
        )
    };
    let quality = format!("/projects/{}/quality", b.project);
    view! {
        <section aria-labelledby="assist-heading">
            <h2 id="assist-heading">"Model assistance"</h2>
            <p class="muted">"What annotators did with the proposal they were shown. The held-out group's agreement with the model, against the shown group's, is in each annotator's scorecard on the "
                <a href=quality>"quality page"</a> "."</p>
            {chart}
            {numbers("proposal outcomes per day", b, "assistance")}
        </section>
    }
    .into_any()
}

fn feedback(b: &Dashboard) -> AnyView {
    let days: Vec<NaiveDate> = b.feedback_volume.iter().map(|v| v.day).collect();
    let labels: Vec<String> = days.iter().map(|d| short(*d)).collect();
    let events: i64 = b.feedback_volume.iter().map(|v| v.events).sum();
    let charts = if events == 0 {
        empty(
            "No end-user feedback in these days: model backends send it with POST /api/v1/projects/{slug}/feedback.",
        )
    } else {
        let mut models: Vec<&String> = b.feedback.iter().map(|f| &f.model).collect();
        models.sort();
        models.dedup();
        let rates: Vec<Series> = models
            .iter()
            .take(charts::COLOURS.len())
            .map(|m| {
                Series::new(
                    m.as_str(),
                    days.iter()
                        .map(|d| {
                            b.feedback
                                .iter()
                                .find(|f| f.day == *d && &f.model == *m)
                                .and_then(|f| f.up_rate)
                        })
                        .collect(),
                )
            })
            .collect();
        let volume = [
            Series::new(
                "events",
                b.feedback_volume
                    .iter()
                    .map(|v| Some((v.events - v.corrections) as f64))
                    .collect(),
            ),
            Series::new(
                "with a correction",
                b.feedback_volume
                    .iter()
                    .map(|v| Some(v.corrections as f64))
                    .collect(),
            ),
        ];
        view! {
            {charts::lines("thumbs", "Thumbs-up rate per model", ("day", "share of thumbs up"), &labels, &rates, Some(1.0))}
            {charts::stacked("volume", "End-user feedback", ("day", "events"), &labels, &volume)}
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="feedback-heading">
            <h2 id="feedback-heading">"End-user feedback"</h2>
            {charts}
            {numbers("thumbs per model per day", b, "feedback")}
        </section>
    }
    .into_any()
}

/// `GET /projects/{slug}/burnup.svg`: the home page's small burn-up of the last 30 days
/// (items done, and in all, at the end of each day).
pub async fn burnup(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let days = dashboard::sparkline(&state.pool, &actor, &slug).await?;
    let svg = charts::sparkline(
        &format!("Items done in the last {} days", days.len()),
        &days
            .iter()
            .map(|d| d.completed_total as f64)
            .collect::<Vec<_>>(),
        &days
            .iter()
            .map(|d| d.items_total as f64)
            .collect::<Vec<_>>(),
    );
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        svg,
    )
        .into_response())
}
