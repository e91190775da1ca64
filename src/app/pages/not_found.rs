use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="narrow">
            <h1>"Not found"</h1>
            <p>"There is no page at this address. " <a href="/">"Go to the projects."</a></p>
        </section>
    }
}
