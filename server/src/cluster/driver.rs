//! The adapter's transport: socketioxide-redis's remote adapter over a pluggable [`Driver`].
//!
//! [`ClusterDriver::Ipc`] carries adapter traffic through the primary (a pub/sub relay), so
//! broadcasts, rooms, `fetch_sockets` and the server count work across workers.
//! [`ClusterDriver::Solo`] is a single server with no peers. The adapter type is the same
//! either way ([`ChatAdapter`]), and a Redis driver can be added beside them unchanged.

use socketioxide::adapter::Emitter;
use socketioxide_redis::CustomRedisAdapter;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};

use super::link::{LinkError, PrimaryLink};

/// The Socket.IO adapter every server uses.
pub type ChatAdapter = CustomRedisAdapter<Emitter, ClusterDriver>;

/// How adapter messages reach the other servers.
#[derive(Clone)]
pub enum ClusterDriver {
    /// No other servers.
    Solo,
    /// Other workers, through the primary.
    Ipc(PrimaryLink),
}

impl Driver for ClusterDriver {
    type Error = LinkError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        match self {
            Self::Solo => Ok(()),
            Self::Ipc(link) => link.publish(chan, val).await,
        }
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        match self {
            Self::Solo => Ok(MessageStream::new_empty()),
            Self::Ipc(link) => Ok(MessageStream::new(link.subscribe(chan, size).await?)),
        }
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        match self {
            Self::Solo => Ok(()),
            Self::Ipc(link) => link.unsubscribe(chan).await,
        }
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        match self {
            Self::Solo => Ok(1),
            Self::Ipc(link) => link.count_subscribers(chan).await,
        }
    }
}
