//! The live feed: committed messages, delivered in id order to this process's sockets.
//!
//! A socket receives live messages only once it is in the feed's live set. Joining happens
//! in [`Feed::subscribe`], under the same lock as [`Feed::publish`], after the socket has
//! been sent every message up to the last one published. So for each socket the replay and
//! the live stream meet exactly: no message twice, none missing. A short ring of recent
//! messages covers whatever was committed while the socket's replay was reading the database.
//!
//! Overload never skips a socket silently. Each live message is queued to each socket on its
//! own, so a full queue is seen per socket: that socket leaves the live set and goes back to
//! the replay path from the last message it was given ([`super::replay`]), which waits for
//! the client to read and then rejoins. Its neighbours are not slowed. A client that reads
//! nothing at all is closed by the Engine.IO heartbeat (its ping cannot be queued), and on
//! reconnecting replays from its own offset.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};

use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};
use tokio::sync::{Mutex, watch};

use super::replay::{ReplayError, replay_then_go_live};
use super::sequencer::CommitSink;
use super::{CHAT_MESSAGE, REPLAY_DONE};
use crate::cluster::driver::ChatAdapter;
use crate::domain::ServerOffset;
use crate::metrics::Metrics;
use crate::store::{Store, StoredMessage};

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
    /// The sockets receiving live messages.
    live: HashMap<Sid, SocketRef<ChatAdapter>>,
}

/// Delivers committed messages to the live sockets of one Socket.IO server.
pub struct Feed {
    /// Itself, for the catch-up tasks it spawns.
    me: Weak<Feed>,
    /// Where catch-ups read from.
    store: Store,
    metrics: Arc<Metrics>,
    state: Mutex<FeedState>,
    /// The last offset published, for replays waiting on [`Subscribe::FeedBehind`].
    published: watch::Sender<ServerOffset>,
}

/// Whether [`Feed::subscribe`] ends a connect-time replay (and says so to the client with
/// `replay done`) or a catch-up after overload (the client never stopped being connected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    /// A socket that just connected.
    Connect,
    /// A live socket that fell behind.
    CatchUp,
}

impl Feed {
    /// A feed whose history, up to `last_committed`, is in `store`.
    pub fn new(last_committed: ServerOffset, store: Store, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            store,
            metrics,
            state: Mutex::new(FeedState {
                ring: VecDeque::with_capacity(RING_CAPACITY),
                ring_covers_from: last_committed,
                last_published: last_committed,
                live: HashMap::new(),
            }),
            published: watch::Sender::new(last_committed),
        })
    }

    /// The store replays read from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sends newly committed messages, in id order, to every live socket of this process.
    ///
    /// A socket whose queue is full leaves the live set and catches up from the store in
    /// its own task, from the last message it was given.
    pub async fn publish(&self, messages: &[StoredMessage]) {
        let Some(last) = messages.last() else { return };
        let mut state = self.state.lock().await;
        debug_assert!(
            messages
                .first()
                .is_some_and(|m| m.id > state.last_published),
            "published out of order"
        );
        let before = state.last_published;
        let mut delivered = 0_u64;
        let mut behind = Vec::new();
        state.live.retain(|_, socket| {
            let mut given = before;
            for message in messages {
                match socket.emit(CHAT_MESSAGE, &message.event_args()) {
                    Ok(()) => {
                        given = message.id;
                        delivered += 1;
                    }
                    Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                        behind.push((socket.clone(), given));
                        return false;
                    }
                    Err(_) => return false,
                }
            }
            true
        });
        state.last_published = last.id;
        for message in messages {
            if state.ring.len() == RING_CAPACITY
                && let Some(evicted) = state.ring.pop_front()
            {
                state.ring_covers_from = evicted.id;
            }
            state.ring.push_back(message.clone());
        }
        self.published.send_replace(last.id);
        drop(state);
        self.metrics.deliveries.inc_by(delivered);
        for (socket, given) in behind {
            self.catch_up(socket, given);
        }
    }

    /// Takes a socket that fell behind through the replay path, from `after`.
    fn catch_up(&self, socket: SocketRef<ChatAdapter>, after: ServerOffset) {
        self.metrics.fell_behind.inc();
        tracing::debug!(sid = %socket.id, after = after.0, "socket queue full: catching it up from the store");
        let Some(feed) = self.me.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            match replay_then_go_live(&socket, &feed, after, Joining::CatchUp).await {
                Ok(count) => tracing::debug!(sid = %socket.id, count, "caught up, live again"),
                Err(ReplayError::Closed) => {}
                Err(error) => {
                    tracing::warn!(sid = %socket.id, %error, "catch-up failed; disconnecting so the client replays");
                    super::replay::disconnect(socket).await;
                }
            }
        });
    }

    /// Stops live delivery to a socket (it disconnected).
    pub async fn forget(&self, sid: Sid) {
        self.state.lock().await.live.remove(&sid);
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
        joining: Joining,
    ) -> Subscribe {
        let mut state = self.state.lock().await;
        if progress.after > state.last_published {
            return Subscribe::FeedBehind;
        }
        if progress.after < state.ring_covers_from {
            return Subscribe::NeedsReplay;
        }
        let start = progress.after;
        for message in state.ring.iter().filter(|m| m.id > start) {
            match socket.emit(CHAT_MESSAGE, &message.event_args()) {
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
        if joining == Joining::Connect {
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
        }
        if !socket.connected() {
            return Subscribe::Closed;
        }
        state.live.insert(socket.id, socket.clone());
        Subscribe::Live
    }
}

impl CommitSink for Feed {
    async fn publish(&self, messages: &[StoredMessage]) {
        Feed::publish(self, messages).await;
    }
}
