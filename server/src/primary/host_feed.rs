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
use crate::cluster::frame::Frame;
use crate::domain::ServerOffset;
use crate::store::{Store, StoredMessage};

/// The Redis channel every host publishes its commits on.
pub const COMMITTED_CHANNEL: &str = "chat:committed";

/// How long to wait before reading a gap from the store again after a failure.
const GAP_RETRY: Duration = Duration::from_millis(200);

/// Commits, local and remote, merged in id order into the relay.
pub struct HostFeed {
    relay: Arc<Relay>,
    store: Store,
    bus: Option<RedisDriver>,
    /// The last id relayed.
    relayed: Mutex<ServerOffset>,
}

impl HostFeed {
    /// A feed that relays after `last_committed`, publishing local commits on `bus`.
    pub fn new(
        relay: Arc<Relay>,
        store: Store,
        bus: Option<RedisDriver>,
        last_committed: ServerOffset,
    ) -> Arc<Self> {
        Arc::new(Self {
            relay,
            store,
            bus,
            relayed: Mutex::new(last_committed),
        })
    }

    /// Relays what is new in `messages` (ascending ids), after reading any gap before them
    /// from the store.
    pub async fn deliver(&self, messages: &[StoredMessage]) {
        let mut relayed = self.relayed.lock().await;
        let fresh: Vec<StoredMessage> = messages
            .iter()
            .filter(|m| m.id > *relayed)
            .cloned()
            .collect();
        let Some(first) = fresh.first() else { return };
        while first.id.0 > relayed.0 + 1 {
            let missing = (first.id.0 - relayed.0 - 1).min(512) as u32;
            match self.store.messages_after(*relayed, missing).await {
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
        CommitSink::publish(&*self.relay, &fresh).await;
    }

    /// Relays the other hosts' commits as they are published, until the subscription ends.
    pub async fn follow_other_hosts(self: Arc<Self>) {
        let Some(bus) = self.bus.clone() else { return };
        let mut stream = match bus.subscribe(COMMITTED_CHANNEL.to_owned(), 4096).await {
            Ok(stream) => stream,
            Err(error) => {
                tracing::error!(%error, "cannot subscribe to other hosts' commits");
                return;
            }
        };
        while let Some((_, payload)) = stream.next().await {
            let mut buf = BytesMut::from(&payload[..]);
            match Frame::parse(&mut buf) {
                Ok(Some(Frame::Committed { messages })) => self.deliver(&messages).await,
                other => tracing::warn!(?other, "unexpected payload on the commits channel"),
            }
        }
        tracing::warn!("the commits subscription ended");
    }
}

impl CommitSink for HostFeed {
    async fn publish(&self, messages: &[StoredMessage]) {
        self.deliver(messages).await;
        if let Some(bus) = &self.bus {
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
