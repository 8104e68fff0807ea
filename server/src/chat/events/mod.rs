//! The Socket.IO handlers of the "/" namespace, one file per event family, each a small
//! async fn with extractors:
//!
//! - [`connect`]: admitting a socket (limits, its connect `auth`), its replay, its
//!   disconnect;
//! - [`messages`]: `chat message`, the tutorial's event, and `channel message`;
//! - [`channels`]: creating, joining, leaving, inviting to and reading channels (what
//!   their handlers share, refusals included, in `channel_access`);
//! - [`direct`]: private conversations, the direct channels of two (`channel direct`,
//!   `private message`);
//! - [`history`]: `history` pages;
//! - [`people`]: `nickname`, `users`, `typing`, `online`.
//!
//! What they share per socket is its [`super::session::SocketSession`]; what they share
//! per process is [`super::ChatState`].

mod channel_access;
pub mod channels;
pub mod connect;
pub mod direct;
pub mod history;
pub mod messages;
pub mod people;

pub use connect::{ConnectRefused, admit_and_register, on_connect, on_disconnect};

use chat_protocol::events::{
    CHANNEL_CREATE, CHANNEL_DIRECT, CHANNEL_INVITE, CHANNEL_JOIN, CHANNEL_LEAVE, CHANNEL_MEMBERS,
    CHANNEL_MESSAGE, CHANNEL_READ, CHANNEL_TOPIC, CHANNELS, CHAT_MESSAGE, HISTORY, NICKNAME,
    ONLINE, PRIVATE_MESSAGE, TYPING, USERS,
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
    socket.on(PRIVATE_MESSAGE, direct::on_private_message);
    socket.on(CHANNEL_DIRECT, direct::on_channel_direct);
    socket.on(CHANNEL_MESSAGE, messages::on_channel_message);
    socket.on(CHANNELS, channels::on_channels);
    socket.on(CHANNEL_CREATE, channels::on_channel_create);
    socket.on(CHANNEL_JOIN, channels::on_channel_join);
    socket.on(CHANNEL_LEAVE, channels::on_channel_leave);
    socket.on(CHANNEL_INVITE, channels::on_channel_invite);
    socket.on(CHANNEL_TOPIC, channels::on_channel_topic);
    socket.on(CHANNEL_MEMBERS, channels::on_channel_members);
    socket.on(CHANNEL_READ, channels::on_channel_read);
    socket.on_fallback(on_unknown_event);
    socket.on_disconnect(on_disconnect);
}

/// Any other event: ignored.
pub async fn on_unknown_event(socket: SocketRef<ChatAdapter>, Event(event): Event) {
    tracing::debug!(sid = %socket.id, %event, "ignored an unknown event");
}
