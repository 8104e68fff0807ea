//! The live feed: committed messages, delivered in id order to this process's sockets.
//!
//! A socket receives live messages only once it is in the feed's live set. Joining happens
//! in [`Feed::subscribe`], under the same lock as [`Feed::publish`], after the socket has
//! been sent every message up to the last one published. So for each socket the replay and
//! the live stream meet exactly: no message twice, none missing. The ring of recent messages
//! ([`super::ring`]) covers whatever was committed while the socket's replay was reading the
//! database.
//!
//! Live messages are written to sockets in flushes. With a delivery window, a publish
//! after a quiet spell flushes at once; publishes within the window after a flush wait for
//! its end and go out together, so under sustained traffic each socket gets one write (one
//! syscall, one wake-up) per window rather than one per commit. Each live socket remembers
//! the last message it was given, so a socket can be flushed early on its own: a sender is
//! given its own message before its ack ([`Feed::deliver_now`]), as without a window.
//!
//! A socket is given the messages of the channels it is in (its rooms, see
//! [`super::rooms`]); the others are passed over, so its position still moves through the
//! one global order.
//!
//! A socket is written each live message as its own `chat message` event (the tutorial's
//! protocol), or, if its client asked for it at connect ([`Delivery::Batched`]), everything
//! it has not been given as `chat messages` lists. Sockets given the same messages share one
//! encoding of each list.
//!
//! Overload never skips a socket silently. Each live message is queued to each socket on its
//! own, so a full queue is seen per socket: that socket leaves the live set and is reported
//! on the feed's [`FellBehind`] channel, from the last message it was given; the replay side
//! ([`super::replay`]) drains that channel, waits for the client to read and rejoins it
//! here. Its neighbours are not slowed. The feed itself never replays: it only knows its
//! ring and its live set.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chat_protocol::acks::ReplayDone;
use chat_protocol::events::REPLAY_DONE;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use socketioxide::{SendError, SocketError};
use tokio::sync::{Mutex, mpsc, watch};

use super::ring::{Batches, Delivery, Recent, Sent};
use super::rooms::ChannelRooms;
use super::sequencer::CommitSink;
use crate::adapter::{ChatAdapter, LocalSockets};
use crate::domain::ServerOffset;
use crate::metrics::Metrics;
use crate::store::StoredMessage;

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

/// Whether [`Feed::subscribe`] ends a connect-time replay (and says so to the client with
/// `replay done`) or a catch-up after overload (the client never stopped being connected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    /// A socket that just connected.
    Connect,
    /// A live socket that fell behind.
    CatchUp,
}

/// A live socket that left the live set because it could not keep up: catch it up from the
/// store after `given`, then [`Feed::subscribe`] it again.
pub struct Behind {
    /// The socket.
    pub socket: SocketRef<ChatAdapter>,
    /// Every message up to this offset was queued to it.
    pub given: ServerOffset,
}

/// The receiving end of the feed's reports of sockets that fell behind. A socket is
/// reported once per fall (it is out of the live set until it subscribes again), so the
/// channel holds at most one entry per socket.
pub type FellBehind = mpsc::UnboundedReceiver<Behind>;

/// The delivery `socket`'s client asked for (stored in its extensions at connect).
fn delivery_of(socket: &SocketRef<ChatAdapter>) -> Delivery {
    socket.extensions.get::<Delivery>().unwrap_or_default()
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

impl LiveSocket {
    /// Queues what it has not been given from `recent`.
    fn give(
        &mut self,
        recent: &Recent,
        sender: &crate::adapter::PacketSender,
        count: &mut u64,
        batches: &mut Batches,
        rooms: &mut ChannelRooms<'_>,
    ) -> Sent {
        recent.give(
            sender,
            &self.socket,
            &mut self.given,
            self.delivery,
            count,
            batches,
            rooms,
        )
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
    /// Itself, for the windowed flushes it schedules.
    me: Weak<Feed>,
    /// This process's sockets, written pre-encoded packets.
    sockets: LocalSockets,
    metrics: Arc<Metrics>,
    state: Mutex<FeedState>,
    /// The last offset published, for replays waiting on [`Subscribe::FeedBehind`].
    published: watch::Sender<ServerOffset>,
    /// Shortest time between two flushes (zero: flush on every publish).
    window: Duration,
    /// Where sockets that fell behind are reported.
    behind: mpsc::UnboundedSender<Behind>,
}

impl Feed {
    /// A feed starting after `last_committed`, flushing the live ones of `sockets` at most
    /// once per `window`. Sockets that fall behind are reported on the returned channel:
    /// drain it ([`super::replay::Replayer::catch_up_fallen`]) or they stay off the stream.
    pub fn new(
        last_committed: ServerOffset,
        sockets: LocalSockets,
        metrics: Arc<Metrics>,
        window: Duration,
    ) -> (Arc<Self>, FellBehind) {
        let (behind, fell_behind) = mpsc::unbounded_channel();
        let feed = Arc::new_cyclic(|me| Self {
            me: me.clone(),
            sockets,
            metrics,
            state: Mutex::new(FeedState {
                recent: Recent::new(last_committed),
                live: HashMap::new(),
                last_flush: Instant::now(),
                flush_scheduled: false,
            }),
            published: watch::Sender::new(last_committed),
            window,
            behind,
        });
        (feed, fell_behind)
    }

    /// The last offset this feed has published (every message up to it is committed).
    pub fn last_published(&self) -> ServerOffset {
        *self.published.borrow()
    }

    /// Starts the ring of recent messages with `latest`, the newest stored messages up to
    /// the last published (before anything is published; see [`Recent::warm`]).
    pub async fn warm(&self, latest: &[StoredMessage]) {
        self.state.lock().await.recent.warm(latest);
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
    /// full (or that the ring no longer covers) leaves the live set and is reported behind.
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
        let mut rooms = ChannelRooms::new(&sender);
        state.live.retain(|_, live| {
            match live.give(
                &state.recent,
                &sender,
                &mut delivered,
                &mut batches,
                &mut rooms,
            ) {
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
            self.report_behind(socket, given);
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
        let sent = live.give(
            &state.recent,
            &sender,
            &mut delivered,
            &mut Batches::new(),
            &mut ChannelRooms::new(&sender),
        );
        self.metrics.deliveries.inc_by(delivered);
        match sent {
            Sent::CaughtUp => {}
            Sent::QueueFull | Sent::NotInRing => {
                if let Some(live) = state.live.remove(&sid) {
                    drop(guard);
                    self.report_behind(live.socket, live.given);
                }
            }
            Sent::Closed => {
                state.live.remove(&sid);
            }
        }
    }

    /// Hands a socket that fell behind to whoever drains [`FellBehind`].
    fn report_behind(&self, socket: SocketRef<ChatAdapter>, given: ServerOffset) {
        self.metrics.fell_behind.inc();
        tracing::debug!(sid = %socket.id, after = given.0, "socket queue full: catching it up from the store");
        // Closed only when nobody catches sockets up any more (the server is stopping).
        let _ = self.behind.send(Behind { socket, given });
    }

    /// Stops live delivery to a socket (it disconnected).
    pub async fn forget(&self, sid: Sid) {
        self.state.lock().await.live.remove(&sid);
    }

    /// Waits until the feed has published `offset` (or gives up after `limit`).
    pub async fn wait_published(&self, offset: ServerOffset, limit: Duration) -> bool {
        let mut published = self.published.subscribe();
        tokio::time::timeout(limit, published.wait_for(|last| *last >= offset))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Catches `socket` up from `progress` and joins it to the live set, or says why not yet
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
        match state.recent.send_after(
            &sender,
            socket,
            &mut progress.after,
            &mut progress.count,
            &mut ChannelRooms::new(&sender),
        ) {
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
                delivery: delivery_of(socket),
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
