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

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chat_protocol::acks::{UserEvent, UserRenamed, UsersCount, UsersOnline};
use chat_protocol::events::{USER_JOINED, USER_LEFT, USER_RENAMED, USERS_COUNT};
use socketioxide::SocketIo;

use crate::adapter::ChatAdapter;
use crate::ipc::link::PrimaryLink;
use crate::sync::lock;

/// How often a process tells its sockets how many are online, while a crowd is counted.
pub const COUNT_EVERY: Duration = Duration::from_secs(5);

/// A change in who is online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The user's first socket connected.
    Online(String),
    /// The user's last socket is gone.
    Offline(String),
    /// The only socket of `from` took the name `to`, which nobody had: `from` is gone at
    /// once and `to` is here, told as one change.
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
}

/// What a rename changed: one [`Change::Renamed`]; or, when other sockets keep the old
/// name or the new one was online already, what joining and leaving changed (the old
/// name's expiry, as for a closed socket).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Renaming {
    /// What to announce now.
    pub change: Option<Change>,
    /// What to expire after the grace period.
    pub expiry: Option<Expiry>,
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

    /// A socket of `from` on `source` is now named `to`.
    pub fn rename(&mut self, source: u64, from: &str, to: &str) -> Renaming {
        if from == to {
            return Renaming::default();
        }
        let only_socket = self
            .users
            .get(from)
            .is_some_and(|e| e.total == 1 && e.sockets.get(&source) == Some(&1));
        if only_socket && !self.users.contains_key(to) {
            self.users.remove(from);
            let _ = self.join(source, to);
            return Renaming {
                change: Some(Change::Renamed {
                    from: from.to_owned(),
                    to: to.to_owned(),
                }),
                expiry: None,
            };
        }
        Renaming {
            change: self.join(source, to),
            expiry: self.leave(source, from),
        }
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

    /// One change on host `host`, as of `now`. A rename stays one change when the union
    /// moved exactly as it says (no other host has either name).
    pub fn apply(&mut self, host: u64, change: &Change, now: std::time::Instant) -> Vec<Change> {
        let changes = self.changes(|r| {
            let (users, seen) = r
                .hosts
                .entry(host)
                .or_insert_with(|| (BTreeSet::new(), now));
            *seen = now;
            match change {
                Change::Online(nickname) => {
                    users.insert(nickname.clone());
                }
                Change::Offline(nickname) => {
                    users.remove(nickname);
                }
                Change::Renamed { from, to } => {
                    users.remove(from);
                    users.insert(to.clone());
                }
            };
        });
        match change {
            Change::Renamed { from, to }
                if changes.len() == 2
                    && changes.contains(&Change::Online(to.clone()))
                    && changes.contains(&Change::Offline(from.clone())) =>
            {
                vec![change.clone()]
            }
            _ => changes,
        }
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
            let told = match change {
                Change::Online(nickname) => users
                    .insert(nickname.clone())
                    .then_some(Told::Joined(nickname)),
                Change::Offline(nickname) => {
                    users.remove(&nickname).then_some(Told::Left(nickname))
                }
                Change::Renamed { from, to } => {
                    let gone = users.remove(&from);
                    let new = users.insert(to.clone());
                    match (gone, new) {
                        (true, true) => Some(Told::Renamed { from, to }),
                        (false, true) => Some(Told::Joined(to)),
                        (true, false) => Some(Told::Left(from)),
                        (false, false) => None,
                    }
                }
            };
            // A crowd, before or after: counted, not announced.
            let crowd = before.max(users.len()) > self.announce_max;
            told.filter(|_| !crowd)
        };
        let (Some(told), Some(io)) = (told, self.io.get()) else {
            return;
        };
        let sent = match told {
            Told::Joined(nickname) => io.local().emit(USER_JOINED, &UserEvent { nickname }).await,
            Told::Left(nickname) => io.local().emit(USER_LEFT, &UserEvent { nickname }).await,
            Told::Renamed { from, to } => {
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

/// What this process's sockets are told.
enum Told {
    Joined(String),
    Left(String),
    Renamed { from: String, to: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_is_one_change_unless_other_sockets_share_a_name() {
        let mut roster = Roster::default();
        roster.join(1, "guest-a1");
        let renamed = roster.rename(1, "guest-a1", "guest-b2");
        assert_eq!(
            renamed.change,
            Some(Change::Renamed {
                from: "guest-a1".into(),
                to: "guest-b2".into()
            })
        );
        assert_eq!(renamed.expiry, None, "the old name is gone at once");
        assert_eq!(roster.online(), ["guest-b2"]);
        // Another tab keeps the old name: the new one joins, the old one stays.
        roster.join(1, "guest-c3");
        roster.join(2, "guest-c3");
        let renaming = roster.rename(1, "guest-c3", "guest-d4");
        assert_eq!(renaming.change, Some(Change::Online("guest-d4".into())));
        assert_eq!(renaming.expiry, None);
        // To a name online already: nothing joins; the old one leaves after the grace.
        let renaming = roster.rename(2, "guest-c3", "guest-b2");
        assert_eq!(renaming.change, None);
        let expiry = renaming.expiry.expect("guest-c3's last socket");
        assert_eq!(
            roster.expire(&expiry),
            Some(Change::Offline("guest-c3".into()))
        );
        assert_eq!(
            roster.rename(1, "guest-b2", "guest-b2"),
            Renaming::default()
        );
    }

    #[test]
    fn a_rename_on_one_host_is_one_change_unless_another_host_has_either_name() {
        let t0 = std::time::Instant::now();
        let mut rosters = HostRosters::default();
        let rename = |from: &str, to: &str| Change::Renamed {
            from: from.into(),
            to: to.into(),
        };
        rosters.apply(1, &Change::Online("guest-a1".into()), t0);
        assert_eq!(
            rosters.apply(1, &rename("guest-a1", "guest-b2"), t0),
            vec![rename("guest-a1", "guest-b2")]
        );
        // guest-b2 is online on host 2 as well: for everyone, only guest-c3 came.
        rosters.apply(2, &Change::Online("guest-b2".into()), t0);
        assert_eq!(
            rosters.apply(1, &rename("guest-b2", "guest-c3"), t0),
            vec![Change::Online("guest-c3".into())]
        );
    }

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
