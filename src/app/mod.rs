//! The UI: the HTML shell, the router and its pages. Server functions live in `api`.

pub mod api;
pub mod components;
pub mod pages;

use crate::model::AppError;
use crate::model::user::UserView;
use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" id="leptos" href="/pkg/verdict.css"/>
                <title>"Verdict"</title>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in user (or `None`), loaded once per page and shared through context.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserView>, AppError>>);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(CurrentUser(Resource::new(|| (), |()| api::session::me())));

    // Effects run only in the browser: this marks the page as hydrated (tests wait for it).
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <div id="app" data-hydrated=move || hydrated.get().to_string()>
            <Router>
                <components::nav::Nav/>
                <main>
                    <Routes fallback=pages::not_found::NotFound>
                        <Route path=path!("/projects/:slug/label") view=pages::label::LabelPage ssr=SsrMode::Async/>
                        <Route path=path!("/") view={Lazy::<pages::Home>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/login") view={Lazy::<pages::Login>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/users") view={Lazy::<pages::Users>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/tokens") view={Lazy::<pages::Tokens>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/settings") view={Lazy::<pages::Settings>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/export") view={Lazy::<pages::Export>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/import") view={Lazy::<pages::Import>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/assist") view={Lazy::<pages::Assist>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/history") view={Lazy::<pages::History>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:slug/items") view={Lazy::<pages::Items>::new()} ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </Router>
        </div>
    }
}
