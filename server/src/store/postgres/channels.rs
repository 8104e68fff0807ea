//! Channels on PostgreSQL; see [`crate::store::channels`] for what each operation promises.
//! The same statements as SQLite's (`store/sqlite/channels.rs`), so the store suite holds
//! both to one behaviour.

use chat_protocol::channels::{ChannelInfo, ChannelTopic, JoinableChannel};

use super::PostgresStore;
use crate::domain::ChannelId;
use crate::store::channels::{Channel, DirectChannel, NewChannel, direct_key};
use crate::store::{AccountId, StoreError};

/// A channel's highest seq (0 before its first message), `$1` being the channel.
const LAST_SEQ: &str = "COALESCE((SELECT MAX(seq) FROM messages WHERE channel_id = $1), 0)";

/// A `channels_of` row.
type InfoRow = (
    i64,
    String,
    bool,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

impl PostgresStore {
    /// See [`crate::store::Store::create_channel`].
    pub async fn create_channel(
        &self,
        channel: &NewChannel<'_>,
        now: i64,
    ) -> Result<Option<ChannelId>, StoreError> {
        self.check_writable()?;
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO channels (name, name_key, private, topic, created_by, created_at) \
             VALUES ($1, $1, $2, $3, $4, $5) ON CONFLICT (name_key) DO NOTHING RETURNING id",
        )
        .bind(channel.name.as_str())
        .bind(channel.private)
        .bind(channel.topic.as_str())
        .bind(channel.creator.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            sqlx::query(
                "INSERT INTO channel_members (channel_id, account_id, last_read, joined_at) \
                 VALUES ($1, $2, 0, $3)",
            )
            .bind(id)
            .bind(channel.creator.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id.map(ChannelId))
    }

    /// See [`crate::store::Store::direct_channel`].
    pub async fn direct_channel(
        &self,
        a: AccountId,
        b: AccountId,
        now: i64,
    ) -> Result<DirectChannel, StoreError> {
        self.check_writable()?;
        let key = direct_key(a, b);
        let mut tx = self.pool.begin().await?;
        let made: Option<i64> = sqlx::query_scalar(
            "INSERT INTO channels (name, name_key, private, direct, topic, created_by, created_at) \
             VALUES ($1, $1, TRUE, TRUE, '', $2, $3) ON CONFLICT (name_key) DO NOTHING RETURNING id",
        )
        .bind(&key)
        .bind(a.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let channel = match made {
            Some(id) => {
                for account in [a, b] {
                    sqlx::query(
                        "INSERT INTO channel_members (channel_id, account_id, last_read, joined_at) \
                         VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(account.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                DirectChannel {
                    id: ChannelId(id),
                    created: true,
                }
            }
            None => DirectChannel {
                id: ChannelId(
                    sqlx::query_scalar("SELECT id FROM channels WHERE name_key = $1")
                        .bind(&key)
                        .fetch_one(&mut *tx)
                        .await?,
                ),
                created: false,
            },
        };
        tx.commit().await?;
        Ok(channel)
    }

    /// The channel whose `name_key` is `key`, if any (a direct channel's lookup).
    pub async fn channel_by_key(&self, key: &str) -> Result<Option<ChannelId>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM channels WHERE name_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(ChannelId))
    }

    /// See [`crate::store::Store::channel`].
    pub async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let row: Option<(i64, String, bool, bool, String)> =
            sqlx::query_as("SELECT id, name, private, direct, topic FROM channels WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, private, direct, topic)| Channel {
            id: ChannelId(id),
            name,
            private,
            direct,
            topic,
        }))
    }

    /// See [`crate::store::Store::add_member`].
    pub async fn add_member(
        &self,
        channel: ChannelId,
        account: AccountId,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.check_writable()?;
        let added = sqlx::query(&format!(
            "INSERT INTO channel_members (channel_id, account_id, last_read, joined_at) \
             SELECT $1, $2, {LAST_SEQ}, $3 ON CONFLICT DO NOTHING"
        ))
        .bind(channel.0)
        .bind(account.0)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(added.rows_affected() == 1)
    }

    /// See [`crate::store::Store::remove_member`].
    pub async fn remove_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        self.check_writable()?;
        let removed =
            sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND account_id = $2")
                .bind(channel.0)
                .bind(account.0)
                .execute(&self.pool)
                .await?;
        Ok(removed.rows_affected() == 1)
    }

    /// See [`crate::store::Store::is_member`].
    pub async fn is_member(
        &self,
        channel: ChannelId,
        account: AccountId,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM channel_members WHERE channel_id = $1 AND account_id = $2",
        )
        .bind(channel.0)
        .bind(account.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// See [`crate::store::Store::channel_ids_of`].
    pub async fn channel_ids_of(&self, account: AccountId) -> Result<Vec<ChannelId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT channel_id FROM channel_members WHERE account_id = $1 ORDER BY channel_id",
        )
        .bind(account.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(ChannelId).collect())
    }

    /// See [`crate::store::Store::channels_of`].
    pub async fn channels_of(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<Vec<ChannelInfo>, StoreError> {
        let rows: Vec<InfoRow> = sqlx::query_as(
            "SELECT c.id, c.name, c.private, c.topic, m.last_read, \
             COALESCE((SELECT MAX(seq) FROM messages WHERE channel_id = c.id), 0), \
             (SELECT COUNT(*) FROM messages WHERE channel_id = c.id \
                 AND seq > m.last_read AND author <> $2), \
             (SELECT COUNT(*) FROM mentions WHERE account_id = $1 \
                 AND channel_id = c.id AND seq > m.last_read), \
             CASE WHEN c.direct THEN COALESCE((SELECT a.username \
                 FROM channel_members o JOIN accounts a ON a.id = o.account_id \
                 WHERE o.channel_id = c.id AND o.account_id <> $1), $2) END AS direct_with \
             FROM channel_members m JOIN channels c ON c.id = m.channel_id \
             WHERE m.account_id = $1 ORDER BY c.id <> 1, c.direct, direct_with, c.name",
        )
        .bind(account.0)
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, private, topic, last_read, last_seq, unread, mentions, direct_with)| {
                    ChannelInfo {
                        id: ChannelId(id),
                        name,
                        private,
                        direct_with,
                        topic,
                        last_read,
                        last_seq,
                        unread: unread as u64,
                        mentions: mentions as u64,
                    }
                },
            )
            .collect())
    }

    /// See [`crate::store::Store::joinable_channels`].
    pub async fn joinable_channels(
        &self,
        account: AccountId,
    ) -> Result<Vec<JoinableChannel>, StoreError> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT c.id, c.name, c.topic, \
             (SELECT COUNT(*) FROM channel_members WHERE channel_id = c.id) \
             FROM channels c WHERE NOT c.private AND c.id <> 1 AND NOT EXISTS \
             (SELECT 1 FROM channel_members WHERE channel_id = c.id AND account_id = $1) \
             ORDER BY c.name LIMIT 200",
        )
        .bind(account.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, topic, members)| JoinableChannel {
                id: ChannelId(id),
                name,
                topic,
                members: members as u64,
            })
            .collect())
    }

    /// See [`crate::store::Store::members`].
    pub async fn members(&self, channel: ChannelId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT a.username FROM channel_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.channel_id = $1 ORDER BY a.username_key LIMIT 1000",
        )
        .bind(channel.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// See [`crate::store::Store::mark_read`].
    pub async fn mark_read(
        &self,
        channel: ChannelId,
        account: AccountId,
        seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.check_writable()?;
        Ok(sqlx::query_scalar(&format!(
            "UPDATE channel_members SET last_read = GREATEST(last_read, LEAST($3, {LAST_SEQ})) \
             WHERE channel_id = $1 AND account_id = $2 RETURNING last_read"
        ))
        .bind(channel.0)
        .bind(account.0)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// See [`crate::store::Store::set_topic`].
    pub async fn set_topic(
        &self,
        channel: ChannelId,
        topic: &ChannelTopic,
    ) -> Result<(), StoreError> {
        self.check_writable()?;
        sqlx::query("UPDATE channels SET topic = $2 WHERE id = $1")
            .bind(channel.0)
            .bind(topic.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
