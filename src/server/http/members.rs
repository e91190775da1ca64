//! The admin's members page (`GET /projects/{slug}/members`), server-rendered: who works on
//! the project, their limits and labels; add a member or change their limits (`POST
//! /projects/{slug}/members`), remove one (`POST /projects/{slug}/members/remove`).

use super::page::{self, Page, document};
use super::session;
use crate::server::services::Actor;
use crate::server::services::members::{self, Member};
use crate::server::{AppState, Error};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tower_sessions::Session;

type Fields = BTreeMap<String, String>;

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    page(&state, &actor, &slug, None, None).await
}

async fn page(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    form: Option<&Fields>,
    refusal: Option<&Error>,
) -> Page {
    let list = members::list(&state.pool, actor, slug).await?;
    let status = refusal.map_or(StatusCode::OK, Error::status);
    let value = |name: &str| form.and_then(|f| f.get(name)).cloned().unwrap_or_default();
    let remove = format!("/projects/{slug}/members/remove");
    let rows = list.iter().map(|m| row(m, &remove)).collect_view();
    let body = view! {
        <section>
            <h1>"Members of " {slug.to_owned()}</h1>
            <p class="muted">
                "Annotators and reviewers see and work on the projects they are members of, and nothing of "
                "any other. Admins reach every project. Limits: the most items a member may label here, in all "
                "and per day (UTC); blank is no limit."
            </p>
            <table class="list" aria-label="Members">
                <thead><tr>
                    <th>"Email"</th><th>"Name"</th><th>"Role"</th><th class="num">"Labels"</th>
                    <th class="num">"Most items"</th><th class="num">"Most per day"</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>"Add a member, or change a member's limits"</h2>
            {refusal.map(page::refusal)}
            <form method="post" action=format!("/projects/{slug}/members") class="stack">
                <label>"Email " <input name="email" type="email" required value=value("email")/></label>
                <label>"Most items in this project " <input name="max_items" inputmode="numeric" value=value("max_items")/></label>
                <label>"Most items per day " <input name="daily_max" inputmode="numeric" value=value("daily_max")/></label>
                <button type="submit" class="primary">"Save member"</button>
            </form>
        </section>
    };
    Ok((
        status,
        document(&format!("Members of {slug}"), body.into_any()),
    )
        .into_response())
}

fn row(m: &Member, remove: &str) -> impl IntoView + use<> {
    let limit = |n: Option<i32>| n.map_or_else(|| "—".to_owned(), |n| n.to_string());
    view! {
        <tr>
            <td>{m.email.clone()}</td>
            <td>{m.display_name.clone()}</td>
            <td>{m.role.clone()}</td>
            <td class="num">{m.labels}</td>
            <td class="num">{limit(m.max_items)}</td>
            <td class="num">{limit(m.daily_max)}</td>
            <td>
                <form method="post" action=remove.to_owned()>
                    <input type="hidden" name="email" value=m.email.clone()/>
                    <button type="submit" class="small">"Remove"</button>
                </form>
            </td>
        </tr>
    }
}

/// Adds a member or changes their limits; a refusal shows the form again with the field named.
pub async fn save(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let saved = async {
        let max_items =
            members::parse_limit("max_items", form.get("max_items").map(String::as_str))?;
        let daily_max =
            members::parse_limit("daily_max", form.get("daily_max").map(String::as_str))?;
        let email = form.get("email").map(String::as_str).unwrap_or_default();
        members::add(&state.pool, &actor, &slug, email, max_items, daily_max).await
    }
    .await;
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{slug}/members")).into_response()),
        Err(e @ Error::Invalid(_)) => page(&state, &actor, &slug, Some(&form), Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let email = form.get("email").map(String::as_str).unwrap_or_default();
    match members::remove(&state.pool, &actor, &slug, email).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{slug}/members")).into_response()),
        Err(e @ Error::Invalid(_)) => page(&state, &actor, &slug, None, Some(&e)).await,
        Err(e) => Err(e.into()),
    }
}
