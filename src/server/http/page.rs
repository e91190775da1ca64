//! Server-rendered admin pages outside the hydrated app (datasets, quality): the shared
//! document around them and their error page. They load no WASM, so the labeling page's
//! bundle does not grow for them.

use crate::server::Error;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

/// A refusal, answered as a page (signing in first leads to the login page).
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

pub type Page = Result<Response, PageError>;

/// A whole admin page: the site's stylesheet and a way back into the app, no scripts.
pub fn document(title: &str, body: AnyView) -> Html<String> {
    document_with(title, body, None, true)
}

/// A whole page, with one small script of `public/` (not the app's WASM, e.g.
/// `/review.js`) if asked; the admin's links in the bar only for `admin` pages.
pub fn document_with(
    title: &str,
    body: AnyView,
    script: Option<&str>,
    admin: bool,
) -> Html<String> {
    let admin_links = admin.then(|| {
        view! {
            <a href="/admin/users">"Users"</a>
            <a href="/admin/tokens">"API tokens"</a>
            <a href="/admin/audit">"Audit log"</a>
        }
    });
    let page = view! {
        <header class="topbar">
            <a class="brand" href="/">"Verdict"</a>
            <nav aria-label="Main">
                <a href="/">"Projects"</a>
                {admin_links}
            </nav>
            <div class="who">
                <form method="post" action="/auth/logout">
                    <button type="submit" class="link">"Sign out"</button>
                </form>
            </div>
        </header>
        <main>{body}</main>
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\"/>\
         <link rel=\"stylesheet\" href=\"/pkg/verdict.css\"/><title>{} · Verdict</title>{}</head>\
         <body>{}</body></html>",
        html_escape(title),
        script.map_or_else(String::new, |s| format!(
            "<script defer src=\"{}\"></script>",
            html_escape(s)
        )),
        page.to_html()
    ))
}

pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The error as a page with its status; signing in first leads to the login page.
pub fn error_page(error: &Error) -> Response {
    if matches!(error, Error::Unauthenticated) {
        return Redirect::to("/login").into_response();
    }
    let body = view! {
        <section>
            <h1>"This page cannot be shown"</h1>
            {refusal(error)}
            <p><a href="/">"Back to the projects"</a></p>
        </section>
    };
    let mut response = (
        error.status(),
        document_with("Error", body.into_any(), None, false),
    )
        .into_response();
    if error.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(crate::server::error::RETRY_AFTER_SECS),
        );
    }
    response
}

/// A refusal as an alert, naming the field when there is one.
pub fn refusal(error: &Error) -> impl IntoView + use<> {
    let e = error.to_app_error();
    let text = match e.field {
        Some(field) => format!("{field}: {}", e.message),
        None => e.message,
    };
    view! { <p class="error" role="alert">{text}</p> }
}
