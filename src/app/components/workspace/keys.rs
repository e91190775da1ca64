//! Every action has a key; `?` lists them.

use super::state::Form;
use crate::model::annotation::{FeedbackKinds, Flag, Task};
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
        let focused_id = || {
            answers
                .get(form.focused.get_untracked())
                .map(|a| a.response_id)
        };
        match key.as_str() {
            "?" => h.help.update(|v| *v = !*v),
            "Escape" => h.help.set(false),
            "g" => h.guidelines_open.update(|v| *v = !*v),
            "a" if form.proposal_id.get_untracked().is_some() => (h.accept)(),
            "r" if form.proposal_id.get_untracked().is_some() => {
                h.rationale_open.update(|v| *v = !*v)
            }
            "Enter" => (h.submit)(),
            "s" if h.task.existing.is_none() => (h.skip)(),
            "j" => form
                .focused
                .update(|f| *f = (*f + 1).min(answers.len().saturating_sub(1))),
            "k" => form.focused.update(|f| *f = f.saturating_sub(1)),
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
pub fn HelpPanel(kinds: FeedbackKinds, proposal: bool, on_close: Callback<()>) -> impl IntoView {
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
