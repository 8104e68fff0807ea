//! The primary's side, the counterpart of Node's `setupPrimary()`: accepts worker
//! connections and relays the adapter's pub/sub between them.
//!
//! Each worker connection gets a bounded outgoing queue ([`PrimaryConfig::queue`]). A
//! worker whose queue is full when the relay has a message for it is *cut off*: its
//! connection is closed, it is logged and counted ([`Primary::cut_offs`]). It is neither
//! waited for (one slow worker would stall every other) nor silently skipped (its sockets
//! would miss broadcasts while it believes itself a member). A cut-off worker sees its
//! link end, as if the primary had died, and is expected to exit and be restarted.
//!
//! The application talks to its workers through [`PrimaryApp`] (what a worker sends) and
//! [`WorkerHandle`] (what to send it). Its payloads travel in [`Frame::App`], on the same
//! queue as the relay's frames, so a worker receives both in the order they were queued.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::connection::{FrameReader, write_frames};
use crate::frame::Frame;
use crate::lock;

pub use crate::handle::{Closed, TrySendError, WorkerHandle};

/// How long a new connection has to say `Hello` before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the primary treats its workers.
#[derive(Debug, Clone)]
pub struct PrimaryConfig {
    /// Frames queued towards one worker (relayed messages and application payloads) before
    /// it counts as too slow and is cut off. At least 1. Default: 16384.
    pub queue: usize,
}

impl Default for PrimaryConfig {
    fn default() -> Self {
        Self { queue: 16 * 1024 }
    }
}

/// The application's side of the primary: what it hears from its workers. Every method
/// has a default that does nothing; `()` implements it for a relay with no application
/// traffic.
///
/// The methods are called from the task serving that worker's connection, in the order
/// of events on it, and must not block: queue work elsewhere if it is slow.
pub trait PrimaryApp: Send + Sync + 'static {
    /// A worker connected (it said `Hello` and was welcomed). Frames sent to it from here
    /// precede any frame queued to it later, relayed messages included.
    fn worker_joined(&self, worker: &WorkerHandle) {
        let _ = worker;
    }

    /// An application payload from `worker`, in the order the worker sent them.
    fn worker_message(&self, worker: &WorkerHandle, payload: Bytes) {
        let _ = (worker, payload);
    }

    /// The connection of `worker` ended: closed by the worker, failed, or cut off. Its
    /// subscriptions are already gone; sending to it now fails.
    fn worker_left(&self, worker: &WorkerHandle) {
        let _ = worker;
    }
}

impl PrimaryApp for () {}

/// The relay between a host's workers. Create it with [`Primary::new`], share it as an
/// `Arc`, and run [`Primary::serve`] on the listener the workers connect to.
pub struct Primary {
    config: PrimaryConfig,
    workers: Mutex<HashMap<u64, Member>>,
    next_id: AtomicU64,
    cut_offs: Arc<AtomicU64>,
}

/// A connected worker, as the relay sees it.
struct Member {
    handle: WorkerHandle,
    channels: HashSet<String>,
}

impl std::fmt::Debug for Primary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Primary")
            .field("config", &self.config)
            .field("workers", &self.connected_workers())
            .field("cut_offs", &self.cut_offs())
            .finish()
    }
}

impl Primary {
    /// A relay with no workers yet.
    pub fn new(config: PrimaryConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            workers: Mutex::default(),
            next_id: AtomicU64::new(1),
            cut_offs: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Accepts worker connections on `listener` forever, serving each in its own task and
    /// telling `app` about them. Dropping (aborting) this future closes every connection.
    pub async fn serve<A: PrimaryApp>(self: Arc<Self>, listener: UnixListener, app: Arc<A>) {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    connections.spawn(self.clone().serve_worker(stream, app.clone()));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::error!(%error, "accepting a worker connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            while connections.try_join_next().is_some() {}
        }
    }

    /// The indexes (from their `Hello`) of the workers connected now, sorted.
    pub fn connected_workers(&self) -> Vec<u16> {
        let mut indexes: Vec<u16> = lock(&self.workers)
            .values()
            .map(|m| m.handle.index())
            .collect();
        indexes.sort_unstable();
        indexes
    }

    /// How many frames are queued towards each connected worker now, by worker index.
    pub fn queue_depths(&self) -> Vec<(u16, usize)> {
        let mut depths: Vec<(u16, usize)> = lock(&self.workers)
            .values()
            .map(|m| (m.handle.index(), m.handle.queued()))
            .collect();
        depths.sort_unstable();
        depths
    }

    /// Worker connections cut off so far because their queue was full.
    pub fn cut_offs(&self) -> u64 {
        self.cut_offs.load(Ordering::Relaxed)
    }

    /// Serves one worker connection until it closes, fails or is cut off.
    async fn serve_worker<A: PrimaryApp>(self: Arc<Self>, stream: UnixStream, app: Arc<A>) {
        let (read, write) = stream.into_split();
        let mut reader = FrameReader::new(read);
        let index = match tokio::time::timeout(HANDSHAKE_TIMEOUT, reader.next()).await {
            Ok(Ok(Some(Frame::Hello { worker }))) => worker,
            other => {
                tracing::warn!(?other, "a worker connection did not start with Hello");
                return;
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (outgoing, queue) = mpsc::channel(self.config.queue.max(1));
        // Cannot fail: the queue is new and holds at least one frame.
        let _ = outgoing.try_send(Frame::Welcome);
        let handle = WorkerHandle::new(id, index, outgoing, self.cut_offs.clone());
        lock(&self.workers).insert(
            id,
            Member {
                handle: handle.clone(),
                channels: HashSet::new(),
            },
        );
        tracing::info!(worker = index, id, "worker joined");
        // From here on, however this task ends (even aborted), the worker leaves.
        let _membership = Membership {
            primary: &self,
            app: &*app,
            handle: &handle,
        };
        app.worker_joined(&handle);

        // Writing runs in this task too: everything between two reads is synchronous.
        let writer = write_frames(write, queue);
        tokio::pin!(writer);
        loop {
            let frame = tokio::select! {
                biased;
                () = handle.kicked() => break,
                written = &mut writer => {
                    if let Err(error) = written {
                        tracing::warn!(worker = index, %error, "writing to a worker failed");
                    }
                    break;
                }
                frame = reader.next() => frame,
            };
            match frame {
                Ok(Some(Frame::Subscribe { channel })) => self.subscribe(id, channel),
                Ok(Some(Frame::Unsubscribe { channel })) => self.unsubscribe(id, &channel),
                Ok(Some(Frame::Publish { channel, payload })) => self.publish(&channel, payload),
                Ok(Some(Frame::CountSubscribers { request, channel })) => {
                    let count = self.count_subscribers(&channel);
                    handle.queue_or_cut_off(Frame::SubscriberCount { request, count });
                }
                Ok(Some(Frame::App { payload })) => app.worker_message(&handle, payload),
                Ok(Some(other)) => {
                    tracing::warn!(worker = index, frame = ?other, "unexpected frame from a worker");
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(worker = index, %error, "worker connection failed");
                    break;
                }
            }
        }
    }

    fn subscribe(&self, id: u64, channel: String) {
        if let Some(member) = lock(&self.workers).get_mut(&id) {
            member.channels.insert(channel);
        }
    }

    fn unsubscribe(&self, id: u64, channel: &str) {
        if let Some(member) = lock(&self.workers).get_mut(&id) {
            member.channels.remove(channel);
        }
    }

    /// Queues `payload` to every worker subscribed to `channel`, the publisher included;
    /// cuts off each one whose queue is full.
    fn publish(&self, channel: &str, payload: Bytes) {
        let mut workers = lock(&self.workers);
        let mut full = Vec::new();
        for (id, member) in workers.iter() {
            if !member.channels.contains(channel) {
                continue;
            }
            let frame = Frame::Message {
                channel: channel.to_owned(),
                payload: payload.clone(),
            };
            if !member.handle.queue_or_cut_off(frame) {
                full.push(*id);
            }
        }
        // Gone from the relay at once, so that server counts drop with it.
        for id in full {
            workers.remove(&id);
        }
    }

    fn count_subscribers(&self, channel: &str) -> u16 {
        let count = lock(&self.workers)
            .values()
            .filter(|m| m.channels.contains(channel))
            .count();
        u16::try_from(count).unwrap_or(u16::MAX)
    }
}

/// Removes a worker from the relay and tells the application, when its connection's task
/// ends however it ends.
struct Membership<'a, A: PrimaryApp> {
    primary: &'a Primary,
    app: &'a A,
    handle: &'a WorkerHandle,
}

impl<A: PrimaryApp> Drop for Membership<'_, A> {
    fn drop(&mut self) {
        lock(&self.primary.workers).remove(&self.handle.id());
        self.handle.close();
        tracing::info!(
            worker = self.handle.index(),
            id = self.handle.id(),
            "worker left"
        );
        self.app.worker_left(self.handle);
    }
}
