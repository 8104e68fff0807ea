//! The primary's relay: fans committed messages out to every worker, and relays adapter
//! pub/sub between them.
//!
//! Each worker has a bounded outgoing queue. A worker whose queue is full is cut off rather
//! than waited for (a slow worker must not stall the others) or silently skipped (its
//! clients would miss messages): it exits, is restarted, and its clients reconnect and
//! replay. Cut-offs are logged and counted.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use crate::chat::presence::{Change, Expiry, Roster};
use crate::chat::sequencer::CommitSink;
use crate::cluster::frame::Frame;
use crate::domain::ServerOffset;
use crate::metrics::Metrics;
use crate::store::StoredMessage;
use crate::sync::lock;

/// A connected worker, as the relay sees it.
struct WorkerEntry {
    index: u16,
    outgoing: mpsc::Sender<Frame>,
    channels: HashSet<String>,
    kick: Arc<Notify>,
}

struct RelayState {
    last_committed: ServerOffset,
    workers: HashMap<u64, WorkerEntry>,
    /// Who is online on this host, by worker connection.
    roster: Roster,
    /// Who the workers were told is online (everywhere, with several hosts).
    announced: BTreeSet<String>,
}

/// The primary's fan-out and pub/sub hub.
pub struct Relay {
    state: Mutex<RelayState>,
    cut_offs: AtomicU64,
    metrics: Arc<Metrics>,
    /// With several hosts, this host's presence changes go here (to be merged with the
    /// other hosts' before the workers hear of them); otherwise straight to the workers.
    host_presence: std::sync::OnceLock<mpsc::UnboundedSender<Change>>,
}

impl Relay {
    /// A relay whose workers' feeds start after `last_committed`.
    pub fn new(last_committed: ServerOffset, metrics: Arc<Metrics>) -> Self {
        Self {
            state: Mutex::new(RelayState {
                last_committed,
                workers: HashMap::new(),
                roster: Roster::default(),
                announced: BTreeSet::new(),
            }),
            cut_offs: AtomicU64::new(0),
            metrics,
            host_presence: std::sync::OnceLock::new(),
        }
    }

    /// Sends this host's presence changes to `merge` from now on instead of to the workers
    /// (several hosts: the merged changes come back through [`Self::announce_everywhere`]).
    pub fn merge_presence_into(&self, merge: mpsc::UnboundedSender<Change>) {
        let _ = self.host_presence.set(merge);
    }

    /// Who is online on this host's workers.
    pub fn host_online(&self) -> BTreeSet<String> {
        lock(&self.state).roster.online().into_iter().collect()
    }

    /// Tells every worker of a change in who is online (everywhere).
    pub fn announce_everywhere(&self, change: Change) {
        let mut state = lock(&self.state);
        self.fan_out_presence(&mut state, change);
    }

    /// The indexes of the workers connected now.
    pub fn connected_workers(&self) -> Vec<u16> {
        let mut indexes: Vec<u16> = lock(&self.state)
            .workers
            .values()
            .map(|e| e.index)
            .collect();
        indexes.sort_unstable();
        indexes
    }

    /// Sets the queue-depth gauges to the frames queued towards each connected worker.
    pub fn record_queue_depths(&self) {
        let state = lock(&self.state);
        self.metrics.worker_queue.clear();
        for entry in state.workers.values() {
            let queued = entry.outgoing.max_capacity() - entry.outgoing.capacity();
            self.metrics
                .worker_queue
                .get_or_create(&vec![("worker", entry.index.to_string())])
                .set(queued as i64);
        }
    }

    /// Registers worker connection `id`: queues its `Welcome` (the offset its feed starts
    /// after) atomically with joining the fan-out, so it misses no commit and sees none
    /// twice. Returns the signal that tells the connection to close (cut off).
    pub fn join(&self, id: u64, index: u16, outgoing: mpsc::Sender<Frame>) -> Arc<Notify> {
        let mut state = lock(&self.state);
        let kick = Arc::new(Notify::new());
        let welcome = Frame::Welcome {
            last_committed: state.last_committed,
        };
        if outgoing.try_send(welcome).is_err() {
            kick.notify_one();
        }
        // Then who is online, before any later change: the worker's view starts complete.
        for nickname in state.announced.iter().cloned() {
            if outgoing
                .try_send(Frame::Presence {
                    nickname,
                    online: true,
                })
                .is_err()
            {
                kick.notify_one();
            }
        }
        state.workers.insert(
            id,
            WorkerEntry {
                index,
                outgoing,
                channels: HashSet::new(),
                kick: kick.clone(),
            },
        );
        tracing::info!(worker = index, "worker joined");
        kick
    }

    /// Forgets worker connection `id`. Returns the users it leaves without a socket, to
    /// [`Self::expire`] after the grace period.
    pub fn leave(&self, id: u64) -> Vec<Expiry> {
        let mut state = lock(&self.state);
        if let Some(entry) = state.workers.remove(&id) {
            tracing::info!(worker = entry.index, "worker left");
        }
        state.roster.drop_source(id)
    }

    /// A socket of `nickname` on worker connection `id` connected (`joined`) or went away.
    /// Announces a user coming online at once; returns the expiry to check after the grace
    /// period when it was their last socket.
    pub fn presence_report(&self, id: u64, nickname: &str, joined: bool) -> Option<Expiry> {
        let mut state = lock(&self.state);
        if joined {
            if let Some(change) = state.roster.join(id, nickname) {
                self.announce(&mut state, change);
            }
            None
        } else {
            state.roster.leave(id, nickname)
        }
    }

    /// Announces the user of `expiry` gone if they still have no socket.
    pub fn expire(&self, expiry: &Expiry) {
        let mut state = lock(&self.state);
        if let Some(change) = state.roster.expire(expiry) {
            self.announce(&mut state, change);
        }
    }

    /// A change in who is online on this host: to the multi-host merge, or to the workers.
    fn announce(&self, state: &mut RelayState, change: Change) {
        match self.host_presence.get() {
            Some(merge) => {
                let _ = merge.send(change);
            }
            None => self.fan_out_presence(state, change),
        }
    }

    /// Sends a presence change to every worker, and remembers it for workers joining later.
    fn fan_out_presence(&self, state: &mut RelayState, change: Change) {
        let fresh = match &change {
            Change::Online(nickname) => state.announced.insert(nickname.clone()),
            Change::Offline(nickname) => state.announced.remove(nickname),
        };
        if !fresh {
            return;
        }
        let (nickname, online) = match change {
            Change::Online(nickname) => (nickname, true),
            Change::Offline(nickname) => (nickname, false),
        };
        let mut full = Vec::new();
        for (id, entry) in &state.workers {
            let frame = Frame::Presence {
                nickname: nickname.clone(),
                online,
            };
            if entry.outgoing.try_send(frame).is_err() {
                full.push(*id);
            }
        }
        self.cut_off(state, &full);
    }

    /// Adds `channel` to what worker `id` receives.
    pub fn subscribe(&self, id: u64, channel: String) {
        if let Some(entry) = lock(&self.state).workers.get_mut(&id) {
            entry.channels.insert(channel);
        }
    }

    /// Removes `channel` from what worker `id` receives.
    pub fn unsubscribe(&self, id: u64, channel: &str) {
        if let Some(entry) = lock(&self.state).workers.get_mut(&id) {
            entry.channels.remove(channel);
        }
    }

    /// Sends an adapter payload to every worker subscribed to `channel`, the publisher
    /// included (the adapter ignores its own requests, as with Redis).
    pub fn publish(&self, channel: &str, payload: Bytes) {
        let mut state = lock(&self.state);
        let mut full = Vec::new();
        for (id, entry) in state
            .workers
            .iter()
            .filter(|(_, e)| e.channels.contains(channel))
        {
            let frame = Frame::Message {
                channel: channel.to_owned(),
                payload: payload.clone(),
            };
            if entry.outgoing.try_send(frame).is_err() {
                full.push(*id);
            }
        }
        self.cut_off(&mut state, &full);
    }

    /// How many workers subscribe to `channel`.
    pub fn count_subscribers(&self, channel: &str) -> u16 {
        let state = lock(&self.state);
        state
            .workers
            .values()
            .filter(|e| e.channels.contains(channel))
            .count() as u16
    }

    /// Worker connections cut off so far for being too slow.
    pub fn cut_offs(&self) -> u64 {
        self.cut_offs.load(Ordering::Relaxed)
    }

    fn cut_off(&self, state: &mut RelayState, ids: &[u64]) {
        for id in ids {
            if let Some(entry) = state.workers.remove(id) {
                let total = self.cut_offs.fetch_add(1, Ordering::Relaxed) + 1;
                self.metrics.workers_cut_off.inc();
                tracing::warn!(
                    worker = entry.index,
                    total,
                    "worker queue full: cutting it off (it restarts; its clients replay)"
                );
                entry.kick.notify_one();
            }
        }
    }
}

impl CommitSink for Relay {
    async fn publish(&self, messages: &[StoredMessage]) {
        let Some(last) = messages.last() else { return };
        let mut state = lock(&self.state);
        state.last_committed = last.id;
        let shared: Arc<[StoredMessage]> = messages.into();
        let mut full = Vec::new();
        for (id, entry) in &state.workers {
            let frame = Frame::Committed {
                messages: shared.clone(),
            };
            if entry.outgoing.try_send(frame).is_err() {
                full.push(*id);
            }
        }
        self.cut_off(&mut state, &full);
    }
}
