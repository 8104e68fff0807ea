//! The chat server.
//!
//! Start at [`startup::Application`]: it opens the [`store`], starts the [`chat`] pipeline
//! (handlers → sequencer → feed) and serves the page, the client bundle ([`http`]) and
//! Socket.IO on one port. [`domain`] holds the validated protocol values, [`config`] every
//! setting.

pub mod chat;
pub mod config;
pub mod domain;
pub mod http;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
