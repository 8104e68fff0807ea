//! # socketioxide-cluster
//!
//! A Socket.IO adapter for [socketioxide] servers that run as several worker processes of
//! one host: socketioxide's counterpart of Node's `@socket.io/cluster-adapter`. Broadcasts,
//! rooms, acks, `fetch_sockets` and remote disconnects reach the sockets of every worker,
//! with no Redis: the workers' primary process relays between them over a Unix socket.
//!
//! ```text
//!                  ┌─────────── primary ───────────┐
//!  worker 0 ◀────▶ │ Primary: pub/sub relay        │
//!  worker 1 ◀────▶ │   + your PrimaryApp           │
//!     ⋮    one Unix stream per worker, length-prefixed frames
//! ```
//!
//! ## Where to start
//!
//! - In the primary, [`Primary::new`] then [`Primary::serve`] on a `UnixListener` (the
//!   role of `setupPrimary()`).
//! - In each worker, [`WorkerLink::connect`] to that socket, spawn [`LinkReader::run`],
//!   and build the server with a [`ClusterAdapter`] from [`adapter_ctr`] (the role of
//!   `createAdapter()`).
//!
//! The adapter itself is socketioxide-redis's remote adapter ([`CustomRedisAdapter`]); this
//! crate supplies its transport, [`ClusterDriver`], whose publish/subscribe go through the
//! primary instead of a Redis server. (No Redis client is compiled in.)
//!
//! ## Modules, one concern each
//!
//! - [`frame`]: the frames and their binary codec;
//! - [`connection`]: reading and writing frames over a Unix stream;
//! - [`primary`] and [`handle`]: the relay, the primary application's hooks, and its handle
//!   on each worker;
//! - [`worker`]: a worker's link, and its application's hook;
//! - [`driver`]: the socketioxide-redis driver over that link;
//! - [`wire`]: the field encoding of every frame, for applications that encode their own
//!   payloads the same way.
//!
//! ## Application payloads
//!
//! Besides the adapter's traffic the link carries the application's own messages, as
//! opaque bytes: a worker sends with [`WorkerLink::send`] and the primary hears them in
//! [`PrimaryApp::worker_message`]; the primary sends with a [`WorkerHandle`] and the worker
//! hears them in [`WorkerApp::on_message`]. Both directions keep their order, and keep it
//! with the adapter's frames on the same connection. See the README for the guarantees,
//! the cut-off policy and what happens when a process dies.
//!
//! [socketioxide]: https://docs.rs/socketioxide
#![warn(missing_docs)]

pub mod connection;
pub mod driver;
pub mod frame;
pub mod handle;
pub mod primary;
pub mod wire;
pub mod worker;

pub use connection::ConnectionError;
pub use driver::ClusterDriver;
pub use frame::{Frame, FrameError, MAX_FRAME_LEN};
pub use handle::{Closed, TrySendError, WorkerHandle};
pub use primary::{Primary, PrimaryApp, PrimaryConfig};
pub use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig};
pub use worker::{LinkError, LinkReader, WorkerApp, WorkerLink};

/// The Socket.IO adapter of a worker: socketioxide-redis's remote adapter over a
/// [`ClusterDriver`]. Give it to `SocketIo::builder().with_adapter::<ClusterAdapter>(..)`.
pub type ClusterAdapter<E = socketioxide::adapter::Emitter> = CustomRedisAdapter<E, ClusterDriver>;

/// What a [`ClusterAdapter`] is built from (one per namespace): the driver and the
/// adapter's configuration. Made by [`adapter_ctr`] or [`adapter_ctr_with_config`].
pub type ClusterAdapterCtr = socketioxide_redis::RedisAdapterCtr<ClusterDriver>;

/// The adapter constructor for a worker on `link`, with socketioxide-redis's default
/// configuration (requests to other workers time out after 5 seconds).
pub fn adapter_ctr(link: &WorkerLink) -> ClusterAdapterCtr {
    adapter_ctr_with_config(link, RedisAdapterConfig::default())
}

/// The adapter constructor for a worker on `link`, with `config` (e.g.
/// [`RedisAdapterConfig::with_request_timeout`]: how long a request such as
/// `fetch_sockets` waits for the other workers).
pub fn adapter_ctr_with_config(link: &WorkerLink, config: RedisAdapterConfig) -> ClusterAdapterCtr {
    ClusterAdapterCtr::new_with_driver(link.driver(), config)
}

/// Locks a mutex whose data stays consistent even if a holder panicked: every critical
/// section in this crate leaves its maps whole, and none calls out while holding one.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
