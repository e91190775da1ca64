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
                                <thead><tr><th>"Prompt"</th><th>"Flags"</th><th>"Version"</th><th>"Saved"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| {
                                        let href = format!("/projects/{}/label?annotation={}", slug(), e.annotation_id);
                                        let flags = e.flags.iter().map(|f| f.label()).collect::<Vec<_>>().join(", ");
                                        view! {
                                            <tr>
                                                <td class="excerpt">{e.prompt_excerpt}</td>
                                                <td>{flags}</td>
                                                <td class="num">{e.version}</td>
                                                <td>{e.updated_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                                <td><a href=href>"Edit"</a></td>
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
