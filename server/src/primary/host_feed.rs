//! The primary's feed of committed messages: its own commits and, with `--adapter redis`,
//! those of the other hosts, handed to the relay strictly in id order.
//!
//! Ids are the global order (the store commits them in order, see `store::postgres`), so a
//! batch whose first id is not the next expected one means some commits have not arrived
//! yet (another host's publication is slower than this host's commit): those messages are
//! already committed, so they are read from the store and relayed first. Anything at or
//! below the last relayed id has been relayed already and is dropped. Every host therefore
//! relays the same sequence, with no gap and no duplicate, whatever order the Redis
//! publications arrive in.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use socketioxide_redis::drivers::Driver;
use socketioxide_redis::drivers::redis::RedisDriver;
use tokio::sync::Mutex;

use super::relay::Relay;
use crate::chat::sequencer::CommitSink;
use crate::domain::ServerOffset;
use crate::ipc::frame::Frame;
use crate::store::{ChannelFilter, Store, StoredMessage};

/// The Redis channel every host publishes its commits on.
pub const COMMITTED_CHANNEL: &str = "chat:committed";

/// The Redis channel every host publishes who is online on it.
pub const PRESENCE_CHANNEL: &str = "chat:presence";

/// How often a host publishes its whole roster (and forgets silent hosts).
const ROSTER_EVERY: Duration = Duration::from_secs(2);

/// A host not heard from for this long is gone: its users are no longer online.
const HOST_TTL: Duration = Duration::from_secs(6);

/// What a host publishes on [`PRESENCE_CHANNEL`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum HostPresence {
    /// A user came online on `host`.
    Online { host: u64, nickname: String },
    /// A user went offline on `host`.
    Offline { host: u64, nickname: String },
    /// A user on `host` took another name.
    Renamed { host: u64, from: String, to: String },
    /// Everyone online on `host`.
    Roster { host: u64, users: Vec<String> },
}

/// How long to wait before reading a gap from the store again after a failure.
const GAP_RETRY: Duration = Duration::from_millis(200);

/// How often the Redis connection is checked.
const PING_EVERY: Duration = Duration::from_secs(1);

/// Failed checks in a row after which the connection counts as lost and is replaced.
const PINGS_LOST: u32 = 3;

/// Longest wait between attempts to reconnect to Redis.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Commits, local and remote, merged in id order into the relay.
pub struct HostFeed {
    relay: Arc<Relay>,
    store: Store,
    /// The Redis server of `--adapter`, if any.
    redis_url: Option<String>,
    /// The current connection to it (replaced when lost).
    bus: std::sync::Mutex<Option<RedisDriver>>,
    /// Bumped each time `bus` is replaced (subscribers of other channels resubscribe).
    bus_generation: std::sync::atomic::AtomicU64,
    /// The last id relayed.
    relayed: Mutex<ServerOffset>,
}

impl HostFeed {
    /// A feed that relays after `last_committed`; with `redis_url`, it also publishes local
    /// commits there and follows the other hosts' ([`Self::follow_other_hosts`]).
    pub fn new(
        relay: Arc<Relay>,
        store: Store,
        redis_url: Option<String>,
        last_committed: ServerOffset,
    ) -> Arc<Self> {
        Arc::new(Self {
            relay,
            store,
            redis_url,
            bus: std::sync::Mutex::new(None),
            bus_generation: std::sync::atomic::AtomicU64::new(0),
            relayed: Mutex::new(last_committed),
        })
    }

    /// Whether the Redis connection is up (`None` without `--adapter`).
    pub fn redis_connected(&self) -> Option<bool> {
        self.redis_url
            .as_ref()
            .map(|_| crate::sync::lock(&self.bus).is_some())
    }

    /// Relays whatever the store holds beyond the last relayed id (commits published while
    /// this host was not listening).
    async fn catch_up(&self) {
        let after = *self.relayed.lock().await;
        match self
            .store
            .messages_after(after, ChannelFilter::All, 4096)
            .await
        {
            Ok(missed) if !missed.is_empty() => self.deliver(&missed).await,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "catching up on other hosts' commits failed"),
        }
    }

    /// Relays what is new in `messages` (ascending ids), after reading any gap before them
    /// from the store.
    pub async fn deliver(&self, messages: &[StoredMessage]) {
        let mut relayed = self.relayed.lock().await;
        // Ids ascend, so what is new is a suffix: relayed as it is, without a copy.
        let Some(start) = messages.iter().position(|m| m.id > *relayed) else {
            return;
        };
        let fresh = &messages[start..];
        let first = &fresh[0];
        while first.id.0 > relayed.0 + 1 {
            let missing = (first.id.0 - relayed.0 - 1).min(512) as u32;
            match self
                .store
                .messages_after(*relayed, ChannelFilter::All, missing)
                .await
            {
                Ok(gap) if !gap.is_empty() => {
                    let gap: Vec<StoredMessage> =
                        gap.into_iter().filter(|m| m.id < first.id).collect();
                    if let Some(last) = gap.last() {
                        *relayed = last.id;
                        CommitSink::publish(&*self.relay, &gap).await;
                    }
                }
                Ok(_) => {
                    tracing::warn!(
                        after = relayed.0,
                        "a committed gap is not in the store yet; retrying"
                    );
                    tokio::time::sleep(GAP_RETRY).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading a gap of committed messages failed; retrying");
                    tokio::time::sleep(GAP_RETRY).await;
                }
            }
        }
        if let Some(last) = fresh.last() {
            *relayed = last.id;
        }
        CommitSink::publish(&*self.relay, fresh).await;
    }

    /// Relays the other hosts' commits as they are published, for as long as the primary
    /// runs: when the Redis connection is lost (checked every second) it reconnects with
    /// backoff, subscribes again and catches up from the store.
    pub async fn follow_other_hosts(self: Arc<Self>) {
        let Some(url) = self.redis_url.clone() else {
            return;
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let connected = async {
                let driver = crate::adapter::driver::connect_redis(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                let stream = driver
                    .subscribe(COMMITTED_CHANNEL.to_owned(), 4096)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((driver, stream))
            };
            let (driver, mut stream) = match connected.await {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, ?backoff, "cannot reach Redis; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RECONNECT_MAX);
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            *crate::sync::lock(&self.bus) = Some(driver.clone());
            self.bus_generation
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!("following the other hosts' commits on Redis");
            self.catch_up().await;
            let mut failed_pings = 0;
            let mut ping = tokio::time::interval(PING_EVERY);
            loop {
                tokio::select! {
                    item = stream.next() => match item {
                        Some((_, payload)) => {
                            let mut buf = BytesMut::from(&payload[..]);
                            match Frame::parse(&mut buf) {
                                Ok(Some(Frame::Committed { messages })) => self.deliver(&messages).await,
                                other => tracing::warn!(?other, "unexpected payload on the commits channel"),
                            }
                        }
                        None => break,
                    },
                    _ = ping.tick() => {
                        let alive = tokio::time::timeout(PING_EVERY, driver.num_serv(COMMITTED_CHANNEL)).await;
                        if matches!(alive, Ok(Ok(_))) {
                            failed_pings = 0;
                        } else {
                            failed_pings += 1;
                            if failed_pings >= PINGS_LOST {
                                break;
                            }
                        }
                    }
                }
            }
            *crate::sync::lock(&self.bus) = None;
            tracing::warn!("lost the Redis connection; reconnecting");
        }
    }
}

impl HostFeed {
    /// With several hosts: merges this host's presence changes (from the relay) with the
    /// other hosts' (on Redis) and tells the workers when someone comes online anywhere or
    /// is gone everywhere. Publishes this host's changes as they happen and its whole roster
    /// every [`ROSTER_EVERY`]; a host silent for [`HOST_TTL`] is forgotten.
    pub async fn merge_presence(self: Arc<Self>) {
        if self.redis_url.is_none() {
            return;
        }
        let (local_tx, mut local) = tokio::sync::mpsc::unbounded_channel();
        self.relay.merge_presence_into(local_tx);
        let own: u64 = rand_host_id();
        let mut rosters = crate::chat::presence::HostRosters::default();
        let mut remote: Option<
            socketioxide_redis::drivers::MessageStream<socketioxide_redis::drivers::ChanItem>,
        > = None;
        let mut subscribed_generation = 0;
        let mut tick = tokio::time::interval(ROSTER_EVERY);
        loop {
            let message = async {
                match remote.as_mut() {
                    Some(stream) => stream.next().await,
                    None => std::future::pending().await,
                }
            };
            let now = std::time::Instant::now();
            let changes = tokio::select! {
                change = local.recv() => {
                    let Some(change) = change else { return };
                    let published = match &change {
                        crate::chat::presence::Change::Online(nickname) => HostPresence::Online { host: own, nickname: nickname.clone() },
                        crate::chat::presence::Change::Offline(nickname) => HostPresence::Offline { host: own, nickname: nickname.clone() },
                        crate::chat::presence::Change::Renamed { from, to } => HostPresence::Renamed { host: own, from: from.clone(), to: to.clone() },
                    };
                    self.publish_presence(&published).await;
                    rosters.apply(own, &change, now)
                }
                item = message => match item {
                    Some((_, payload)) => match serde_json::from_slice::<HostPresence>(&payload) {
                        Ok(HostPresence::Online { host, nickname }) if host != own => rosters.apply(host, &crate::chat::presence::Change::Online(nickname), now),
                        Ok(HostPresence::Offline { host, nickname }) if host != own => rosters.apply(host, &crate::chat::presence::Change::Offline(nickname), now),
                        Ok(HostPresence::Renamed { host, from, to }) if host != own => rosters.apply(host, &crate::chat::presence::Change::Renamed { from, to }, now),
                        Ok(HostPresence::Roster { host, users }) if host != own => rosters.set_host(host, users.into_iter().collect(), now),
                        Ok(_) => Vec::new(),
                        Err(error) => {
                            tracing::warn!(%error, "unexpected payload on the presence channel");
                            Vec::new()
                        }
                    },
                    None => {
                        remote = None;
                        Vec::new()
                    }
                },
                _ = tick.tick() => {
                    let generation = self.bus_generation.load(std::sync::atomic::Ordering::Relaxed);
                    let bus = crate::sync::lock(&self.bus).clone();
                    if let Some(bus) = bus
                        && (remote.is_none() || generation != subscribed_generation)
                    {
                        match bus.subscribe(PRESENCE_CHANNEL.to_owned(), 4096).await {
                            Ok(stream) => {
                                remote = Some(stream);
                                subscribed_generation = generation;
                            }
                            Err(error) => tracing::warn!(%error, "cannot subscribe to the other hosts' presence"),
                        }
                    }
                    let users = self.relay.host_online();
                    self.publish_presence(&HostPresence::Roster { host: own, users: users.iter().cloned().collect() }).await;
                    let mut changes = rosters.set_host(own, users, now);
                    changes.extend(rosters.expire(own, HOST_TTL, now));
                    changes
                }
            };
            for change in changes {
                self.relay.announce_everywhere(change);
            }
        }
    }

    /// Publishes on the presence channel (best effort: the next roster repairs a loss).
    async fn publish_presence(&self, message: &HostPresence) {
        let bus = crate::sync::lock(&self.bus).clone();
        if let (Some(bus), Ok(payload)) = (bus, serde_json::to_vec(message))
            && let Err(error) = bus.publish(PRESENCE_CHANNEL.to_owned(), payload).await
        {
            tracing::debug!(%error, "publishing presence failed");
        }
    }
}

/// A random id for this primary among the hosts.
fn rand_host_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

impl CommitSink for HostFeed {
    async fn publish(&self, messages: &[StoredMessage]) {
        self.deliver(messages).await;
        let bus = crate::sync::lock(&self.bus).clone();
        if let Some(bus) = bus {
            let mut payload = BytesMut::new();
            Frame::Committed {
                messages: messages.into(),
            }
            .encode(&mut payload);
            if let Err(error) = bus
                .publish(COMMITTED_CHANNEL.to_owned(), payload.to_vec())
                .await
            {
                // The other hosts fill the gap from the store at their next commit.
                tracing::warn!(%error, "publishing a commit to the other hosts failed");
            }
        }
    }
}
