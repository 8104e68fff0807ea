//! The primary's fan-out to its workers: committed messages in offset order and who is
//! online, sent to every worker as the chat's frames over its cluster link
//! ([`socketioxide_cluster::WorkerHandle`]), plus the roster of this host's sockets.
//!
//! Each worker's queue is bounded (the crate's). A worker whose queue is full is cut off
//! rather than waited for (a slow worker must not stall the others) or silently skipped (its
//! clients would miss messages): it exits, is restarted, and its clients reconnect and
//! replay. A committed batch is encoded once and the same bytes are queued to every worker.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use socketioxide_cluster::WorkerHandle;
use tokio::sync::mpsc;

use crate::chat::presence::{Change, Expiry, Roster};
use crate::chat::sequencer::CommitSink;
use crate::domain::ServerOffset;
use crate::ipc::frame::Frame;
use crate::store::StoredMessage;
use crate::sync::lock;

struct RelayState {
    last_committed: ServerOffset,
    /// The workers in the fan-out, by connection id.
    workers: HashMap<u64, WorkerHandle>,
    /// Who is online on this host, by worker connection.
    roster: Roster,
    /// Who the workers were told is online (everywhere, with several hosts).
    announced: BTreeSet<String>,
}

/// The primary's fan-out to its workers, and this host's roster.
pub struct Relay {
    state: Mutex<RelayState>,
    /// With several hosts, this host's presence changes go here (to be merged with the
    /// other hosts' before the workers hear of them); otherwise straight to the workers.
    host_presence: OnceLock<mpsc::UnboundedSender<Change>>,
}

impl Relay {
    /// A relay whose workers' feeds start after `last_committed`.
    pub fn new(last_committed: ServerOffset) -> Self {
        Self {
            state: Mutex::new(RelayState {
                last_committed,
                workers: HashMap::new(),
                roster: Roster::default(),
                announced: BTreeSet::new(),
            }),
            host_presence: OnceLock::new(),
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
        Self::fan_out_presence(&mut state, change);
    }

    /// Adds a worker to the fan-out: queues its `Welcome` (the offset its feed starts
    /// after) and who is online, atomically with joining, so it misses no commit and sees
    /// none twice.
    pub fn join(&self, worker: &WorkerHandle) {
        let mut state = lock(&self.state);
        let welcome = Frame::Welcome {
            last_committed: state.last_committed,
        };
        let mut queued = worker.send_or_cut_off(welcome.to_payload());
        // Then who is online, before any later change: the worker's view starts complete.
        for nickname in state.announced.iter().cloned() {
            let frame = Frame::Presence {
                nickname,
                online: true,
            };
            queued = queued && worker.send_or_cut_off(frame.to_payload());
        }
        if queued {
            state.workers.insert(worker.id(), worker.clone());
        }
    }

    /// Forgets worker connection `id`. Returns the users it leaves without a socket, to
    /// [`Self::expire`] after the grace period.
    pub fn leave(&self, id: u64) -> Vec<Expiry> {
        let mut state = lock(&self.state);
        state.workers.remove(&id);
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

    /// A socket on worker connection `id` renamed from `from` to `to`. Announces what it
    /// changed at once; returns the old name's expiry when other names kept it waiting.
    pub fn rename_report(&self, id: u64, from: &str, to: &str) -> Option<Expiry> {
        let mut state = lock(&self.state);
        let renaming = state.roster.rename(id, from, to);
        if let Some(change) = renaming.change {
            self.announce(&mut state, change);
        }
        renaming.expiry
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
            None => Self::fan_out_presence(state, change),
        }
    }

    /// Sends a presence change to every worker, and remembers it for workers joining later.
    fn fan_out_presence(state: &mut RelayState, change: Change) {
        let frame = match change.apply_to(&mut state.announced) {
            Some(Change::Online(nickname)) => Frame::Presence {
                nickname,
                online: true,
            },
            Some(Change::Offline(nickname)) => Frame::Presence {
                nickname,
                online: false,
            },
            Some(Change::Renamed { from, to }) => Frame::Renamed { from, to },
            None => return,
        };
        Self::fan_out(state, frame);
    }

    /// Queues `frame`, encoded once, to every worker; cuts off (and forgets) those whose
    /// queue is full.
    fn fan_out(state: &mut RelayState, frame: Frame) {
        let payload = frame.to_payload();
        state
            .workers
            .retain(|_, worker| worker.send_or_cut_off(payload.clone()));
    }
}

impl CommitSink for Relay {
    async fn publish(&self, messages: &[StoredMessage]) {
        let Some(last) = messages.last() else { return };
        let mut state = lock(&self.state);
        state.last_committed = last.id;
        let frame = Frame::Committed {
            messages: Arc::from(messages),
        };
        Self::fan_out(&mut state, frame);
    }
}
