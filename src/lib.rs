//! Verdict: human feedback on language-model answers, turned into training data.
//!
//! `model` is shared by the server and the browser, `app` is the Leptos UI (compiled for
//! both), `server` exists only with the `ssr` feature.

#![recursion_limit = "256"]

pub mod app;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes need the async hydration: a lazy page's chunk is loaded before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
