//! The primary process: owns the database writer (the sequencer), relays between workers,
//! and supervises them.
//!
//! ```text
//!                     ┌──────────── primary ────────────┐
//!  worker 0 :3000 ◀──▶│ relay (pub/sub, commit fan-out) │──▶ sequencer ──▶ store
//!  worker 1 :3001 ◀──▶│ supervisor (restart, stop)      │      │
//!        ⋮       unix socket, length-prefixed frames    host feed ◀──▶ Redis (other hosts)
//! ```
//!
//! Workers send writes up; the sequencer commits them in batches and the host feed hands the
//! relay every committed message (this host's, and with `--adapter` the other hosts') in
//! offset order; the relay sends them to every worker before the writer's worker gets its
//! outcome. Workers read the database for replays but never write it. The primary also
//! keeps the roster of who is online, and serves `/healthz` and `/metrics` on its admin port.

pub mod host_feed;
pub mod relay;
pub mod supervisor;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

use crate::chat::presence::Expiry;
use crate::chat::sequencer::{Reply, Sequencer};
use crate::cluster::connection::{FrameReader, write_frames};
use crate::cluster::frame::Frame;
use crate::config::Config;
use crate::domain::{ClientOffset, MessageText, NewMessage, Nickname};
use crate::http::ops::{HealthSource, Ops};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, WriteOutcome, WriteReceipt};
use host_feed::HostFeed;
use relay::Relay;
use supervisor::{WorkerCommand, supervise};

/// How long the primary waits for queued writes at shutdown.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Why the primary could not run.
#[derive(Debug, thiserror::Error)]
pub enum PrimaryError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The IPC socket could not be created.
    #[error("cannot listen on the IPC socket {path}: {source}")]
    Ipc {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// This executable's path is unknown (needed to start workers).
    #[error("cannot find this executable to start workers: {0}")]
    Exe(std::io::Error),
    /// The admin port (`/healthz`, `/metrics`) could not be bound.
    #[error("cannot listen on the admin port {port}: {source}")]
    Admin {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the primary until `shutdown` completes: then stops the workers (they close their
/// sockets, so clients reconnect), lets queued writes commit and closes the store.
pub async fn run(
    config: &Config,
    workers: u16,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PrimaryError> {
    let metrics = Metrics::new("primary", None);
    let store = Store::open(&config.store_location()).await?;
    let last_committed = store.last_offset().await?;
    let relay = Arc::new(Relay::new(last_committed, metrics.clone()));
    let host_feed = HostFeed::new(
        relay.clone(),
        store.clone(),
        config.adapter.clone(),
        last_committed,
    );
    let following = tokio::spawn(host_feed.clone().follow_other_hosts());
    let presence_merge = tokio::spawn(host_feed.clone().merge_presence());
    let (sequencer, sequencer_task) = Sequencer::spawn(
        store.clone(),
        host_feed.clone(),
        config.max_batch,
        metrics.clone(),
    );
    let admin_port = config
        .admin_port
        .unwrap_or_else(|| config.port.saturating_add(workers));
    let admin = TcpListener::bind((config.host, admin_port))
        .await
        .map_err(|source| PrimaryError::Admin {
            port: admin_port,
            source,
        })?;
    let ops = Ops {
        metrics: metrics.clone(),
        store: store.clone(),
        source: Arc::new(PrimaryHealth {
            relay: relay.clone(),
            host_feed: host_feed.clone(),
            workers,
        }),
    };
    let admin = tokio::spawn(async move {
        if let Err(error) = axum::serve(admin, crate::http::ops::routes(ops)).await {
            tracing::error!(%error, "the admin server failed");
        }
    });

    let ipc_path = std::env::temp_dir().join(format!("chat-server-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&ipc_path);
    let listener = UnixListener::bind(&ipc_path).map_err(|source| PrimaryError::Ipc {
        path: ipc_path.clone(),
        source,
    })?;
    let limits = WorkerLimits {
        max_message_bytes: config.max_message_bytes,
        queue: config.worker_queue,
        presence_grace: config.presence_grace(),
    };
    let accept = tokio::spawn(serve_workers(listener, relay.clone(), sequencer, limits));

    let command = WorkerCommand {
        exe: std::env::current_exe().map_err(PrimaryError::Exe)?,
        args: std::env::args_os().skip(1).collect(),
        ipc_path: ipc_path.clone(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervisors: Vec<_> = (0..workers)
        .map(|index| {
            tokio::spawn(supervise(
                index,
                command.clone(),
                stop_rx.clone(),
                metrics.clone(),
            ))
        })
        .collect();
    tracing::info!(workers, base_port = config.port, admin_port, ipc = %ipc_path.display(), "primary running");

    shutdown.await;
    let _ = stop_tx.send(true);
    for supervisor in supervisors {
        let _ = supervisor.await;
    }
    // Workers are gone: their connections close, releasing the last sequencer handles.
    accept.abort();
    let _ = accept.await;
    admin.abort();
    following.abort();
    presence_merge.abort();
    if !sequencer_task.shutdown(DRAIN_GRACE).await {
        tracing::warn!("writes still queued after {DRAIN_GRACE:?}");
    }
    store.close().await;
    remove_socket(&ipc_path);
    tracing::info!(cut_offs = relay.cut_offs(), "primary stopped");
    Ok(())
}

/// What the primary reports at `/healthz` besides its store: whether every worker is
/// connected.
struct PrimaryHealth {
    relay: Arc<Relay>,
    host_feed: Arc<HostFeed>,
    workers: u16,
}

impl HealthSource for PrimaryHealth {
    fn role(&self) -> &'static str {
        "primary"
    }

    fn checks(&self) -> Vec<(&'static str, Result<String, String>)> {
        let connected = self.relay.connected_workers();
        let detail = format!(
            "{} of {} connected {:?}",
            connected.len(),
            self.workers,
            connected
        );
        let result = if connected.len() == usize::from(self.workers) {
            Ok(detail)
        } else {
            Err(detail)
        };
        let mut checks = vec![("workers", result)];
        match self.host_feed.redis_connected() {
            Some(true) => checks.push(("adapter", Ok("redis connected".to_owned()))),
            Some(false) => {
                checks.push(("adapter", Err("redis unreachable; reconnecting".to_owned())))
            }
            None => checks.push((
                "adapter",
                Ok("this host's workers, through the primary".to_owned()),
            )),
        }
        checks
    }

    fn refresh_metrics(&self) {
        self.relay.record_queue_depths();
    }
}

fn remove_socket(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        tracing::debug!(%error, "IPC socket already removed");
    }
}

/// What the primary accepts from and queues for each worker.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// Largest message text, in bytes (re-checked here: the primary trusts no peer).
    pub max_message_bytes: usize,
    /// Frames queued towards one worker before it counts as too slow and is cut off.
    pub queue: usize,
    /// How long a user stays online after their last socket closed.
    pub presence_grace: Duration,
}

/// Accepts worker connections on `listener` and serves each in its own task, forever.
pub async fn serve_workers(
    listener: UnixListener,
    relay: Arc<Relay>,
    sequencer: Sequencer,
    limits: WorkerLimits,
) {
    let ids = AtomicU64::new(1);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                connections.spawn(serve_worker(
                    id,
                    stream,
                    relay.clone(),
                    sequencer.clone(),
                    limits,
                ));
            }
            Err(error) => {
                tracing::error!(%error, "accepting a worker failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
}

/// Serves one worker connection until it closes or is cut off.
async fn serve_worker(
    id: u64,
    stream: UnixStream,
    relay: Arc<Relay>,
    sequencer: Sequencer,
    limits: WorkerLimits,
) {
    let (read, write) = stream.into_split();
    let (outgoing, queue) = mpsc::channel(limits.queue);
    let writer = tokio::spawn(write_frames(write, queue));
    let mut reader = FrameReader::new(read);
    let index = match reader.next().await {
        Ok(Some(Frame::Hello { worker })) => worker,
        other => {
            tracing::warn!(?other, "a worker connection did not start with Hello");
            writer.abort();
            return;
        }
    };
    let kick = relay.join(id, index, outgoing.clone());
    loop {
        let frame = tokio::select! {
            () = kick.notified() => break,
            frame = reader.next() => frame,
        };
        match frame {
            Ok(Some(Frame::Write {
                request,
                text,
                client_offset,
                author,
                recipient,
            })) => {
                match validate(
                    text,
                    client_offset,
                    &author,
                    recipient.as_deref(),
                    limits.max_message_bytes,
                ) {
                    Err(reason) => send_reply(&outgoing, Frame::WriteFailed { request, reason }),
                    Ok(message) => {
                        let reply = reply_to_worker(request, outgoing.clone());
                        if let Err((message, reply)) = sequencer.try_submit(message, reply) {
                            let sequencer = sequencer.clone();
                            tokio::spawn(async move { sequencer.submit(message, reply).await });
                        }
                    }
                }
            }
            Ok(Some(Frame::PresenceReport { nickname, joined })) => {
                if let Some(expiry) = relay.presence_report(id, &nickname, joined) {
                    expire_later(relay.clone(), vec![expiry], limits.presence_grace);
                }
            }
            Ok(Some(Frame::Subscribe { channel })) => relay.subscribe(id, channel),
            Ok(Some(Frame::Unsubscribe { channel })) => relay.unsubscribe(id, &channel),
            Ok(Some(Frame::Publish { channel, payload })) => relay.publish(&channel, payload),
            Ok(Some(Frame::CountSubscribers { request, channel })) => {
                let count = relay.count_subscribers(&channel);
                if outgoing
                    .try_send(Frame::SubscriberCount { request, count })
                    .is_err()
                {
                    break;
                }
            }
            Ok(Some(other)) => {
                tracing::warn!(worker = index, frame = ?other, "unexpected frame from a worker")
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(worker = index, %error, "worker connection failed");
                break;
            }
        }
    }
    let expiries = relay.leave(id);
    expire_later(relay, expiries, limits.presence_grace);
    writer.abort();
}

/// The reply to the worker's write `request`: `WriteDone` or `WriteFailed` on its link.
fn reply_to_worker(request: u64, outgoing: mpsc::Sender<Frame>) -> Reply {
    Reply::new(move |result| {
        let frame = match result {
            Ok(WriteReceipt {
                outcome,
                created_at,
            }) => Frame::WriteDone {
                request,
                offset: outcome.id(),
                duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
                created_at,
            },
            Err(error) => Frame::WriteFailed {
                request,
                reason: error.to_string(),
            },
        };
        send_reply(&outgoing, frame);
    })
}

/// Queues `frame` for a worker; a full link queue gets it from a task that waits for room
/// (a reply is never dropped while the worker is connected).
fn send_reply(outgoing: &mpsc::Sender<Frame>, frame: Frame) {
    if let Err(mpsc::error::TrySendError::Full(frame)) = outgoing.try_send(frame) {
        // At shutdown there may be no runtime left to wait in; the worker is going too.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let outgoing = outgoing.clone();
            runtime.spawn(async move { outgoing.send(frame).await });
        }
    }
}

/// Checks, after `grace`, whether the users of `expiries` are still without a socket.
fn expire_later(relay: Arc<Relay>, expiries: Vec<Expiry>, grace: Duration) {
    if expiries.is_empty() {
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        for expiry in &expiries {
            relay.expire(expiry);
        }
    });
}

/// Re-checks what a worker sent: the primary trusts no peer with its database.
fn validate(
    text: String,
    client_offset: String,
    author: &str,
    recipient: Option<&str>,
    max_message_bytes: usize,
) -> Result<NewMessage, String> {
    Ok(NewMessage {
        text: MessageText::parse(text, max_message_bytes).map_err(|e| e.to_string())?,
        client_offset: ClientOffset::parse(client_offset).map_err(|e| e.to_string())?,
        author: Nickname::parse(author).map_err(|e| e.to_string())?,
        recipient: recipient
            .map(Nickname::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
    })
}
