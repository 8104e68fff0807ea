//! The chat itself: how a message travels from one client to every other.
//!
//! - [`handlers`]: the Socket.IO event handlers (connect, `chat message`, anything else);
//! - [`ack`]: acks that wait for room in a full socket queue instead of being lost;
//! - [`queue_wait`]: the polling delay used by whoever waits for that room;
//! - [`args`]: the raw argument list of an event, before validation;
//! - [`sequencer`]: the single writer that stores messages in batches (group commit) and
//!   hands committed messages to the feed in id order;
//! - [`feed`]: delivers committed messages to this process's sockets, and joins a connecting
//!   socket to the live stream exactly where its replay ended;
//! - [`encoded`]: a message's event, encoded once as a Socket.IO packet for all sockets;
//! - [`replay`]: sends a connecting socket what it missed, respecting its queue;
//! - [`limits`]: connection limits and the per-socket message rate;
//! - [`presence`]: who is online, and the join / leave announcements;
//! - [`writer`]: where a handler sends a message to be stored: the in-process sequencer, or
//!   the primary's (a worker).
//!
//! The wire protocol is the Socket.IO tutorial's: `chat message` (text, clientOffset) with an
//! ack from clients, `chat message` (text, serverOffset) to clients, and a replay of every
//! message after `auth.serverOffset` on connect.

pub mod ack;
pub mod args;
pub mod encoded;
pub mod feed;
pub mod handlers;
pub mod limits;
pub mod presence;
pub mod queue_wait;
pub mod replay;
pub mod sequencer;
pub mod writer;

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::store::Store;

/// The event carrying chat messages, both ways.
pub const CHAT_MESSAGE: &str = "chat message";

/// Live messages for a client that asked for them batched (`auth.batched: true`): one
/// event per delivery window (more if its messages exceed ~4 KB) instead of one
/// `chat message` each. Its one argument is the
/// list of the messages' `chat message` arguments, in offset order:
/// `[[text, serverOffset, { author, createdAt }], ...]`. Replays stay `chat message`s.
pub const CHAT_MESSAGES: &str = "chat messages";

/// Asked by a client (with an ack): how many sockets are connected, across all workers.
/// Ack: `{ "count": N }`.
pub const ONLINE: &str = "online";

/// Asked by a client (with an ack): sign my next messages with this nickname. Argument: the
/// name; ack: `{ "nickname": name }` or `{ "error": reason }`.
pub const NICKNAME: &str = "nickname";

/// Both ways: `private message` (to, text, clientOffset) + ack `{ privateOffset }` from a
/// client; `private message` (text, privateOffset, { from, to, createdAt }) to the sockets
/// of its sender and its recipient only. Private offsets are a sequence of their own.
pub const PRIVATE_MESSAGE: &str = "private message";

/// The room of every socket of one nickname (private messages are sent to it).
pub fn user_room(nickname: &crate::domain::Nickname) -> String {
    format!("user:{}", nickname.as_str())
}

/// Asked by a client (with an ack): a page of older messages. Arguments: `(beforeOffset,
/// limit)`; ack: `{ messages: [{ text, serverOffset, author, createdAt }], more }`.
pub const HISTORY: &str = "history";

/// Both ways: `typing` (true | false) from a client; `typing` `{ nickname, typing }` to every
/// other socket.
pub const TYPING: &str = "typing";

/// Sent to a socket once its replay is complete and live messages follow. Payload:
/// `{ "serverOffset": <highest id sent>, "count": <messages replayed> }`. The tutorial's
/// client ignores it; ours uses it to mark recovered messages.
pub const REPLAY_DONE: &str = "replay done";

/// What the socket handlers share, injected as Socket.IO state.
#[derive(Clone)]
pub struct ChatState {
    /// Where replays read from.
    pub store: Store,
    /// Where writes go.
    pub writer: writer::Writer,
    /// Where live messages come from.
    pub feed: Arc<feed::Feed>,
    /// Largest accepted message, in UTF-8 bytes.
    pub max_message_bytes: usize,
    /// Messages per second per socket (0: unlimited), and the burst allowed above it.
    pub message_rate: (u32, u32),
    /// Sockets admitted, against their limits.
    pub connections: Arc<limits::ConnectionLimits>,
    /// This process's metrics.
    pub metrics: Arc<Metrics>,
    /// Who is online.
    pub presence: Arc<presence::Presence>,
}
