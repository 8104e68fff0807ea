//! What a worker does with what its primary sends ([`crate::ipc::link::PrimaryEvents`]):
//! committed messages go to its feed, presence changes to its presence.

use std::sync::Arc;

use super::feed::Feed;
use super::presence::{Change, Presence};
use crate::ipc::link::PrimaryEvents;
use crate::store::StoredMessage;

/// A worker's sinks for its primary's frames.
pub struct FromPrimary {
    /// Where committed messages go.
    pub feed: Arc<Feed>,
    /// Where presence changes go.
    pub presence: Arc<Presence>,
}

impl PrimaryEvents for FromPrimary {
    async fn committed(&self, messages: Arc<[StoredMessage]>) {
        self.feed.publish(&messages).await;
    }

    async fn presence(&self, nickname: String, online: bool) {
        let change = if online {
            Change::Online(nickname)
        } else {
            Change::Offline(nickname)
        };
        self.presence.apply(change).await;
    }

    async fn renamed(&self, from: String, to: String) {
        self.presence.apply(Change::Renamed { from, to }).await;
    }
}
