//! A typed [Leptos](https://leptos.dev) binding over the official
//! [`socket.io-client`](https://socket.io/docs/v4/client-api/) JavaScript module.
//!
//! Why a binding and not a Rust Socket.IO client: the official client is the reference
//! implementation (reconnection with backoff, the packet buffer while offline, ack retries,
//! transport upgrade), it is already cached by the browser, and it talks to any Socket.IO
//! server. This crate only gives it Rust types:
//!
//! - `Socket::open` loads the module from a configurable URL ([`Options::module_url`],
//!   [`DEFAULT_MODULE_URL`] by default) with a dynamic `import()` and connects; calls made
//!   before the module has loaded are queued and run in order once it has;
//! - `Socket::on` registers a handler whose arguments are deserialized into a Rust type
//!   and returns a `Listener`: dropping it removes the handler (`socket.off`) and frees
//!   its closure, `Listener::keep` keeps it for the page's lifetime;
//! - `Socket::emit_with_ack` is a `Future` of the ack, failing with
//!   [`EmitError::Timeout`] when the client's `ackTimeout` and `retries` gave up;
//! - `Socket::state` is the [`ConnectionState`] as a Leptos signal.
//!
//! # Server render and browser
//!
//! The browser half (`Socket`, `Listener`, `random_id`) is compiled only with the
//! `browser` feature, which an app enables from its `hydrate` (or `csr`) feature. Without it
//! the crate is the plain types a server render also needs ([`ConnectionState`],
//! [`Options`], [`EmitError`]) and pulls in no `wasm-bindgen` types.
//!
//! The crate knows nothing of any particular application's events. See the README for an
//! example component.

#![warn(missing_docs)]

#[cfg(feature = "browser")]
mod browser;
mod error;
mod options;
mod state;

#[cfg(feature = "browser")]
pub use browser::{Listener, Socket, random_id};
pub use error::EmitError;
pub use options::{DEFAULT_MODULE_URL, Options};
pub use state::ConnectionState;
