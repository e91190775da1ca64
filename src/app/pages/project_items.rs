use crate::app::api::projects::project_items;
use crate::app::components::error_box::ErrorBox;
use crate::app::components::markdown::Rendered;
use crate::app::components::require_user::RequireUser;
use crate::model::project::{ItemView, ResponseView};
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ProjectItemsPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_user><Items/></RequireUser> }
}

#[component]
fn Items() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let page = Resource::new(
        move || {
            let slug = params.with(|p| p.get("slug").unwrap_or_default());
            let after = query.with(|q| q.get("after").and_then(|a| a.parse::<i64>().ok()));
            (slug, after)
        },
        |(slug, after)| project_items(slug, after),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading items…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let next = page
                            .next_after
                            .map(|after| format!("/projects/{}/items?after={after}", page.project.slug));
                        Either::Left(view! {
                            <section>
                                <h1>{page.project.name.clone()}</h1>
                                <p class="muted">{format!("{} items", page.project.item_count)}</p>
                                {page.items.into_iter().map(|item| {
                                    let slug = page.project.slug.clone();
                                    view! { <ItemCard item slug/> }
                                }).collect_view()}
                                {next.map(|href| view! { <a class="button" href=href>"Next items →"</a> })}
                            </section>
                        })
                    }
                    Err(error) => Either::Right(view! { <ErrorBox error/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ItemCard(item: ItemView, slug: String) -> impl IntoView {
    let label = item
        .external_id
        .clone()
        .unwrap_or_else(|| format!("#{}", item.item_seq));
    // The gold editor is server-rendered; items without an external id cannot be named there.
    let gold_href = item.external_id.as_deref().map(|id| {
        format!(
            "/projects/{}/items/{}/gold",
            crate::model::url::encode_path_segment(&slug),
            crate::model::url::encode_path_segment(id)
        )
    });
    let gold_text = if item.gold {
        "Gold label…"
    } else {
        "Make gold…"
    };
    let gold = item.gold;
    let aria = format!("Item {label}");
    let layout = if item.responses.len() == 2 {
        "answers side-by-side"
    } else {
        "answers stacked"
    };
    view! {
        <article class="item card" aria-label=aria>
            <header class="item-head">
                <span class="badge">{label}</span>
                {gold.then(|| view! { <span class="badge gold">"gold"</span> })}
                {gold_href.map(|href| view! { <a href=href rel="external" class="small">{gold_text}</a> })}
            </header>
            <div class="conversation">
                {item.messages.into_iter().zip(item.html.messages).map(|(m, html)| view! {
                    <div class=format!("turn turn-{}", m.role.as_str())>
                        <div class="turn-role">{m.role.as_str()}</div>
                        <Rendered html/>
                    </div>
                }).collect_view()}
            </div>
            <div class=layout>
                {item.responses.into_iter().zip(item.html.answers).map(|(response, html)| view! { <Answer response html/> }).collect_view()}
            </div>
        </article>
    }
}

#[component]
fn Answer(response: ResponseView, html: String) -> impl IntoView {
    let title = format!("Answer {}", response.ordinal + 1);
    let aria = title.clone();
    view! {
        <section class="answer" aria-label=aria>
            <header>
                <strong>{title}</strong>
                {response.model.map(|m| view! { <span class="model">{m}</span> })}
            </header>
            <Rendered html/>
        </section>
    }
}
