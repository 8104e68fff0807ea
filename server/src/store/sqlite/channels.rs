//! Channels on SQLite; see [`crate::store::channels`] for what each operation promises.
//! Writes go through the writer thread, so they take turns with the message batches for
//! SQLite's one write lock; reads run on the reader connections.

use chat_protocol::channels::{ChannelInfo, ChannelTopic, JoinableChannel};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::domain::ChannelId;
use crate::store::channels::{Channel, DirectChannel, NewChannel, direct_key};
use crate::store::{AccountId, StoreError};

/// A channel's highest seq (0 before its first message), `?1` being the channel.
const LAST_SEQ: &str = "COALESCE((SELECT MAX(seq) FROM messages WHERE channel_id = ?1), 0)";

impl SqliteStore {
    /// See [`crate::store::Store::create_channel`].
    pub async fn create_channel(
        &self,
        channel: &NewChannel<'_>,
        now: i64,
    ) -> Result<Option<ChannelId>, StoreError> {
        let name = channel.name.as_str().to_owned();
        let topic = channel.topic.as_str().to_owned();
        let (private, creator) = (channel.private, channel.creator.0);
        self.writer()?
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let id: Option<i64> = tx
                    .prepare_cached(
                        "INSERT INTO channels (name, name_key, private, topic, created_by, created_at) \
                         VALUES (?1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (name_key) DO NOTHING RETURNING id",
                    )?
                    .query_row(params![name, private, topic, creator, now], |row| row.get(0))
                    .optional()?;
                if let Some(id) = id {
                    tx.prepare_cached(
                        "INSERT INTO channel_members (channel_id, account_id, last_read, joined_at) \
                         VALUES (?1, ?2, 0, ?3)",
                    )?
                    .execute(params![id, creator, now])?;
                }
                tx.commit()?;
                Ok(id.map(ChannelId))
            })
            .await
    }

    /// See [`crate::store::Store::direct_channel`].
    pub async fn direct_channel(
        &self,
        a: AccountId,
        b: AccountId,
        now: i64,
    ) -> Result<DirectChannel, StoreError> {
        let key = direct_key(a, b);
        self.writer()?
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let made: Option<i64> = tx
                    .prepare_cached(
                        "INSERT INTO channels \
                         (name, name_key, private, direct, topic, created_by, created_at) \
                         VALUES (?1, ?1, 1, 1, '', ?2, ?3) ON CONFLICT (name_key) DO NOTHING RETURNING id",
                    )?
                    .query_row(params![key, a.0, now], |row| row.get(0))
                    .optional()?;
                let channel = match made {
                    Some(id) => {
                        let mut add = tx.prepare_cached(
                            "INSERT OR IGNORE INTO channel_members \
                             (channel_id, account_id, last_read, joined_at) VALUES (?1, ?2, 0, ?3)",
                        )?;
                        for account in [a, b] {
                            add.execute(params![id, account.0, now])?;
                        }
                        DirectChannel {
                            id: ChannelId(id),
                            created: true,
                        }
                    }
                    None => DirectChannel {
                        id: ChannelId(tx.query_row(
                            "SELECT id FROM channels WHERE name_key = ?1",
                            [&key],
                            |row| row.get(0),
                        )?),
                        created: false,
                    },
                };
                tx.commit()?;
                Ok(channel)
            })
            .await
    }

    /// The channel whose `name_key` is `key`, if any (a direct channel's lookup).
    pub async fn channel_by_key(&self, key: &str) -> Result<Option<ChannelId>, StoreError> {
        let key = key.to_owned();
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached("SELECT id FROM channels WHERE name_key = ?1")?
                    .query_row([&key], |row| row.get(0).map(ChannelId))
                    .optional()
            })
            .await
    }

    /// See [`crate::store::Store::channel`].
    pub async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT id, name, private, direct, topic FROM channels WHERE id = ?1",
                    )?
                    .query_row([id.0], |row| {
                        Ok(Channel {
                            id: ChannelId(row.get(0)?),
                            name: row.get(1)?,
                            private: row.get(2)?,
                            direct: row.get(3)?,
                            topic: row.get(4)?,
                        })
                    })
                    .optional()
            })
            .await
    }

    /// See [`crate::store::Store::add_member`].
    pub async fn add_member(
        &self,
        channel: ChannelId,
        account: AccountId,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.writer()?
            .run(move |connection| {
                let added = connection
                    .prepare_cached(&format!(
                        "INSERT OR IGNORE INTO channel_members \
                         (channel_id, account_id, last_read, joined_at) SELECT ?1, ?2, {LAST_SEQ}, ?3"
                    ))?
                    .execute(params![channel.0, account.0, now])?;
                Ok(added == 1)
            })
            .await
    }

    /// See [`crate::store::Store::remove_member`].
    pub async fn remove_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        self.writer()?
            .run(move |connection| {
                let removed = connection
                    .prepare_cached(
                        "DELETE FROM channel_members WHERE channel_id = ?1 AND account_id = ?2",
                    )?
                    .execute(params![channel.0, account.0])?;
                Ok(removed == 1)
            })
            .await
    }

    /// See [`crate::store::Store::is_member`].
    pub async fn is_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT 1 FROM channel_members WHERE channel_id = ?1 AND account_id = ?2",
                    )?
                    .query_row(params![channel.0, account.0], |_| Ok(()))
                    .optional()
                    .map(|found| found.is_some())
            })
            .await
    }

    /// See [`crate::store::Store::channel_ids_of`].
    pub async fn channel_ids_of(&self, account: AccountId) -> Result<Vec<ChannelId>, StoreError> {
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT channel_id FROM channel_members WHERE account_id = ?1 ORDER BY channel_id",
                    )?
                    .query_map([account.0], |row| row.get(0).map(ChannelId))?
                    .collect()
            })
            .await
    }

    /// See [`crate::store::Store::channels_of`].
    pub async fn channels_of(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<Vec<ChannelInfo>, StoreError> {
        let username = username.to_owned();
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT c.id, c.name, c.private, c.topic, m.last_read, \
                         COALESCE((SELECT MAX(seq) FROM messages WHERE channel_id = c.id), 0), \
                         (SELECT COUNT(*) FROM messages WHERE channel_id = c.id \
                             AND seq > m.last_read AND author <> ?2), \
                         (SELECT COUNT(*) FROM mentions WHERE account_id = ?1 \
                             AND channel_id = c.id AND seq > m.last_read), \
                         CASE WHEN c.direct THEN COALESCE((SELECT a.username \
                             FROM channel_members o JOIN accounts a ON a.id = o.account_id \
                             WHERE o.channel_id = c.id AND o.account_id <> ?1), ?2) END AS direct_with \
                         FROM channel_members m JOIN channels c ON c.id = m.channel_id \
                         WHERE m.account_id = ?1 ORDER BY c.id <> 1, c.direct, direct_with, c.name",
                    )?
                    .query_map(params![account.0, username], |row| {
                        Ok(ChannelInfo {
                            id: ChannelId(row.get(0)?),
                            name: row.get(1)?,
                            private: row.get(2)?,
                            direct_with: row.get(8)?,
                            topic: row.get(3)?,
                            last_read: row.get(4)?,
                            last_seq: row.get(5)?,
                            unread: row.get(6)?,
                            mentions: row.get(7)?,
                        })
                    })?
                    .collect()
            })
            .await
    }

    /// See [`crate::store::Store::joinable_channels`].
    pub async fn joinable_channels(
        &self,
        account: AccountId,
    ) -> Result<Vec<JoinableChannel>, StoreError> {
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT c.id, c.name, c.topic, \
                         (SELECT COUNT(*) FROM channel_members WHERE channel_id = c.id) \
                         FROM channels c WHERE c.private = 0 AND c.id <> 1 AND NOT EXISTS \
                         (SELECT 1 FROM channel_members WHERE channel_id = c.id AND account_id = ?1) \
                         ORDER BY c.name LIMIT 200",
                    )?
                    .query_map([account.0], |row| {
                        Ok(JoinableChannel {
                            id: ChannelId(row.get(0)?),
                            name: row.get(1)?,
                            topic: row.get(2)?,
                            members: row.get(3)?,
                        })
                    })?
                    .collect()
            })
            .await
    }

    /// See [`crate::store::Store::members`].
    pub async fn members(&self, channel: ChannelId) -> Result<Vec<String>, StoreError> {
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT a.username FROM channel_members m JOIN accounts a ON a.id = m.account_id \
                         WHERE m.channel_id = ?1 ORDER BY a.username_key LIMIT 1000",
                    )?
                    .query_map([channel.0], |row| row.get(0))?
                    .collect()
            })
            .await
    }

    /// See [`crate::store::Store::mark_read`].
    pub async fn mark_read(
        &self,
        channel: ChannelId,
        account: AccountId,
        seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.writer()?
            .run(move |connection| {
                connection
                    .prepare_cached(&format!(
                        "UPDATE channel_members SET last_read = MAX(last_read, MIN(?3, {LAST_SEQ})) \
                         WHERE channel_id = ?1 AND account_id = ?2 RETURNING last_read"
                    ))?
                    .query_row(params![channel.0, account.0, seq], |row| row.get(0))
                    .optional()
            })
            .await
    }

    /// See [`crate::store::Store::set_topic`].
    pub async fn set_topic(
        &self,
        channel: ChannelId,
        topic: &ChannelTopic,
    ) -> Result<(), StoreError> {
        let topic = topic.as_str().to_owned();
        self.writer()?
            .run(move |connection| {
                connection
                    .prepare_cached("UPDATE channels SET topic = ?2 WHERE id = ?1")?
                    .execute(params![channel.0, topic])
                    .map(drop)
            })
            .await
    }
}
