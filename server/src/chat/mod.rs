//! The chat itself: how a message travels from one client to every other.
//!
//! - [`events`]: the Socket.IO event handlers, one file per event family;
//! - [`identity`]: who a socket is (an account from its session cookie, or a guest), and
//!   the rooms that follow from it;
//! - [`session`]: what the server keeps per socket, and the budget costly events spend;
//! - [`ack`]: acks that wait for room in a full socket queue instead of being lost;
//! - [`queue_wait`]: the polling delay used by whoever waits for that room;
//! - [`args`]: the raw argument list of an event, before validation;
//! - [`writer`]: where a handler sends a message to be stored: the in-process sequencer, or
//!   the primary's (a worker);
//! - [`sequencer`]: the single writer that stores messages in batches (group commit) and
//!   hands committed messages on in id order;
//! - [`encoded`]: a message's event, encoded once as a Socket.IO packet for all sockets;
//! - [`ring`]: the recent messages, encoded, and how a run of them is queued to a socket;
//! - [`feed`]: delivers committed messages to this process's live sockets, and joins a
//!   socket to the live stream exactly where its replay ended;
//! - [`replay`]: sends a socket what it missed (at connect, or after falling behind),
//!   respecting its queue, then joins it to the feed;
//! - [`rooms`]: which channels a socket is in, as the adapter's rooms say;
//! - [`limits`]: connection limits and the per-socket message rate;
//! - [`presence`]: who is online, and the join / leave announcements;
//! - [`from_primary`]: a worker's feed and presence fed by its primary's frames.
//!
//! The wire protocol is the Socket.IO tutorial's (`chat message` both ways, replay after
//! `auth.serverOffset`) plus the events beside it; every name and shape is in
//! [`chat_protocol`].

pub mod ack;
pub mod args;
pub mod encoded;
pub mod events;
pub mod feed;
pub mod from_primary;
pub mod identity;
pub mod limits;
pub mod presence;
pub mod queue_wait;
pub mod replay;
pub mod ring;
pub mod rooms;
pub mod sequencer;
pub mod session;
pub mod writer;

use std::sync::Arc;

pub use identity::{session_room, user_room};

use crate::accounts::Accounts;
use crate::metrics::Metrics;
use crate::store::Store;

/// What the socket handlers share, injected as Socket.IO state.
#[derive(Clone)]
pub struct ChatState {
    /// Where history pages and the last offset are read from.
    pub store: Store,
    /// Where writes go.
    pub writer: writer::Writer,
    /// Where live messages come from.
    pub feed: Arc<feed::Feed>,
    /// Who sends sockets what they missed.
    pub replayer: Arc<replay::Replayer>,
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
    /// Accounts and sessions: who a handshake's cookie signs in.
    pub accounts: Arc<Accounts>,
    /// What guests may do.
    pub guests: identity::GuestPolicy,
}
