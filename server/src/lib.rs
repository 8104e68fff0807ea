//! The chat server.
//!
//! Start at `main.rs`: the process is the [`primary`] (database writer, relay, supervisor of
//! one worker per core), a worker, or a single server. A worker or single server is a
//! [`startup::Application`]: it serves the page, the client bundle ([`http`]) and Socket.IO,
//! with the [`chat`] pipeline (handlers → sequencer → feed, presence, limits) and the
//! [`cluster`] adapter joining it to the other workers (and, with Redis, to other hosts).
//! [`store`] keeps messages (SQLite or PostgreSQL), [`domain`] holds the validated protocol
//! values, [`config`] every setting, [`metrics`] the Prometheus counters.

pub mod chat;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod primary;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
