//! The cluster: how workers reach each other and the primary.
//!
//! - [`frame`]: the IPC frames and their length-prefixed binary encoding;
//! - [`connection`]: reading and writing frames over a Unix stream;
//! - [`link`]: a worker's end (writes, committed messages, adapter pub/sub);
//! - [`driver`]: the socketioxide-redis `Driver` over that link (or Redis);
//! - [`adapter`]: the adapter every server uses, and the feed's way to its local sockets.

pub mod adapter;
pub mod connection;
pub mod driver;
pub mod frame;
pub mod link;
