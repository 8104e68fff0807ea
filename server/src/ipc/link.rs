//! A worker's end of the chat's traffic with its primary: writes go up and come back as
//! outcomes, committed messages and presence changes come down, all as application
//! payloads of the cluster adapter's link ([`socketioxide_cluster::WorkerLink`]).
//!
//! The primary queues a write's `Committed` frame before its `WriteDone`, and both travel
//! on one ordered connection; [`LinkEvents::run`] hands them on in that order, so a worker
//! gives a message to its feed before it acks it. This layer knows nothing of the chat: what
//! comes down goes to a [`PrimaryEvents`] sink the chat implements. When the link ends (the
//! primary died or cut this worker off) [`LinkEvents::run`] returns and pending writes fail,
//! and the worker shuts down: no orphan outlives its primary.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use socketioxide_cluster::{ClusterDriver, WorkerApp, WorkerLink};
use tokio::sync::{mpsc, oneshot};

use super::frame::{Frame, FrameError};
use crate::domain::{NewMessage, ServerOffset};
use crate::store::{StoredMessage, WriteError, WriteOutcome, WriteReceipt};
use crate::sync::lock;

/// Frames from the primary queued between the cluster link's reader and
/// [`LinkEvents::run`] before the reader waits (and with it the link).
const EVENT_QUEUE: usize = 1024;

/// Why the link could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The cluster link failed.
    #[error(transparent)]
    Cluster(#[from] socketioxide_cluster::LinkError),
    /// The primary's first frame was not `Welcome`.
    #[error("unexpected handshake frame from the primary: {0:?}")]
    Handshake(Box<Frame>),
    /// The primary sent a payload that is not a frame.
    #[error("corrupt frame from the primary: {0}")]
    Corrupt(#[from] FrameError),
    /// The link is closed.
    #[error("the link to the primary is closed")]
    Closed,
}

/// What the primary tells a worker besides write outcomes, in the order it happened:
/// implemented by the chat (its feed and its presence).
pub trait PrimaryEvents: Send + Sync {
    /// Newly committed public messages, in offset order.
    fn committed(&self, messages: Arc<[StoredMessage]>) -> impl Future<Output = ()> + Send;
    /// `nickname` came online (`online`) or went offline, as the primary's roster decided.
    fn presence(&self, nickname: String, online: bool) -> impl Future<Output = ()> + Send;
    /// User `from` is now `to`, as the primary's roster decided.
    fn renamed(&self, from: String, to: String) -> impl Future<Output = ()> + Send;
}

type WriteReply = oneshot::Sender<Result<WriteReceipt, WriteError>>;

/// The worker's handle on the link. Cheap to clone.
#[derive(Clone)]
pub struct PrimaryLink {
    link: WorkerLink,
    inner: Arc<Inner>,
}

struct Inner {
    next_request: AtomicU64,
    writes: Mutex<HashMap<u64, WriteReply>>,
}

/// The frames the primary sent, to run with [`LinkEvents::run`]; a corrupt one ends them.
pub struct LinkEvents {
    frames: mpsc::Receiver<Result<Frame, FrameError>>,
    reader: tokio::task::JoinHandle<Result<(), socketioxide_cluster::ConnectionError>>,
    link: PrimaryLink,
}

/// The cluster link's application: passes the primary's frames on, in order.
struct Forward {
    /// Taken by the first frame, which must be `Welcome`.
    welcome: Mutex<Option<oneshot::Sender<Result<ServerOffset, LinkError>>>>,
    /// Whether the first frame has come: every later one skips the lock above.
    welcomed: AtomicBool,
    frames: mpsc::Sender<Result<Frame, FrameError>>,
    /// A corrupt frame was passed on: nothing after it is.
    corrupt: AtomicBool,
}

impl WorkerApp for Forward {
    async fn on_message(&self, payload: Bytes) {
        let frame = Frame::from_payload(payload);
        if !self.welcomed.swap(true, Ordering::Relaxed)
            && let Some(welcome) = lock(&self.welcome).take()
        {
            let _ = welcome.send(match frame {
                Ok(Frame::Welcome { last_committed }) => Ok(last_committed),
                Ok(other) => Err(LinkError::Handshake(Box::new(other))),
                Err(error) => Err(error.into()),
            });
            return;
        }
        if self.corrupt.load(Ordering::Relaxed) {
            return;
        }
        if let Err(error) = &frame {
            // The primary is this same program: a corrupt frame is a bug, and skipping it
            // could skip a commit. It ends the events, so the worker stops and restarts.
            tracing::error!(%error, "corrupt frame from the primary; stopping");
            self.corrupt.store(true, Ordering::Relaxed);
        }
        let _ = self.frames.send(frame).await;
    }
}

impl PrimaryLink {
    /// Connects to the primary at `path` as worker `index`. Returns the link, the offset the
    /// feed starts after, and the events to run.
    pub async fn connect(
        path: &Path,
        index: u16,
    ) -> Result<(Self, ServerOffset, LinkEvents), LinkError> {
        let (link, reader) = WorkerLink::connect(path, index).await?;
        let (frames_tx, frames) = mpsc::channel(EVENT_QUEUE);
        let (welcome_tx, welcome) = oneshot::channel();
        let forward = Forward {
            welcome: Mutex::new(Some(welcome_tx)),
            welcomed: AtomicBool::new(false),
            frames: frames_tx,
            corrupt: AtomicBool::new(false),
        };
        let reader = tokio::spawn(async move { reader.run(&forward).await });
        let last_committed = welcome.await.map_err(|_| LinkError::Closed)??;
        let link = Self {
            link,
            inner: Arc::new(Inner {
                next_request: AtomicU64::new(1),
                writes: Mutex::default(),
            }),
        };
        let events = LinkEvents {
            frames,
            reader,
            link: link.clone(),
        };
        Ok((link, last_committed, events))
    }

    /// The adapter's transport over this link (socketioxide-redis's driver).
    pub fn adapter_driver(&self) -> ClusterDriver {
        self.link.driver()
    }

    async fn send(&self, frame: Frame) -> Result<(), LinkError> {
        self.link
            .send(frame.to_payload())
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Has the primary's sequencer store `message`; returns once committed and broadcast.
    pub async fn write(&self, message: NewMessage) -> Result<WriteReceipt, WriteError> {
        let request = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        let (reply, outcome) = oneshot::channel();
        lock(&self.inner.writes).insert(request, reply);
        let frame = Frame::Write {
            request,
            text: message.text.into_inner(),
            client_offset: message.client_offset.into_inner(),
            author: message.author.into_inner(),
            channel: message.channel.0,
        };
        if self.send(frame).await.is_err() {
            lock(&self.inner.writes).remove(&request);
            return Err(WriteError::ShuttingDown);
        }
        outcome.await.map_err(|_| WriteError::ShuttingDown)?
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

    /// Reports a socket of `from` renamed to `to` to the primary's roster.
    pub async fn rename(&self, from: &str, to: &str) {
        let _ = self
            .send(Frame::RenameReport {
                from: from.to_owned(),
                to: to.to_owned(),
            })
            .await;
    }

    /// Answers the write `request`.
    fn answer(&self, request: u64, result: Result<WriteReceipt, WriteError>) {
        if let Some(reply) = lock(&self.inner.writes).remove(&request) {
            let _ = reply.send(result);
        }
    }
}

impl LinkEvents {
    /// One frame from the primary: to the sink, or to the waiter of a write.
    async fn handle(&self, frame: Frame, sink: &impl PrimaryEvents) {
        match frame {
            Frame::Committed { messages } => sink.committed(messages).await,
            Frame::Presence { nickname, online } => sink.presence(nickname, online).await,
            Frame::Renamed { from, to } => sink.renamed(from, to).await,
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
                self.link.answer(
                    request,
                    Ok(WriteReceipt {
                        outcome,
                        created_at,
                    }),
                );
            }
            Frame::WriteFailed { request, reason } => {
                self.link
                    .answer(request, Err(WriteError::Storage(reason.into())));
            }
            other => tracing::warn!(frame = ?other, "unexpected frame from the primary"),
        }
    }

    /// Hands the primary's frames on until the link ends: committed messages and presence
    /// changes to `sink`, write outcomes to their waiters. Pending writes then fail (their
    /// clients resend).
    pub async fn run(mut self, sink: &impl PrimaryEvents) -> Result<(), LinkError> {
        // Whatever is queued is handled per wake-up: under load, many frames per task switch.
        let mut frames = Vec::with_capacity(64);
        while self.frames.recv_many(&mut frames, 64).await > 0 {
            for frame in frames.drain(..) {
                match frame {
                    Ok(frame) => self.handle(frame, sink).await,
                    Err(error) => {
                        lock(&self.link.inner.writes).clear();
                        return Err(LinkError::Corrupt(error));
                    }
                }
            }
        }
        lock(&self.link.inner.writes).clear();
        match self.reader.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(LinkError::Cluster(error.into())),
            Err(_) => Err(LinkError::Closed),
        }
    }
}
