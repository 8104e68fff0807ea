//! A worker's end of the link to its primary: [`WorkerLink`] to send, [`LinkReader`] to
//! receive.
//!
//! One Unix stream carries the adapter's pub/sub (through [`crate::ClusterDriver`]) and
//! the application's payloads ([`WorkerLink::send`] up, [`WorkerApp`] down), in order.
//! The link lives as long as its [`LinkReader`]: when [`LinkReader::run`] returns (the
//! primary died, or cut this worker off) or the reader is dropped, the connection closes,
//! pending adapter requests fail and later ones fail at once. A worker whose link ended
//! has left the cluster for good and should exit, to be restarted by its primary; it must
//! not keep serving clients that would silently miss every other worker's broadcasts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use socketioxide_redis::drivers::ChanItem;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use crate::connection::{ConnectionError, FrameReader, write_frames};
use crate::frame::Frame;
use crate::lock;

/// Frames queued towards the primary before senders wait.
const OUTGOING_QUEUE: usize = 16 * 1024;

/// How long a request to the primary (a subscriber count, a subscription's confirmation)
/// waits for its answer. The primary answers at once; no answer means no reader.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the link could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Connecting to the primary's socket, or reading its answer, failed.
    #[error("cannot reach the primary: {0}")]
    Connect(#[from] ConnectionError),
    /// The primary answered `Hello` with something other than `Welcome`.
    #[error("unexpected handshake frame from the primary: {0:?}")]
    Handshake(Box<Frame>),
    /// The link has ended.
    #[error("the link to the primary is closed")]
    Closed,
    /// The primary did not answer in time: no welcome after `Hello` (the socket is not a
    /// primary's), or no answer to a request. Answers arrive through [`LinkReader::run`]:
    /// this is also what happens when nothing runs it yet.
    #[error("no answer from the primary within {ANSWER_TIMEOUT:?} (is LinkReader::run running?)")]
    NoAnswer,
}

/// The application's side of a worker: what it hears from the primary.
pub trait WorkerApp: Send + Sync {
    /// An application payload from the primary, in the order the primary queued them
    /// (and in order with the adapter traffic around it). The reader awaits this before
    /// reading the next frame: a slow application holds the link back, and the primary
    /// eventually cuts the worker off rather than queue without bound.
    fn on_message(&self, payload: Bytes) -> impl Future<Output = ()> + Send;
}

/// Ignores application payloads: a worker that only needs the adapter.
impl WorkerApp for () {
    fn on_message(&self, payload: Bytes) -> impl Future<Output = ()> + Send {
        drop(payload);
        std::future::ready(())
    }
}

/// A worker's handle on its link to the primary. Cheap to clone; every clone is the same
/// link.
#[derive(Clone)]
pub struct WorkerLink {
    shared: Arc<Shared>,
}

struct Shared {
    index: u16,
    outgoing: mpsc::Sender<Frame>,
    next_request: AtomicU64,
    /// Set when the reader goes: sending fails at once (the writer stops soon after).
    closed: AtomicBool,
    state: Mutex<State>,
}

/// What the reader dispatches to; emptied, and closed to newcomers, when the link ends.
#[derive(Default)]
struct State {
    closed: bool,
    counts: HashMap<u64, oneshot::Sender<u16>>,
    subscriptions: HashMap<String, mpsc::Sender<ChanItem>>,
}

impl std::fmt::Debug for WorkerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerLink")
            .field("index", &self.shared.index)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The receiving half of a link; run it with [`LinkReader::run`]. Dropping it closes the
/// link.
pub struct LinkReader {
    reader: FrameReader,
    link: WorkerLink,
    /// Dropped with the reader: tells the writer to close the connection.
    _stop_writer: oneshot::Sender<()>,
}

impl std::fmt::Debug for LinkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkReader")
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl WorkerLink {
    /// Connects to the primary listening at `path` as worker `index`, and waits (at most
    /// 5 seconds, then [`LinkError::NoAnswer`]) for its welcome. Run the returned reader (usually in its own task) for the link to work.
    pub async fn connect(path: &Path, index: u16) -> Result<(Self, LinkReader), LinkError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(ConnectionError::from)?;
        let (read, write) = stream.into_split();
        let (outgoing, queue) = mpsc::channel(OUTGOING_QUEUE);
        let (stop_writer, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                written = write_frames(write, queue) => {
                    if let Err(error) = written {
                        tracing::warn!(%error, "writing to the primary failed");
                    }
                }
                // The reader is gone: drop the write half, closing the connection.
                _ = stopped => {}
            }
        });
        let link = Self {
            shared: Arc::new(Shared {
                index,
                outgoing,
                next_request: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                state: Mutex::default(),
            }),
        };
        link.send_frame(Frame::Hello { worker: index }).await?;
        let mut reader = FrameReader::new(read);
        let welcome = tokio::time::timeout(ANSWER_TIMEOUT, reader.next())
            .await
            .map_err(|_| LinkError::NoAnswer)?;
        match welcome? {
            Some(Frame::Welcome) => {}
            Some(other) => return Err(LinkError::Handshake(Box::new(other))),
            None => return Err(LinkError::Closed),
        }
        tracing::debug!(worker = index, "joined the cluster");
        let reader = LinkReader {
            reader,
            link: link.clone(),
            _stop_writer: stop_writer,
        };
        Ok((link, reader))
    }

    /// Sends an application payload to the primary (its [`crate::PrimaryApp::worker_message`]),
    /// waiting while the outgoing queue is full.
    pub async fn send(&self, payload: Bytes) -> Result<(), LinkError> {
        self.send_frame(Frame::App { payload }).await
    }

    /// The index this worker gave the primary.
    pub fn index(&self) -> u16 {
        self.shared.index
    }

    /// Whether the link has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) || self.shared.outgoing.is_closed()
    }

    async fn send_frame(&self, frame: Frame) -> Result<(), LinkError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(LinkError::Closed);
        }
        self.shared
            .outgoing
            .send(frame)
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Subscribes to an adapter channel; what is published on it arrives on the receiver.
    /// Returns once the primary has registered the subscription.
    pub(crate) async fn subscribe(
        &self,
        channel: String,
        size: usize,
    ) -> Result<mpsc::Receiver<ChanItem>, LinkError> {
        let (tx, rx) = mpsc::channel(size.max(1));
        {
            let mut state = lock(&self.shared.state);
            if state.closed {
                return Err(LinkError::Closed);
            }
            state.subscriptions.insert(channel.clone(), tx);
        }
        self.send_frame(Frame::Subscribe {
            channel: channel.clone(),
        })
        .await?;
        // As Redis confirms a SUBSCRIBE: the primary answers a connection's frames in
        // order, so once it has counted the channel's subscribers it has this one, and a
        // publish from any worker after this returns reaches it.
        self.count_subscribers(&channel).await?;
        Ok(rx)
    }

    pub(crate) async fn unsubscribe(&self, channel: String) -> Result<(), LinkError> {
        lock(&self.shared.state).subscriptions.remove(&channel);
        self.send_frame(Frame::Unsubscribe { channel }).await
    }

    pub(crate) async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), LinkError> {
        let payload = payload.into();
        self.send_frame(Frame::Publish { channel, payload }).await
    }

    /// How many workers subscribe to `channel`; fails once the link has ended, or after
    /// [`ANSWER_TIMEOUT`] without an answer.
    pub(crate) async fn count_subscribers(&self, channel: &str) -> Result<u16, LinkError> {
        let request = self.shared.next_request.fetch_add(1, Ordering::Relaxed);
        let (reply, count) = oneshot::channel();
        {
            let mut state = lock(&self.shared.state);
            if state.closed {
                return Err(LinkError::Closed);
            }
            state.counts.insert(request, reply);
        }
        let frame = Frame::CountSubscribers {
            request,
            channel: channel.to_owned(),
        };
        if let Err(error) = self.send_frame(frame).await {
            lock(&self.shared.state).counts.remove(&request);
            return Err(error);
        }
        match tokio::time::timeout(ANSWER_TIMEOUT, count).await {
            Ok(answer) => answer.map_err(|_| LinkError::Closed),
            Err(_) => {
                lock(&self.shared.state).counts.remove(&request);
                Err(LinkError::NoAnswer)
            }
        }
    }
}

impl LinkReader {
    /// Dispatches frames from the primary until the link ends: adapter messages to the
    /// driver's subscribers, answers to the requests waiting for them, application
    /// payloads to `app` (awaited one by one, in order). Returns `Ok` when the primary
    /// closed the link, the error when it failed; either way the link is then closed.
    pub async fn run<A: WorkerApp>(mut self, app: &A) -> Result<(), ConnectionError> {
        let shared = self.link.shared.clone();
        loop {
            let frame = match self.reader.next().await? {
                Some(frame) => frame,
                None => return Ok(()),
            };
            match frame {
                Frame::Message { channel, payload } => {
                    let subscriber = lock(&shared.state).subscriptions.get(&channel).cloned();
                    if let Some(subscriber) = subscriber {
                        // Waits for room rather than drop an adapter message; fails only
                        // if the adapter has let go of the channel.
                        let _ = subscriber.send((channel, payload.into())).await;
                    }
                }
                Frame::SubscriberCount { request, count } => {
                    if let Some(reply) = lock(&shared.state).counts.remove(&request) {
                        let _ = reply.send(count);
                    }
                }
                Frame::App { payload } => app.on_message(payload).await,
                other => tracing::warn!(frame = ?other, "unexpected frame from the primary"),
            }
        }
    }
}

impl Drop for LinkReader {
    /// The link has ended: fails the requests waiting for an answer, ends the adapter's
    /// subscription streams, and refuses new ones. (The writer stops with `_stop_writer`.)
    fn drop(&mut self) {
        self.link.shared.closed.store(true, Ordering::Release);
        let mut state = lock(&self.link.shared.state);
        state.closed = true;
        state.counts.clear();
        state.subscriptions.clear();
        tracing::debug!(worker = self.link.shared.index, "left the cluster");
    }
}
