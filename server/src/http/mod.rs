//! HTTP routes other than Socket.IO: the server-rendered page, the account forms
//! ([`auth`]), the client bundle, the
//! operations endpoints, how long the site's files may be kept ([`site_assets`]), and what
//! guards them (security headers, the Origin allow-list),
//! and what the Socket.IO endpoint's requests keep.

pub mod auth;
pub mod client_bundle;
pub mod ops;
pub mod origin;
pub mod page;
pub mod request_parts;
pub mod security;
pub mod site_assets;

/// Where the Socket.IO endpoint's requests go (socketioxide's default path).
pub const SOCKET_IO_PATH: &str = "/socket.io/";

/// Whether `request` is for the Socket.IO endpoint (the guards and copies below apply only
/// there; static files share the same fallback service).
pub fn is_socket_io(request: &axum::extract::Request) -> bool {
    request.uri().path().starts_with(SOCKET_IO_PATH)
}
