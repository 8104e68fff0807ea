//! Replay: send a connecting socket every message it missed, then hand it to the live feed.
//!
//! Messages are read from the store in pages and emitted one `chat message` event each (the
//! tutorial's client expects exactly that). The socket's queue is bounded: when it is full
//! the replay waits for the client to read rather than dropping rows. A client that reads
//! nothing for [`STALL_LIMIT`] is disconnected; it will reconnect and resume from its offset.

use std::time::{Duration, Instant};

use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};

use super::CHAT_MESSAGE;
use super::feed::{Feed, ReplayProgress, Subscribe};
use crate::cluster::driver::ChatAdapter;
use crate::domain::ServerOffset;
use crate::store::{SqliteStore, StoreError};

/// Rows read per query.
const PAGE_SIZE: u32 = 512;

/// How long to wait between checks of a full queue.
const QUEUE_POLL: Duration = Duration::from_millis(2);

/// Longest a replay waits on a client that does not read.
const STALL_LIMIT: Duration = Duration::from_secs(30);

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

/// Sends `socket` every message after `from`, then joins it to the live feed. Returns how
/// many messages were replayed.
pub async fn replay_then_go_live(
    socket: &SocketRef<ChatAdapter>,
    store: &SqliteStore,
    feed: &Feed,
    from: ServerOffset,
) -> Result<u64, ReplayError> {
    let mut progress = ReplayProgress {
        after: from,
        count: 0,
    };
    loop {
        replay_from_store(socket, store, &mut progress).await?;
        match feed.subscribe(socket, &mut progress).await {
            Subscribe::Live => return Ok(progress.count),
            Subscribe::NeedsReplay => continue,
            Subscribe::QueueFull => tokio::time::sleep(QUEUE_POLL).await,
            Subscribe::FeedBehind => {
                if !feed.wait_published(progress.after, STALL_LIMIT).await {
                    return Err(ReplayError::FeedStalled(progress.after));
                }
            }
            Subscribe::Closed => return Err(ReplayError::Closed),
        }
    }
}

/// Sends every stored message after `progress.after`, page by page.
async fn replay_from_store(
    socket: &SocketRef<ChatAdapter>,
    store: &SqliteStore,
    progress: &mut ReplayProgress,
) -> Result<(), ReplayError> {
    loop {
        let page = store.messages_after(progress.after, PAGE_SIZE).await?;
        for message in &page {
            emit_when_room(socket, &(&message.text, message.id)).await?;
            progress.after = message.id;
            progress.count += 1;
        }
        if page.len() < PAGE_SIZE as usize {
            return Ok(());
        }
    }
}

/// Emits one `chat message`, waiting while the socket's queue is full.
async fn emit_when_room(
    socket: &SocketRef<ChatAdapter>,
    data: &(&String, ServerOffset),
) -> Result<(), ReplayError> {
    let mut waiting_since: Option<Instant> = None;
    loop {
        match socket.emit(CHAT_MESSAGE, data) {
            Ok(()) => return Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                if since.elapsed() > STALL_LIMIT {
                    return Err(ReplayError::Stalled(STALL_LIMIT));
                }
                tokio::time::sleep(QUEUE_POLL).await;
            }
            Err(_) => return Err(ReplayError::Closed),
        }
    }
}
