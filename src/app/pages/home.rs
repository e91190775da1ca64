use crate::app::api::projects::list_projects;
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::user::{Role, UserView};
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    view! { <RequireUser role=Role::Annotator let:user><Projects user/></RequireUser> }
}

#[component]
fn Projects(user: UserView) -> impl IntoView {
    let projects = Resource::new(|| (), |()| list_projects());
    let is_admin = user.role == Role::Admin;
    view! {
        <section>
            <h1>"Projects"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading projects…"</p> }>
                {move || Suspend::new(async move {
                    match projects.await {
                        Ok(list) if list.is_empty() => Either::Left(view! {
                            <p class="muted">"No projects yet."</p>
                        }.into_any()),
                        Ok(list) => Either::Left(view! {
                            <table class="list">
                                <thead>
                                    <tr><th>"Project"</th><th class="num">"Items"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|p| {
                                        let items_href = format!("/projects/{}/items", p.slug);
                                        let label_href = format!("/projects/{}/label", p.slug);
                                        let history_href = format!("/projects/{}/history", p.slug);
                                        view! {
                                            <tr>
                                                <td>{p.name}</td>
                                                <td class="num">{p.item_count}</td>
                                                <td class="row-actions">
                                                    <a class="button primary small" href=label_href>"Label"</a>
                                                    <a href=history_href>"My history"</a>
                                                    <Show when=move || is_admin>
                                                        <a href=items_href.clone()>"Browse items"</a>
                                                    </Show>
                                                </td>
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
