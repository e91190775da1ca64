//! Every action has a key; `?` lists them.

use super::state::Form;
use crate::model::annotation::{FeedbackKinds, Flag, Task};
use crate::model::judgment::JudgmentSchema;
use leptos::prelude::*;
use std::sync::Arc;

pub fn flag_key(flag: Flag) -> char {
    match flag {
        Flag::Favourite => 'f',
        Flag::Unsafe => 'x',
        Flag::FactuallyWrong => 'w',
        Flag::NotRankable => 'n',
    }
}

#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "keys are only handled in the browser")
)]
pub struct Handlers {
    pub form: Form,
    pub task: Arc<Task>,
    pub help: RwSignal<bool>,
    pub guidelines_open: RwSignal<bool>,
    pub submit: Arc<dyn Fn() + Send + Sync>,
    pub skip: Arc<dyn Fn() + Send + Sync>,
    /// Submits the model's proposal as is.
    pub accept: Arc<dyn Fn() + Send + Sync>,
    pub rationale_open: RwSignal<bool>,
}

/// Listens for keys on the window while the workspace is shown.
#[cfg(feature = "hydrate")]
pub fn install(h: Handlers) {
    use leptos::wasm_bindgen::JsCast;
    use web_sys::HtmlElement;

    fn focus(id: &str) {
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }

    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let target_tag = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|el| el.tag_name())
            .unwrap_or_default();
        let key = ev.key();
        if matches!(target_tag.as_str(), "INPUT" | "TEXTAREA" | "SELECT") {
            if key == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                ev.prevent_default();
                (h.submit)();
            } else if key == "Escape"
                && let Some(el) = document()
                    .active_element()
                    .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            {
                let _ = el.blur();
            }
            return;
        }
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let form = h.form;
        let answers = &h.task.answers;
        let kinds = h.task.kinds;
        let schema = &h.task.judgment;
        let focused_id = || {
            answers
                .get(form.focused.get_untracked())
                .map(|a| a.response_id)
        };
        // Shift + a number (the digit row's second layer, whatever the layout): by how
        // much the next place of the ranking is beaten.
        if ev.shift_key()
            && let Some(scale) = &schema.strength
            && let Some(n) = ev
                .code()
                .strip_prefix("Digit")
                .and_then(|d| d.parse::<usize>().ok())
        {
            if (1..=scale.steps.len()).contains(&n) {
                form.set_next_strength((n - 1) as u8);
                ev.prevent_default();
            }
            return;
        }
        // Rating mode (t): a number scores the focused answer on the current criterion and
        // moves on to the next criterion, then to the next answer.
        if let Some(c) = form.rating.get_untracked() {
            let criterion = schema.rubric.get(c);
            let digit = (key.len() == 1 && key.as_bytes()[0].is_ascii_digit())
                .then(|| key.as_bytes()[0] - b'0');
            match (key.as_str(), criterion, digit) {
                (_, Some(criterion), Some(score)) => {
                    let (low, high) = criterion.scale.range();
                    if let (true, Some(id)) = ((low..=high).contains(&score), focused_id()) {
                        if form.score(id, &criterion.key) != Some(score) {
                            form.rate(id, &criterion.key, score);
                        }
                        let focused = form.focused.get_untracked();
                        if c + 1 < schema.rubric.len() {
                            form.rating.set(Some(c + 1));
                        } else if focused + 1 < answers.len() {
                            form.focused.set(focused + 1);
                            form.rating.set(Some(0));
                        } else {
                            form.rating.set(None);
                        }
                    }
                    ev.prevent_default();
                    return;
                }
                ("]", ..) => {
                    form.rating
                        .set(Some((c + 1).min(schema.rubric.len().saturating_sub(1))));
                    ev.prevent_default();
                    return;
                }
                ("[", ..) => {
                    form.rating.set(Some(c.saturating_sub(1)));
                    ev.prevent_default();
                    return;
                }
                ("Escape" | "t", ..) => {
                    form.rating.set(None);
                    ev.prevent_default();
                    return;
                }
                _ => {}
            }
        }
        match key.as_str() {
            "?" => h.help.update(|v| *v = !*v),
            "Escape" => h.help.set(false),
            "t" if !schema.rubric.is_empty() => {
                form.turn.set(None);
                form.rating.set(Some(0));
            }
            // The assistant turns of the conversation, one after the other, then back to
            // the answers.
            "h" if schema.turn_feedback => {
                let turns: Vec<u16> = h
                    .task
                    .messages
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.role == crate::model::project::ChatRole::Assistant)
                    .map(|(i, _)| i as u16)
                    .collect();
                let next = match form.turn.get_untracked() {
                    None => turns.first().copied(),
                    Some(t) => turns.iter().copied().find(|&n| n > t),
                };
                form.turn.set(next);
            }
            "u" | "d" if form.turn.get_untracked().is_some() => {
                if let Some(turn) = form.turn.get_untracked() {
                    form.thumb_turn(turn, key == "u");
                }
            }
            "c" if form.turn.get_untracked().is_some() => {
                if let Some(turn) = form.turn.get_untracked() {
                    focus(&format!("turn-comment-{turn}"));
                }
            }
            "0" if schema.none_acceptable => {
                form.toggle_none_acceptable();
                if form.none_acceptable() {
                    request_animation_frame(|| focus("none-reason"));
                }
            }
            "y" if schema.rationale_required => focus("rationale"),
            "g" => h.guidelines_open.update(|v| *v = !*v),
            "a" if form.proposal_id.get_untracked().is_some() => (h.accept)(),
            "r" if form.proposal_id.get_untracked().is_some() => {
                h.rationale_open.update(|v| *v = !*v)
            }
            "Enter" => (h.submit)(),
            "s" if h.task.existing.is_none() => (h.skip)(),
            "j" => {
                form.turn.set(None);
                form.focused
                    .update(|f| *f = (*f + 1).min(answers.len().saturating_sub(1)))
            }
            "k" => {
                form.turn.set(None);
                form.focused.update(|f| *f = f.saturating_sub(1))
            }
            "o" if answers.len() > 2 => form.toggle_collapsed(form.focused.get_untracked()),
            "u" if kinds.thumbs => {
                if let Some(id) = focused_id() {
                    form.thumb(id, true);
                }
            }
            "d" if kinds.thumbs => {
                if let Some(id) = focused_id() {
                    form.thumb(id, false);
                }
            }
            "Backspace" if kinds.ranking => form.unrank_last(),
            "=" if kinds.ranking && kinds.allow_ties => form.tie_next.set(true),
            "e" if kinds.ideal => {
                if form.ideal.get_untracked().trim().is_empty() {
                    // Start from the best-ranked answer, else the focused one.
                    let best = form
                        .ranking
                        .get_untracked()
                        .first()
                        .and_then(|t| t.first().copied());
                    if let Some(answer) = best
                        .or_else(focused_id)
                        .and_then(|id| answers.iter().find(|a| a.response_id == id))
                    {
                        form.ideal_from.set(Some(answer.response_id));
                        form.ideal.set(answer.content.clone());
                    }
                }
                focus("ideal-answer");
            }
            "c" if kinds.comment => focus("comment"),
            k if kinds.flags
                && Flag::ALL
                    .iter()
                    .any(|f| k.starts_with(flag_key(*f)) && k.len() == 1) =>
            {
                if let Some(flag) = Flag::ALL.into_iter().find(|f| k.starts_with(flag_key(*f))) {
                    form.toggle_flag(flag);
                }
            }
            k if kinds.ranking && k.len() == 1 && k.as_bytes()[0].is_ascii_digit() => {
                let n = usize::from(k.as_bytes()[0] - b'0');
                match answers.get(n.wrapping_sub(1)) {
                    Some(answer) => {
                        let ids: Vec<_> = answers.iter().map(|a| a.response_id).collect();
                        form.rank(answer.response_id, &ids);
                        form.focused.set(n - 1);
                    }
                    None => return,
                }
            }
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || handle.remove());
}

#[cfg(not(feature = "hydrate"))]
pub fn install(_: Handlers) {}

#[component]
pub fn HelpPanel(
    kinds: FeedbackKinds,
    schema: JudgmentSchema,
    proposal: bool,
    on_close: Callback<()>,
) -> impl IntoView {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if proposal {
        rows.push(("a", "accept the model's proposal as is and submit".into()));
        rows.push(("r", "show why the model proposed it".into()));
    }
    if kinds.ranking {
        rows.push((
            "1 – 9",
            "rank: press the answers' numbers best to worst".into(),
        ));
        rows.push(("Backspace", "undo the last rank".into()));
        if kinds.allow_ties {
            rows.push(("=", "tie: the next number joins the last rank".into()));
        }
        if let Some(scale) = &schema.strength {
            let steps: Vec<String> = scale
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{} {}", i + 1, s.label))
                .collect();
            rows.push((
                "Shift + 1 – 9",
                format!(
                    "by how much each place beats the next, in order: {}",
                    steps.join(", ")
                ),
            ));
        }
    }
    if !schema.rubric.is_empty() {
        rows.push((
            "t",
            "rate the focused answer: a number scores the current criterion and moves on".into(),
        ));
        rows.push((
            "[ / ]",
            "while rating: the previous / next criterion".into(),
        ));
    }
    if schema.none_acceptable {
        rows.push(("0", "none of these is acceptable (then say why)".into()));
    }
    if schema.rationale_required {
        rows.push(("y", "write why you ranked them so".into()));
    }
    if schema.turn_feedback {
        rows.push((
            "h",
            "the next assistant turn of the conversation: u / d thumb it, c comments (j / k: back to the answers)".into(),
        ));
    }
    rows.push(("j / k", "focus the next / previous answer".into()));
    rows.push((
        "o",
        "fold / unfold the focused answer (three or more answers)".into(),
    ));
    if kinds.thumbs {
        rows.push(("u / d", "thumbs up / down for the focused answer".into()));
    }
    if kinds.ideal {
        rows.push((
            "e",
            "edit the ideal answer (starts from the best-ranked answer)".into(),
        ));
    }
    if kinds.flags {
        for flag in Flag::ALL {
            rows.push((
                match flag_key(flag) {
                    'f' => "f",
                    'x' => "x",
                    'w' => "w",
                    _ => "n",
                },
                format!("flag: {}", flag.label().to_lowercase()),
            ));
        }
    }
    if kinds.comment {
        rows.push(("c", "write a comment".into()));
    }
    rows.push(("Enter", "submit (Ctrl+Enter inside a text box)".into()));
    rows.push(("s", "skip this item".into()));
    rows.push(("g", "show the guidelines".into()));
    rows.push(("Esc", "leave a text box, close this panel".into()));
    view! {
        <div class="help card" role="dialog" aria-label="Keyboard shortcuts">
            <div class="help-head">
                <strong>"Keyboard shortcuts"</strong>
                <button class="link" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
            <table class="keys">
                {rows.into_iter().map(|(k, what)| view! { <tr><td><kbd>{k}</kbd></td><td>{what}</td></tr> }).collect_view()}
            </table>
        </div>
    }
}
