use crate::model::markdown::to_safe_html;
use leptos::prelude::*;

/// Untrusted markdown (prompts, answers), rendered with raw HTML shown as text.
#[component]
pub fn Markdown(#[prop(into)] text: String) -> impl IntoView {
    view! { <div class="markdown" inner_html=to_safe_html(&text)></div> }
}
