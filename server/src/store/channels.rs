//! Channels in the [`Store`]: which exist, who is in each, and how far each member has read.
//!
//! Membership and read markers live here, in the shared database, so that every worker and
//! every host agrees on them (a socket's live membership is its rooms, set from here when it
//! connects; see `chat::rooms`). Unread counts are computed from the messages themselves
//! (those after the member's `last_read` seq, by others), never kept as counters that could
//! drift. `#general` ([`ChannelId::GENERAL`]) is everyone's: an account's row in it is made
//! when it first connects ([`Store::ensure_general_member`]).

use chat_protocol::channels::{ChannelInfo, ChannelName, ChannelTopic, JoinableChannel};

use super::{AccountId, Store, StoreError};
use crate::domain::ChannelId;

/// A channel as the server checks requests against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// Its name (lowercase, no `#`).
    pub name: String,
    /// Whether only invited members may join.
    pub private: bool,
    /// Whether it is the direct channel of two accounts (a private conversation: nobody
    /// joins or is invited, neither leaves, it has no topic).
    pub direct: bool,
    /// Its topic.
    pub topic: String,
}

impl Channel {
    /// How a refusal names it: `#name`, or "that private conversation" for a direct channel
    /// (whose stored name is a key, not a name).
    pub fn label(&self) -> String {
        if self.direct {
            "that private conversation".to_owned()
        } else {
            format!("#{}", self.name)
        }
    }
}

/// The direct channel of two accounts, as [`Store::direct_channel`] found or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectChannel {
    /// Its id.
    pub id: ChannelId,
    /// Whether this call made it (and made both accounts its members).
    pub created: bool,
}

/// The `name_key` of the direct channel of `a` and `b`: `direct:<lower id>:<higher id>`, a
/// key no channel name can take (names have no `:`), the same for either order.
pub fn direct_key(a: AccountId, b: AccountId) -> String {
    let (low, high) = if a.0 <= b.0 { (a.0, b.0) } else { (b.0, a.0) };
    format!("direct:{low}:{high}")
}

/// A new channel's settings.
#[derive(Debug, Clone)]
pub struct NewChannel<'a> {
    /// Its name.
    pub name: &'a ChannelName,
    /// Whether only invited members may join.
    pub private: bool,
    /// Its topic.
    pub topic: &'a ChannelTopic,
    /// Who creates it (its first member).
    pub creator: AccountId,
}

/// Dispatches to the database's own implementation.
macro_rules! each_store {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Self::Sqlite($store) => $call,
            Self::Postgres($store) => $call,
        }
    };
}

/// The channel operations. Times are unix milliseconds.
impl Store {
    /// Creates a channel with its creator as its first member; `None` when the name is
    /// taken (in any case: names are stored folded).
    pub async fn create_channel(
        &self,
        channel: &NewChannel<'_>,
        now: i64,
    ) -> Result<Option<ChannelId>, StoreError> {
        each_store!(self, store => store.create_channel(channel, now).await)
    }

    /// The direct channel of `a` and `b` (a conversation with oneself when they are the
    /// same), made with both as its members, having read nothing, unless it exists. Every
    /// `private message` asks: an existing one is found by a read, so only a pair's first
    /// message takes the write lock for it.
    pub async fn direct_channel(
        &self,
        a: AccountId,
        b: AccountId,
        now: i64,
    ) -> Result<DirectChannel, StoreError> {
        let key = direct_key(a, b);
        if let Some(id) = each_store!(self, store => store.channel_by_key(&key).await)? {
            return Ok(DirectChannel { id, created: false });
        }
        each_store!(self, store => store.direct_channel(a, b, now).await)
    }

    /// The channel `id`, if it exists.
    pub async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        each_store!(self, store => store.channel(id).await)
    }

    /// Makes `account` a member of `channel`, having read everything in it so far (a new
    /// member starts with nothing unread). `false` when it was a member already.
    pub async fn add_member(
        &self,
        channel: ChannelId,
        account: AccountId,
        now: i64,
    ) -> Result<bool, StoreError> {
        each_store!(self, store => store.add_member(channel, account, now).await)
    }

    /// Makes an account a member of `#general` unless it is (its first connection).
    pub async fn ensure_general_member(
        &self,
        account: AccountId,
        now: i64,
    ) -> Result<(), StoreError> {
        self.add_member(ChannelId::GENERAL, account, now)
            .await
            .map(drop)
    }

    /// Ends `account`'s membership of `channel`; `false` when it was not a member.
    pub async fn remove_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        each_store!(self, store => store.remove_member(channel, account).await)
    }

    /// Whether `account` is a member of `channel`.
    pub async fn is_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        each_store!(self, store => store.is_member(channel, account).await)
    }

    /// The ids of the channels `account` is in.
    pub async fn channel_ids_of(&self, account: AccountId) -> Result<Vec<ChannelId>, StoreError> {
        each_store!(self, store => store.channel_ids_of(account).await)
    }

    /// The channels `account` is in, as it sees them (`#general` first, then the others by
    /// name, then its direct channels by the other account's name): with their latest seq,
    /// its read marker and its unread and mention counts.
    /// `username` is the account's name, whose own messages are never unread.
    pub async fn channels_of(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<Vec<ChannelInfo>, StoreError> {
        each_store!(self, store => store.channels_of(account, username).await)
    }

    /// The public channels `account` is not in, by name, with their member counts.
    pub async fn joinable_channels(
        &self,
        account: AccountId,
    ) -> Result<Vec<JoinableChannel>, StoreError> {
        each_store!(self, store => store.joinable_channels(account).await)
    }

    /// The usernames of `channel`'s members, sorted case-insensitively.
    pub async fn members(&self, channel: ChannelId) -> Result<Vec<String>, StoreError> {
        each_store!(self, store => store.members(channel).await)
    }

    /// Moves `account`'s read marker in `channel` forward to `seq` (never back, never past
    /// the channel's latest message). Returns the marker now; `None` when not a member.
    pub async fn mark_read(
        &self,
        channel: ChannelId,
        account: AccountId,
        seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        each_store!(self, store => store.mark_read(channel, account, seq).await)
    }

    /// Sets `channel`'s topic.
    pub async fn set_topic(
        &self,
        channel: ChannelId,
        topic: &ChannelTopic,
    ) -> Result<(), StoreError> {
        each_store!(self, store => store.set_topic(channel, topic).await)
    }
}
