use crate::app::api::projects::{CreateProject, list_projects};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::project::ProjectSummary;
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
                                    <tr>
                                        <th>"Project"</th><th>"Done"</th><th class="num">"Labels today"</th>
                                        <th class="num">{if is_admin { "Agreement" } else { "Your share" }}</th>
                                        {is_reviewer.then(|| view! { <th class="num">"Review due"</th> })}
                                        <th class="num">"End-user feedback"</th><th></th>
                                    </tr>
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
                                        let dashboard_href = format!("/projects/{}/dashboard", p.slug);
                                        let (done, today, third, due) = glance_cells(&p, is_admin);
                                        let burnup = format!("/projects/{}/burnup.svg", p.slug);
                                        view! {
                                            <tr>
                                                <td>{p.name}</td>
                                                <td class="progress-cell">
                                                    <img src=burnup alt="" width="120" height="28" loading="lazy"/>
                                                    " " {done}
                                                </td>
                                                <td class="num">{today}</td>
                                                <td class="num">{third}</td>
                                                {is_reviewer.then(|| view! { <td class="num">{due}</td> })}
                                                <td class="num">{p.feedback_count}</td>
                                                <td class="row-actions">
                                                    <a class="button primary small" href=label_href>"Label"</a>
                                                    <a href=history_href>"My history"</a>
                                                    <a href=mine_href rel="external">"My scorecard"</a>
                                                    <a href=dashboard_href rel="external">"Dashboard"</a>
                                                    {is_reviewer.then(|| view! {
                                                        <a href=review_href rel="external">"Review"</a>
                                                    })}
                                                    {is_admin.then(|| view! {
                                                        <a href=items_href>"Browse items"</a>
                                                        <a href=settings_href>"Settings"</a>
                                                        <a href=import_href>"Import"</a>
                                                        <a href=export_href>"Export"</a>
                                                        // Server-rendered, outside the app's router.
                                                        <a href=datasets_href rel="external">"Datasets"</a>
                                                        <a href=quality_href rel="external">"Quality"</a>
                                                        <a href=members_href rel="external">"Members"</a>
                                                        <a href=assist_href>"Model assist"</a>
                                                    })}
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
            {is_admin.then(|| view! {
                <h2>"New project"</h2>
                {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorBox error/> })}
                <ActionForm action=create attr:class="stack card narrow" attr:aria-label="New project">
                    <label>"Name" <input type="text" name="name" required maxlength="200"/></label>
                    <label>"Slug (used in addresses)" <input type="text" name="slug" required pattern="[a-z0-9][a-z0-9-]*" maxlength="63"/></label>
                    <button type="submit" class="primary">"Create project"</button>
                </ActionForm>
            })}
        </section>
    }
}

/// The figures of a project's row: done of all, labels today, agreement (admins) or the
/// person's share of the labels, and review work due.
fn glance_cells(g: &ProjectSummary, admin: bool) -> (String, String, String, String) {
    // Whole numbers only: formatting a float would bring its code into the bundle.
    let third = if admin {
        g.agreement_percent
            .map_or_else(|| "–".to_owned(), |a| format!("{a}%"))
    } else if g.all_labels > 0 {
        let share = (200 * g.my_labels + g.all_labels) / (2 * g.all_labels);
        format!("{} ({share}%)", g.my_labels)
    } else {
        "0".to_owned()
    };
    (
        format!("{} / {}", g.completed, g.item_count),
        g.labels_today.to_string(),
        third,
        g.review_due
            .map_or_else(|| "–".to_owned(), |n| n.to_string()),
    )
}
