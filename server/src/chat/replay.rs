//! Replay: send a connecting socket every message it missed, then hand it to the live feed.
//!
//! Messages are read from the store in pages and emitted one `chat message` event each (the
//! tutorial's client expects exactly that). The socket's queue is bounded: when it is full
//! the replay waits for the client to read rather than dropping rows, polling with a growing
//! delay. A client that reads nothing for [`STALL_LIMIT`] is disconnected; it will reconnect
//! and resume from its offset. The same path catches up a live socket whose queue filled:
//! the feed reports it on its [`FellBehind`] channel and [`Replayer::catch_up_fallen`]
//! drains that channel. The replay calls into the feed (to join a socket to the live set),
//! never the other way round.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::SocketError;
use socketioxide::extract::SocketRef;
use socketioxide_core::packet::Packet;

use super::encoded::chat_message_packet;
use super::feed::{Behind, Feed, FellBehind, Joining, ReplayProgress, Subscribe};
use super::queue_wait::{QueueBackoff, STALL_LIMIT};
use crate::adapter::{ChatAdapter, LocalSockets, PacketSender};
use crate::domain::ServerOffset;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Rows read per query.
const PAGE_SIZE: u32 = 512;

/// Why a replay ended before the socket went live.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The socket disconnected.
    #[error("socket closed during replay")]
    Closed,
    /// The client stopped reading.
    #[error("client read nothing for {0:?}")]
    Stalled(Duration),
    /// The store holds messages this process's feed never received.
    #[error("the live feed did not reach offset {} in time", .0.0)]
    FeedStalled(ServerOffset),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a replay needs: the store to read, this process's sockets to write, the feed to
/// join sockets to once caught up, and the metrics to count in.
pub struct Replayer {
    store: Store,
    sockets: LocalSockets,
    feed: Arc<Feed>,
    metrics: Arc<Metrics>,
}

impl Replayer {
    /// A replayer reading `store` and joining caught-up sockets to `feed`.
    pub fn new(
        store: Store,
        sockets: LocalSockets,
        feed: Arc<Feed>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            sockets,
            feed,
            metrics,
        })
    }

    /// Sends `socket` every message after `from`, then joins it to the live feed. Returns
    /// how many messages were replayed.
    pub async fn replay_then_go_live(
        &self,
        socket: &SocketRef<ChatAdapter>,
        from: ServerOffset,
        joining: Joining,
    ) -> Result<u64, ReplayError> {
        let mut progress = ReplayProgress {
            after: from,
            count: 0,
        };
        let mut backoff = QueueBackoff::default();
        // The feed's ring of recent messages is tried first: a client that is nearly caught
        // up (a reconnect, a fresh client on a quiet server) goes live without a database
        // read.
        let result = loop {
            let sent = progress.count;
            match self.feed.subscribe(socket, &mut progress, joining).await {
                Subscribe::Live => break Ok(progress.count),
                Subscribe::NeedsReplay => {
                    if let Err(error) = self.replay_from_store(socket, &mut progress).await {
                        break Err(error);
                    }
                }
                Subscribe::QueueFull => {
                    if progress.count > sent {
                        backoff = QueueBackoff::default();
                    }
                    if backoff.wait().await {
                        break Err(ReplayError::Stalled(STALL_LIMIT));
                    }
                }
                Subscribe::FeedBehind => {
                    if !self.feed.wait_published(progress.after, STALL_LIMIT).await {
                        break Err(ReplayError::FeedStalled(progress.after));
                    }
                }
                Subscribe::Closed => break Err(ReplayError::Closed),
            }
        };
        self.metrics.replayed.inc_by(progress.count);
        result
    }

    /// Catches up, each in its own task, every socket the feed reports behind, until the
    /// feed is gone.
    pub async fn catch_up_fallen(self: Arc<Self>, mut fell_behind: FellBehind) {
        while let Some(Behind { socket, given }) = fell_behind.recv().await {
            let replayer = self.clone();
            tokio::spawn(async move {
                match replayer
                    .replay_then_go_live(&socket, given, Joining::CatchUp)
                    .await
                {
                    Ok(count) => tracing::debug!(sid = %socket.id, count, "caught up, live again"),
                    Err(ReplayError::Closed) => {}
                    Err(error) => {
                        tracing::warn!(sid = %socket.id, %error, "catch-up failed; disconnecting so the client replays");
                        disconnect(socket).await;
                    }
                }
            });
        }
    }

    /// Sends every stored message after `progress.after`, page by page.
    async fn replay_from_store(
        &self,
        socket: &SocketRef<ChatAdapter>,
        progress: &mut ReplayProgress,
    ) -> Result<(), ReplayError> {
        let sender = sender(&self.sockets)?;
        // The channels the socket is in as the replay starts (a channel joined meanwhile is
        // caught up from the ring, or loaded by the page as the history of a new channel).
        let channels = super::rooms::channels_of(socket);
        loop {
            // Everything up to `stored` is committed before the page is read, so a short
            // page means the socket's channels hold nothing more up to it: the replay has
            // passed over the rest (other channels' messages) and resumes after `stored`.
            let stored = self.store.last_offset().await?;
            let page = self
                .store
                .messages_after(progress.after, channels.clone(), PAGE_SIZE)
                .await?;
            for message in &page {
                send_when_room(&sender, socket, chat_message_packet(message)).await?;
                progress.after = message.id;
                progress.count += 1;
            }
            if page.len() < PAGE_SIZE as usize {
                progress.after = progress.after.max(stored);
                return Ok(());
            }
        }
    }
}

/// Disconnects `socket` so that its client reconnects and replays from its own offset. A
/// full queue has no room for the DISCONNECT packet: then it waits for room, or for the
/// Engine.IO heartbeat to close the connection (its ping cannot be queued either).
pub async fn disconnect(socket: SocketRef<ChatAdapter>) {
    let mut backoff = QueueBackoff::default();
    loop {
        match socket.clone().disconnect() {
            Err(SocketError::InternalChannelFull) if socket.connected() => {
                backoff.wait().await;
            }
            _ => return,
        }
    }
}

/// A sender to this process's sockets; none once the namespace is closed.
fn sender(sockets: &LocalSockets) -> Result<PacketSender, ReplayError> {
    sockets.sender().ok_or(ReplayError::Closed)
}

/// Sends one packet, waiting while the socket's queue is full.
async fn send_when_room(
    sender: &PacketSender,
    socket: &SocketRef<ChatAdapter>,
    packet: Packet,
) -> Result<(), ReplayError> {
    let mut backoff: Option<QueueBackoff> = None;
    loop {
        match sender.send(socket, &packet) {
            Ok(()) => return Ok(()),
            Err(SocketError::InternalChannelFull) => {
                if backoff.get_or_insert_default().wait().await {
                    return Err(ReplayError::Stalled(STALL_LIMIT));
                }
            }
            Err(_) => return Err(ReplayError::Closed),
        }
    }
}
