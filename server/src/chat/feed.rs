//! The live feed: committed messages, delivered in id order to this process's sockets.
//!
//! A socket receives live messages only once it is in the feed's live set. Joining happens
//! in [`Feed::subscribe`], under the same lock as [`Feed::publish`], after the socket has
//! been sent every message up to the last one published. So for each socket the replay and
//! the live stream meet exactly: no message twice, none missing. A short ring of recent
//! messages covers whatever was committed while the socket's replay was reading the database.
//!
//! Live messages are written to sockets in flushes. With a delivery window, a publish
//! after a quiet spell flushes at once; publishes within the window after a flush wait for
//! its end and go out together, so under sustained traffic each socket gets one write (one
//! syscall, one wake-up) per window rather than one per commit. Each live socket remembers
//! the last message it was given, so a socket can be flushed early on its own: a sender is
//! given its own message before its ack ([`Feed::deliver_now`]), as without a window.
//!
//! A socket is written each live message as its own `chat message` event (the tutorial's
//! protocol), or, if its client asked for it at connect ([`Delivery::Batched`]), everything
//! it has not been given as one `chat messages` list per write (more than one only when the
//! pending messages exceed a list's size bound). Sockets given the same messages share one
//! encoding of each list.
//!
//! Overload never skips a socket silently. Each live message is queued to each socket on its
//! own, so a full queue is seen per socket: that socket leaves the live set and goes back to
//! the replay path from the last message it was given ([`super::replay`]), which waits for
//! the client to read and then rejoins. Its neighbours are not slowed. A client that reads
//! nothing at all is closed by the Engine.IO heartbeat (its ping cannot be queued), and on
//! reconnecting replays from its own offset.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};
use socketioxide_core::packet::Packet;
use tokio::sync::{Mutex, watch};

use super::REPLAY_DONE;
use super::encoded::{LiveMessage, chat_messages_packet};
use super::replay::{ReplayError, replay_then_go_live};
use super::sequencer::CommitSink;
use crate::cluster::adapter::{ChatAdapter, LocalSockets, PacketSender};
use crate::domain::{MessageText, ServerOffset};
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

/// How a socket takes live messages, as its client asked at connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delivery {
    /// One `chat message` event per message: the tutorial's protocol, and the default.
    #[default]
    PerMessage,
    /// `chat messages` lists holding every message not yet given, one per write unless they
    /// exceed [`LIST_BYTES`] (`auth.batched: true`).
    Batched,
}

impl Delivery {
    /// The delivery a client's connect `auth` asks for: batched only for `batched: true`.
    pub fn from_auth(auth: Option<&serde_json::Value>) -> Self {
        match auth.and_then(|auth| auth.get("batched")) {
            Some(serde_json::Value::Bool(true)) => Self::Batched,
            _ => Self::PerMessage,
        }
    }

    /// The delivery `socket`'s client asked for (stored in its extensions at connect).
    fn of(socket: &SocketRef<ChatAdapter>) -> Self {
        socket.extensions.get::<Self>().unwrap_or_default()
    }
}

/// A socket receiving live messages.
struct LiveSocket {
    /// The socket.
    socket: SocketRef<ChatAdapter>,
    /// Every published message up to this offset has been queued to the socket.
    given: ServerOffset,
    /// How it takes them.
    delivery: Delivery,
}

/// `chat messages` events encoded during one flush, by the offset their messages follow,
/// with the ring index after their last message: sockets given the same messages share one.
type Batches = HashMap<ServerOffset, (Packet, usize)>;

/// Most bytes of messages in one `chat messages` list (a list holds at least one message):
/// about the largest `chat message` at the default size limit. A socket's queue holds a
/// bounded number of packets, so a client that stops reading pins at most that many lists:
/// bounded lists keep that memory what it is for one message per packet.
const LIST_BYTES: usize = MessageText::DEFAULT_MAX_BYTES + 256;

/// The published messages still held in memory.
struct Recent {
    /// Every message published after `covers_from`, oldest first.
    ring: VecDeque<LiveMessage>,
    /// The ring holds every published message with an id above this (the last published
    /// while the ring is empty).
    covers_from: ServerOffset,
}

/// How a send from the ring to one socket ([`Recent::give`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// The socket has every published message now.
    CaughtUp,
    /// The socket's queue filled up first.
    QueueFull,
    /// The ring no longer holds everything after the socket's offset: read the store.
    NotInRing,
    /// The socket is gone.
    Closed,
}

impl From<SocketError> for Sent {
    /// Why a send to a socket stopped: its queue is full, or it is gone.
    fn from(error: SocketError) -> Self {
        match error {
            SocketError::InternalChannelFull => Self::QueueFull,
            SocketError::Closed => Self::Closed,
        }
    }
}

impl Recent {
    /// The highest offset published.
    fn last(&self) -> ServerOffset {
        self.ring.back().map_or(self.covers_from, |m| m.id)
    }

    /// Adds a newly published message, dropping the oldest when full.
    fn push(&mut self, message: &StoredMessage) {
        if self.ring.len() == RING_CAPACITY
            && let Some(evicted) = self.ring.pop_front()
        {
            self.covers_from = evicted.id;
        }
        self.ring.push_back(LiveMessage::encode(message));
    }

    /// The ring index of the first message after `after`; or, when there is nothing to send
    /// from the ring, why: the socket has every message, or the ring no longer covers it.
    fn start_after(&self, after: ServerOffset) -> Result<usize, Sent> {
        if after >= self.last() {
            return Err(Sent::CaughtUp);
        }
        if after < self.covers_from {
            return Err(Sent::NotInRing);
        }
        Ok(self.ring.partition_point(|m| m.id <= after))
    }

    /// Queues to `socket` every published message after `*after`, moving `*after` to the
    /// last one queued and counting them in `count`.
    fn send_after(
        &self,
        sender: &PacketSender,
        socket: &SocketRef<ChatAdapter>,
        after: &mut ServerOffset,
        count: &mut u64,
    ) -> Sent {
        let start = match self.start_after(*after) {
            Ok(start) => start,
            Err(done) => return done,
        };
        for message in self.ring.range(start..) {
            match sender.send(socket, &message.packet) {
                Ok(()) => {
                    *after = message.id;
                    *count += 1;
                }
                Err(refused) => return refused.into(),
            }
        }
        Sent::CaughtUp
    }

    /// Queues to `socket`, as `chat messages` lists of at most [`LIST_BYTES`] (one, unless
    /// more is pending), every published message after `*after`, moving `*after` to the last
    /// one queued and counting them in `count`. Each list is encoded once per flush
    /// (`batches`), whatever the number of sockets given it.
    fn send_batch_after(
        &self,
        sender: &PacketSender,
        socket: &SocketRef<ChatAdapter>,
        after: &mut ServerOffset,
        count: &mut u64,
        batches: &mut Batches,
    ) -> Sent {
        let mut start = match self.start_after(*after) {
            Ok(start) => start,
            Err(done) => return done,
        };
        while start < self.ring.len() {
            let (packet, end) = batches.entry(*after).or_insert_with(|| {
                let end = self.list_end(start);
                (chat_messages_packet(self.ring.range(start..end)), end)
            });
            match sender.send(socket, packet) {
                Ok(()) => {
                    *count += (*end - start) as u64;
                    start = *end;
                    *after = self.ring[start - 1].id;
                }
                Err(refused) => return refused.into(),
            }
        }
        Sent::CaughtUp
    }

    /// The ring index after the last message of a list starting at `start`: as many as fit
    /// in [`LIST_BYTES`], at least one.
    fn list_end(&self, start: usize) -> usize {
        let mut bytes = 0;
        let mut end = start;
        for message in self.ring.range(start..) {
            bytes += message.listed_bytes();
            if bytes > LIST_BYTES && end > start {
                break;
            }
            end += 1;
        }
        end
    }

    /// Queues to `live` every published message it has not been given, the way it takes
    /// them.
    fn give(
        &self,
        sender: &PacketSender,
        live: &mut LiveSocket,
        count: &mut u64,
        batches: &mut Batches,
    ) -> Sent {
        match live.delivery {
            Delivery::PerMessage => self.send_after(sender, &live.socket, &mut live.given, count),
            Delivery::Batched => {
                self.send_batch_after(sender, &live.socket, &mut live.given, count, batches)
            }
        }
    }
}

/// Recent messages and the sockets they are delivered to.
struct FeedState {
    /// What was published lately.
    recent: Recent,
    /// The sockets receiving live messages.
    live: HashMap<Sid, LiveSocket>,
    /// When live sockets were last flushed.
    last_flush: Instant,
    /// A flush is scheduled for the end of the current window.
    flush_scheduled: bool,
}

/// Delivers committed messages to the live sockets of one Socket.IO server.
pub struct Feed {
    /// Itself, for the catch-up tasks it spawns.
    me: Weak<Feed>,
    /// Where catch-ups read from.
    store: Store,
    /// This process's sockets, written pre-encoded packets.
    sockets: LocalSockets,
    metrics: Arc<Metrics>,
    state: Mutex<FeedState>,
    /// The last offset published, for replays waiting on [`Subscribe::FeedBehind`].
    published: watch::Sender<ServerOffset>,
    /// Shortest time between two flushes (zero: flush on every publish).
    window: Duration,
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
    /// A feed whose history, up to `last_committed`, is in `store`, flushing the live ones
    /// of `sockets` at most once per `window`.
    pub fn new(
        last_committed: ServerOffset,
        store: Store,
        sockets: LocalSockets,
        metrics: Arc<Metrics>,
        window: Duration,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            store,
            sockets,
            metrics,
            state: Mutex::new(FeedState {
                recent: Recent {
                    ring: VecDeque::with_capacity(RING_CAPACITY),
                    covers_from: last_committed,
                },
                live: HashMap::new(),
                last_flush: Instant::now(),
                flush_scheduled: false,
            }),
            published: watch::Sender::new(last_committed),
            window,
        })
    }

    /// The store replays read from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// This process's sockets.
    pub fn sockets(&self) -> &LocalSockets {
        &self.sockets
    }

    /// The last offset this feed has published (every message up to it is committed).
    pub fn last_published(&self) -> ServerOffset {
        *self.published.borrow()
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Takes newly committed messages, in id order, for every live socket of this process:
    /// written at once after a quiet spell, else at the end of the current window.
    pub async fn publish(&self, messages: &[StoredMessage]) {
        let Some(last) = messages.last() else { return };
        let mut state = self.state.lock().await;
        debug_assert!(
            messages.first().is_some_and(|m| m.id > state.recent.last()),
            "published out of order"
        );
        for message in messages {
            state.recent.push(message);
        }
        self.published.send_replace(last.id);
        if state.flush_scheduled {
            return;
        }
        let since = state.last_flush.elapsed();
        if since >= self.window {
            self.flush(state);
            return;
        }
        state.flush_scheduled = true;
        drop(state);
        let Some(feed) = self.me.upgrade() else {
            return;
        };
        let at = tokio::time::Instant::now() + (self.window - since);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let mut state = feed.state.lock().await;
            state.flush_scheduled = false;
            feed.flush(state);
        });
    }

    /// Writes every live socket what it has not been given yet. A socket whose queue is
    /// full (or that the ring no longer covers) leaves the live set and catches up from the
    /// store in its own task, from the last message it was given.
    fn flush(&self, mut guard: tokio::sync::MutexGuard<'_, FeedState>) {
        let state = &mut *guard;
        state.last_flush = Instant::now();
        // None: the namespace is closed, and its sockets with it.
        let Some(sender) = self.sockets.sender() else {
            return;
        };
        let mut delivered = 0_u64;
        let mut behind = Vec::new();
        let mut batches = Batches::new();
        state.live.retain(|_, live| {
            match state
                .recent
                .give(&sender, live, &mut delivered, &mut batches)
            {
                Sent::CaughtUp => true,
                Sent::QueueFull | Sent::NotInRing => {
                    behind.push((live.socket.clone(), live.given));
                    false
                }
                Sent::Closed => false,
            }
        });
        drop(guard);
        self.metrics.deliveries.inc_by(delivered);
        for (socket, given) in behind {
            self.catch_up(socket, given);
        }
    }

    /// Writes one live socket everything published so far, ahead of the next flush: a
    /// sender then gets its own message before its ack, as without a delivery window.
    pub async fn deliver_now(&self, sid: Sid) {
        let mut guard = self.state.lock().await;
        let state = &mut *guard;
        let Some(live) = state.live.get_mut(&sid) else {
            return;
        };
        let Some(sender) = self.sockets.sender() else {
            return;
        };
        let mut delivered = 0_u64;
        let sent = state
            .recent
            .give(&sender, live, &mut delivered, &mut Batches::new());
        self.metrics.deliveries.inc_by(delivered);
        match sent {
            Sent::CaughtUp => {}
            Sent::QueueFull | Sent::NotInRing => {
                if let Some(live) = state.live.remove(&sid) {
                    drop(guard);
                    self.catch_up(live.socket, live.given);
                }
            }
            Sent::Closed => {
                state.live.remove(&sid);
            }
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
        let Some(sender) = self.sockets.sender() else {
            return Subscribe::Closed;
        };
        let mut state = self.state.lock().await;
        if progress.after > state.recent.last() {
            return Subscribe::FeedBehind;
        }
        match state
            .recent
            .send_after(&sender, socket, &mut progress.after, &mut progress.count)
        {
            Sent::CaughtUp => {}
            Sent::QueueFull => return Subscribe::QueueFull,
            Sent::NotInRing => return Subscribe::NeedsReplay,
            Sent::Closed => return Subscribe::Closed,
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
        let given = state.recent.last();
        state.live.insert(
            socket.id,
            LiveSocket {
                socket: socket.clone(),
                given,
                delivery: Delivery::of(socket),
            },
        );
        Subscribe::Live
    }
}

impl CommitSink for Feed {
    async fn publish(&self, messages: &[StoredMessage]) {
        Feed::publish(self, messages).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of messages with texts of the given lengths, offsets from 1.
    fn recent(text_lengths: &[usize]) -> Recent {
        let ring = text_lengths
            .iter()
            .enumerate()
            .map(|(index, length)| {
                LiveMessage::encode(&StoredMessage {
                    id: ServerOffset(index as i64 + 1),
                    text: "x".repeat(*length),
                    author: "ana".to_owned(),
                    created_at: 1_700_000_000_000,
                })
            })
            .collect();
        Recent {
            ring,
            covers_from: ServerOffset(0),
        }
    }

    #[test]
    fn a_list_holds_what_fits_in_its_budget_and_at_least_one_message() {
        let even = recent(&[1000; 10]);
        let end = even.list_end(0);
        let bytes: usize = even.ring.range(..end).map(LiveMessage::listed_bytes).sum();
        assert!(bytes <= LIST_BYTES, "{bytes} bytes in a list");
        assert!(
            bytes + even.ring[end].listed_bytes() > LIST_BYTES,
            "one more would fit"
        );
        assert_eq!(end, 4);
        assert_eq!(even.list_end(8), 10, "the rest, when it fits");

        let big = recent(&[LIST_BYTES * 2, 10, 10]);
        assert_eq!(
            big.list_end(0),
            1,
            "a message larger than the budget goes alone"
        );
        assert_eq!(big.list_end(1), 3);
    }
}
