use super::state::Form;
use crate::app::components::markdown::Rendered;
use crate::model::annotation::FeedbackKinds;
use crate::model::judgment::{Criterion, Scale};
use crate::model::project::ResponseView;
use leptos::prelude::*;

/// One answer: its number (the key that ranks it), rank, thumbs and text.
#[component]
pub fn AnswerCard(
    answer: ResponseView,
    /// The answer's text as the server rendered it.
    html: String,
    index: usize,
    form: Form,
    kinds: FeedbackKinds,
    /// Offer folding the answer away (when answers are stacked).
    collapsible: bool,
    /// The project's rubric, rated per answer.
    rubric: Vec<Criterion>,
) -> impl IntoView {
    let id = answer.response_id;
    let number = index + 1;
    let rank = move || form.rank_of(id).map(|r| format!("#{}", r + 1));
    let thumb = move || form.thumbs.with(|t| t.get(&id).copied());
    let focused = move || form.focused.get() == index;
    let collapsed = move || form.collapsed.with(|c| c.contains(&index));
    view! {
        <section
            class="answer"
            class:focused=focused
            class:collapsed=collapsed
            aria-label=format!("Answer {number}")
            draggable="true"
            on:dragstart=move |ev| {
                if let Some(dt) = ev.data_transfer() {
                    let _ = dt.set_data("text/plain", &format!("answer:{id}"));
                }
            }
            on:click=move |_| form.focused.set(index)
        >
            <header>
                <kbd class="answer-key">{number}</kbd>
                <strong>{format!("Answer {number}")}</strong>
                <span class="rank-badge" aria-label="Rank">{rank}</span>
                {kinds.thumbs.then(|| view! {
                    <span class="thumbs">
                        <button
                            class="thumb up"
                            class:on=move || thumb() == Some(true)
                            aria-pressed=move || (thumb() == Some(true)).to_string()
                            aria-label=format!("Thumbs up for answer {number}")
                            on:click=move |ev| { ev.stop_propagation(); form.thumb(id, true) }
                        >"▲"</button>
                        <button
                            class="thumb down"
                            class:on=move || thumb() == Some(false)
                            aria-pressed=move || (thumb() == Some(false)).to_string()
                            aria-label=format!("Thumbs down for answer {number}")
                            on:click=move |ev| { ev.stop_propagation(); form.thumb(id, false) }
                        >"▼"</button>
                    </span>
                })}
            </header>
            {collapsible.then(|| view! {
                <button
                    class="link small fold"
                    aria-expanded=move || (!collapsed()).to_string()
                    on:click=move |ev| { ev.stop_propagation(); form.toggle_collapsed(index) }
                >
                    {move || if collapsed() { "Expand (o)" } else { "Collapse (o)" }}
                </button>
            })}
            <div class="answer-body" hidden=collapsed>
                {if answer.content.trim().is_empty() {
                    view! { <p class="empty-answer">"This answer is empty: it says nothing."</p> }.into_any()
                } else {
                    view! { <Rendered html/> }.into_any()
                }}
            </div>
            {(!rubric.is_empty()).then(|| view! {
                <div class="rubric" aria-label=format!("Rubric for answer {number}")>
                    {rubric.into_iter().enumerate().map(|(c, criterion)| {
                        let current = move || focused() && form.rating.get() == Some(c);
                        let (low, high) = criterion.scale.range();
                        let key = StoredValue::new(criterion.key.clone());
                        let name = criterion.name.clone();
                        view! {
                            <div class="criterion" class:current=current title=criterion.description.clone()>
                                <span class="criterion-name">
                                    {criterion.name.clone()}
                                    {criterion.required.then_some(" *")}
                                </span>
                                {(low..=high).map(|score| {
                                    let text = match criterion.scale {
                                        Scale::YesNo if score == 1 => "1 yes".to_owned(),
                                        Scale::YesNo => "0 no".to_owned(),
                                        _ => score.to_string(),
                                    };
                                    let on = move || key.with_value(|k| form.score(id, k)) == Some(score);
                                    view! {
                                        <button
                                            class="score"
                                            class:on=on
                                            aria-pressed=move || on().to_string()
                                            aria-label=format!("{name} {score} for answer {number}")
                                            on:click=move |ev| {
                                                ev.stop_propagation();
                                                key.with_value(|k| form.rate(id, k, score));
                                            }
                                        >{text}</button>
                                    }
                                }).collect_view()}
                            </div>
                        }
                    }).collect_view()}
                </div>
            })}
        </section>
    }
}
