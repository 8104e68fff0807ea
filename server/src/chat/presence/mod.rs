//! Who is online: one [`Roster`] for the whole server (in the primary, or in a single
//! server's process) decides when a user comes online (their first socket anywhere) and goes
//! offline (their last socket closed and stayed closed for a grace period, so a reload or a
//! reconnect is not announced); each process's [`Presence`] mirrors the list and tells its
//! sockets: `user joined` / `user left` `{ nickname }`, `user renamed` `{ from, to }` (a
//! rename is one change, not a join and a leave), and `users` (ack: the list).
//!
//! A crowd is counted, not announced: beyond `announce_max` people online, arrivals and
//! departures are no longer told to every socket (each connect would cost a message to
//! all: with N online, N² deliveries to fill the room), `users` lists the first
//! `announce_max` names with the whole count, and every [`COUNT_EVERY`] each process tells
//! its sockets the count (`users count`) if it changed by 1 % or more.
//!
//! The rules are [`roster`]'s; this module is each process's view and what it tells.

mod roster;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chat_protocol::acks::{UserEvent, UserRenamed, UsersCount, UsersOnline};
use chat_protocol::events::{USER_JOINED, USER_LEFT, USER_RENAMED, USERS_COUNT};
use socketioxide::SocketIo;

pub use roster::{Change, Expiry, HostRosters, Renaming, Roster};

use crate::adapter::ChatAdapter;
use crate::ipc::link::PrimaryLink;
use crate::sync::lock;

/// How often a process tells its sockets how many are online, while a crowd is counted.
pub const COUNT_EVERY: Duration = Duration::from_secs(5);

/// Where a process reports its sockets' comings and goings.
pub enum Uplink {
    /// This process holds the roster (a single server).
    Local(Mutex<Roster>),
    /// The primary holds it.
    Primary(PrimaryLink),
}

/// This process's view of who is online, and its sockets' reports.
pub struct Presence {
    me: Weak<Presence>,
    io: OnceLock<SocketIo<ChatAdapter>>,
    users: Mutex<BTreeSet<String>>,
    uplink: Uplink,
    grace: Duration,
    announce_max: usize,
}

impl Presence {
    /// A presence reporting to `uplink`; a user is announced gone `grace` after their last
    /// socket closed (if none came back); people are announced one by one up to
    /// `announce_max` online, counted beyond.
    pub fn new(uplink: Uplink, grace: Duration, announce_max: usize) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            io: OnceLock::new(),
            users: Mutex::default(),
            uplink,
            grace,
            announce_max: announce_max.max(1),
        })
    }

    /// Announces through `io` from now on, and starts telling the count to a crowd. Call
    /// once, before sockets connect, inside the runtime.
    pub fn attach(&self, io: SocketIo<ChatAdapter>) {
        let _ = self.io.set(io);
        let me = self.me.clone();
        tokio::spawn(async move {
            let mut told = 0;
            let mut every = tokio::time::interval(COUNT_EVERY);
            loop {
                every.tick().await;
                let Some(me) = me.upgrade() else { return };
                let count = lock(&me.users).len();
                // A change of at least 1 % (a crowd of 100,000 is not told of each of its
                // comings and goings: each telling is a message to everyone).
                if count > me.announce_max && count.abs_diff(told) * 100 >= told.max(1) {
                    told = count;
                    if let Some(io) = me.io.get() {
                        let _ = io.local().emit(USERS_COUNT, &UsersCount { count }).await;
                    }
                } else if count <= me.announce_max {
                    told = 0;
                }
            }
        });
    }

    /// A socket of `nickname` connected.
    pub async fn joined(&self, nickname: &str) {
        match &self.uplink {
            Uplink::Local(roster) => {
                let change = lock(roster).join(0, nickname);
                if let Some(change) = change {
                    self.apply(change).await;
                }
            }
            Uplink::Primary(link) => link.presence(nickname, true).await,
        }
    }

    /// A socket of `nickname` disconnected.
    pub async fn left(&self, nickname: &str) {
        match &self.uplink {
            Uplink::Local(roster) => {
                let expiry = lock(roster).leave(0, nickname);
                self.expire_later(expiry);
            }
            Uplink::Primary(link) => link.presence(nickname, false).await,
        }
    }

    /// A socket of `from` is now named `to`.
    pub async fn renamed(&self, from: &str, to: &str) {
        match &self.uplink {
            Uplink::Local(roster) => {
                let Renaming { change, expiry } = lock(roster).rename(0, from, to);
                if let Some(change) = change {
                    self.apply(change).await;
                }
                self.expire_later(expiry);
            }
            Uplink::Primary(link) => link.rename(from, to).await,
        }
    }

    /// Announces the user of `expiry` gone after the grace period if they still have no
    /// socket (a single server's roster).
    fn expire_later(&self, expiry: Option<Expiry>) {
        let (Some(expiry), Some(me)) = (expiry, self.me.upgrade()) else {
            return;
        };
        tokio::spawn(async move {
            tokio::time::sleep(me.grace).await;
            let change = match &me.uplink {
                Uplink::Local(roster) => lock(roster).expire(&expiry),
                Uplink::Primary(_) => None,
            };
            if let Some(change) = change {
                me.apply(change).await;
            }
        });
    }

    /// Records a change decided by the roster and tells this process's sockets.
    pub async fn apply(&self, change: Change) {
        let told = {
            let mut users = lock(&self.users);
            let before = users.len();
            let told = change.apply_to(&mut users);
            // A crowd, before or after: counted, not announced.
            let crowd = before.max(users.len()) > self.announce_max;
            told.filter(|_| !crowd)
        };
        let (Some(told), Some(io)) = (told, self.io.get()) else {
            return;
        };
        let sent = match told {
            Change::Online(nickname) => io.local().emit(USER_JOINED, &UserEvent { nickname }).await,
            Change::Offline(nickname) => io.local().emit(USER_LEFT, &UserEvent { nickname }).await,
            Change::Renamed { from, to } => {
                io.local()
                    .emit(USER_RENAMED, &UserRenamed { from, to })
                    .await
            }
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "presence event not queued for some sockets");
        }
    }

    /// Whether `nickname` is online now.
    pub fn is_online(&self, nickname: &str) -> bool {
        lock(&self.users).contains(nickname)
    }

    /// Who is online now: the first `announce_max` names (sorted) and how many in all.
    pub fn online(&self) -> UsersOnline {
        let users = lock(&self.users);
        UsersOnline {
            count: users.len(),
            users: users.iter().take(self.announce_max).cloned().collect(),
        }
    }
}
