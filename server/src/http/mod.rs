//! HTTP routes other than Socket.IO: the server-rendered page, the client bundle, the
//! operations endpoints, and what guards them (security headers, the Origin allow-list),
//! and what the Socket.IO endpoint's requests keep.

pub mod client_bundle;
pub mod ops;
pub mod origin;
pub mod page;
pub mod request_parts;
pub mod security;
