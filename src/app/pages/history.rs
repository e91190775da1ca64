use crate::app::api::labeling::my_history;
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// "My history": the annotator's own annotations in a project, searchable, each
/// reopenable for editing.
#[component]
pub fn HistoryPage() -> impl IntoView {
    view! { <RequireUser role=Role::Annotator let:_user><History/></RequireUser> }
}

#[component]
fn History() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let search = move || query.with(|q| q.get("q"));
    let entries = Resource::new(
        move || (slug(), search()),
        |(slug, search)| my_history(slug, search),
    );
    view! {
        <section>
            <h1>"My history"</h1>
            <form method="get" class="search" role="search">
                <input type="search" name="q" aria-label="Search my annotations" placeholder="Search prompts, ideal answers, comments" value=search/>
                <button type="submit">"Search"</button>
                <a class="button primary" href=move || format!("/projects/{}/label", slug())>"Back to labeling"</a>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) if list.is_empty() => Either::Left(view! { <p class="muted">"Nothing found."</p> }.into_any()),
                        Ok(list) => Either::Left(view! {
                            <table class="list">
                                <thead><tr><th>"Prompt"</th><th>"Flags"</th><th>"Version"</th><th>"Saved"</th><th>"Review"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| {
                                        let href = format!("/projects/{}/label?annotation={}", slug(), e.annotation_id);
                                        let flags = e.flags.iter().map(|f| f.label()).collect::<Vec<_>>().join(", ");
                                        let review = e.review.map(|r| {
                                            let text = match (r.outcome.as_str(), r.reason) {
                                                ("rejected", Some(reason)) => format!("Rejected: {reason}"),
                                                ("fixed", _) if !r.changes.is_empty() => format!("Fixed by a reviewer: {}", r.changes.join("; ")),
                                                ("fixed", _) => "Fixed by a reviewer".to_owned(),
                                                ("accepted", _) => "Accepted".to_owned(),
                                                (other, _) => other.to_owned(),
                                            };
                                            view! { <span class=format!("review-{}", r.outcome)>{text}</span> }
                                        });
                                        let edit = (!e.removed).then(|| view! { <a href=href>"Edit"</a> });
                                        view! {
                                            <tr>
                                                <td class="excerpt">{e.prompt_excerpt}</td>
                                                <td>{flags}</td>
                                                <td class="num">{e.version}</td>
                                                <td>{e.updated_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                                <td>{review}</td>
                                                <td>{edit}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()),
                        Err(error) => Either::Right(view! { <ErrorBox error/> }),
                    }
                })}
            </Suspense>
        </section>
    }
}
