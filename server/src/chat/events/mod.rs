//! The Socket.IO handlers of the "/" namespace, one file per event family, each a small
//! async fn with extractors:
//!
//! - [`connect`]: admitting a socket (limits, its connect `auth`), its replay, its
//!   disconnect;
//! - [`messages`]: `chat message`, the tutorial's event;
//! - [`private`]: `private message`;
//! - [`history`]: `history` pages;
//! - [`people`]: `nickname`, `users`, `typing`, `online`.
//!
//! What they share per socket is its [`super::session::SocketSession`]; what they share
//! per process is [`super::ChatState`].

pub mod connect;
pub mod history;
pub mod messages;
pub mod people;
pub mod private;

pub use connect::{ConnectRefused, admit_and_register, on_connect, on_disconnect};

use chat_protocol::events::{
    CHAT_MESSAGE, HISTORY, NICKNAME, ONLINE, PRIVATE_MESSAGE, TYPING, USERS,
};
use socketioxide::extract::{Event, SocketRef};

use crate::adapter::ChatAdapter;

/// Registers every event handler of an admitted socket.
fn register(socket: &SocketRef<ChatAdapter>) {
    socket.on(CHAT_MESSAGE, messages::on_chat_message);
    socket.on(ONLINE, people::on_online);
    socket.on(NICKNAME, people::on_nickname);
    socket.on(USERS, people::on_users);
    socket.on(TYPING, people::on_typing);
    socket.on(HISTORY, history::on_history);
    socket.on(PRIVATE_MESSAGE, private::on_private_message);
    socket.on_fallback(on_unknown_event);
    socket.on_disconnect(on_disconnect);
}

/// Any other event: ignored.
pub async fn on_unknown_event(socket: SocketRef<ChatAdapter>, Event(event): Event) {
    tracing::debug!(sid = %socket.id, %event, "ignored an unknown event");
}
