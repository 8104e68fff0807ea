//! Serves the official socket.io-client bundle at the paths Node's Socket.IO server uses,
//! so pages (ours, and the tutorial's own `index.html`) load it from this server.
//!
//! The files come from the npm package pinned in package-lock.json and are embedded at build
//! time (see `build.rs`). Asked for with this version in the query (`?v=4.8.4`, as our page
//! does), a bundle is the same bytes for good: browsers keep it for a year without asking
//! again. Under its bare path it is revalidated by its ETag, since the next build may
//! bundle another version. These routes must be matched before the Socket.IO layer, which
//! would otherwise take every path under `/socket.io/`.

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The bundled client's version, used as its ETag.
const VERSION: &str = env!("SOCKET_IO_CLIENT_VERSION");

/// The UMD build: defines the global `io`, as `<script src="/socket.io/socket.io.js">`.
const UMD: &[u8] = include_bytes!(concat!(env!("SOCKET_IO_CLIENT_DIST"), "/socket.io.js"));
/// The minified UMD build.
const UMD_MIN: &[u8] = include_bytes!(concat!(env!("SOCKET_IO_CLIENT_DIST"), "/socket.io.min.js"));
/// The ES module build, exporting `io`; the Leptos app imports this one.
const ESM_MIN: &[u8] = include_bytes!(concat!(
    env!("SOCKET_IO_CLIENT_DIST"),
    "/socket.io.esm.min.js"
));

/// The routes of the client bundle, to merge in front of the Socket.IO layer.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/socket.io/socket.io.js",
            get(|q: Query<Versioned>, h: HeaderMap| async move { serve(&q, &h, UMD) }),
        )
        .route(
            "/socket.io/socket.io.min.js",
            get(|q: Query<Versioned>, h: HeaderMap| async move { serve(&q, &h, UMD_MIN) }),
        )
        .route(
            "/socket.io/socket.io.esm.min.js",
            get(|q: Query<Versioned>, h: HeaderMap| async move { serve(&q, &h, ESM_MIN) }),
        )
}

/// A bundle's query: the version the page asks for.
#[derive(Debug, serde::Deserialize)]
struct Versioned {
    v: Option<String>,
}

/// One bundle, with an ETag so browsers revalidate cheaply; kept for good when asked for by
/// this version.
fn serve(query: &Versioned, request: &HeaderMap, body: &'static [u8]) -> Response {
    let cache = if query.v.as_deref() == Some(VERSION) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=0, must-revalidate"
    };
    let etag = HeaderValue::from_static(concat!("\"", env!("SOCKET_IO_CLIENT_VERSION"), "\""));
    let cached = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, etag),
    ];
    if cached {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, body).into_response()
    }
}

/// The bundled client's version, for logs.
pub fn version() -> &'static str {
    VERSION
}
