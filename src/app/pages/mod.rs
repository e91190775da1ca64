//! The app's pages. The labeling page is in the main WASM bundle; every other page is a lazy
//! route, its code a chunk of its own that the browser loads only when it shows that page
//! (`cargo leptos build --split`), so the annotator's page does not carry the admin pages.

pub mod assist;
pub mod export;
pub mod history;
pub mod home;
pub mod import;
pub mod label;
pub mod login;
pub mod not_found;
pub mod project_items;
pub mod project_settings;
pub mod tokens;
pub mod users;

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// A page loaded lazily: no route data of its own (each page loads its data in its
/// component), and a view whose code is split off the main bundle.
macro_rules! lazy_page {
    ($($(#[$doc:meta])* $name:ident => $page:path;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        #[lazy_route]
        impl LazyRoute for $name {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    /// `/`: the projects.
    Home => home::HomePage;
    /// `/login`.
    Login => login::LoginPage;
    /// `/admin/users`.
    Users => users::UsersPage;
    /// `/admin/tokens`.
    Tokens => tokens::TokensPage;
    /// `/projects/:slug/settings`.
    Settings => project_settings::ProjectSettingsPage;
    /// `/projects/:slug/export`.
    Export => export::ExportPage;
    /// `/projects/:slug/import`.
    Import => import::ImportPage;
    /// `/projects/:slug/assist`.
    Assist => assist::AssistPage;
    /// `/projects/:slug/history`.
    History => history::HistoryPage;
    /// `/projects/:slug/items`.
    Items => project_items::ProjectItemsPage;
}
