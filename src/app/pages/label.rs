use crate::app::api::labeling::{next_task, reopen_annotation};
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::app::components::workspace::{Next, TaskView};
use crate::model::AppError;
use crate::model::annotation::Task;
use crate::model::user::Role;
use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

#[component]
pub fn LabelPage() -> impl IntoView {
    view! { <RequireUser role=Role::Annotator let:_user><Workspace/></RequireUser> }
}

#[component]
fn Workspace() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let reopen = move || query.with(|q| q.get("annotation").and_then(|a| Uuid::parse_str(&a).ok()));
    let first = Resource::new(
        move || (slug(), reopen()),
        |(slug, reopen)| async move {
            match reopen {
                Some(id) => reopen_annotation(slug, id).await.map(Some),
                None => next_task(slug).await,
            }
        },
    );
    // After a submission or skip, the server's answer carries the next task.
    let replaced = RwSignal::new(None::<Result<Option<Task>, AppError>>);
    // What the server said about the label just submitted (a missed gold item's explanation).
    let feedback = RwSignal::new(None::<String>);
    let on_next = Callback::new(move |(next, said): Next| {
        feedback.set(said);
        replaced.set(Some(next));
    });

    view! {
        {move || feedback.get().map(|text| view! {
            <p class="notice" role="status">"About the item you just submitted: " {text}</p>
        })}
        <Suspense fallback=|| view! { <p class="muted">"Loading the next item…"</p> }>
            {move || Suspend::new(async move {
                let first = first.await;
                move || {
                    let current = match replaced.get() {
                        Some(next) => next,
                        None => first.clone(),
                    };
                    match current {
                        Ok(Some(task)) => EitherOf3::A(view! { <TaskView task on_next/> }),
                        Ok(None) => EitherOf3::B(view! {
                            <section class="narrow card done">
                                <h1>"All done here"</h1>
                                <p>"There is nothing left for you to label in this project right now."</p>
                                <p><a href=format!("/projects/{}/history", slug())>"See what you labeled"</a></p>
                            </section>
                        }),
                        Err(error) => EitherOf3::C(view! { <ErrorBox error/> }),
                    }
                }
            })}
        </Suspense>
    }
}
