//! Who is online: one [`Roster`] for the whole server (in the primary, or in a single
//! server's process) decides when a user comes online (their first socket anywhere) and goes
//! offline (their last socket closed and stayed closed for a grace period, so a reload or a
//! reconnect is not announced); each process's [`Presence`] mirrors the list and tells its
//! sockets: `user joined` / `user left` `{ nickname }`, and `users` (ack: the list).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chat_protocol::acks::{UserEvent, UsersOnline};
use chat_protocol::events::{USER_JOINED, USER_LEFT};
use socketioxide::SocketIo;

use crate::adapter::ChatAdapter;
use crate::ipc::link::PrimaryLink;
use crate::sync::lock;

/// A change in who is online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The user's first socket connected.
    Online(String),
    /// The user's last socket is gone.
    Offline(String),
}

/// One user's sockets, by source (a worker connection; 0 in a single server).
#[derive(Debug, Default)]
struct UserEntry {
    sockets: HashMap<u64, u32>,
    total: u32,
    /// Bumped each time the count drops to zero; an expiry only applies to its generation.
    generation: u64,
}

/// The authority on who is online.
#[derive(Debug, Default)]
pub struct Roster {
    users: HashMap<String, UserEntry>,
}

/// A pending "gone offline" check: the user, and the generation it applies to.
pub type Expiry = (String, u64);

impl Roster {
    /// One more socket of `nickname` from `source`; `Some` when the user just came online.
    pub fn join(&mut self, source: u64, nickname: &str) -> Option<Change> {
        let is_new = !self.users.contains_key(nickname);
        let entry = self.users.entry(nickname.to_owned()).or_default();
        *entry.sockets.entry(source).or_default() += 1;
        entry.total += 1;
        is_new.then(|| Change::Online(nickname.to_owned()))
    }

    /// One socket of `nickname` from `source` closed; `Some` when it was the user's last, to
    /// be checked with [`Self::expire`] after the grace period.
    pub fn leave(&mut self, source: u64, nickname: &str) -> Option<Expiry> {
        let entry = self.users.get_mut(nickname)?;
        let from_source = entry.sockets.get_mut(&source)?;
        *from_source -= 1;
        if *from_source == 0 {
            entry.sockets.remove(&source);
        }
        entry.total -= 1;
        (entry.total == 0).then(|| {
            entry.generation += 1;
            (nickname.to_owned(), entry.generation)
        })
    }

    /// Every socket from `source` is gone (a worker died): the users it leaves without a
    /// socket, to expire.
    pub fn drop_source(&mut self, source: u64) -> Vec<Expiry> {
        let mut expiries = Vec::new();
        for (nickname, entry) in &mut self.users {
            if let Some(n) = entry.sockets.remove(&source) {
                entry.total -= n;
                if entry.total == 0 {
                    entry.generation += 1;
                    expiries.push((nickname.clone(), entry.generation));
                }
            }
        }
        expiries
    }

    /// After the grace period: `Some` if the user still has no socket.
    pub fn expire(&mut self, (nickname, generation): &Expiry) -> Option<Change> {
        let entry = self.users.get(nickname)?;
        if entry.total > 0 || entry.generation != *generation {
            return None;
        }
        self.users.remove(nickname);
        Some(Change::Offline(nickname.clone()))
    }

    /// Everyone online, sorted.
    pub fn online(&self) -> Vec<String> {
        let mut users: Vec<String> = self.users.keys().cloned().collect();
        users.sort();
        users
    }
}

/// Who is online on each host, for several hosts (`--adapter`): each primary's roster says
/// who is online on its host; a user is online when online on any host whose roster was
/// heard from within the time to live (a host that stops publishing drops out).
#[derive(Debug, Default)]
pub struct HostRosters {
    hosts: HashMap<u64, (BTreeSet<String>, std::time::Instant)>,
}

impl HostRosters {
    /// Everyone online on some host.
    pub fn union(&self) -> BTreeSet<String> {
        self.hosts
            .values()
            .flat_map(|(users, _)| users.iter().cloned())
            .collect()
    }

    /// Runs `update` on the rosters and returns the changes of the union it caused.
    fn changes(&mut self, update: impl FnOnce(&mut Self)) -> Vec<Change> {
        let before = self.union();
        update(self);
        let after = self.union();
        let online = after.difference(&before).cloned().map(Change::Online);
        let offline = before.difference(&after).cloned().map(Change::Offline);
        online.chain(offline).collect()
    }

    /// Host `host` has exactly `users` online (a snapshot), as of `now`.
    pub fn set_host(
        &mut self,
        host: u64,
        users: BTreeSet<String>,
        now: std::time::Instant,
    ) -> Vec<Change> {
        self.changes(|r| {
            r.hosts.insert(host, (users, now));
        })
    }

    /// One change on host `host`, as of `now`.
    pub fn apply(&mut self, host: u64, change: &Change, now: std::time::Instant) -> Vec<Change> {
        self.changes(|r| {
            let (users, seen) = r
                .hosts
                .entry(host)
                .or_insert_with(|| (BTreeSet::new(), now));
            *seen = now;
            match change {
                Change::Online(nickname) => users.insert(nickname.clone()),
                Change::Offline(nickname) => users.remove(nickname),
            };
        })
    }

    /// Forgets hosts not heard from for `ttl` (except `own`).
    pub fn expire(&mut self, own: u64, ttl: Duration, now: std::time::Instant) -> Vec<Change> {
        self.changes(|r| {
            r.hosts
                .retain(|host, (_, seen)| *host == own || now.duration_since(*seen) < ttl)
        })
    }
}

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
}

impl Presence {
    /// A presence reporting to `uplink`; a user is announced gone `grace` after their last
    /// socket closed (if none came back).
    pub fn new(uplink: Uplink, grace: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            io: OnceLock::new(),
            users: Mutex::default(),
            uplink,
            grace,
        })
    }

    /// Announces through `io` from now on. Call once, before sockets connect.
    pub fn attach(&self, io: SocketIo<ChatAdapter>) {
        let _ = self.io.set(io);
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

    /// A socket of `nickname` disconnected (or was renamed).
    pub async fn left(&self, nickname: &str) {
        match &self.uplink {
            Uplink::Local(roster) => {
                let expiry = lock(roster).leave(0, nickname);
                if let (Some(expiry), Some(me)) = (expiry, self.me.upgrade()) {
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
            }
            Uplink::Primary(link) => link.presence(nickname, false).await,
        }
    }

    /// Records a change decided by the roster and tells this process's sockets.
    pub async fn apply(&self, change: Change) {
        let (event, nickname) = {
            let mut users = lock(&self.users);
            match change {
                Change::Online(nickname) => {
                    if !users.insert(nickname.clone()) {
                        return;
                    }
                    (USER_JOINED, nickname)
                }
                Change::Offline(nickname) => {
                    if !users.remove(&nickname) {
                        return;
                    }
                    (USER_LEFT, nickname)
                }
            }
        };
        if let Some(io) = self.io.get()
            && let Err(error) = io.local().emit(event, &UserEvent { nickname }).await
        {
            tracing::debug!(%error, event, "presence event not queued for some sockets");
        }
    }

    /// Whether `nickname` is online now.
    pub fn is_online(&self, nickname: &str) -> bool {
        lock(&self.users).contains(nickname)
    }

    /// Who is online now.
    pub fn online(&self) -> UsersOnline {
        let users: Vec<String> = lock(&self.users).iter().cloned().collect();
        UsersOnline {
            count: users.len(),
            users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_online_while_online_on_any_live_host() {
        let t0 = std::time::Instant::now();
        let mut rosters = HostRosters::default();
        let ana = || Change::Online("ana".into());
        assert_eq!(rosters.apply(1, &ana(), t0), vec![ana()]);
        assert_eq!(rosters.apply(2, &ana(), t0), vec![]);
        assert_eq!(rosters.apply(1, &Change::Offline("ana".into()), t0), vec![]);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            rosters.set_host(1, BTreeSet::from(["bo".to_owned()]), later),
            vec![Change::Online("bo".into())]
        );
        // Host 2 went quiet: its users drop out, host 1 (own) stays.
        assert_eq!(
            rosters.expire(1, Duration::from_secs(6), later),
            vec![Change::Offline("ana".into())]
        );
        assert_eq!(rosters.union(), BTreeSet::from(["bo".to_owned()]));
    }

    #[test]
    fn a_user_is_online_from_the_first_socket_to_the_expiry_after_the_last() {
        let mut roster = Roster::default();
        assert_eq!(roster.join(1, "ana"), Some(Change::Online("ana".into())));
        assert_eq!(roster.join(2, "ana"), None);
        assert_eq!(roster.leave(1, "ana"), None);
        let expiry = roster.leave(2, "ana").expect("last socket");
        assert_eq!(roster.online(), vec!["ana".to_owned()]);
        assert_eq!(roster.expire(&expiry), Some(Change::Offline("ana".into())));
        assert!(roster.online().is_empty());
    }

    #[test]
    fn a_reconnect_within_the_grace_period_is_not_announced() {
        let mut roster = Roster::default();
        roster.join(1, "ana");
        let expiry = roster.leave(1, "ana").unwrap();
        assert_eq!(roster.join(2, "ana"), None);
        assert_eq!(roster.expire(&expiry), None);
        // A later expiry of an earlier generation does not apply either.
        let later = roster.leave(2, "ana").unwrap();
        assert_eq!(roster.expire(&expiry), None);
        assert_eq!(roster.expire(&later), Some(Change::Offline("ana".into())));
    }

    #[test]
    fn a_dead_source_takes_its_sockets_with_it() {
        let mut roster = Roster::default();
        roster.join(1, "ana");
        roster.join(1, "bo");
        roster.join(2, "bo");
        let expiries = roster.drop_source(1);
        assert_eq!(expiries.len(), 1);
        assert_eq!(
            roster.expire(&expiries[0]),
            Some(Change::Offline("ana".into()))
        );
        assert_eq!(roster.online(), vec!["bo".to_owned()]);
        assert_eq!(roster.leave(9, "bo"), None, "unknown source");
    }
}
