//! The live feed: committed messages, delivered in id order to this process's sockets.
//!
//! A socket receives live messages only once it is in the [`LIVE_ROOM`]. Joining happens in
//! [`Feed::subscribe`], under the same lock as [`Feed::publish`], after the socket has been
//! sent every message up to the last one published. So for each socket the replay and the
//! live stream meet exactly: no message twice, none missing. A short ring of recent messages
//! covers whatever was committed while the socket's replay was reading the database.

use std::collections::VecDeque;
use std::sync::OnceLock;

use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::sync::{Mutex, watch};

use super::sequencer::CommitSink;
use super::{CHAT_MESSAGE, REPLAY_DONE};
use crate::cluster::driver::ChatAdapter;
use crate::domain::ServerOffset;
use crate::store::StoredMessage;

/// The room of sockets that receive live messages.
pub const LIVE_ROOM: &str = "live";

/// How many recent messages the feed keeps for sockets finishing their replay.
const RING_CAPACITY: usize = 4096;

/// What [`Feed::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribe {
    /// The socket is caught up and now receives live messages.
    Live,
    /// The ring no longer holds everything after the socket's progress: replay more from the
    /// database (everything published is committed there) and try again.
    NeedsReplay,
    /// The socket's queue filled up while catching up: wait for it to drain, then try again.
    QueueFull,
    /// The replay read messages from the store that this feed has not published yet (they
    /// are committed, and on their way): wait for the feed to reach them, then try again.
    FeedBehind,
    /// The socket is gone.
    Closed,
}

/// How far a connecting socket's replay has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Every message up to this offset has been sent to the socket.
    pub after: ServerOffset,
    /// Messages sent by this replay so far.
    pub count: u64,
}

/// The `replay done` payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplayDone {
    server_offset: ServerOffset,
    count: u64,
}

/// Recent messages and the last offset delivered to live sockets.
struct FeedState {
    /// Every message published after `ring_covers_from`, oldest first.
    ring: VecDeque<StoredMessage>,
    /// The ring holds every published message with an id above this.
    ring_covers_from: ServerOffset,
    /// The highest offset published.
    last_published: ServerOffset,
}

/// Delivers committed messages to the live room of one Socket.IO server.
pub struct Feed {
    /// The server to deliver through; set once it exists (it needs the handlers' state, which
    /// holds this feed, before it can be built).
    io: OnceLock<SocketIo<ChatAdapter>>,
    state: Mutex<FeedState>,
    /// The last offset published, for replays waiting on [`Subscribe::FeedBehind`].
    published: watch::Sender<ServerOffset>,
}

impl Feed {
    /// A feed whose history, up to `last_committed`, is in the store.
    pub fn new(last_committed: ServerOffset) -> Self {
        Self {
            io: OnceLock::new(),
            state: Mutex::new(FeedState {
                ring: VecDeque::with_capacity(RING_CAPACITY),
                ring_covers_from: last_committed,
                last_published: last_committed,
            }),
            published: watch::Sender::new(last_committed),
        }
    }

    /// Delivers through `io` from now on. Call once, before any socket can connect.
    pub fn attach(&self, io: SocketIo<ChatAdapter>) {
        if self.io.set(io).is_err() {
            tracing::warn!("feed attached twice; keeping the first server");
        }
    }

    /// Sends newly committed messages, in id order, to every live socket of this process.
    ///
    /// A socket whose queue is full misses the message here; socketioxide does not say
    /// which one, so the count is logged and the client repairs the gap (ids are
    /// consecutive, so a client that sees one jump reconnects and replays).
    pub async fn publish(&self, messages: &[StoredMessage]) {
        let mut state = self.state.lock().await;
        for message in messages {
            debug_assert!(message.id > state.last_published, "published out of order");
            if let Some(io) = self.io.get() {
                let delivery = io
                    .to(LIVE_ROOM)
                    .local()
                    .emit(CHAT_MESSAGE, &(&message.text, message.id))
                    .await;
                if let Err(error) = delivery {
                    tracing::warn!(offset = message.id.0, %error, "live delivery failed for some sockets");
                }
            }
            state.last_published = message.id;
            if state.ring.len() == RING_CAPACITY
                && let Some(evicted) = state.ring.pop_front()
            {
                state.ring_covers_from = evicted.id;
            }
            state.ring.push_back(message.clone());
        }
        self.published.send_replace(state.last_published);
    }

    /// Waits until the feed has published `offset` (or gives up after `limit`).
    pub async fn wait_published(&self, offset: ServerOffset, limit: std::time::Duration) -> bool {
        let mut published = self.published.subscribe();
        tokio::time::timeout(limit, published.wait_for(|last| *last >= offset))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Catches `socket` up from `progress` and joins it to the live room, or says why not yet
    /// (`progress` then tells how far it got).
    pub async fn subscribe(
        &self,
        socket: &SocketRef<ChatAdapter>,
        progress: &mut ReplayProgress,
    ) -> Subscribe {
        let state = self.state.lock().await;
        if progress.after > state.last_published {
            return Subscribe::FeedBehind;
        }
        if progress.after < state.ring_covers_from {
            return Subscribe::NeedsReplay;
        }
        let start = progress.after;
        for message in state.ring.iter().filter(|m| m.id > start) {
            match socket.emit(CHAT_MESSAGE, &(&message.text, message.id)) {
                Ok(()) => {
                    progress.after = message.id;
                    progress.count += 1;
                }
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    return Subscribe::QueueFull;
                }
                Err(_) => return Subscribe::Closed,
            }
        }
        let done = ReplayDone {
            server_offset: progress.after,
            count: progress.count,
        };
        match socket.emit(REPLAY_DONE, &done) {
            Ok(()) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                return Subscribe::QueueFull;
            }
            Err(_) => return Subscribe::Closed,
        }
        socket.join(LIVE_ROOM);
        Subscribe::Live
    }
}

impl CommitSink for Feed {
    async fn publish(&self, messages: &[StoredMessage]) {
        Feed::publish(self, messages).await;
    }
}
