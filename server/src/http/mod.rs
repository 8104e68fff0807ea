//! HTTP routes other than Socket.IO: the server-rendered page and the client bundle, and
//! the security headers on them.

pub mod client_bundle;
pub mod page;
pub mod security;
