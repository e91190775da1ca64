use leptos::prelude::*;

/// Markdown the server has rendered (`server::markdown::to_safe_html`: raw HTML shown as
/// text, scripting links neutralised), so safe as inner HTML.
#[component]
pub fn Rendered(html: String) -> impl IntoView {
    view! { <div class="markdown" inner_html=html></div> }
}
