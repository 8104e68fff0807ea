//! Accounts: who a person is across sockets, pages and hosts (the identity issue).
//!
//! This holds the pieces sign-up and sign-in are built from, each testable on its own:
//! [`password`] (argon2id hashing and verification, off the async runtime) and
//! [`session_id`] (random session ids, their cookie form and the hash the store keeps).
//! Accounts and sessions themselves are kept by [`crate::store`]
//! ([`crate::store::accounts`]). Nothing here is wired into the socket handlers or the
//! pages yet.

pub mod password;
pub mod session_id;
