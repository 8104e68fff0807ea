//! A worker's link to its primary: writes go up and come back as outcomes, committed
//! messages come down in offset order, and adapter pub/sub frames flow both ways.
//!
//! One Unix stream carries everything, in order: the primary sends a write's `Committed`
//! frame before its `WriteDone`, so a worker broadcasts a message before it acks it. When
//! the stream ends (the primary died or cut this worker off) [`LinkReader::run`] returns,
//! and the worker shuts down: no orphan outlives its primary.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use socketioxide_redis::drivers::ChanItem;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use super::connection::{ConnectionError, FrameReader, write_frames};
use super::frame::Frame;
use crate::chat::feed::Feed;
use crate::chat::presence::{Change, Presence};
use crate::chat::sequencer::WriteError;
use crate::domain::{NewMessage, Nickname, ServerOffset};
use crate::store::{WriteOutcome, WriteReceipt};
use crate::sync::lock;

/// Frames queued towards the primary before senders wait.
const OUTGOING_QUEUE: usize = 16 * 1024;

/// Why the link could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Connecting or the handshake failed.
    #[error("cannot reach the primary: {0}")]
    Connect(#[from] ConnectionError),
    /// The primary answered the handshake with something else.
    #[error("unexpected handshake frame from the primary: {0:?}")]
    Handshake(Box<Frame>),
    /// The link is closed.
    #[error("the link to the primary is closed")]
    Closed,
}

/// The worker's handle on the link. Cheap to clone.
#[derive(Clone)]
pub struct PrimaryLink {
    inner: Arc<Inner>,
}

struct Inner {
    outgoing: mpsc::Sender<Frame>,
    next_request: AtomicU64,
    writes: Mutex<HashMap<u64, oneshot::Sender<Result<WriteReceipt, WriteError>>>>,
    counts: Mutex<HashMap<u64, oneshot::Sender<u16>>>,
    subscriptions: Mutex<HashMap<String, mpsc::Sender<ChanItem>>>,
}

/// The receiving half; run it with [`LinkReader::run`].
pub struct LinkReader {
    reader: FrameReader,
    link: PrimaryLink,
}

impl PrimaryLink {
    /// Connects to the primary at `path` as worker `index`. Returns the link, the offset the
    /// feed starts after, and the reader to run.
    pub async fn connect(
        path: &Path,
        index: u16,
    ) -> Result<(Self, ServerOffset, LinkReader), LinkError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(ConnectionError::from)?;
        let (read, write) = stream.into_split();
        let (outgoing, queue) = mpsc::channel(OUTGOING_QUEUE);
        tokio::spawn(async move {
            if let Err(error) = write_frames(write, queue).await {
                tracing::warn!(%error, "writing to the primary failed");
            }
        });
        let link = Self {
            inner: Arc::new(Inner {
                outgoing,
                next_request: AtomicU64::new(1),
                writes: Mutex::default(),
                counts: Mutex::default(),
                subscriptions: Mutex::default(),
            }),
        };
        link.send(Frame::Hello { worker: index }).await?;
        let mut reader = FrameReader::new(read);
        let last_committed = match reader.next().await? {
            Some(Frame::Welcome { last_committed }) => last_committed,
            Some(other) => return Err(LinkError::Handshake(Box::new(other))),
            None => return Err(LinkError::Closed),
        };
        let reader = LinkReader {
            reader,
            link: link.clone(),
        };
        Ok((link, last_committed, reader))
    }

    async fn send(&self, frame: Frame) -> Result<(), LinkError> {
        self.inner
            .outgoing
            .send(frame)
            .await
            .map_err(|_| LinkError::Closed)
    }

    fn next_request(&self) -> u64 {
        self.inner.next_request.fetch_add(1, Ordering::Relaxed)
    }

    /// Has the primary's sequencer store `message`; returns once committed and broadcast.
    pub async fn write(&self, message: NewMessage) -> Result<WriteReceipt, WriteError> {
        let request = self.next_request();
        let (reply, outcome) = oneshot::channel();
        lock(&self.inner.writes).insert(request, reply);
        let frame = Frame::Write {
            request,
            text: message.text.into_inner(),
            client_offset: message.client_offset.as_str().to_owned(),
            author: message.author.as_str().to_owned(),
            recipient: message.recipient.map(Nickname::into_inner),
        };
        if self.send(frame).await.is_err() {
            lock(&self.inner.writes).remove(&request);
            return Err(WriteError::ShuttingDown);
        }
        outcome.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Subscribes to an adapter channel; published payloads arrive on the returned receiver.
    pub async fn subscribe(
        &self,
        channel: String,
        size: usize,
    ) -> Result<mpsc::Receiver<ChanItem>, LinkError> {
        let (tx, rx) = mpsc::channel(size.max(1));
        lock(&self.inner.subscriptions).insert(channel.clone(), tx);
        self.send(Frame::Subscribe { channel }).await?;
        Ok(rx)
    }

    /// Unsubscribes from an adapter channel.
    pub async fn unsubscribe(&self, channel: String) -> Result<(), LinkError> {
        lock(&self.inner.subscriptions).remove(&channel);
        self.send(Frame::Unsubscribe { channel }).await
    }

    /// Publishes an adapter payload to every worker subscribed to `channel`.
    pub async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), LinkError> {
        self.send(Frame::Publish {
            channel,
            payload: payload.into(),
        })
        .await
    }

    /// Reports a socket of `nickname` connecting (`joined`) or going away to the primary's
    /// roster. Nothing to do if the link is closed: the worker is stopping, and the primary
    /// drops its sockets from the roster.
    pub async fn presence(&self, nickname: &str, joined: bool) {
        let _ = self
            .send(Frame::PresenceReport {
                nickname: nickname.to_owned(),
                joined,
            })
            .await;
    }

    /// How many workers subscribe to `channel` (the adapter's server count).
    pub async fn count_subscribers(&self, channel: &str) -> Result<u16, LinkError> {
        let request = self.next_request();
        let (reply, count) = oneshot::channel();
        lock(&self.inner.counts).insert(request, reply);
        self.send(Frame::CountSubscribers {
            request,
            channel: channel.to_owned(),
        })
        .await?;
        count.await.map_err(|_| LinkError::Closed)
    }
}

impl LinkReader {
    /// Dispatches frames from the primary until the link ends: committed messages to
    /// `feed`, presence changes to `presence`, outcomes to their waiters, adapter messages to
    /// their subscribers. Pending writes then fail (their clients resend).
    pub async fn run(
        mut self,
        feed: Arc<Feed>,
        presence: Arc<Presence>,
    ) -> Result<(), ConnectionError> {
        let inner = &self.link.inner;
        let result = loop {
            let frame = match self.reader.next().await {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            match frame {
                Frame::Committed { messages } => feed.publish(&messages).await,
                Frame::Presence { nickname, online } => {
                    let change = if online {
                        Change::Online(nickname)
                    } else {
                        Change::Offline(nickname)
                    };
                    presence.apply(change).await;
                }
                Frame::WriteDone {
                    request,
                    offset,
                    duplicate,
                    created_at,
                } => {
                    let outcome = if duplicate {
                        WriteOutcome::Duplicate(offset)
                    } else {
                        WriteOutcome::Inserted(offset)
                    };
                    if let Some(reply) = lock(&inner.writes).remove(&request) {
                        let _ = reply.send(Ok(WriteReceipt {
                            outcome,
                            created_at,
                        }));
                    }
                }
                Frame::WriteFailed { request, reason } => {
                    if let Some(reply) = lock(&inner.writes).remove(&request) {
                        let _ = reply.send(Err(WriteError::Storage(reason.into())));
                    }
                }
                Frame::SubscriberCount { request, count } => {
                    if let Some(reply) = lock(&inner.counts).remove(&request) {
                        let _ = reply.send(count);
                    }
                }
                Frame::Message { channel, payload } => {
                    let subscriber = lock(&inner.subscriptions).get(&channel).cloned();
                    if let Some(subscriber) = subscriber
                        && subscriber.try_send((channel, payload.to_vec())).is_err()
                    {
                        tracing::warn!("adapter message dropped: subscriber queue full");
                    }
                }
                other => tracing::warn!(frame = ?other, "unexpected frame from the primary"),
            }
        };
        lock(&inner.writes).clear();
        lock(&inner.counts).clear();
        lock(&inner.subscriptions).clear();
        result
    }
}
