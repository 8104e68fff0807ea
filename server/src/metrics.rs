//! The process's metrics, served at `/metrics` in the Prometheus text format.
//!
//! One [`Metrics`] per process. A worker (or a single server) counts sockets, deliveries,
//! overload and refusals; the primary (or a single server) counts what it stores, the store's
//! commit latency, worker restarts and cut-offs and its queue depths. A family that does not
//! apply to a role stays at zero there.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// One label, e.g. `reason="rate_limited"`.
pub type Labels = Vec<(&'static str, String)>;

/// Every metric of this process.
pub struct Metrics {
    registry: Registry,
    /// Sockets connected to this process.
    pub sockets_connected: Gauge,
    /// Live `chat message` packets queued to sockets.
    pub deliveries: Counter,
    /// Messages sent by replays (on connect, and to sockets catching up after overload).
    pub replayed: Counter,
    /// Times a socket's queue was full at a live delivery, so it was taken off the live
    /// stream and caught up from the store instead (nothing is skipped).
    pub fell_behind: Counter,
    /// Disconnections, by reason.
    pub disconnects: Family<Labels, Counter>,
    /// Connections and messages refused by a limit, by reason.
    pub refused: Family<Labels, Counter>,
    /// Messages committed (new rows; duplicates not counted).
    pub messages_stored: Counter,
    /// Batches that failed to commit (their writers get an error ack).
    pub store_errors: Counter,
    /// Time to commit one batch, in seconds.
    pub store_commit_seconds: Histogram,
    /// Writes waiting for the sequencer.
    pub sequencer_queue: Gauge,
    /// Workers restarted by the supervisor.
    pub worker_restarts: Counter,
    /// Workers cut off for a full queue.
    pub workers_cut_off: Counter,
    /// Frames queued by the primary towards each worker.
    pub worker_queue: Family<Labels, Gauge>,
}

impl Metrics {
    /// Registers every metric, labelled with this process's `role` (`primary`, `worker`,
    /// `server`) and, for a worker, its index.
    pub fn new(role: &'static str, worker: Option<u16>) -> Arc<Self> {
        let mut labels: Vec<(
            std::borrow::Cow<'static, str>,
            std::borrow::Cow<'static, str>,
        )> = vec![("role".into(), role.into())];
        if let Some(index) = worker {
            labels.push(("worker".into(), index.to_string().into()));
        }
        let mut registry = Registry::with_prefix_and_labels("chat", labels.into_iter());
        let metrics = Self {
            sockets_connected: Gauge::default(),
            deliveries: Counter::default(),
            replayed: Counter::default(),
            fell_behind: Counter::default(),
            disconnects: Family::default(),
            refused: Family::default(),
            messages_stored: Counter::default(),
            store_errors: Counter::default(),
            store_commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 14)),
            sequencer_queue: Gauge::default(),
            worker_restarts: Counter::default(),
            workers_cut_off: Counter::default(),
            worker_queue: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sockets_connected",
            "Sockets connected to this process",
            metrics.sockets_connected.clone(),
        );
        registry.register(
            "deliveries",
            "Live chat messages queued to sockets",
            metrics.deliveries.clone(),
        );
        registry.register(
            "replayed",
            "Messages sent by replays (connect and overload catch-up)",
            metrics.replayed.clone(),
        );
        registry.register(
            "sockets_fell_behind",
            "Sockets taken off the live stream for a full queue and caught up from the store",
            metrics.fell_behind.clone(),
        );
        registry.register(
            "disconnects",
            "Socket disconnections by reason",
            metrics.disconnects.clone(),
        );
        registry.register(
            "refused",
            "Connections and messages refused by a limit, by reason",
            metrics.refused.clone(),
        );
        registry.register(
            "messages_stored",
            "Messages committed to the store",
            metrics.messages_stored.clone(),
        );
        registry.register(
            "store_errors",
            "Batches that failed to commit",
            metrics.store_errors.clone(),
        );
        registry.register(
            "store_commit_seconds",
            "Time to commit one batch",
            metrics.store_commit_seconds.clone(),
        );
        registry.register(
            "sequencer_queue",
            "Writes waiting for the sequencer",
            metrics.sequencer_queue.clone(),
        );
        registry.register(
            "worker_restarts",
            "Workers restarted by the supervisor",
            metrics.worker_restarts.clone(),
        );
        registry.register(
            "workers_cut_off",
            "Workers cut off for a full queue",
            metrics.workers_cut_off.clone(),
        );
        registry.register(
            "worker_queue_frames",
            "Frames queued by the primary towards each worker",
            metrics.worker_queue.clone(),
        );
        Arc::new(Self {
            registry,
            ..metrics
        })
    }

    /// Counts one refusal for `reason`.
    pub fn refuse(&self, reason: &'static str) {
        self.refused
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// Counts one disconnection for `reason`.
    pub fn disconnected(&self, reason: String) {
        self.disconnects
            .get_or_create(&vec![("reason", reason)])
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
