use super::state::Form;
use crate::model::diff::{DiffLine, line_diff, stats};
use crate::model::project::ResponseView;
use leptos::prelude::*;

/// The ideal answer: start from an answer (the best ranked, or one picked), edit it, and
/// see what changed against that answer.
#[component]
pub fn IdealEditor(form: Form, answers: Vec<ResponseView>) -> impl IntoView {
    let answers = StoredValue::new(answers);
    let source = move || {
        form.ideal_from.get().and_then(|id| {
            answers.with_value(|a| {
                a.iter()
                    .find(|r| r.response_id == id)
                    .map(|r| r.content.clone())
            })
        })
    };
    let start_from = move |index: usize| {
        if let Some(answer) = answers.with_value(|a| a.get(index).cloned()) {
            form.ideal_from.set(Some(answer.response_id));
            form.ideal.set(answer.content);
        }
    };
    let count = answers.with_value(Vec::len);
    view! {
        <div class="ideal">
            <div class="ideal-head">
                <label for="ideal-answer"><strong>"Ideal answer (e)"</strong></label>
                <span class="muted">"Start from:"</span>
                {(0..count).map(|i| view! {
                    <button class="small" on:click=move |_| start_from(i)>{format!("Answer {}", i + 1)}</button>
                }).collect_view()}
            </div>
            <textarea
                id="ideal-answer"
                rows="8"
                placeholder="Write the answer you would want, or start from one of the answers (e)."
                prop:value=move || form.ideal.get()
                on:input=move |ev| form.ideal.set(event_target_value(&ev))
            ></textarea>
            {move || source().map(|before| {
                let diff = line_diff(&before, &form.ideal.get());
                let (added, removed) = stats(&diff);
                let changed = added + removed > 0;
                view! {
                    <details class="diff" open=changed>
                        <summary>{format!("Changes against the answer: +{added} −{removed} lines")}</summary>
                        <pre class="diff-lines">
                            {diff.into_iter().filter(|l| !matches!(l, DiffLine::Same(_))).map(|line| match line {
                                DiffLine::Added(t) => view! { <div class="diff-add">{format!("+ {t}")}</div> }.into_any(),
                                DiffLine::Removed(t) => view! { <div class="diff-del">{format!("- {t}")}</div> }.into_any(),
                                DiffLine::Same(_) => ().into_any(),
                            }).collect_view()}
                        </pre>
                    </details>
                }
            })}
        </div>
    }
}
