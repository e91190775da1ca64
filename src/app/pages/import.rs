use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::AppError;
use crate::model::import::{ImportReport, LineError};
use crate::model::user::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// Upload a file of items with a progress bar, then read the import report.
#[component]
pub fn ImportPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_user><Import/></RequireUser> }
}

/// Where an upload is.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "uploads run in the browser")
)]
enum Upload {
    Idle,
    Sending { sent: f64, total: f64 },
    Importing,
    Done(ImportReport),
    Failed(AppError),
}

#[component]
fn Import() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let state = RwSignal::new(Upload::Idle);
    let format = RwSignal::new("auto".to_owned());
    let skip_invalid = RwSignal::new(false);
    let strict = RwSignal::new(false);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let busy = move || matches!(state.get(), Upload::Sending { .. } | Upload::Importing);

    let start = move |_| {
        #[cfg(not(feature = "hydrate"))]
        let _ = (slug, format, skip_invalid, strict, file_input);
        #[cfg(feature = "hydrate")]
        {
            let Some(input) = file_input.get_untracked() else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                state.set(Upload::Failed(AppError::invalid(
                    "file",
                    "choose a file first",
                )));
                return;
            };
            send(
                &slug(),
                &format.get_untracked(),
                skip_invalid.get_untracked(),
                strict.get_untracked(),
                file,
                state,
            );
        }
    };

    view! {
        <section>
            <h1>"Import items"</h1>
            <p class="muted">
                "JSON Lines (Verdict, TRL preference, Anthropic HH, OpenAI chat) or CSV, gzip-compressed or not, up to 2 GB. "
                "By default nothing is stored when any line is invalid; every bad line is reported. "
                "Items whose external_id the project has are skipped."
            </p>
            <div class="stack card narrow" aria-label="Import a file">
                <label>"File" <input type="file" node_ref=file_input accept=".jsonl,.json,.csv,.gz,.ndjson"/></label>
                <label>
                    "Format"
                    <select on:change=move |ev| format.set(event_target_value(&ev))>
                        <option value="auto" selected>"Detect from the first line"</option>
                        <option value="verdict">"Verdict JSONL"</option>
                        <option value="trl">"TRL preference"</option>
                        <option value="hh">"Anthropic HH"</option>
                        <option value="openai">"OpenAI chat"</option>
                        <option value="csv">"CSV"</option>
                    </select>
                </label>
                <label class="inline">
                    <input type="checkbox" on:change=move |ev| skip_invalid.set(event_target_checked(&ev))/>
                    "Import the valid lines and report the rest"
                </label>
                <label class="inline">
                    <input type="checkbox" on:change=move |ev| strict.set(event_target_checked(&ev))/>
                    "Strict: refuse Anthropic HH pairs that part before their last turn (by default they are cut at the first differing answer, with a warning)"
                </label>
                <button class="primary" disabled=busy on:click=start>"Upload and import"</button>
            </div>
            {move || match state.get() {
                Upload::Idle => ().into_any(),
                Upload::Sending { sent, total } => {
                    let percent = if total > 0.0 { sent * 100.0 / total } else { 0.0 };
                    view! {
                        <div class="card" aria-label="Upload progress">
                            <progress max="100" value=percent.to_string()></progress>
                            <p role="status">{format!("Uploading… {:.0}% ({:.1} of {:.1} MB)", percent, sent / 1e6, total / 1e6)}</p>
                        </div>
                    }.into_any()
                }
                Upload::Importing => view! {
                    <div class="card" aria-label="Upload progress">
                        <progress max="100" value="100"></progress>
                        <p role="status">"Uploaded. Importing…"</p>
                    </div>
                }.into_any(),
                Upload::Done(report) => view! { <Report report/> }.into_any(),
                Upload::Failed(error) => view! { <ErrorBox error/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Report(report: ImportReport) -> impl IntoView {
    let summary = if report.committed {
        format!(
            "Imported {} items ({} already present, {} invalid lines skipped) from {} lines as {}.",
            report.imported,
            report.already_present,
            report.invalid_count,
            report.lines,
            report.format.label()
        )
    } else {
        format!(
            "Nothing was imported: {} of {} lines are invalid. Fix them, or tick \"Import the valid lines\".",
            report.invalid_count, report.lines
        )
    };
    let more = report.invalid_count.saturating_sub(report.invalid.len());
    let more_warnings = report.warning_count.saturating_sub(report.warnings.len());
    view! {
        <div class="card" aria-label="Import report">
            <p role="status" class=if report.committed { "notice" } else { "error" }>{summary}</p>
            {(!report.invalid.is_empty()).then(|| view! {
                <Lines lines=report.invalid.clone() label="Invalid lines" why="Why"/>
            })}
            {(more > 0).then(|| view! { <p class="muted">{format!("…and {more} more invalid lines.")}</p> })}
            {(!report.warnings.is_empty()).then(|| view! {
                <p>{format!("{} lines were imported with a change:", report.warning_count)}</p>
                <Lines lines=report.warnings.clone() label="Warnings" why="What changed"/>
            })}
            {(more_warnings > 0).then(|| view! { <p class="muted">{format!("…and {more_warnings} more warnings.")}</p> })}
        </div>
    }
}

/// Lines of the file with what is wrong, or what was changed, in each.
#[component]
fn Lines(lines: Vec<LineError>, label: &'static str, why: &'static str) -> impl IntoView {
    view! {
        <table class="list" aria-label=label>
            <thead><tr><th class="num">"Line"</th><th>"Field"</th><th>{why}</th></tr></thead>
            <tbody>
                {lines.into_iter().map(|e| view! {
                    <tr><td class="num">{e.line}</td><td><code>{e.field}</code></td><td>{e.message}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Sends the file with XMLHttpRequest, whose upload events drive the progress bar.
#[cfg(feature = "hydrate")]
fn send(
    slug: &str,
    format: &str,
    skip_invalid: bool,
    strict: bool,
    file: web_sys::File,
    state: RwSignal<Upload>,
) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;
    let fail = move |message: String| {
        state.set(Upload::Failed(AppError::new(
            crate::model::ErrorCode::Internal,
            message,
        )))
    };
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        return fail("this browser cannot upload files".into());
    };
    let mut url = format!("/projects/{slug}/import?format={format}");
    if skip_invalid {
        url.push_str("&skip_invalid=1");
    }
    if strict {
        url.push_str("&strict=1");
    }
    if xhr.open("POST", &url).is_err() {
        return fail("the upload could not start".into());
    }
    let total = file.size();
    state.set(Upload::Sending { sent: 0.0, total });
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            let (sent, total) = (
                ev.loaded(),
                if ev.length_computable() {
                    ev.total()
                } else {
                    total
                },
            );
            if sent >= total {
                state.set(Upload::Importing);
            } else {
                state.set(Upload::Sending { sent, total });
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    on_progress.forget();
    let done_xhr = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
        let status = done_xhr.status().unwrap_or(0);
        if (200..300).contains(&status) {
            match serde_json::from_str::<ImportReport>(&text) {
                Ok(report) => state.set(Upload::Done(report)),
                Err(e) => fail(format!("unreadable answer: {e}")),
            }
        } else {
            let error = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<crate::model::AppError>(v["error"].clone()).ok()
                })
                .unwrap_or_else(|| {
                    AppError::new(
                        crate::model::ErrorCode::Internal,
                        format!("the server answered {status}"),
                    )
                });
            state.set(Upload::Failed(error));
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error =
        Closure::<dyn FnMut()>::new(move || fail("the connection broke during the upload".into()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        fail("the upload could not start".into());
    }
}
