//! The adapter's transport: socketioxide-redis's remote adapter over a pluggable [`Driver`].
//!
//! [`ClusterDriver::Ipc`] is the cluster adapter crate's driver ([`socketioxide_cluster`]):
//! adapter traffic goes through the primary (a pub/sub relay), so broadcasts, rooms,
//! `fetch_sockets` and the server count work across workers. [`ClusterDriver::Solo`] is a
//! single server with no peers. [`ClusterDriver::Redis`] is socketioxide-redis's own Redis
//! driver (`--adapter redis://…`): every worker of every host joins one adapter. The
//! adapter is the same in all three cases ([`super::ChatAdapter`]).

use socketioxide_redis::drivers::redis::{RedisDriver, RedisError, redis_client};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};

/// Why the adapter's transport failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The link to the primary.
    #[error(transparent)]
    Link(#[from] socketioxide_cluster::LinkError),
    /// Redis.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
}

/// Connects socketioxide-redis's driver to the Redis at `url`, with RESP3 (its pub/sub
/// messages arrive as RESP3 pushes).
pub async fn connect_redis(url: &str) -> Result<RedisDriver, redis_client::RedisError> {
    let url = if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    };
    let client = redis_client::Client::open(url)?;
    RedisDriver::new(&client).await
}

/// Returns once the Redis connection of `driver` is lost: three failed checks in a row, one
/// a second. socketioxide-redis's connection does not come back by itself (nor do its
/// subscriptions), so a worker then stops and its supervisor starts a fresh one, which
/// connects again (with backoff while Redis is down); its clients reconnect and replay.
pub async fn redis_lost(driver: RedisDriver) {
    let mut failures = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let check = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            driver.num_serv("socket.io#/#"),
        )
        .await;
        if matches!(check, Ok(Ok(_))) {
            failures = 0;
        } else {
            failures += 1;
            if failures >= 3 {
                return;
            }
        }
    }
}

/// How adapter messages reach the other servers.
#[derive(Clone)]
pub enum ClusterDriver {
    /// No other servers.
    Solo,
    /// Other workers, through the primary.
    Ipc(socketioxide_cluster::ClusterDriver),
    /// Every worker of every host, through Redis.
    Redis(RedisDriver),
}

impl Driver for ClusterDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        match self {
            Self::Solo => Ok(()),
            Self::Ipc(cluster) => Ok(cluster.publish(chan, val).await?),
            Self::Redis(redis) => Ok(redis.publish(chan, val).await?),
        }
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        match self {
            Self::Solo => Ok(MessageStream::new_empty()),
            Self::Ipc(cluster) => Ok(cluster.subscribe(chan, size).await?),
            Self::Redis(redis) => Ok(redis.subscribe(chan, size).await?),
        }
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        match self {
            Self::Solo => Ok(()),
            Self::Ipc(cluster) => Ok(cluster.unsubscribe(chan).await?),
            Self::Redis(redis) => Ok(redis.unsubscribe(chan).await?),
        }
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        match self {
            Self::Solo => Ok(1),
            Self::Ipc(cluster) => Ok(cluster.num_serv(chan).await?),
            Self::Redis(redis) => Ok(redis.num_serv(chan).await?),
        }
    }
}
