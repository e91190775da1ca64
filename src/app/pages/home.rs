use crate::app::api::projects::{CreateProject, list_projects};
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
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    let is_admin = user.role == Role::Admin;
    let is_reviewer = user.role >= Role::Reviewer;
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
                                    <tr><th>"Project"</th><th class="num">"Items"</th><th class="num">"End-user feedback"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|p| {
                                        let items_href = format!("/projects/{}/items", p.slug);
                                        let label_href = format!("/projects/{}/label", p.slug);
                                        let history_href = format!("/projects/{}/history", p.slug);
                                        let settings_href = format!("/projects/{}/settings", p.slug);
                                        let export_href = format!("/projects/{}/export", p.slug);
                                        let assist_href = format!("/projects/{}/assist", p.slug);
                                        let import_href = format!("/projects/{}/import", p.slug);
                                        let datasets_href = format!("/projects/{}/datasets", p.slug);
                                        let quality_href = format!("/projects/{}/quality", p.slug);
                                        let mine_href = format!("/projects/{}/quality/me", p.slug);
                                        let members_href = format!("/projects/{}/members", p.slug);
                                        let review_href = format!("/projects/{}/review", p.slug);
                                        view! {
                                            <tr>
                                                <td>{p.name}</td>
                                                <td class="num">{p.item_count}</td>
                                                <td class="num">{p.feedback_count}</td>
                                                <td class="row-actions">
                                                    <a class="button primary small" href=label_href>"Label"</a>
                                                    <a href=history_href>"My history"</a>
                                                    <a href=mine_href rel="external">"My scorecard"</a>
                                                    <Show when=move || is_reviewer>
                                                        <a href=review_href.clone() rel="external">"Review"</a>
                                                    </Show>
                                                    <Show when=move || is_admin>
                                                        <a href=items_href.clone()>"Browse items"</a>
                                                        <a href=settings_href.clone()>"Settings"</a>
                                                        <a href=import_href.clone()>"Import"</a>
                                                        <a href=export_href.clone()>"Export"</a>
                                                        // Server-rendered, outside the app's router.
                                                        <a href=datasets_href.clone() rel="external">"Datasets"</a>
                                                        <a href=quality_href.clone() rel="external">"Quality"</a>
                                                        <a href=members_href.clone() rel="external">"Members"</a>
                                                        <a href=assist_href.clone()>"Model assist"</a>
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
            <Show when=move || is_admin>
                <h2>"New project"</h2>
                {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorBox error/> })}
                <ActionForm action=create attr:class="stack card narrow" attr:aria-label="New project">
                    <label>"Name" <input type="text" name="name" required maxlength="200"/></label>
                    <label>"Slug (used in addresses)" <input type="text" name="slug" required pattern="[a-z0-9][a-z0-9-]*" maxlength="63"/></label>
                    <button type="submit" class="primary">"Create project"</button>
                </ActionForm>
            </Show>
        </section>
    }
}
