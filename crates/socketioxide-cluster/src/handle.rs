//! [`WorkerHandle`]: the primary application's way to one worker connection, and the
//! errors of sending to it.
//!
//! A handle is cheap to clone and may outlive its connection (sending then fails with
//! `Closed`). It offers three ways to send, because the right one depends on the traffic:
//! [`WorkerHandle::send_or_cut_off`] applies the relay's own policy (a full queue cuts the
//! worker off: right for fan-out, where one slow worker must not hold the others back),
//! [`WorkerHandle::try_send`] leaves the choice to the caller, and [`WorkerHandle::send`]
//! waits for room (right for a reply that must not be lost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use crate::frame::Frame;

/// Why [`WorkerHandle::try_send`] did not queue a payload.
#[derive(Debug, thiserror::Error)]
pub enum TrySendError {
    /// The worker's queue is full; here is the payload back. The worker stays connected.
    #[error("the worker's queue is full")]
    Full(Bytes),
    /// The worker's connection has ended.
    #[error("the worker's connection is closed")]
    Closed,
}

/// The worker's connection has ended: nothing can be sent to it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker's connection is closed")]
pub struct Closed;

/// One worker connection, as the primary's application sees it. Cheap to clone.
#[derive(Clone)]
pub struct WorkerHandle {
    conn: Arc<Connection>,
}

struct Connection {
    id: u64,
    index: u16,
    outgoing: mpsc::Sender<Frame>,
    /// Wakes the connection's task to close it.
    kick: Notify,
    /// Set once the connection is cut off or has ended: nothing more is queued.
    closed: AtomicBool,
    /// The primary's count of cut-offs for a full queue.
    cut_offs: Arc<AtomicU64>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("id", &self.conn.id)
            .field("index", &self.conn.index)
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    pub(crate) fn new(
        id: u64,
        index: u16,
        outgoing: mpsc::Sender<Frame>,
        cut_offs: Arc<AtomicU64>,
    ) -> Self {
        Self {
            conn: Arc::new(Connection {
                id,
                index,
                outgoing,
                kick: Notify::new(),
                closed: AtomicBool::new(false),
                cut_offs,
            }),
        }
    }

    /// Unique per connection, for as long as the primary runs: a worker that reconnects
    /// (or a restarted worker with the same index) gets a new id.
    pub fn id(&self) -> u64 {
        self.conn.id
    }

    /// The index the worker gave in its `Hello`.
    pub fn index(&self) -> u16 {
        self.conn.index
    }

    /// Queues an application payload for the worker without waiting. A full queue is
    /// reported ([`TrySendError::Full`]) and does not cut the worker off.
    pub fn try_send(&self, payload: Bytes) -> Result<(), TrySendError> {
        if self.is_closed() {
            return Err(TrySendError::Closed);
        }
        self.conn
            .outgoing
            .try_send(Frame::App { payload })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(Frame::App { payload }) => {
                    TrySendError::Full(payload)
                }
                _ => TrySendError::Closed,
            })
    }

    /// Queues an application payload for the worker, waiting while its queue is full.
    pub async fn send(&self, payload: Bytes) -> Result<(), Closed> {
        if self.is_closed() {
            return Err(Closed);
        }
        self.conn
            .outgoing
            .send(Frame::App { payload })
            .await
            .map_err(|_| Closed)
    }

    /// Queues an application payload; if the worker's queue is full, cuts it off instead
    /// (logged, and counted in [`crate::Primary::cut_offs`]). Returns whether the payload
    /// was queued: `false` also when the connection had already ended.
    pub fn send_or_cut_off(&self, payload: Bytes) -> bool {
        match self.try_send(payload) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.cut_off_full();
                false
            }
            Err(TrySendError::Closed) => false,
        }
    }

    /// Closes the worker's connection (it sees its link end), whatever is still queued to
    /// it. Not counted as a cut-off for a full queue.
    pub fn cut_off(&self) {
        self.close();
        self.conn.kick.notify_one();
    }

    /// Whether the connection has ended or is being closed.
    pub fn is_closed(&self) -> bool {
        self.conn.closed.load(Ordering::Acquire) || self.conn.outgoing.is_closed()
    }

    /// Frames queued towards the worker now.
    pub(crate) fn queued(&self) -> usize {
        self.conn.outgoing.max_capacity() - self.conn.outgoing.capacity()
    }

    /// Queues a frame of the relay's; cuts the worker off if its queue is full. Returns
    /// `false` only when it cut the worker off.
    pub(crate) fn queue_or_cut_off(&self, frame: Frame) -> bool {
        if self.is_closed() {
            return true; // leaving already; its task removes it
        }
        match self.conn.outgoing.try_send(frame) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.cut_off_full();
                false
            }
        }
    }

    /// Marks the connection closed: later sends fail with `Closed`.
    pub(crate) fn close(&self) {
        self.conn.closed.store(true, Ordering::Release);
    }

    /// Resolves once the connection should close.
    pub(crate) async fn kicked(&self) {
        self.conn.kick.notified().await;
    }

    /// Cuts the worker off for a full queue: counted and logged once per connection.
    fn cut_off_full(&self) {
        if !self.conn.closed.swap(true, Ordering::AcqRel) {
            let total = self.conn.cut_offs.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                worker = self.conn.index,
                id = self.conn.id,
                total,
                "worker queue full: cutting it off"
            );
        }
        self.conn.kick.notify_one();
    }
}
