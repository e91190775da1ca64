//! The Quality page's sections on the model and on overlap: judge calibration (the model's
//! proposals against the annotators) and the adaptive-overlap settings (`POST
//! /projects/{slug}/quality/overlap`).

use super::page::{self, Page};
use super::session;
use crate::server::services::quality::adaptive::{self, Rule};
use crate::server::services::quality::figure;
use crate::server::services::quality::judge::{JudgeCalibration, JudgeSlice};
use crate::server::{AppState, Error};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tower_sessions::Session;

/// Saves the adaptive-overlap rule; a refusal shows the page again, naming the field, and
/// changes nothing.
pub async fn save_overlap(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    match adaptive::save_rule(&state.pool, &actor, &slug, &form).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{slug}/quality#overlap")).into_response()),
        Err(e @ Error::Invalid(_)) => super::quality::page(&state, &actor, &slug, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

pub fn overlap_view(
    slug: &str,
    rule: Option<&Rule>,
    overlap: i32,
    refusal: Option<&Error>,
) -> AnyView {
    let action = format!("/projects/{slug}/quality/overlap");
    let max = rule
        .map(|r| r.max_overlap)
        .filter(|&m| m > overlap)
        .map(|m| m.to_string())
        .unwrap_or_default();
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let refusal = refusal.map(page::refusal);
    view! {
        <section id="overlap">
            <h2>"Adaptive overlap"</h2>
            <p class="muted">
                "Every item gets at least " {overlap} " annotator(s) (the project's overlap). "
                "When its labels reach that and disagree, or their consensus contradicts the model's "
                "proposal, it gets one more, up to the maximum; a clear item stops where it is."
            </p>
            {refusal}
            <form method="post" action=action class="stack">
                <label>"At most this many annotators per item (blank: off) "
                    <input name="max_overlap" inputmode="numeric" value=max/></label>
                <label>"Another annotator below this pairwise agreement (0 to 1: answer pairs ordered alike, answers thumbed alike) "
                    <input name="min_agreement" inputmode="decimal" value=number(rule.and_then(|r| r.min_agreement))/></label>
                <label>"…or below this Kendall's W (0 to 1) "
                    <input name="min_kendall_w" inputmode="decimal" value=number(rule.and_then(|r| r.min_kendall_w))/></label>
                <label><input type="checkbox" name="on_proposal_conflict" checked=rule.is_some_and(|r| r.on_proposal_conflict)/>
                    " …or when the annotators' consensus contradicts the model's proposal"</label>
                <button type="submit" class="primary">"Save overlap settings"</button>
            </form>
        </section>
    }
    .into_any()
}

pub fn judges_view(
    slug: &str,
    judges: &[JudgeCalibration],
    slices: Option<(&str, &[JudgeSlice])>,
    refusal: Option<&Error>,
) -> AnyView {
    let refusal = refusal.map(page::refusal);
    let models = judges.iter().map(judge_view).collect_view();
    let action = format!("/projects/{slug}/quality#judge");
    let field = slices.map(|(f, _)| f.to_owned()).unwrap_or_default();
    let breakdown = slices.map(|(field, slices)| slices_view(field, slices));
    view! {
        <section id="judge">
            <h2>"The model as a rater"</h2>
            <p class="muted">
                "Each model's proposals against the annotators' consensus of the same items "
                "(mean rank; majority thumb). A proposal is right when its sole best answer is the consensus' sole best "
                "(or, without rankings, when it gives every majority thumb). Expected calibration error: the gap between "
                "confidence and accuracy over ten confidence bins, weighted by their proposals. Position: a share of items "
                "judged again with the answers reversed (the pre-label job's swap share)."
            </p>
            {judges.is_empty().then(|| view! { <p class="muted">"No proposal has an annotator's label to compare with yet."</p> })}
            {models}
            {refusal}
            <form method="get" action=action class="inline">
                <label>"Break the figures down by the item metadata field "
                    <input name="judge_by" value=field placeholder="category"/></label>
                <button type="submit">"Show"</button>
            </form>
            {breakdown}
        </section>
    }
    .into_any()
}

fn slices_view(field: &str, slices: &[JudgeSlice]) -> AnyView {
    let rows = slices
        .iter()
        .flat_map(|s| {
            s.judges.iter().map(move |j| {
                view! {
                    <tr>
                        <td>{s.value.clone().unwrap_or_else(|| "(none)".into())}</td>
                        <td>{j.model.clone()}</td>
                        <td class="num">{j.items}</td>
                        <td class="num">{figure(j.accuracy)}</td>
                        <td class="num">{figure(j.expected_calibration_error)}</td>
                        <td class="num">{figure(j.pairwise_agreement)}</td>
                        <td class="num">{figure(j.thumbs_kappa)}</td>
                    </tr>
                }
            })
        })
        .collect_view();
    view! {
        <table class="list" aria-label=format!("The model by {field}")>
            <thead><tr><th>{field.to_owned()}</th><th>"Model"</th><th class="num">"Items"</th>
                <th class="num">"Right"</th><th class="num">"ECE"</th>
                <th class="num">"Pairwise agreement"</th><th class="num">"Thumbs kappa"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn judge_view(j: &JudgeCalibration) -> AnyView {
    let bins = j
        .reliability
        .iter()
        .filter(|b| b.proposals > 0)
        .map(|b| {
            view! {
                <tr>
                    <td>{format!("{:.1}–{:.1}", b.lower, b.upper)}</td>
                    <td class="num">{b.proposals}</td>
                    <td class="num">{figure(b.mean_confidence)}</td>
                    <td class="num">{figure(b.accuracy)}</td>
                </tr>
            }
        })
        .collect_view();
    let positions = j
        .position
        .first_shown
        .iter()
        .map(|p| {
            view! {
                <tr>
                    <td class="num">{p.answers}</td>
                    <td class="num">{p.first_shown} " / " {p.rankings}</td>
                    <td class="num">{figure(Some(p.share))}</td>
                    <td class="num">{figure(Some(p.expected))}</td>
                    <td class="num">{format!("{:.3}", p.p_value)}</td>
                </tr>
            }
        })
        .collect_view();
    let label = format!("Reliability of {}", j.model);
    view! {
        <h3>{j.model.clone()}</h3>
        <table class="list" aria-label=format!("Judge {}", j.model)>
            <thead><tr><th>"Figure"</th><th class="num">"Value"</th><th>"Over"</th></tr></thead>
            <tbody>
                <tr><td>"Thumbs: Cohen's kappa with the majority"</td><td class="num">{figure(j.thumbs_kappa)}</td>
                    <td>{j.thumbs_compared} " answers"</td></tr>
                <tr><td>"Thumbs: share equal to the majority"</td><td class="num">{figure(j.thumbs_agreement)}</td><td></td></tr>
                <tr><td>"Ranking: pairwise agreement with the consensus"</td><td class="num">{figure(j.pairwise_agreement)}</td>
                    <td>{j.pairs_compared} " answer pairs"</td></tr>
                <tr><td>"Right (sole best = consensus best)"</td><td class="num">{figure(j.accuracy)}</td>
                    <td>{j.judged} " of " {j.items} " items decided"</td></tr>
                <tr><td>"Expected calibration error"</td><td class="num">{figure(j.expected_calibration_error)}</td><td></td></tr>
                <tr><td>"Same best answer with the answers reversed"</td><td class="num">{figure(j.position.consistent)}</td>
                    <td>{j.position.compared} " of " {j.position.swapped_items} " items judged twice"</td></tr>
            </tbody>
        </table>
        <table class="list" aria-label=label>
            <thead><tr><th>"Confidence"</th><th class="num">"Proposals"</th><th class="num">"Mean confidence"</th><th class="num">"Accuracy"</th></tr></thead>
            <tbody>{bins}</tbody>
        </table>
        {(!j.position.first_shown.is_empty()).then(|| view! {
            <table class="list" aria-label=format!("Position preference of {}", j.model)>
                <thead><tr><th class="num">"Answers"</th><th class="num">"First shown won"</th><th class="num">"Share"</th>
                    <th class="num">"Chance"</th><th class="num">"p (binomial)"</th></tr></thead>
                <tbody>{positions}</tbody>
            </table>
        })}
    }
    .into_any()
}
