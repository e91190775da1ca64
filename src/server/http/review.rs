//! The review queue (`GET /projects/{slug}/review`), server-rendered: the item the reviewer
//! holds, its answers by letter with the disagreements marked, every annotator's label side
//! by side, and per label the three decisions (`POST /projects/{slug}/review/decide`).
//! Admins also set what is reviewed there (`POST /projects/{slug}/review/settings`).
//! Keyboard (`public/review.js`): a accept, f fix, r reject, j / k next / previous label; the
//! first due label's Accept button has the focus (Enter accepts), and without the script
//! the buttons' access keys still work.

use super::page::{self, Page, document_with};
use super::session;
use crate::model::annotation::Flag;
use crate::model::user::Role;
use crate::server::markdown::to_safe_html;
use crate::server::services::Actor;
use crate::server::services::review::{
    self, ReviewLabel, ReviewSelection, ReviewSettings, ReviewTask, letter, ranking_text,
};
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
    render(&state, &actor, &slug, None, None).await
}

/// `POST /projects/{slug}/review/decide`: one decision; back to the queue, or the page again
/// with the refusal (the field named) when nothing was stored.
pub async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    match review::decide_form(&state.pool, &actor, &slug, &form).await {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{slug}/review")).into_response()),
        Err(e @ (Error::Invalid(_) | Error::Conflict(_))) => {
            render(&state, &actor, &slug, None, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /projects/{slug}/review/settings` (admins).
pub async fn save_settings(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let saved = match review::parse_settings(&form) {
        Ok(settings) => review::save_settings(&state.pool, &actor, &slug, &settings).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{slug}/review")).into_response()),
        Err(e @ Error::Invalid(_)) => render(&state, &actor, &slug, Some(&form), Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

async fn render(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    settings_form: Option<&Fields>,
    refusal: Option<&Error>,
) -> Page {
    let queue = review::queue_state(&state.pool, actor, slug).await?;
    let settings = if actor.role == Role::Admin {
        Some(review::settings(&state.pool, actor, slug).await?)
    } else {
        None
    };
    let task = if queue.enabled {
        review::next(&state.pool, actor, slug).await?
    } else {
        None
    };
    let status = refusal.map_or(StatusCode::OK, Error::status);
    // A refused settings form is shown open, as typed, with its refusal.
    let (settings_refusal, decision_refusal) = match settings_form {
        Some(_) => (refusal, None),
        None => (None, refusal),
    };
    let state_line = match (&task, queue.enabled) {
        (_, false) => "Review is off for this project.".to_owned(),
        (None, true) => "Nothing is due for your review now.".to_owned(),
        (Some(t), true) => format!(
            "{} item(s) await your review. You hold this one until {} UTC; nobody else reviews it meanwhile.",
            t.due_items,
            t.expires_at.format("%H:%M")
        ),
    };
    let body = view! {
        <section class="review">
            <h1>"Review · " {slug.to_owned()}</h1>
            <p class="muted" role="status">{state_line}</p>
            {decision_refusal.map(page::refusal)}
            {task.map(|t| task_view(slug, &t))}
            {settings.map(|s| settings_view(slug, &s, settings_form, settings_refusal))}
        </section>
    };
    Ok((
        status,
        document_with(
            &format!("Review {slug}"),
            body.into_any(),
            Some("/review.js"),
            actor.role == Role::Admin,
        ),
    )
        .into_response())
}

fn task_view(slug: &str, task: &ReviewTask) -> AnyView {
    let ids: Vec<Uuid> = task.answers.iter().map(|a| a.response_id).collect();
    let prompt = task
        .messages
        .iter()
        .map(|m| {
            view! {
                <div class="message">
                    <strong>{m.role.as_str().to_owned()} ": "</strong>
                    <div class="md" inner_html=to_safe_html(&m.content)></div>
                </div>
            }
        })
        .collect_view();
    let answers = task
        .answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let disagree = task.disagreements.contains(&a.response_id);
            view! {
                <li class:disagree=disagree aria-label=format!("Answer {}", letter(i))>
                    <h3>
                        "Answer " {letter(i)}
                        {a.model.clone().map(|m| view! { <span class="muted">" · " {m}</span> })}
                        {disagree.then(|| view! { <span class="badge warn">"labels disagree"</span> })}
                    </h3>
                    <div class="md" inner_html=to_safe_html(&a.content)></div>
                </li>
            }
        })
        .collect_view();
    let mut first_pending = true;
    let labels = task
        .labels
        .iter()
        .map(|l| {
            let focus = l.pending && std::mem::take(&mut first_pending);
            label_view(slug, l, &ids, focus)
        })
        .collect_view();
    view! {
        <p class="muted keys">"Keys: a accept · f fix · r reject · j / k next / previous label · Esc leaves a field"</p>
        <div class="prompt">{prompt}</div>
        <ol class="answers plain">{answers}</ol>
        <h2>"Labels"</h2>
        <div class="labels">{labels}</div>
    }
    .into_any()
}

fn label_view(slug: &str, l: &ReviewLabel, answers: &[Uuid], focus: bool) -> AnyView {
    let ranking = l
        .body
        .ranking
        .as_ref()
        .map(|r| ranking_text(r, answers))
        .unwrap_or_default();
    let thumb_of = |i: usize| l.body.thumbs.get(&answers[i]).copied();
    let thumbs = (0..answers.len())
        .filter_map(|i| {
            thumb_of(i).map(|up| format!("{} {}", letter(i), if up { "up" } else { "down" }))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let flags = l
        .body
        .flags
        .iter()
        .map(|f| f.label())
        .collect::<Vec<_>>()
        .join(", ");
    let outcome = l.outcome.clone().map(|o| {
        view! { <span class="badge">{o}</span> }
    });
    let row = |name: &'static str, value: String| {
        (!value.is_empty()).then(|| view! { <dt>{name}</dt><dd>{value}</dd> })
    };
    let decide = format!("/projects/{slug}/review/decide");
    let id = l.annotation_id.to_string();
    let forms = l.pending.then(|| {
        let thumb_selects = (0..answers.len())
            .map(|i| {
                let chosen = match thumb_of(i) {
                    Some(true) => "up",
                    Some(false) => "down",
                    None => "",
                };
                let option = move |v: &'static str, label: &'static str| {
                    view! { <option value=v selected=chosen == v>{label}</option> }
                };
                view! {
                    <label class="inline">{letter(i)} " "
                        <select name=format!("thumb_{i}") aria-label=format!("Thumb of answer {}", letter(i))>
                            {option("", "—")}{option("up", "up")}{option("down", "down")}
                        </select>
                    </label>
                }
            })
            .collect_view();
        let flag_boxes = Flag::ALL
            .into_iter()
            .map(|f| {
                view! {
                    <label class="inline">
                        <input type="checkbox" name=format!("flag_{}", f.key()) checked=l.body.flags.contains(&f)/>
                        {f.label()}
                    </label>
                }
            })
            .collect_view();
        view! {
            <form method="post" action=decide.clone() class="inline-form accept">
                <input type="hidden" name="annotation_id" value=id.clone()/>
                <input type="hidden" name="decision" value="accept"/>
                <label class="inline"><input type="checkbox" name="adjudicate"/>"make it the item's final label"</label>
                <button type="submit" class="primary" accesskey="a" autofocus=focus>"Accept"</button>
            </form>
            <details class="fix">
                <summary>"Fix and accept"</summary>
                <form method="post" action=decide.clone() class="stack">
                    <input type="hidden" name="annotation_id" value=id.clone()/>
                    <input type="hidden" name="decision" value="fix"/>
                    <label>"Ranking (best first: B > A = C) " <input name="ranking" value=ranking.clone()/></label>
                    <div>{thumb_selects}</div>
                    <label>"Ideal answer " <textarea name="ideal_answer">{l.body.ideal_answer.clone().unwrap_or_default()}</textarea></label>
                    <div>{flag_boxes}</div>
                    <label>"Comment " <input name="comment" value=l.body.comment.clone().unwrap_or_default()/></label>
                    <label class="inline"><input type="checkbox" name="adjudicate"/>"make it the item's final label"</label>
                    <button type="submit" accesskey="f">"Save the fix"</button>
                </form>
            </details>
            <details class="reject">
                <summary>"Reject"</summary>
                <form method="post" action=decide class="stack">
                    <input type="hidden" name="annotation_id" value=id/>
                    <input type="hidden" name="decision" value="reject"/>
                    <label>"Reason (the annotator sees it) " <textarea name="reason" required maxlength=review::REASON_MAX.to_string()></textarea></label>
                    <label class="inline"><input type="radio" name="requeue" value="yes" checked/>"send the item back for another annotator"</label>
                    <label class="inline"><input type="radio" name="requeue" value="no"/>"only remove the label"</label>
                    <button type="submit" class="danger" accesskey="r">"Reject"</button>
                </form>
            </details>
        }
    });
    view! {
        <article class="card" data-pending=l.pending.then_some("") aria-label=format!("Label by {}", l.annotator)>
            <h3>
                {l.annotator.clone()} <span class="muted">" · version " {l.version}</span>
                {l.adjudicated.then(|| view! { <span class="badge">"final"</span> })}
                {outcome}
            </h3>
            <dl>
                {row("Ranking", ranking.clone())}
                {row("Thumbs", thumbs)}
                {row("Ideal answer", l.body.ideal_answer.clone().unwrap_or_default())}
                {row("Flags", flags)}
                {row("Comment", l.body.comment.clone().unwrap_or_default())}
                {row("Rejected because", l.reason.clone().unwrap_or_default())}
            </dl>
            {forms}
        </article>
    }
    .into_any()
}

fn settings_view(
    slug: &str,
    s: &ReviewSettings,
    form: Option<&Fields>,
    refusal: Option<&Error>,
) -> AnyView {
    let value = |name: &str, stored: String| {
        form.map_or(stored, |f| f.get(name).cloned().unwrap_or_default())
    };
    let enabled = form.map_or(s.enabled, |f| f.contains_key("enabled"));
    let selection = value("selection", s.selection.as_str().to_owned());
    let options = ReviewSelection::ALL
        .into_iter()
        .map(|v| {
            let text = match v {
                ReviewSelection::All => "every label",
                ReviewSelection::Sample => "a random share of the labels",
                ReviewSelection::BelowGold => "labels of annotators below a gold accuracy",
                ReviewSelection::Disagreement => "labels of items whose annotators disagree",
            };
            view! { <option value=v.as_str() selected=selection == v.as_str()>{text}</option> }
        })
        .collect_view();
    view! {
        <details open=form.is_some() id="settings">
            <summary>"Review settings (admins)"</summary>
            {refusal.map(page::refusal)}
            <form method="post" action=format!("/projects/{slug}/review/settings") class="stack narrow">
                <label class="inline"><input type="checkbox" name="enabled" checked=enabled/>"Review this project's labels"</label>
                <label>"What is reviewed " <select name="selection">{options}</select></label>
                <label>"Share reviewed (sample; 0 to 1) " <input name="share" inputmode="decimal" value=value("share", s.share.to_string())/></label>
                <label>"Gold accuracy below which an annotator's labels are reviewed (0 to 1) "
                    <input name="min_accuracy" inputmode="decimal" value=value("min_accuracy", s.min_accuracy.to_string())/></label>
                <label>"Agreement on an item below which it is reviewed (0 to 1) "
                    <input name="max_agreement" inputmode="decimal" value=value("max_agreement", s.max_agreement.to_string())/></label>
                <button type="submit" class="primary">"Save review settings"</button>
            </form>
        </details>
    }
    .into_any()
}
