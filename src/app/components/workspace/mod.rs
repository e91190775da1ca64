//! The labeling workspace: one item, its answers, and every way to judge them, driven
//! by keyboard first. Holds the in-progress annotation in signals, mirrors it to a
//! local draft, and submits it with a client-generated id.

mod answer;
mod draft;
mod editor;
mod keys;
mod ranking;
mod state;

use crate::app::api::labeling::{SkipTask, SubmitAnnotation};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::markdown::Rendered;
use crate::model::annotation::{Flag, Submitted, Task};
use crate::model::project::ChatRole;
use leptos::prelude::*;
use state::Form;
use std::sync::Arc;

/// What comes after a submission or skip: the next task (or `None`, or why the annotator may
/// not go on), and what the server said about the label just stored.
pub type Next = (Result<Option<Task>, crate::model::AppError>, Option<String>);

/// Shows `task` and reports what comes next once it is submitted or skipped.
#[component]
pub fn TaskView(task: Task, on_next: Callback<Next>) -> impl IntoView {
    let task = Arc::new(task);
    let form = Form::new(&task);
    let help = RwSignal::new(false);
    let guidelines_open = RwSignal::new(false);
    let rationale_open = RwSignal::new(false);
    let skip_reason = RwSignal::new(String::new());
    let submit = ServerAction::<SubmitAnnotation>::new();
    let skip = ServerAction::<SkipTask>::new();
    let error = RwSignal::new(None);

    draft::restore_and_persist(form, task.item_id);

    let finish =
        move |result: Option<Result<Submitted, crate::model::AppError>>, item_id| match result {
            Some(Ok(submitted)) => {
                draft::clear(item_id);
                let next = match submitted.notice {
                    Some(notice) => Err(crate::model::AppError::new(
                        crate::model::ErrorCode::Forbidden,
                        notice,
                    )),
                    None => Ok(submitted.next),
                };
                on_next.run((next, submitted.feedback));
            }
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        };
    let item_id = task.item_id;
    let send = {
        let task = task.clone();
        move || {
            submit.dispatch(SubmitAnnotation {
                slug: task.project_slug.clone(),
                input: form.to_input(&task),
            });
        }
    };
    // While the server cannot be reached: the seconds until the next attempt. The
    // annotation stays in the form (and in the draft) and is sent again under the same id,
    // which the server stores once however often it arrives.
    let outage = RwSignal::new(None::<u64>);
    let attempt = StoredValue::new(0u32);
    Effect::new({
        let send = send.clone();
        move |_| match submit.value().get() {
            Some(Err(e)) if e.code == crate::model::ErrorCode::Unavailable => {
                let n = attempt.get_value();
                attempt.set_value(n + 1);
                let wait = retry_delay_secs(n);
                outage.set(Some(wait));
                let send = send.clone();
                set_timeout(
                    move || {
                        // Only the latest failure's timer sends (a submission by hand in
                        // the meantime started a newer attempt).
                        if attempt.get_value() == n + 1 && !submit.pending().get_untracked() {
                            send();
                        }
                    },
                    std::time::Duration::from_secs(wait),
                );
            }
            result => {
                if result.is_some() {
                    outage.set(None);
                    attempt.set_value(0);
                }
                finish(result, item_id);
            }
        }
    });
    Effect::new(move |_| finish(skip.value().get(), item_id));

    let do_submit = move || {
        if submit.pending().get_untracked() {
            return;
        }
        // A reason is part of saying that none is acceptable.
        if form.judgments.with_untracked(|j| {
            j.none_acceptable
                .as_ref()
                .is_some_and(|r| r.trim().is_empty())
        }) {
            error.set(Some(crate::model::AppError::invalid(
                "none_acceptable",
                "say why none of the answers is acceptable",
            )));
            return;
        }
        error.set(None);
        attempt.update_value(|n| *n += 1);
        send();
    };
    let do_accept = {
        let task = task.clone();
        let do_submit = do_submit.clone();
        move || {
            form.restore_proposal(&task);
            do_submit();
        }
    };
    let do_skip = {
        let task = task.clone();
        move || {
            let reason = Some(skip_reason.get_untracked()).filter(|r| !r.trim().is_empty());
            skip.dispatch(SkipTask {
                slug: task.project_slug.clone(),
                item_id: task.item_id,
                reason,
            });
        }
    };

    keys::install(keys::Handlers {
        form,
        task: task.clone(),
        help,
        guidelines_open,
        submit: Arc::new(do_submit.clone()),
        skip: Arc::new(do_skip.clone()),
        accept: Arc::new(do_accept.clone()),
        rationale_open,
    });
    let proposal_banner = task.proposal.clone().filter(|_| task.existing.is_none()).map(|p| {
        let task = task.clone();
        let as_proposed = move || form.as_proposed(&task);
        let do_accept = do_accept.clone();
        // A whole percent, rounded as integers: float formatting would add its code to
        // the bundle.
        let confidence = format!("{}%", (p.confidence * 100.0).round() as i64);
        view! {
            <aside class="proposal card" aria-label="Model proposal">
                <p>
                    <span class="badge model">"Model proposal"</span>
                    " " {p.model.clone()} " · confidence " {confidence} " · "
                    {move || if as_proposed() {
                        "pre-filled below: press a to accept it as is; any change makes it yours."
                    } else {
                        "you changed it: it is your annotation now."
                    }}
                </p>
                <div class="actions">
                    <button class="primary small" on:click=move |_| do_accept()>"Accept as is (a)"</button>
                    <button class="link" on:click=move |_| rationale_open.update(|o| *o = !*o)>"Why? (r)"</button>
                </div>
                <Show when=move || rationale_open.get()>
                    <p class="rationale" aria-label="Rationale">{p.rationale.clone()}</p>
                </Show>
            </aside>
        }
    });
    let has_proposal = task.proposal.is_some() && task.existing.is_none();

    let progress = task.progress;
    let percent = if progress.total > 0 {
        progress.completed * 100 / progress.total
    } else {
        0
    };
    let stacked = task.answers.len() > 2;
    let layout = if stacked {
        "answers stacked"
    } else {
        "answers side-by-side"
    };
    let kinds = task.kinds;
    let schema = task.judgment.clone();
    let help_schema = schema.clone();
    let rubric = schema.rubric.clone();
    let editing = task.existing.as_ref().map(|e| e.version);
    let guidelines = task.guidelines_html.clone();

    view! {
        <div class="workspace" data-item=task.item_id.to_string()>
            <div class="workspace-bar">
                <div class="progress" aria-label="Progress">
                    <div class="progress-track"><div class="progress-fill" style=format!("width: {percent}%")></div></div>
                    <span>{format!("{} / {} items done", progress.completed, progress.total)}</span>
                    <span class="muted">{format!("{} by me today", progress.mine_today)}</span>
                </div>
                <button class="link" on:click=move |_| guidelines_open.update(|o| *o = !*o)>"Guidelines (g)"</button>
                <button class="link" on:click=move |_| help.update(|h| *h = !*h)>"Keys (?)"</button>
            </div>
            {editing.map(|v| view! { <p class="notice">{format!("Editing your earlier annotation (version {v}).")}</p> })}
            <Show when=move || guidelines_open.get()>
                <aside class="guidelines card" aria-label="Guidelines"><Rendered html=guidelines.clone()/></aside>
            </Show>
            <Show when=move || help.get()>
                <keys::HelpPanel kinds schema=help_schema.clone() proposal=has_proposal on_close=Callback::new(move |()| help.set(false))/>
            </Show>

            {proposal_banner}
            <div class="conversation">
                {task.messages.iter().zip(&task.html.messages).enumerate().map(|(i, (m, html))| {
                    let turn = i as u16;
                    let feedback = (schema.turn_feedback && m.role == ChatRole::Assistant).then(|| {
                        let thumb = move || form.turn_thumb(turn);
                        view! {
                            <div class="turn-feedback">
                                <button
                                    class="thumb up"
                                    class:on=move || thumb() == Some(true)
                                    aria-pressed=move || (thumb() == Some(true)).to_string()
                                    aria-label=format!("Thumbs up for turn {}", i + 1)
                                    on:click=move |_| form.thumb_turn(turn, true)
                                >"▲"</button>
                                <button
                                    class="thumb down"
                                    class:on=move || thumb() == Some(false)
                                    aria-pressed=move || (thumb() == Some(false)).to_string()
                                    aria-label=format!("Thumbs down for turn {}", i + 1)
                                    on:click=move |_| form.thumb_turn(turn, false)
                                >"▼"</button>
                                <input
                                    type="text"
                                    id=format!("turn-comment-{i}")
                                    maxlength="5000"
                                    placeholder="Comment on this turn (c)"
                                    aria-label=format!("Comment on turn {}", i + 1)
                                    prop:value=move || form.turn_comment(turn)
                                    on:input=move |ev| form.comment_turn(turn, event_target_value(&ev))
                                />
                            </div>
                        }
                    });
                    view! {
                        <div
                            class=format!("turn turn-{}", m.role.as_str())
                            class:focused=move || form.turn.get() == Some(turn)
                        >
                            <div class="turn-role">{m.role.as_str()}</div>
                            <Rendered html=html.clone()/>
                            {feedback}
                        </div>
                    }
                }).collect_view()}
            </div>

            <div class=layout>
                {task.answers.iter().zip(&task.html.answers).enumerate().map(|(index, (a, html))| view! {
                    <answer::AnswerCard answer=a.clone() html=html.clone() index form kinds collapsible=stacked rubric=rubric.clone()/>
                }).collect_view()}
            </div>

            <div class="judgement card">
                {kinds.ranking.then(|| view! { <ranking::RankingBar form answers=task.answers.clone() allow_ties=kinds.allow_ties strength=schema.strength.clone()/> })}
                {schema.none_acceptable.then(|| view! {
                    <div class="none-acceptable">
                        <label class="inline">
                            <input
                                type="checkbox"
                                prop:checked=move || form.none_acceptable()
                                on:change=move |_| form.toggle_none_acceptable()
                            />
                            "None of these is acceptable"
                            <kbd>"0"</kbd>
                        </label>
                        <Show when=move || form.none_acceptable()>
                            <label>
                                "Why is none acceptable? (required)"
                                <textarea
                                    id="none-reason"
                                    rows="2"
                                    maxlength="5000"
                                    prop:value=move || form.judgments.with(|j| j.none_acceptable.clone().unwrap_or_default())
                                    on:input=move |ev| {
                                        let text = event_target_value(&ev);
                                        form.judgments.update(|j| j.none_acceptable = Some(text));
                                    }
                                ></textarea>
                            </label>
                        </Show>
                    </div>
                })}
                {schema.rationale_required.then(|| view! {
                    <label class="rationale-box">
                        "Why this ranking? (y, required)"
                        <textarea
                            id="rationale"
                            rows="2"
                            maxlength="5000"
                            prop:value=move || form.judgments.with(|j| j.rationale.clone().unwrap_or_default())
                            on:input=move |ev| {
                                let text = event_target_value(&ev);
                                form.judgments.update(|j| j.rationale = Some(text));
                            }
                        ></textarea>
                    </label>
                })}
                {kinds.ideal.then(|| view! { <editor::IdealEditor form answers=task.answers.clone()/> })}
                {kinds.flags.then(|| view! {
                    <fieldset class="flags">
                        <legend>"Flags"</legend>
                        {Flag::ALL.into_iter().map(|flag| view! {
                            <label class="inline">
                                <input
                                    type="checkbox"
                                    prop:checked=move || form.flags.with(|f| f.contains(&flag))
                                    on:change=move |_| form.toggle_flag(flag)
                                />
                                {flag.label()}
                                <kbd>{keys::flag_key(flag).to_string()}</kbd>
                            </label>
                        }).collect_view()}
                    </fieldset>
                })}
                {kinds.comment.then(|| view! {
                    <label class="comment">
                        "Comment (c)"
                        <textarea
                            id="comment"
                            rows="2"
                            maxlength="5000"
                            prop:value=move || form.comment.get()
                            on:input=move |ev| form.comment.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                })}
                {move || error.get().map(|error| view! { <ErrorBox error/> })}
                {move || outage.get().map(|secs| view! {
                    <p class="notice warn" role="status" aria-label="Connection">
                        {format!("Connection lost: the server cannot be reached. Your annotation is kept here and sent again in {secs} s; it will be stored once.")}
                    </p>
                })}
                <div class="actions">
                    <button class="primary" disabled=move || submit.pending().get() on:click={
                        let do_submit = do_submit.clone();
                        move |_| do_submit()
                    }>
                        {move || if submit.pending().get() { "Submitting…" } else { "Submit (Enter)" }}
                    </button>
                    {editing.is_none().then(|| view! {
                        <input
                            class="skip-reason"
                            type="text"
                            placeholder="Reason to skip (optional)"
                            aria-label="Reason to skip"
                            maxlength="500"
                            prop:value=move || skip_reason.get()
                            on:input=move |ev| skip_reason.set(event_target_value(&ev))
                        />
                        <button on:click={
                            let do_skip = do_skip.clone();
                            move |_| do_skip()
                        }>"Skip (s)"</button>
                    })}
                </div>
            </div>
        </div>
    }
}

/// Seconds before the next attempt to send a submission the server did not get:
/// 1, 2, 4, 8, then every 10.
fn retry_delay_secs(failures: u32) -> u64 {
    (1u64 << failures.min(4)).min(10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_back_off_to_every_ten_seconds() {
        let delays: Vec<u64> = (0..7).map(super::retry_delay_secs).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10, 10]);
    }
}
