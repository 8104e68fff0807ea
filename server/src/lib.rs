//! The chat server.
//!
//! Start at `main.rs`: the process is the [`primary`] (database writer, relay, supervisor of
//! one worker per core), a worker, or a single server. A worker or single server is a
//! [`startup::Application`]: it serves the page, the client bundle ([`http`]) and Socket.IO,
//! with the [`chat`] pipeline (events → sequencer → feed, replay, presence, limits).
//!
//! Layers, each importing only those below it (`node scripts/import-graph.mjs` checks):
//! `main` → [`startup`], [`primary`] → [`chat`] → [`ipc`] (the chat's frames over the
//! cluster link), [`adapter`] (the Socket.IO adapter and its transports: the
//! `socketioxide-cluster` crate, or Redis) → [`store`] (SQLite or PostgreSQL), [`domain`]
//! (validated values, from the `chat-protocol` crate), [`metrics`], [`sync`]. [`config`]
//! holds every setting, [`http`] the routes beside Socket.IO. [`accounts`] (password hashes,
//! session ids) sits on [`store`] and [`domain`], not yet used by the chat.

pub mod accounts;
pub mod adapter;
pub mod chat;
pub mod config;
pub mod domain;
pub mod http;
pub mod ipc;
pub mod metrics;
pub mod primary;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
