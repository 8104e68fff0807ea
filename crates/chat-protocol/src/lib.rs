//! The chat's wire protocol, written once.
//!
//! The server, the Leptos app and the load harness all speak Socket.IO events whose names,
//! arguments and acks are defined here and nowhere else:
//!
//! - [`events`]: every event name;
//! - [`accounts`]: the credentials of an account (username, password), validated;
//! - [`guest`]: the names of those who chat without an account;
//! - [`channels`]: channel ids, names and topics, the requests about channels and their
//!   answers, and `@name` mentions;
//! - [`values`]: the validated values a client sends (text, client offset, nickname, server
//!   offset), each parsed once at the edge into a newtype whose `Display` error is what the
//!   client reads in its ack;
//! - [`requests`]: the arguments of client → server events, validated;
//! - [`message`]: a message's event arguments, server → client (`chat message`,
//!   `chat messages`: private messages too, as messages of direct channels);
//! - [`acks`]: every ack and every small payload (`replay done`, `user joined`, `typing`);
//! - [`auth`]: the connect `auth`, built by a client and parsed once by the server.
//!
//! The first two events are the Socket.IO tutorial's and stay exactly as it defines them:
//! `chat message` (text, clientOffset) with an ack from a client, `chat message` (text,
//! serverOffset) to clients; everything else is added beside them.

pub mod accounts;
pub mod acks;
pub mod auth;
pub mod channels;
pub mod events;
pub mod guest;
pub mod message;
pub mod requests;
pub mod values;
