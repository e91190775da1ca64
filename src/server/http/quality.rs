//! The admin's Quality page (`GET /projects/{slug}/quality`), server-rendered like the
//! dataset pages: the project's agreement figures, the annotator-by-annotator table, the
//! most contentious items, and gold: accuracy per annotator (resume a paused one: `POST
//! /projects/{slug}/quality/resume`) and the settings (`POST /projects/{slug}/quality/gold`).
//! The same report is `GET /api/v1/projects/{slug}/quality`.

use super::page::{self, Page, document};
use super::session;
use crate::server::services::Actor;
use crate::server::services::gold::{self, Settings};
use crate::server::services::quality::{self, QualityReport, figure};
use crate::server::{AppState, Error};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tower_sessions::Session;
use uuid::Uuid;

type Fields = BTreeMap<String, String>;

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    page(&state, &actor, &slug, None).await
}

async fn page(state: &AppState, actor: &Actor, slug: &str, refusal: Option<&Error>) -> Page {
    let report = quality::report(&state.pool, actor, slug).await?;
    let settings = gold::settings(&state.pool, actor, slug).await?;
    let cards = quality::scorecards(&state.pool, actor, slug).await?;
    let title = format!("Quality of {slug}");
    let status = refusal.map_or(StatusCode::OK, Error::status);
    let body = view! {
        {report_view(&report)}
        <section id="annotators">
            <h2>"Annotators"</h2>
            {scorecards_view(&cards)}
        </section>
        {gold_view(&report, &settings, refusal)}
    };
    Ok((status, document(&title, body.into_any())).into_response())
}

/// `GET /projects/{slug}/quality/me`: the signed-in annotator's own scorecard.
pub async fn mine(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let card = quality::my_scorecard(&state.pool, &actor, &slug).await?;
    let body = view! {
        <section>
            <h1>"My work on " {slug.clone()}</h1>
            {match card {
                Some(card) => scorecards_view(std::slice::from_ref(&card)),
                None => view! { <p class="muted">"You have not labeled anything here yet."</p> }.into_any(),
            }}
        </section>
    };
    Ok(document(&format!("My work on {slug}"), body.into_any()).into_response())
}

fn scorecards_view(cards: &[quality::Scorecard]) -> AnyView {
    let rows = cards
        .iter()
        .map(|c| {
            let bias = c
                .position_bias
                .iter()
                .map(|b| {
                    format!(
                        "{} answers: {} of {} first-shown ({:.0}% against {:.0}%, p = {:.3})",
                        b.answers,
                        b.first_shown,
                        b.rankings,
                        b.share * 100.0,
                        b.expected * 100.0,
                        b.p_value
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            view! {
                <tr>
                    <td>{c.annotator.display_name.clone()}</td>
                    <td class="num">{c.labels}</td>
                    <td class="num">{c.skips}</td>
                    <td class="num">{c.median_seconds.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "n/a".into())}</td>
                    <td class="num">{figure(c.pairwise_agreement_with_others)}</td>
                    <td class="num">{figure(c.thumbs_agreement_with_others)}</td>
                    <td class="num">{figure(c.gold_accuracy)} " (" {c.gold_checked} ")"</td>
                    <td>{bias}</td>
                    <td class="num">{figure(c.proposals_accepted_as_is)} " (" {c.proposals_shown} ")"</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" aria-label="Scorecards">
            <thead><tr>
                <th>"Annotator"</th><th class="num">"Labels"</th><th class="num">"Skips"</th>
                <th class="num">"Median time"</th><th class="num">"Pairwise agreement with others"</th>
                <th class="num">"Thumbs agreement with others"</th><th class="num">"Gold accuracy"</th>
                <th>"Position bias"</th><th class="num">"Proposals taken as is"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// Saves the gold settings; a refusal shows the page again, naming the field, and changes
/// nothing.
pub async fn save_gold(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let saved = match gold::parse_settings(&form) {
        Ok(settings) => gold::save_settings(&state.pool, &actor, &slug, &settings).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{slug}/quality#gold")).into_response()),
        Err(e @ Error::Invalid(_)) => page(&state, &actor, &slug, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn resume(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let user_id = form
        .get("user_id")
        .and_then(|u| Uuid::parse_str(u).ok())
        .ok_or_else(|| Error::invalid("user_id", "not an annotator's id"))?;
    gold::resume(&state.pool, &actor, &slug, user_id).await?;
    Ok(Redirect::to(&format!("/projects/{slug}/quality#gold")).into_response())
}

fn gold_view(r: &QualityReport, s: &Settings, refusal: Option<&Error>) -> AnyView {
    let action = format!("/projects/{}/quality/gold", r.project);
    let resume = format!("/projects/{}/quality/resume", r.project);
    let rows = r
        .gold
        .iter()
        .map(|g| {
            let state = match (g.paused, g.flagged) {
                (true, _) => "paused",
                (false, true) => "flagged",
                _ => "",
            };
            let user_id = g.annotator.user_id.to_string();
            let resume = resume.clone();
            view! {
                <tr>
                    <td>{g.annotator.display_name.clone()}</td>
                    <td class="num">{g.correct} " / " {g.checked}</td>
                    <td class="num">{figure(g.accuracy)}</td>
                    <td class="num">{figure(g.recent_accuracy)} " (" {g.recent_checked} ")"</td>
                    <td title=g.reason.clone().unwrap_or_default()>{state}</td>
                    <td>
                        {g.flagged.then(|| view! {
                            <form method="post" action=resume>
                                <input type="hidden" name="user_id" value=user_id/>
                                <button type="submit" class="small">"Resume"</button>
                            </form>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let refusal = refusal.map(page::refusal);
    view! {
        <section id="gold">
            <h2>"Gold items"</h2>
            <p class="muted">
                "Items with a known correct label (" <code>"gold"</code> " in Verdict's JSONL, or "
                <code>"PUT /api/v1/projects/{slug}/items/{external_id}/gold"</code>
                "), mixed into every annotator's queue, served like any other item. They do not count toward progress."
            </p>
            <table class="list" aria-label="Gold accuracy">
                <thead><tr>
                    <th>"Annotator"</th><th class="num">"Right"</th><th class="num">"Accuracy"</th>
                    <th class="num">"Recent"</th><th>"State"</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h3>"Settings"</h3>
            {refusal}
            <form method="post" action=action class="stack">
                <label>"Share of items that are gold (0 to 1) "
                    <input name="rate" inputmode="decimal" value=s.rate.to_string()/></label>
                <label>"First items of a new annotator that are gold "
                    <input name="onboarding" inputmode="numeric" value=s.onboarding.to_string()/></label>
                <label>"Flag below this accuracy (0 to 1; 0: never) "
                    <input name="threshold" inputmode="decimal" value=s.threshold.to_string()/></label>
                <label>"…after this many gold items "
                    <input name="minimum" inputmode="numeric" value=s.minimum.to_string()/></label>
                <label>"Recent accuracy over the last "
                    <input name="recent" inputmode="numeric" value=s.recent.to_string()/></label>
                <label><input type="checkbox" name="pause" checked=s.pause/>
                    " Pause a flagged annotator on this project until an admin resumes them"</label>
                <button type="submit" class="primary">"Save gold settings"</button>
            </form>
        </section>
    }
    .into_any()
}

fn report_view(r: &QualityReport) -> AnyView {
    let api = format!("/api/v1/projects/{}/quality", r.project);
    let flags = r
        .flags
        .iter()
        .map(|f| {
            view! {
                <tr>
                    <td>{f.flag.label()}</td>
                    <td class="num">{figure(f.alpha)}</td>
                    <td class="num">{f.flagged}</td>
                </tr>
            }
        })
        .collect_view();
    let pairs = r
        .pairs
        .iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{p.annotator_a.display_name.clone()}</td>
                    <td>{p.annotator_b.display_name.clone()}</td>
                    <td class="num">{p.items}</td>
                    <td class="num">{figure(p.thumbs_kappa)}</td>
                    <td class="num">{figure(p.thumbs_agreement)}</td>
                    <td class="num">{p.thumbs_compared}</td>
                    <td class="num">{figure(p.pairwise_agreement)}</td>
                    <td class="num">{p.pairs_compared}</td>
                </tr>
            }
        })
        .collect_view();
    let contentious = r
        .contentious
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td><code>{c.external_id.clone().unwrap_or_else(|| c.item_id.to_string())}</code></td>
                    <td class="num">{c.annotators}</td>
                    <td class="num">{figure(c.kendall_w)}</td>
                    <td class="num">{figure(c.pairwise_agreement)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section>
            <h1>"Quality of " {r.project.clone()}</h1>
            <p class="muted">
                {r.items_compared} " items have labels from two or more annotators"
                {(r.pending_items > 0).then(|| format!(" ({} more being counted)", r.pending_items))}
                ". "
                "Alpha is 1 for perfect agreement, 0 for agreement no better than chance; "
                "n/a where there is too little to compare. The same figures as JSON: "
                <a href=api.clone()><code>{api.clone()}</code></a> " (an API token with export:read)."
            </p>
            <table class="list" aria-label="Agreement">
                <thead><tr><th>"Judgment"</th><th>"Figure"</th><th class="num">"Value"</th><th>"Over"</th></tr></thead>
                <tbody>
                    <tr>
                        <td>"Thumbs"</td><td>"Krippendorff's alpha (nominal), units are answers"</td>
                        <td class="num">{figure(r.thumbs.alpha)}</td>
                        <td>{r.thumbs.pairable} " pairable thumbs"</td>
                    </tr>
                    <tr>
                        <td>"Thumbs"</td><td>"Raw agreement: annotator pairs giving an answer the same thumb"</td>
                        <td class="num">{figure(r.thumbs.raw_agreement)}</td><td></td>
                    </tr>
                    <tr>
                        <td>"Ranking"</td><td>"Krippendorff's alpha (ordinal) of each answer's rank"</td>
                        <td class="num">{figure(r.ranking.alpha_ordinal)}</td><td></td>
                    </tr>
                    <tr>
                        <td>"Ranking"</td><td>"Pairwise agreement: answer pairs ordered alike (a tie agrees only with a tie)"</td>
                        <td class="num">{figure(r.ranking.pairwise_agreement)}</td>
                        <td>{r.ranking.pairs_compared} " comparisons"</td>
                    </tr>
                    <tr>
                        <td>"Ranking"</td><td>"Mean Kendall's W per item (tie-corrected)"</td>
                        <td class="num">{figure(r.ranking.mean_kendall_w)}</td>
                        <td>{r.ranking.items_ranked} " items"</td>
                    </tr>
                </tbody>
            </table>
            <h2>"Flags"</h2>
            <table class="list" aria-label="Flag agreement">
                <thead><tr><th>"Flag"</th><th class="num">"Alpha (nominal)"</th><th class="num">"Flagged"</th></tr></thead>
                <tbody>{flags}</tbody>
            </table>
            <h2>"Annotator pairs"</h2>
            <table class="list" aria-label="Annotator pairs">
                <thead><tr>
                    <th>"Annotator"</th><th>"Annotator"</th><th class="num">"Items"</th>
                    <th class="num">"Thumbs kappa"</th><th class="num">"Thumbs agreement"</th>
                    <th class="num">"Answers"</th><th class="num">"Pairwise agreement"</th>
                    <th class="num">"Comparisons"</th>
                </tr></thead>
                <tbody>{pairs}</tbody>
            </table>
            <h2>"Most contentious items"</h2>
            <table class="list" aria-label="Contentious items">
                <thead><tr>
                    <th>"Item"</th><th class="num">"Annotators"</th>
                    <th class="num">"Kendall's W"</th><th class="num">"Pairwise agreement"</th>
                </tr></thead>
                <tbody>{contentious}</tbody>
            </table>
        </section>
    }
    .into_any()
}
