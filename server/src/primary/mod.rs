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
//!
//! The connections to the workers are the `socketioxide-cluster` crate's [`Primary`]: it
//! relays the Socket.IO adapter's traffic between workers by itself, and hands the chat's
//! own frames to [`workers::WorkerTraffic`].

pub mod host_feed;
pub mod relay;
pub mod supervisor;
pub mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socketioxide_cluster::{Primary, PrimaryConfig};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use crate::chat::sequencer::Sequencer;
use crate::config::Config;
use crate::http::ops::{HealthSource, Ops};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use host_feed::HostFeed;
use relay::Relay;
use supervisor::{WorkerCommand, supervise};
use workers::{WorkerLimits, WorkerTraffic};

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
    let relay = Arc::new(Relay::new(last_committed));
    let cluster = Primary::new(PrimaryConfig {
        queue: config.worker_queue,
    });
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
            cluster: cluster.clone(),
            host_feed: host_feed.clone(),
            workers,
            metrics: metrics.clone(),
            cut_offs_counted: AtomicU64::new(0),
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
    let traffic = WorkerTraffic::new(
        relay.clone(),
        sequencer,
        WorkerLimits {
            max_message_bytes: config.max_message_bytes,
            presence_grace: config.presence_grace(),
        },
    );
    let accept = tokio::spawn(cluster.clone().serve(listener, traffic));

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
    tracing::info!(cut_offs = cluster.cut_offs(), "primary stopped");
    Ok(())
}

/// What the primary reports at `/healthz` besides its store: whether every worker is
/// connected.
struct PrimaryHealth {
    cluster: Arc<Primary>,
    host_feed: Arc<HostFeed>,
    workers: u16,
    metrics: Arc<Metrics>,
    /// The cluster's cut-offs already added to `chat_workers_cut_off_total`.
    cut_offs_counted: AtomicU64,
}

impl HealthSource for PrimaryHealth {
    fn role(&self) -> &'static str {
        "primary"
    }

    fn checks(&self) -> Vec<(&'static str, Result<String, String>)> {
        let connected = self.cluster.connected_workers();
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
        self.metrics.worker_queue.clear();
        for (index, queued) in self.cluster.queue_depths() {
            self.metrics
                .worker_queue
                .get_or_create(&vec![("worker", index.to_string())])
                .set(queued as i64);
        }
        let total = self.cluster.cut_offs();
        let counted = self.cut_offs_counted.swap(total, Ordering::Relaxed);
        self.metrics
            .workers_cut_off
            .inc_by(total.saturating_sub(counted));
    }
}

fn remove_socket(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        tracing::debug!(%error, "IPC socket already removed");
    }
}
