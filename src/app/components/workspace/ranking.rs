use super::state::Form;
use crate::model::judgment::StrengthScale;
use crate::model::project::ResponseView;
use leptos::prelude::*;
use uuid::Uuid;

/// The ranking so far, best first. Answers are ranked by pressing their numbers in
/// order (the last one follows by itself), or by dragging them here; ranked entries can be
/// dragged to reorder.
#[component]
pub fn RankingBar(
    form: Form,
    answers: Vec<ResponseView>,
    allow_ties: bool,
    /// The project's strength scale: each place but the first says by how much the place
    /// above beats it (Shift + the step's number, or the select).
    strength: Option<StrengthScale>,
) -> impl IntoView {
    let total = answers.len();
    let steps = StoredValue::new(
        strength
            .map(|s| {
                s.steps
                    .into_iter()
                    .map(|s| s.label)
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default(),
    );
    let has_strength = steps.with_value(|s| !s.is_empty());
    let ids = StoredValue::new(answers.iter().map(|a| a.response_id).collect::<Vec<Uuid>>());
    let number_of = move |id: Uuid| {
        answers
            .iter()
            .position(|a| a.response_id == id)
            .map_or(0, |i| i + 1)
    };
    let ranked = move || form.ranking.with(|t| t.iter().map(Vec::len).sum::<usize>());
    let dragged_tier = RwSignal::new(None::<usize>);

    let on_drop = move |ev: leptos::ev::DragEvent, target_tier: Option<usize>| {
        ev.prevent_default();
        let data = ev
            .data_transfer()
            .and_then(|dt| dt.get_data("text/plain").ok())
            .unwrap_or_default();
        if let Some(id) = data
            .strip_prefix("answer:")
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            ids.with_value(|ids| form.rank(id, ids));
        } else if let (Some(from), Some(to)) = (dragged_tier.get_untracked(), target_tier) {
            form.move_tier(from, to);
        }
        dragged_tier.set(None);
    };

    view! {
        <div class="ranking" aria-label="Ranking">
            <div class="ranking-head">
                <strong>"Ranking"</strong>
                <span class="muted">
                    {format!(
                        "best to worst: press the answers' numbers in order (the last one is implied), Backspace undoes{}{}",
                        if allow_ties { ", = ties the next with the last" } else { "" },
                        if has_strength { "; Shift + a number says by how much each place beats the next" } else { "" },
                    )}
                </span>
                <span class="muted">{move || format!("{}/{total} ranked", ranked())}</span>
                <button class="link small" on:click=move |_| form.clear_ranking()>"Clear"</button>
            </div>
            <ol
                class="ranking-list"
                on:dragover=move |ev| ev.prevent_default()
                on:drop=move |ev| on_drop(ev, None)
            >
                {move || {
                    let tiers = form.ranking.get();
                    if tiers.is_empty() {
                        return view! { <li class="placeholder muted">"Nothing ranked yet"</li> }.into_any();
                    }
                    tiers
                        .into_iter()
                        .enumerate()
                        .map(|(position, tier)| {
                            let label = tier.iter().map(|id| format!("Answer {}", number_of(*id))).collect::<Vec<_>>().join(" = ");
                            // From the second place on: how much the place above beats it.
                            let gap = position.checked_sub(1).filter(|_| has_strength);
                            let strength = gap.map(|gap| view! {
                                <select
                                    class="strength"
                                    aria-label=format!("Strength of place {} over place {}", gap + 1, gap + 2)
                                    on:change=move |ev| {
                                        if let Ok(step) = event_target_value(&ev).parse::<u8>() {
                                            form.set_strength_at(gap, step);
                                        }
                                    }
                                >
                                    <option value="" selected=move || form.strength(gap).is_none()>"by how much?"</option>
                                    {steps.get_value().into_iter().enumerate().map(|(i, label)| {
                                        let step = i as u8;
                                        view! {
                                            <option value=step.to_string() selected=move || form.strength(gap) == Some(step)>
                                                {format!("{} {label}", i + 1)}
                                            </option>
                                        }
                                    }).collect_view()}
                                </select>
                            });
                            view! {
                                <li
                                    class="rank-chip"
                                    draggable="true"
                                    on:dragstart=move |_| dragged_tier.set(Some(position))
                                    on:dragover=move |ev| ev.prevent_default()
                                    on:drop=move |ev| { ev.stop_propagation(); on_drop(ev, Some(position)) }
                                >
                                    {strength}
                                    <span class="rank-pos">{position + 1}</span>
                                    {label}
                                </li>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </ol>
        </div>
    }
}
