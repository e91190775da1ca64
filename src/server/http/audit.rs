//! The audit log for admins (`GET /admin/audit`), server-rendered: newest first, filtered
//! by project, action, actor and days, a page at a time; `GET /admin/audit.jsonl` downloads
//! the filtered log, oldest first.

use super::page::{self, Page, document};
use super::session;
use crate::server::services::audit::{self, Entry, Query};
use crate::server::{AppState, Error};
use axum::extract::{Query as Params, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use leptos::prelude::*;
use tower_sessions::Session;

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Params(q): Params<Query>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let (rows, refusal) = match audit::list(&state.pool, &actor, &q).await {
        Ok(rows) => (rows, None),
        Err(e @ Error::Invalid(_)) => (Vec::new(), Some(e)),
        Err(e) => return Err(e.into()),
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, Error::status);
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let older = (rows.len() as i64 == audit::PAGE).then(|| {
        let last = rows.last().map_or(0, |r| r.seq);
        let mut next = q.clone();
        next.before = Some(last.to_string());
        view! { <p><a href=format!("/admin/audit?{}", query_string(&next))>"Older entries"</a></p> }
    });
    let download = format!(
        "/admin/audit.jsonl?{}",
        query_string(&Query {
            before: None,
            ..q.clone()
        })
    );
    let body = view! {
        <section>
            <h1>"Audit log"</h1>
            <p class="muted">
                "Every change to who may do what, and to what a dataset will contain: members, roles, "
                "tokens, settings, gold labels, review decisions, dataset versions and deletions. "
                "Entries cannot be changed or removed. The command line's actor is shown as “command line”."
            </p>
            {refusal.as_ref().map(page::refusal)}
            <form method="get" action="/admin/audit" class="filters" aria-label="Filter the log">
                <label>"Project " <input name="project" value=value(&q.project)/></label>
                <label>"Action " <input name="action" placeholder="member or member.add" value=value(&q.action)/></label>
                <label>"Actor's email " <input name="actor" value=value(&q.actor)/></label>
                <label>"From " <input name="from" type="date" value=value(&q.from)/></label>
                <label>"To " <input name="to" type="date" value=value(&q.to)/></label>
                <button type="submit">"Filter"</button>
                <a href=download>"Download as JSON Lines"</a>
            </form>
            <table class="list" aria-label="Audit entries">
                <thead><tr>
                    <th class="num">"#"</th><th>"When (UTC)"</th><th>"Actor"</th><th>"Action"</th>
                    <th>"Project"</th><th>"Target"</th><th>"Before"</th><th>"After"</th>
                </tr></thead>
                <tbody>{rows.iter().map(row).collect_view()}</tbody>
            </table>
            {older}
        </section>
    };
    Ok((status, document("Audit log", body.into_any())).into_response())
}

fn row(e: &Entry) -> impl IntoView + use<> {
    // Short on the row, whole (indented) when opened.
    let json = |v: &Option<serde_json::Value>| {
        v.as_ref().map(|v| {
            let line = v.to_string();
            let short: String = line.chars().take(48).collect();
            let more = if short.len() < line.len() { "…" } else { "" };
            let whole = serde_json::to_string_pretty(v).unwrap_or(line.clone());
            view! {
                <details class="json">
                    <summary><code>{short}{more}</code></summary>
                    <pre>{whole}</pre>
                </details>
            }
        })
    };
    let actor = match (&e.actor, e.actor_id.is_nil()) {
        (_, true) => "command line".to_owned(),
        (Some(email), false) => email.clone(),
        (None, false) => e.actor_id.to_string(),
    };
    let via = e.token_id.map(|_| " (API token)");
    view! {
        <tr>
            <td class="num">{e.seq}</td>
            <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
            <td>{actor}{via}</td>
            <td><code>{e.action.clone()}</code></td>
            <td>{e.project.clone().unwrap_or_default()}</td>
            <td>{e.target.clone().unwrap_or_default()}</td>
            <td>{json(&e.before)}</td>
            <td>{json(&e.after)}</td>
        </tr>
    }
}

fn query_string(q: &Query) -> String {
    let pairs = [
        ("project", &q.project),
        ("action", &q.action),
        ("actor", &q.actor),
        ("from", &q.from),
        ("to", &q.to),
        ("before", &q.before),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", crate::model::url::encode_query_value(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /admin/audit.jsonl`: the filtered log, one entry per line, oldest first.
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Params(q): Params<Query>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let body = audit::export_jsonl(&state.pool, &actor, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"verdict-audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}
