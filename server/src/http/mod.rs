//! HTTP routes other than Socket.IO: the server-rendered page and the client bundle.

pub mod client_bundle;
pub mod page;
