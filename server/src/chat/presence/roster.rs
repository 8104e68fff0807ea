//! The rules of who is online, without I/O: the [`Roster`] (one for the whole server, in
//! the primary or in a single server's process) decides when a user comes online (their
//! first socket anywhere), is renamed, and goes offline (their last socket closed and stayed
//! closed for a grace period); [`HostRosters`] merges the rosters of several hosts.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

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

impl Change {
    /// Applies the change to a list of who is online and returns what it changed there:
    /// itself, or for a rename only the half that was news (a join when the old name was
    /// not listed, a leave when the new one already was), or nothing.
    pub fn apply_to(self, online: &mut BTreeSet<String>) -> Option<Change> {
        match self {
            Change::Online(nickname) => online
                .insert(nickname.clone())
                .then_some(Change::Online(nickname)),
            Change::Offline(nickname) => online
                .remove(&nickname)
                .then_some(Change::Offline(nickname)),
            Change::Renamed { from, to } => {
                let gone = online.remove(&from);
                let new = online.insert(to.clone());
                match (gone, new) {
                    (true, true) => Some(Change::Renamed { from, to }),
                    (false, true) => Some(Change::Online(to)),
                    (true, false) => Some(Change::Offline(from)),
                    (false, false) => None,
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_applied_to_a_list_says_what_was_news() {
        let mut online = BTreeSet::from(["ana".to_owned()]);
        let rename = |from: &str, to: &str| Change::Renamed {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(Change::Online("ana".into()).apply_to(&mut online), None);
        assert_eq!(
            rename("ana", "bo").apply_to(&mut online),
            Some(rename("ana", "bo"))
        );
        assert_eq!(
            rename("cy", "bo").apply_to(&mut online),
            None,
            "neither half is news"
        );
        online.insert("cy".into());
        assert_eq!(
            rename("cy", "bo").apply_to(&mut online),
            Some(Change::Offline("cy".into()))
        );
        assert_eq!(
            rename("dan", "eve").apply_to(&mut online),
            Some(Change::Online("eve".into()))
        );
        assert_eq!(online, BTreeSet::from(["bo".to_owned(), "eve".to_owned()]));
    }

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
