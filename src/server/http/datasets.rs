//! The admin's dataset-version pages, rendered on the server as plain HTML outside the
//! hydrated app: they load no WASM (the labeling page's bundle does not grow for them) and
//! their forms work without JavaScript. The services check who may see what, as for the API.
//!
//! - `GET  /projects/{slug}/datasets`: the versions (newest first, `?after=` pages) and a form
//!   to save an export spec as a new version;
//! - `POST /projects/{slug}/datasets`: makes it, then redirects to it (or shows the form again
//!   with the refusal, naming the field);
//! - `GET  /projects/{slug}/datasets/{name}/{version}`: its spec, counts, lineage and files;
//! - `GET  /projects/{slug}/datasets/{name}/{version}/files/{file}`: a file, checked against
//!   its SHA-256 as it is served;
//! - `GET  /projects/{slug}/datasets/diff?from=NAME vA&to=NAME vB`: what changed.

use super::page::{self, Page, document};
use super::session;
use crate::server::dataset::ExportSpec;
use crate::server::dataset::spec::{ExportFormat, PairStrategy, ReviewMode};
use crate::server::dataset::version::{Diff, FileKind, Manifest};
use crate::server::services::{Actor, datasets};
use crate::server::{AppState, Error};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tower_sessions::Session;

type Fields = BTreeMap<String, String>;

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(query): Query<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let after = query.get("after");
    list_page(&state, &actor, &slug, after, &Fields::new(), None).await
}

async fn list_page(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    after: Option<&String>,
    form: &Fields,
    refusal: Option<&Error>,
) -> Page {
    let page = datasets::list(&state.pool, actor, slug, after.map(String::as_str), None).await?;
    let status = refusal.map_or(StatusCode::OK, Error::status);
    let body = versions_view(slug, &page.versions, page.next_cursor, form, refusal);
    Ok((status, document(&format!("Datasets of {slug}"), body)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    match create_version(&state, &actor, &slug, &form).await {
        Ok(manifest) => {
            let href = version_href(&slug, &manifest.name, manifest.version);
            Ok(Redirect::to(&href).into_response())
        }
        Err(e @ (Error::Invalid(_) | Error::Conflict(_))) => {
            list_page(&state, &actor, &slug, None, &form, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The form's `name` and `version`; every other field is the export spec.
async fn create_version(
    state: &AppState,
    actor: &Actor,
    slug: &str,
    form: &Fields,
) -> Result<Manifest, Error> {
    let name = form.get("name").map_or("", |n| n.trim());
    let number = match form.get("version").map(|v| v.trim()) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| Error::invalid("version", "must be a whole number"))?,
        ),
    };
    let spec_fields = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "name" | "version"));
    let spec = ExportSpec::from_pairs(spec_fields).map_err(Error::Invalid)?;
    datasets::create(&state.pool, actor, slug, name, number, &spec).await
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path((slug, name, number)): Path<(String, String, i32)>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let manifest = datasets::show(&state.pool, &actor, &slug, &name, number).await?;
    // The other versions, to compare with.
    let limit = Some(datasets::MAX_PAGE);
    let others = datasets::list(&state.pool, &actor, &slug, None, limit).await?;
    let others: Vec<String> = others
        .versions
        .iter()
        .filter(|m| !(m.name == manifest.name && m.version == manifest.version))
        .map(Manifest::label)
        .collect();
    let title = format!("{} of {slug}", manifest.label());
    Ok(document(&title, manifest_view(&slug, &manifest, others)).into_response())
}

pub async fn file(
    State(state): State<AppState>,
    session: Session,
    Path((slug, name, number, file)): Path<(String, String, i32, String)>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let kind = FileKind::parse(&file).ok_or(Error::NotFound("file"))?;
    let (manifest, made) =
        datasets::download(&state.pool, &actor, &slug, &name, number, kind).await?;
    Ok(super::export::serve_version_file(&manifest, kind, made).await?)
}

pub async fn diff(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    Query(query): Query<Fields>,
) -> Page {
    let actor = session::actor(&state.pool, &session).await?;
    let label = |field: &'static str| {
        query
            .get(field)
            .and_then(|l| datasets::parse_label(l.trim()))
            .ok_or_else(|| Error::invalid(field, "name a version as \"NAME vN\""))
    };
    let (from, to) = (label("from")?, label("to")?);
    let (from, to) = ((from.0.as_str(), from.1), (to.0.as_str(), to.1));
    let diff = datasets::diff(&state.pool, &actor, &slug, from, to).await?;
    let title = format!("{} → {}", diff.from, diff.to);
    Ok(document(&title, diff_view(&slug, diff)).into_response())
}

fn versions_href(slug: &str) -> String {
    format!("/projects/{slug}/datasets")
}

fn version_href(slug: &str, name: &str, number: i32) -> String {
    format!("/projects/{slug}/datasets/{name}/{number}")
}

fn versions_view(
    slug: &str,
    versions: &[Manifest],
    next_cursor: Option<String>,
    form: &Fields,
    refusal: Option<&Error>,
) -> AnyView {
    let rows = versions
        .iter()
        .map(|m| {
            let href = version_href(slug, &m.name, m.version);
            let data = m.file(FileKind::Jsonl);
            let sha = data.map(|f| f.sha256[..12].to_owned());
            view! {
                <tr>
                    <td><a href=href>{m.label()}</a></td>
                    <td><code>{m.format.as_str()}</code></td>
                    <td class="num">{m.counts.items}</td>
                    <td class="num">{m.counts.records}</td>
                    <td>{m.created_by.clone()}</td>
                    <td>{m.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                    <td><code title="SHA-256 of the JSONL file">{sha}</code></td>
                </tr>
            }
        })
        .collect_view();
    let value = |key: &str| form.get(key).cloned().unwrap_or_default();
    let checked = |key: &str| form.contains_key(key);
    let chosen_format = form
        .get("format")
        .cloned()
        .unwrap_or_else(|| "dpo_pairs".into());
    let chosen_pairs = form.get("pairs").cloned().unwrap_or_default();
    let chosen_review = form.get("review").cloned().unwrap_or_default();
    let refusal = refusal.map(page::refusal);
    let more = next_cursor.map(|cursor| {
        let href = format!("{}?after={cursor}", versions_href(slug));
        view! { <p><a href=href>"Older versions"</a></p> }
    });
    view! {
        <section>
            <p><a href="/">"Projects"</a> " / " {slug.to_owned()}</p>
            <h1>"Dataset versions"</h1>
            <p class="muted">
                "A version freezes exactly which annotations, items and answers an export spec selects; "
                "later labels, edits and deleted items change nothing in it, and its files download "
                "byte for byte the same, checked against their SHA-256."
            </p>
            {if versions.is_empty() {
                view! { <p class="muted">"No versions yet."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Versions">
                        <thead><tr>
                            <th>"Version"</th><th>"Format"</th><th class="num">"Items"</th>
                            <th class="num">"Records"</th><th>"Created by"</th><th>"Created"</th><th>"SHA-256"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            {more}
            <h2>"New version"</h2>
            {refusal}
            <form method="post" action=versions_href(slug) class="stack card narrow" aria-label="New version">
                <label>"Name" <input type="text" name="name" required maxlength="80" pattern="[a-z0-9][a-z0-9._-]*" placeholder="sft-banking" value=value("name")/></label>
                <label>"Version (the next free number when empty)" <input type="number" name="version" min="1" value=value("version")/></label>
                <label>
                    "Format"
                    <select name="format">
                        {options(ExportFormat::ALL.map(ExportFormat::as_str), &chosen_format)}
                    </select>
                </label>
                <label>
                    "Pairs from rankings"
                    <select name="pairs">
                        {options(PairStrategy::ALL.map(PairStrategy::as_str), &chosen_pairs)}
                    </select>
                </label>
                <label>
                    "Labels by review (raw: all; reviewed: accepted or fixed only; adjudicated: the final label where there is one, the consensus otherwise)"
                    <select name="review">
                        {options(ReviewMode::ALL.map(ReviewMode::as_str), &chosen_review)}
                    </select>
                </label>
                <label>"Minimum agreement (0 to 1)" <input type="number" name="min_agreement" min="0" max="1" step="0.05" value=value("min_agreement")/></label>
                <label>"Test fraction (0 to 0.99)" <input type="number" name="test_fraction" min="0" max="0.99" step="0.01" value=value("test_fraction")/></label>
                <label>"Last changed from (day, UTC)" <input type="date" name="from" value=value("from")/></label>
                <label>"Last changed before (day, UTC)" <input type="date" name="to" value=value("to")/></label>
                <label class="inline"><input type="checkbox" name="complete_only" checked=checked("complete_only")/>"Complete items only"</label>
                <label class="inline"><input type="checkbox" name="include_gold" checked=checked("include_gold")/>"Include gold items"</label>
                <label class="inline"><input type="checkbox" name="exclude_flagged_annotators" checked=checked("exclude_flagged_annotators")/>"Leave out annotators flagged by gold accuracy"</label>
                <label class="inline"><input type="checkbox" name="keep_flagged" checked=checked("keep_flagged")/>"Keep annotations flagged unsafe or not rankable"</label>
                <label class="inline"><input type="checkbox" name="no_thumb_pairs" checked=checked("no_thumb_pairs")/>"No pairs from thumbs"</label>
                <label class="inline"><input type="checkbox" name="no_edit_pairs" checked=checked("no_edit_pairs")/>"No pairs from edited ideal answers"</label>
                <label>"Pairs from rubric scores instead of rankings (a criterion, or helpfulness:2,honesty:1)" <input type="text" name="rubric" maxlength="400" placeholder="helpfulness" value=value("rubric")/></label>
                <label class="inline"><input type="checkbox" name="margin" checked=checked("margin")/>"Pairs carry a margin (from preference strengths)"</label>
                <label class="inline"><input type="checkbox" name="drop_about_same" checked=checked("drop_about_same")/>"Leave out pairs rated about the same"</label>
                <label class="inline"><input type="checkbox" name="none_acceptable_negatives" checked=checked("none_acceptable_negatives")/>"KTO: every answer of an item found none acceptable is a negative"</label>
                <button type="submit" class="primary">"Save as a version"</button>
            </form>
        </section>
    }
    .into_any()
}

/// A select's options, `chosen` selected.
fn options(values: impl IntoIterator<Item = &'static str>, chosen: &str) -> impl IntoView {
    values
        .into_iter()
        .map(|v| view! { <option value=v selected=v == chosen>{v}</option> })
        .collect_view()
}

fn manifest_view(slug: &str, m: &Manifest, others: Vec<String>) -> AnyView {
    let splits = m
        .counts
        .splits
        .iter()
        .map(|(split, c)| {
            view! { <tr><td>{split.clone()}</td><td class="num">{c.items}</td><td class="num">{c.records}</td></tr> }
        })
        .collect_view();
    let annotators = m
        .annotators
        .iter()
        .map(|a| {
            view! { <tr><td><code>{a.annotator.clone()}</code></td><td>{a.source.clone()}</td><td class="num">{a.labels}</td></tr> }
        })
        .collect_view();
    let guidelines = m
        .guidelines
        .iter()
        .map(|g| {
            let version = g.version.map_or_else(
                || "before versions were kept".to_owned(),
                |v| format!("v{v}"),
            );
            view! { <tr><td>{version}</td><td class="num">{g.labels}</td></tr> }
        })
        .collect_view();
    let proposals = m
        .proposals
        .iter()
        .map(|p| {
            view! { <tr><td><code>{p.model.clone()}</code></td><td class="num">{p.shown}</td><td class="num">{p.accepted}</td></tr> }
        })
        .collect_view();
    let files = m
        .files
        .iter()
        .map(|(kind, f)| {
            let href = format!("{}/files/{kind}", version_href(slug, &m.name, m.version));
            view! {
                <tr>
                    <td><a href=href download=f.name.clone()>{f.name.clone()}</a></td>
                    <td class="num">{f.bytes}</td>
                    <td><code class="sha">{f.sha256.clone()}</code></td>
                </tr>
            }
        })
        .collect_view();
    let this = m.label();
    let compare = (!others.is_empty()).then(|| {
        view! {
            <form method="get" action=format!("{}/diff", versions_href(slug)) class="stack card narrow" aria-label="Compare">
                <input type="hidden" name="to" value=this.clone()/>
                <label>
                    "Compare with"
                    <select name="from">
                        {others.into_iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Show what changed"</button>
            </form>
        }
    });
    let none = |rows: usize, text: &'static str| {
        (rows == 0).then(|| view! { <p class="muted">{text}</p> })
    };
    view! {
        <section>
            <p><a href="/">"Projects"</a> " / " <a href=versions_href(slug)>{format!("{slug} datasets")}</a></p>
            <h1>{this.clone()}</h1>
            <dl class="facts">
                <dt>"Spec"</dt><dd><code>{m.spec.clone()}</code></dd>
                <dt>"Format"</dt><dd><code>{m.format.as_str()}</code></dd>
                <dt>"Created by"</dt><dd>{m.created_by.clone()}</dd>
                <dt>"Created"</dt><dd>{m.created_at.to_rfc3339()}</dd>
                <dt>"Consensus"</dt><dd>{m.consensus.clone()}</dd>
                <dt>"Items"</dt><dd>{m.counts.items}</dd>
                <dt>"Annotations"</dt><dd>{m.counts.annotations}</dd>
                <dt>"Records"</dt><dd>{m.counts.records}</dd>
                <dt>"Pairs"</dt><dd>{m.counts.pairs.map_or_else(|| "—".to_owned(), |p| p.to_string())}</dd>
            </dl>
            <h2>"Files"</h2>
            <p class="muted">"Each download is made again from the version's members and checked against the SHA-256 below."</p>
            <table class="list" aria-label="Files">
                <thead><tr><th>"File"</th><th class="num">"Bytes"</th><th>"SHA-256"</th></tr></thead>
                <tbody>{files}</tbody>
            </table>
            <h2>"Splits"</h2>
            <table class="list" aria-label="Splits">
                <thead><tr><th>"Split"</th><th class="num">"Items"</th><th class="num">"Records"</th></tr></thead>
                <tbody>{splits}</tbody>
            </table>
            <h2>"Annotators"</h2>
            {none(m.annotators.len(), "No labels.")}
            <table class="list" aria-label="Annotators">
                <thead><tr><th>"Pseudonym"</th><th>"Source"</th><th class="num">"Labels"</th></tr></thead>
                <tbody>{annotators}</tbody>
            </table>
            <h2>"Guideline versions"</h2>
            <table class="list" aria-label="Guideline versions">
                <thead><tr><th>"Guidelines"</th><th class="num">"Labels made under them"</th></tr></thead>
                <tbody>{guidelines}</tbody>
            </table>
            <h2>"Model proposals"</h2>
            {none(m.proposals.len(), "No label was made with a model's proposal shown.")}
            <table class="list" aria-label="Model proposals">
                <thead><tr><th>"Model"</th><th class="num">"Labels with it shown"</th><th class="num">"Accepted as proposed"</th></tr></thead>
                <tbody>{proposals}</tbody>
            </table>
            <h2>"Compare"</h2>
            {compare}
        </section>
    }
    .into_any()
}

fn diff_view(slug: &str, diff: Diff) -> AnyView {
    let list = |label: &'static str, changes: &[crate::server::dataset::version::ItemChange]| {
        let shown = changes.len().min(500);
        let rows = changes[..shown]
            .iter()
            .map(|c| {
                let id = c.external_id.clone().unwrap_or_else(|| c.item_id.to_string());
                view! { <tr><td><code>{id}</code></td><td class="num">{c.records_added}</td><td class="num">{c.records_removed}</td></tr> }
            })
            .collect_view();
        let more = (changes.len() > shown).then(
            || view! { <p class="muted">{format!("…and {} more.", changes.len() - shown)}</p> },
        );
        view! {
            <h2>{format!("{label}: {} items", changes.len())}</h2>
            <table class="list" aria-label=label>
                <thead><tr><th>"Item"</th><th class="num">"Records added"</th><th class="num">"Records removed"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {more}
        }
    };
    view! {
        <section>
            <p><a href="/">"Projects"</a> " / " <a href=versions_href(slug)>{format!("{slug} datasets")}</a></p>
            <h1>{format!("{} → {}", diff.from, diff.to)}</h1>
            <dl class="facts">
                <dt>"Records added"</dt><dd>{diff.records_added}</dd>
                <dt>"Records removed"</dt><dd>{diff.records_removed}</dd>
                <dt>"Annotations added"</dt><dd>{diff.annotations_added}</dd>
                <dt>"Annotations removed"</dt><dd>{diff.annotations_removed}</dd>
                <dt>"Annotations at another version"</dt><dd>{diff.annotations_changed}</dd>
            </dl>
            {list("Added", &diff.added)}
            {list("Removed", &diff.removed)}
            {list("Changed", &diff.changed)}
        </section>
    }
    .into_any()
}
