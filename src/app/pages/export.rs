use crate::app::api::projects::export_preview;
use crate::app::components::error_box::ErrorBox;
use crate::app::components::require_user::RequireUser;
use crate::model::export::{ExportFormat, PairStrategy};
use crate::model::user::Role;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The names of the form's fields (the export spec's, parsed on the server).
const FORM_FIELDS: [&str; 14] = [
    "format",
    "pairs",
    "min_agreement",
    "no_thumb_pairs",
    "no_edit_pairs",
    "keep_flagged",
    "complete_only",
    "test_fraction",
    "from",
    "to",
    "rubric",
    "margin",
    "drop_about_same",
    "none_acceptable_negatives",
];

/// Choose a format and filters, preview counts and the first records, download. Plain GET
/// forms: it works before (and without) the WASM.
#[component]
pub fn ExportPage() -> impl IntoView {
    view! { <RequireUser role=Role::Admin let:_user><Export/></RequireUser> }
}

#[component]
fn Export() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    // The form's fields, when a format was chosen: the server parses them.
    let request = move || {
        query.with(|q| {
            q.get("format").map(|_| {
                FORM_FIELDS
                    .iter()
                    .filter_map(|&key| q.get(key).map(|value| (key.to_owned(), value)))
                    .collect::<std::collections::BTreeMap<_, _>>()
            })
        })
    };
    let format = move || query.with(|q| q.get("format"));
    let preview = Resource::new(
        move || (slug(), request()),
        |(slug, request)| async move {
            match request {
                Some(request) => export_preview(slug, request).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let download = move |kind: &str| {
        let search = query.with(|q| q.to_query_string());
        format!("/projects/{}/export.{kind}{search}", slug())
    };
    let parquet =
        move || format().is_some_and(|f| matches!(f.as_str(), "dpo_pairs" | "dpo_conversational"));
    let selected = move || format().unwrap_or_else(|| "dpo_pairs".into());
    view! {
        <section>
            <h1>"Export"</h1>
            <form method="get" class="stack card narrow" aria-label="Export options">
                <label>
                    "Format"
                    <select name="format">
                        {ExportFormat::ALL.into_iter().map(|f| {
                            let value = f.as_str();
                            view! { <option value=value selected=move || selected() == value>{f.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Pairs from rankings"
                    <select name="pairs">
                        {PairStrategy::ALL.into_iter().map(|p| {
                            view! { <option value=p.as_str()>{p.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Minimum agreement (0–1)" <input type="text" name="min_agreement" placeholder="0"/></label>
                <label>"Test share (0–0.99)" <input type="text" name="test_fraction" placeholder="0"/></label>
                <label>"Annotated from (UTC day, inclusive)" <input type="date" name="from"/></label>
                <label>"Annotated before (UTC day, exclusive)" <input type="date" name="to"/></label>
                <label class="inline"><input type="checkbox" name="no_thumb_pairs"/>"No pairs from thumbs"</label>
                <label class="inline"><input type="checkbox" name="no_edit_pairs"/>"No pairs from edits"</label>
                <label class="inline"><input type="checkbox" name="keep_flagged"/>"Keep unsafe / not rankable"</label>
                <label class="inline"><input type="checkbox" name="complete_only"/>"Only items with full overlap"</label>
                <label>"Pairs from rubric scores (a criterion, or helpfulness:2,honesty:1)" <input type="text" name="rubric" placeholder="rankings"/></label>
                <label class="inline"><input type="checkbox" name="margin"/>"Pairs carry a margin"</label>
                <label class="inline"><input type="checkbox" name="drop_about_same"/>"Leave out pairs rated about the same"</label>
                <label class="inline"><input type="checkbox" name="none_acceptable_negatives"/>"KTO: answers of items found none acceptable are negatives"</label>
                <button type="submit" class="primary">"Preview"</button>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Counting…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(None) => Either::Left(None),
                        Ok(Some(p)) => Either::Left(Some(view! {
                            <div class="card" aria-label="Preview">
                                <p role="status">{format!("{} records from {} items.", p.records, p.items)}</p>
                                <pre class="preview">{p.first.join("\n")}</pre>
                                <a class="button primary" href=download("jsonl")>"Download JSONL"</a>
                                {parquet().then(|| view! { <a class="button" href=download("parquet")>"Download Parquet"</a> })}
                            </div>
                        })),
                        Err(error) => Either::Right(view! { <ErrorBox error/> }),
                    }
                })}
            </Suspense>
        </section>
    }
}
