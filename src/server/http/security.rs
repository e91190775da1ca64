//! The layers that harden every response and every state-changing request:
//!
//! - [`headers`]: a Content-Security-Policy that lets a page run only Verdict's own scripts
//!   and WASM (the inline hydration and resource scripts Leptos writes carry the request's
//!   nonce), refuses framing, plugins and foreign form targets; `nosniff`, a same-origin
//!   referrer policy.
//! - [`same_origin`]: a request that could change something (any method but GET, HEAD and
//!   OPTIONS) sent by a browser from another site is refused with 403, on top of the
//!   `SameSite=Lax` session cookie. Programs with an API token are not browsers riding on
//!   someone's cookie and pass.

use crate::model::AppError;
use crate::model::error::ErrorCode;
use crate::server::error::envelope;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leptos::nonce::Nonce;
use std::sync::Arc;

/// The nonce of this request's inline scripts, put in the request's extensions by
/// [`headers`] for the page renderer ([`provide_nonce`]).
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

/// The policy for a response whose inline scripts carry `nonce`.
///
/// `'wasm-unsafe-eval'` lets the page compile its WASM (and nothing else: `eval` stays
/// refused); `style-src-attr 'unsafe-inline'` keeps the few `style` attributes the pages set
/// (a progress bar's width), while style sheets must come from Verdict itself. Under
/// `cargo leptos watch` (`LEPTOS_WATCH` set) the page may also open the WebSocket its
/// auto-reload script uses, on another port.
pub fn policy(nonce: &str) -> String {
    static WATCH: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    policy_for(
        nonce,
        *WATCH.get_or_init(|| std::env::var_os("LEPTOS_WATCH").is_some()),
    )
}

fn policy_for(nonce: &str, watch: bool) -> String {
    let connect = if watch { "'self' ws: wss:" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Adds the security headers to every response (a handler's own value is kept).
pub async fn headers(mut request: Request, next: Next) -> Response {
    let nonce: Arc<str> = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()).into();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &policy(&nonce));
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    response
}

/// Gives the page renderer this request's nonce (call in the Leptos routes' context, after
/// `leptos_axum` has provided the request's parts), so the scripts it writes match the
/// policy sent with the page.
pub fn provide_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        leptos::prelude::provide_context(Nonce::from_value(nonce));
    }
}

/// The origins a browser may send state-changing requests from: this server as the browser
/// addressed it (`Host`), and the configured public URL.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// `scheme://host[:port]` of `--public-url`, if set.
    pub public: Option<String>,
}

impl Origins {
    pub fn new(public_url: Option<&str>) -> Self {
        let public = public_url.map(|url| {
            let url = url.trim_end_matches('/');
            match url.find("://") {
                Some(scheme_end) => match url[scheme_end + 3..].find('/') {
                    Some(path) => url[..scheme_end + 3 + path].to_owned(),
                    None => url.to_owned(),
                },
                None => url.to_owned(),
            }
        });
        Self { public }
    }

    /// Why a request with these headers must be refused, if it must.
    pub fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<&'static str> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
            || headers.contains_key(header::AUTHORIZATION)
        {
            return None;
        }
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // Browsers since 2020-2023 say where a request comes from; `none` is the person's
        // own action (a bookmark, the address bar).
        match text("sec-fetch-site") {
            Some("same-origin" | "none") => return None,
            Some(_) => return Some("a request from another site may not change anything"),
            None => {}
        }
        let Some(origin) = text("origin") else {
            // Not a browser, or one too old to say: the SameSite cookie still holds.
            return None;
        };
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        let same_host = authority.is_some_and(|a| text("host") == Some(a));
        let public = self.public.as_deref() == Some(origin);
        (!same_host && !public).then_some("a request from another origin may not change anything")
    }
}

/// Refuses state-changing requests from other origins (see [`Origins::refusal`]).
pub async fn same_origin(
    State(origins): State<Arc<Origins>>,
    request: Request,
    next: Next,
) -> Response {
    match origins.refusal(request.method(), request.headers()) {
        None => next.run(request).await,
        Some(message) => {
            let error = AppError {
                code: ErrorCode::Forbidden,
                message: message.to_owned(),
                field: None,
            };
            (StatusCode::FORBIDDEN, axum::Json(envelope(&error))).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_are_never_refused() {
        let origins = Origins::new(None);
        let foreign = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(origins.refusal(&Method::GET, &foreign), None);
        assert_eq!(origins.refusal(&Method::HEAD, &foreign), None);
    }

    #[test]
    fn fetch_metadata_decides_when_the_browser_sends_it() {
        let origins = Origins::new(None);
        for site in ["cross-site", "same-site"] {
            let h = headers(&[("sec-fetch-site", site), ("host", "verdict.local")]);
            assert!(origins.refusal(&Method::POST, &h).is_some(), "{site}");
        }
        for site in ["same-origin", "none"] {
            let h = headers(&[("sec-fetch-site", site), ("origin", "https://evil.example")]);
            assert_eq!(origins.refusal(&Method::POST, &h), None, "{site}");
        }
    }

    #[test]
    fn origin_must_be_this_host_or_the_public_url() {
        let origins = Origins::new(Some("https://label.example.org/verdict/"));
        let post = |pairs| origins.refusal(&Method::POST, &headers(pairs));
        assert_eq!(
            post(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            None
        );
        assert_eq!(
            post(&[
                ("origin", "https://label.example.org"),
                ("host", "10.0.0.5:3000")
            ]),
            None
        );
        assert!(
            post(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000")
            ])
            .is_some()
        );
        assert!(
            post(&[
                ("origin", "http://127.0.0.1:3001"),
                ("host", "127.0.0.1:3000")
            ])
            .is_some()
        );
        assert!(post(&[("origin", "null"), ("host", "127.0.0.1:3000")]).is_some());
        // No browser headers at all: a program, or a browser too old to send them.
        assert_eq!(post(&[("host", "127.0.0.1:3000")]), None);
    }

    #[test]
    fn token_requests_pass() {
        let origins = Origins::new(None);
        let h = headers(&[
            ("authorization", "Bearer vdt_x"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(origins.refusal(&Method::POST, &h), None);
    }

    #[test]
    fn the_policy_names_the_nonce_and_refuses_framing() {
        let p = policy_for("abc", false);
        assert!(p.contains("connect-src 'self';"), "{p}");
        let dev = policy_for("abc", true);
        assert!(dev.contains("connect-src 'self' ws: wss:;"), "{dev}");
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
