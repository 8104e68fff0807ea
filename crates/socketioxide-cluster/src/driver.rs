//! [`ClusterDriver`]: socketioxide-redis's [`Driver`] over a worker's link, so that its
//! whole remote adapter (broadcasts, acks, rooms, `fetch_sockets`, remote disconnects)
//! works across a host's workers with the primary standing in for Redis.
//!
//! The primary's relay has the pub/sub semantics the adapter expects of Redis: a publish
//! reaches every subscriber of the channel, the publisher included, and the number of
//! subscribers to the request channel is the number of servers (so a worker that has gone
//! is no longer waited for).

use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};

use crate::worker::{LinkError, WorkerLink};

/// The adapter's transport through the primary. Cheap to clone; clones share the link.
#[derive(Clone, Debug)]
pub struct ClusterDriver {
    link: WorkerLink,
}

impl ClusterDriver {
    /// The driver over `link` (also [`WorkerLink::driver`]).
    pub fn new(link: WorkerLink) -> Self {
        Self { link }
    }

    /// The link this driver sends through.
    pub fn link(&self) -> &WorkerLink {
        &self.link
    }
}

impl WorkerLink {
    /// The adapter transport over this link, for [`crate::adapter_ctr`] or for
    /// socketioxide-redis's `RedisAdapterCtr::new_with_driver`. (Defined here, beside the
    /// driver, so that the link does not depend on the adapter built on it.)
    pub fn driver(&self) -> ClusterDriver {
        ClusterDriver::new(self.clone())
    }
}

impl Driver for ClusterDriver {
    type Error = LinkError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.link.publish(chan, val).await
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        Ok(MessageStream::new(self.link.subscribe(chan, size).await?))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.link.unsubscribe(chan).await
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        self.link.count_subscribers(chan).await
    }
}
