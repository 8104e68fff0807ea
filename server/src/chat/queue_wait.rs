//! Waiting for room in a socket's bounded queue: socketioxide only says "full", so whoever
//! must not drop a packet (a replay row, an ack) polls with a growing delay, and gives up
//! once the client has read nothing for [`STALL_LIMIT`].

use std::time::{Duration, Instant};

/// First wait before checking a full queue again; doubled up to [`QUEUE_POLL_MAX`].
const QUEUE_POLL: Duration = Duration::from_millis(1);

/// Longest wait between checks of a full queue.
const QUEUE_POLL_MAX: Duration = Duration::from_millis(64);

/// Longest anyone waits on a client that does not read.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Waits between checks of a full queue: 1 ms, doubling to 64 ms, and says when
/// the queue has stayed full for [`STALL_LIMIT`].
#[derive(Debug)]
pub struct QueueBackoff {
    delay: Duration,
    since: Instant,
}

impl Default for QueueBackoff {
    fn default() -> Self {
        Self {
            delay: QUEUE_POLL,
            since: Instant::now(),
        }
    }
}

impl QueueBackoff {
    /// Sleeps for the next delay; returns true once the queue has been full for too long.
    pub async fn wait(&mut self) -> bool {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(QUEUE_POLL_MAX);
        self.since.elapsed() > STALL_LIMIT
    }
}
