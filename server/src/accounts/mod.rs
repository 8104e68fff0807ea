//! Accounts: who a person is across sockets, pages and hosts.
//!
//! [`service::Accounts`] is what the HTTP forms and the socket handshake call; it is built
//! from pieces each testable on its own: [`password`] (argon2id hashing and verification,
//! off the async runtime, on the low-priority threads of [`hash_pool`]), [`session_id`] (random session ids and the hash the store
//! keeps), [`cookie`] (how the id travels, out of the page script's reach) and
//! [`attempts`] (sign-in limits). Accounts and sessions themselves are kept by
//! [`crate::store`] ([`crate::store::accounts`]).

pub mod attempts;
pub mod cookie;
pub mod hash_pool;
pub mod password;
pub mod scratch;
pub mod service;
pub mod session_id;

pub use service::{Accounts, AccountsConfig, AuthError, Started};
