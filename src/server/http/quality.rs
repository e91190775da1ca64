//! The admin's Quality page (`GET /projects/{slug}/quality`), server-rendered like the
//! dataset pages: the project's agreement figures, the annotator-by-annotator table, the
//! most contentious items, and gold: accuracy per annotator (resume a paused one: `POST
//! /projects/{slug}/quality/resume`) and the settings (`POST /projects/{slug}/quality/gold`).
//! Adaptive overlap and the model's calibration are in [`super::quality_model`]. The same
//! report is `GET /api/v1/projects/{slug}/quality`.

use super::page::{self, Page, document};
use super::session;
use crate::model::url::encode_path_segment;
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

/// The page; `?judge_by=FIELD` adds the model's figures by that item metadata field.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let by = query
        .get("judge_by")
        .map(|f| f.trim())
        .filter(|f| !f.is_empty());
    match by {
        None => page(&state, &actor, &slug, None).await,
        Some(field) => match quality::judge::by_field(&state.pool, &actor, &slug, field).await {
            Ok(slices) => page_with(&state, &actor, &slug, None, Some((field, &slices))).await,
            Err(e @ Error::Invalid(_)) => page(&state, &actor, &slug, Some(&e)).await,
            Err(e) => Err(e.into()),
        },
    }
}

/// The page; a refusal of one of its forms (`refusal`) shows beside the form it concerns.
pub(super) async fn page(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    refusal: Option<&Error>,
) -> Page {
    page_with(state, actor, slug, refusal, None).await
}

async fn page_with(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    refusal: Option<&Error>,
    judge_slices: Option<(&str, &[quality::judge::JudgeSlice])>,
) -> Page {
    let report = quality::report(&state.pool, actor, slug).await?;
    let settings = gold::settings(&state.pool, actor, slug).await?;
    let (rule, overlap) = quality::adaptive::rule(&state.pool, actor, slug).await?;
    let cards = quality::scorecards(&state.pool, actor, slug).await?;
    // The forms name their fields; a refusal goes to the form that has the field.
    let field = |e: &&Error| match e {
        Error::Invalid(a) => a.field.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let in_form =
        |fields: &'static [&'static str]| move |e: &&Error| fields.contains(&field(e).as_str());
    const OVERLAP: &[&str] = &["max_overlap", "min_agreement", "min_kendall_w"];
    const JUDGE: &[&str] = &["by"];
    let overlap_refusal = refusal.filter(in_form(OVERLAP));
    let judge_refusal = refusal.filter(in_form(JUDGE));
    let gold_refusal = refusal.filter(|e| !in_form(OVERLAP)(e) && !in_form(JUDGE)(e));
    let title = format!("Quality of {slug}");
    let status = refusal.map_or(StatusCode::OK, Error::status);
    let body = view! {
        {report_view(&report)}
        <section id="annotators">
            <h2>"Annotators"</h2>
            {scorecards_view(&cards)}
        </section>
        {gold_view(&report, &settings, gold_refusal)}
        {super::quality_model::overlap_view(slug, rule.as_ref(), overlap, overlap_refusal)}
        {super::quality_model::judges_view(slug, &report.judges, judge_slices, judge_refusal)}
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
    let admin = actor.role == crate::model::user::Role::Admin;
    Ok(
        page::document_with(&format!("My work on {slug}"), body.into_any(), None, admin)
            .into_response(),
    )
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
                    <td class="num">{figure(c.consensus_pairwise_agreement)} " / " {figure(c.consensus_thumbs_agreement)}</td>
                    <td class="num">{figure(c.gold_accuracy)} " (" {c.gold_checked} ")"</td>
                    <td>{bias}</td>
                    <td class="num">{figure(c.proposals_accepted_as_is)} " (" {c.proposals_shown} ")"</td>
                    <td class="num" title="taken as is, minus the share of labels made without seeing a proposal that equal it">
                        {c.anchoring.map(|a| format!("{a:+.2}")).unwrap_or_else(|| "n/a".into())}
                        " (hold-out " {figure(c.holdout_match)} ")"
                    </td>
                    <td class="num" title="accepted / fixed / rejected by reviewers">
                        {figure(c.review_acceptance)} " (" {c.review_accepted} " / " {c.review_fixed} " / " {c.review_rejected} ")"
                    </td>
                </tr>
            }
        })
        .collect_view();
    let trends = cards
        .iter()
        .filter(|c| !c.trend.is_empty())
        .map(trend_view)
        .collect_view();
    view! {
        <table class="list" aria-label="Scorecards">
            <thead><tr>
                <th>"Annotator"</th><th class="num">"Labels"</th><th class="num">"Skips"</th>
                <th class="num">"Median time"</th><th class="num">"Pairwise agreement with others"</th>
                <th class="num">"Thumbs agreement with others"</th>
                <th class="num">"Agreement with the others' consensus (rankings / thumbs)"</th>
                <th class="num">"Gold accuracy"</th>
                <th>"Position bias"</th><th class="num">"Proposals taken as is"</th>
                <th class="num">"Anchoring"</th>
                <th class="num">"Review: accepted as is (accepted / fixed / rejected)"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <h3>"Week by week"</h3>
        {trends}
    }
    .into_any()
}

fn trend_view(c: &quality::Scorecard) -> AnyView {
    let weeks = c
        .trend
        .iter()
        .map(|w| {
            view! {
                <tr>
                    <td>{w.week.to_string()}</td>
                    <td class="num">{w.labels}</td>
                    <td class="num">{w.median_seconds.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "n/a".into())}</td>
                    <td class="num">{figure(w.gold_accuracy)} " (" {w.gold_checked} ")"</td>
                    <td class="num">{figure(w.proposals_accepted_as_is)} " (" {w.proposals_shown} ")"</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" aria-label=format!("Weeks of {}", c.annotator.display_name)>
            <caption>{c.annotator.display_name.clone()}</caption>
            <thead><tr><th>"Week of"</th><th class="num">"Labels"</th><th class="num">"Median time"</th>
                <th class="num">"Gold accuracy"</th><th class="num">"Proposals taken as is"</th></tr></thead>
            <tbody>{weeks}</tbody>
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
            <form method="get" action=format!("/projects/{}/quality/item", r.project) class="inline">
                <label>"Set or clear the gold label of the item with external id "
                    <input name="external_id" required/></label>
                <button type="submit">"Open"</button>
            </form>
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
                <label><input type="checkbox" name="feedback" checked=s.feedback/>
                    " After a missed gold item, show the annotator its explanation"</label>
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
            <p><a href=format!("/projects/{}/leaderboard", r.project)>"Model leaderboard"</a>
                " · " <a href=format!("/projects/{}/review", r.project)>"Review queue"</a></p>
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
                    {(r.strength.pairable > 0.0).then(|| view! {
                        <tr>
                            <td>"Strength"</td><td>"Krippendorff's alpha (ordinal) of signed preference strengths, units are adjacent answer pairs"</td>
                            <td class="num">{figure(r.strength.alpha_ordinal)}</td>
                            <td>{r.strength.pairable} " pairable strengths"</td>
                        </tr>
                    })}
                    {r.rubric.iter().map(|c| view! {
                        <tr>
                            <td>"Rubric: " {c.criterion.clone()}</td><td>"Krippendorff's alpha, interval (ordinal), units are answers"</td>
                            <td class="num">{figure(c.alpha_interval)} " (" {figure(c.alpha_ordinal)} ")"</td>
                            <td>{c.pairable} " pairable scores"</td>
                        </tr>
                    }).collect_view()}
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

/// `GET /projects/{slug}/items/{external_id}/gold`: the item with a form for its expected
/// label.
pub async fn item_gold(
    State(state): State<AppState>,
    session: Session,
    Path((slug, external_id)): Path<(String, String)>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    item_gold_page(&state, &actor, &slug, &external_id, None, None).await
}

async fn item_gold_page(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    external_id: &str,
    form: Option<&Fields>,
    refused: Option<&Error>,
) -> Page {
    let item = gold::item(&state.pool, actor, slug, external_id).await?;
    let status = refused.map_or(StatusCode::OK, Error::status);
    let title = format!("Gold label of {external_id}");
    Ok((
        status,
        document(&title, item_gold_view(slug, &item, form, refused)),
    )
        .into_response())
}

/// `POST /projects/{slug}/items/{external_id}/gold`: saves the expected label (`clear`: makes
/// the item ordinary again); a refusal shows the form again as typed, naming the field.
pub async fn save_item_gold(
    State(state): State<AppState>,
    session: Session,
    Path((slug, external_id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let saved = if form.contains_key("clear") {
        gold::set_item(&state.pool, &actor, &slug, &external_id, None).await
    } else {
        match gold::parse_form(&form) {
            Ok(expected) => {
                gold::set_item(&state.pool, &actor, &slug, &external_id, Some(&expected)).await
            }
            Err(e) => Err(e),
        }
    };
    match saved {
        Ok(()) => {
            let back = format!(
                "/projects/{slug}/items/{}/gold",
                encode_path_segment(&external_id)
            );
            Ok(Redirect::to(&back).into_response())
        }
        Err(e @ Error::Invalid(_)) => {
            item_gold_page(&state, &actor, &slug, &external_id, Some(&form), Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

fn item_gold_view(
    slug: &str,
    item: &gold::ItemGold,
    form: Option<&Fields>,
    refused: Option<&Error>,
) -> AnyView {
    let current = item.gold.clone().unwrap_or_default();
    // As typed after a refusal, else as stored.
    let value = |name: &str, stored: String| {
        form.map_or(stored, |f| f.get(name).cloned().unwrap_or_default())
    };
    let ranking = value(
        "ranking",
        current.ranking.as_ref().map_or_else(String::new, |tiers| {
            tiers
                .iter()
                .map(|t| {
                    t.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(" = ")
                })
                .collect::<Vec<_>>()
                .join(" > ")
        }),
    );
    let best = value(
        "best",
        current.best.map_or_else(String::new, |b| b.to_string()),
    );
    let explanation = value(
        "explanation",
        current.explanation.clone().unwrap_or_default(),
    );
    let prompt = item
        .messages
        .iter()
        .map(
            |m| view! { <p><strong>{format!("{:?}", m.role)} ": "</strong>{m.content.clone()}</p> },
        )
        .collect_view();
    let answers = item
        .answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = format!("thumb_{i}");
            let stored = match current.thumbs.get(&i) {
                Some(true) => "up",
                Some(false) => "down",
                None => "",
            };
            let chosen = value(&name, stored.to_owned());
            let option = move |v: &'static str, label: &'static str| {
                let selected = chosen == v;
                view! { <option value=v selected=selected>{label}</option> }
            };
            view! {
                <tr>
                    <td class="num">{i}</td>
                    <td>{a.content.clone()}</td>
                    <td>
                        <select name=name aria-label=format!("Expected thumb of answer {i}")>
                            {option("", "not checked")}
                            {option("up", "up")}
                            {option("down", "down")}
                        </select>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let flags_checked = form.map_or(current.flags.is_some(), |f| f.contains_key("check_flags"));
    let flag_boxes = crate::model::annotation::Flag::ALL
        .into_iter()
        .map(|flag| {
            let name = format!("flag_{}", flag.key());
            let on = form.map_or_else(
                || current.flags.as_ref().is_some_and(|f| f.contains(&flag)),
                |f| f.contains_key(&name),
            );
            view! { <label class="inline"><input type="checkbox" name=name checked=on/>{flag.label()}</label> }
        })
        .collect_view();
    let action = format!(
        "/projects/{slug}/items/{}/gold",
        encode_path_segment(&item.external_id)
    );
    view! {
        <section>
            <h1>"Gold label of " <code>{item.external_id.clone()}</code></h1>
            <p class="muted">
                {if item.gold.is_some() { "This is a gold item." } else { "This is an ordinary item; saving a label makes it a gold item." }}
                " Answers are named by position, in the item's order. "
                <a href=format!("/projects/{slug}/quality#gold")>"Gold settings"</a>
            </p>
            {prompt}
            {refused.map(page::refusal)}
            <form method="post" action=action class="stack">
                <table class="list" aria-label="Answers">
                    <thead><tr><th class="num">"Position"</th><th>"Answer"</th><th>"Expected thumb"</th></tr></thead>
                    <tbody>{answers}</tbody>
                </table>
                <label>"Expected ranking (best first; > between places, = for a tie, e.g. 1 > 0 = 2) "
                    <input name="ranking" value=ranking/></label>
                <label>"Expected best answer (position) " <input name="best" inputmode="numeric" value=best/></label>
                <label class="inline"><input type="checkbox" name="check_flags" checked=flags_checked/>
                    "Check flags: exactly these"</label>
                <div>{flag_boxes}</div>
                <label>"Explanation shown after a miss " <textarea name="explanation">{explanation}</textarea></label>
                <button type="submit" class="primary">"Save gold label"</button>
                <button type="submit" name="clear" value="1">"Make it an ordinary item"</button>
            </form>
        </section>
    }
    .into_any()
}

/// `GET /projects/{slug}/quality/item?external_id=…`: the Quality page's look-up form, on to
/// the item's gold editor.
pub async fn find_item(
    Path(slug): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Fields>,
) -> Page {
    let id = query
        .get("external_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid("external_id", "give the item's external id"))?;
    Ok(Redirect::to(&format!(
        "/projects/{slug}/items/{}/gold",
        encode_path_segment(id)
    ))
    .into_response())
}
