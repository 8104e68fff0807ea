//! The chat's own traffic between a worker and its primary, carried as application payloads
//! of the cluster adapter's link ([`socketioxide_cluster`]): [`frame`] is its codec,
//! [`link`] the worker's end. The primary's end is [`crate::primary::relay`]. This layer
//! knows the store's types but nothing of the chat above it: what arrives goes to sinks the
//! chat implements ([`link::PrimaryEvents`]).

pub mod frame;
pub mod link;
