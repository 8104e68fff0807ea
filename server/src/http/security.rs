//! Security headers: a Content-Security-Policy on the page (its one inline script, the
//! hydration bootstrap, is allowed by a per-response nonce; the WASM by
//! `'wasm-unsafe-eval'`), and `nosniff` / `same-origin` referrers on every response.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// Adds the page's Content-Security-Policy, built around the nonce leptos_axum generated
/// for this render. Runs as the page's additional render context.
pub fn add_page_policy(reload_port: u32) {
    let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
    else {
        return;
    };
    // Under `cargo leptos watch` the page also opens the live-reload websocket.
    let reload = if std::env::var_os("LEPTOS_WATCH").is_some() {
        format!(" ws://*:{reload_port}")
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
        &*nonce
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Adds `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` to a response:
/// nothing leaks to other sites, while the page's own form posts keep a real `Origin`
/// (under `no-referrer` a browser sends `Origin: null` with them, and the sign-in forms
/// check it).
pub async fn add_common_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}
