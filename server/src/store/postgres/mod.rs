//! The PostgreSQL store, for several hosts sharing one database.
//!
//! Message ids are the global order every client resumes from, so they must be consecutive
//! and become visible in id order whichever host commits. Each batch therefore takes an
//! `EXCLUSIVE` lock on `messages` (readers are not blocked; other writers wait), reads the
//! highest id, and inserts the new rows with the ids that follow: commits are serialized and
//! ids never have holes. Group commit keeps the lock's cost per message small. Accounts
//! and sessions, which need no such order, are in [`accounts`].

mod accounts;
mod channels;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use super::{ChannelFilter, Committed, StoreError, StoredMessage, WriteOutcome};
use crate::domain::{ChannelId, NewMessage, ServerOffset};

/// Rows per multi-row statement (5 bound values each, far below PostgreSQL's limit).
const ROWS_PER_STATEMENT: usize = 1024;

/// Connections per process.
const CONNECTIONS: u32 = 8;

/// How long to wait for a connection (the server is down: fail the write, let it retry).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages stored in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    writable: bool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`); a writable store applies pending migrations.
    pub async fn open(url: &str, writable: bool) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        if writable {
            sqlx::migrate!("./migrations-postgres").run(&pool).await?;
        }
        Ok(Self { pool, writable })
    }

    /// Connects to `url`, writable, without applying migrations (a worker: the primary
    /// has applied them).
    pub async fn open_without_migrating(url: &str) -> Result<Self, StoreError> {
        let mut store = Self::open(url, false).await?;
        store.writable = true;
        Ok(store)
    }

    /// Stores a batch in one transaction; see [`super::Store::insert_batch`].
    pub async fn insert_batch(
        &self,
        batch: Vec<NewMessage>,
        created_at: i64,
    ) -> Result<Committed, StoreError> {
        let (outcomes, seqs) = self.insert(&batch, created_at).await?;
        Ok(Committed {
            messages: batch,
            outcomes,
            seqs,
            created_at,
        })
    }

    /// [`Self::insert_batch`] on a borrowed batch.
    async fn insert(
        &self,
        batch: &[NewMessage],
        created_at: i64,
    ) -> Result<(Vec<WriteOutcome>, Vec<i64>), StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("LOCK TABLE messages IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let mut next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM messages")
            .fetch_one(&mut *tx)
            .await?;
        let mut outcomes = vec![WriteOutcome::Duplicate(ServerOffset(0)); batch.len()];
        let mut seqs = vec![0; batch.len()];
        let numbered: Vec<(usize, &NewMessage)> = batch.iter().enumerate().collect();
        let mut next_seqs = last_seqs(&mut tx, &numbered).await?;
        let mut at = Next {
            id: &mut next,
            seqs: &mut next_seqs,
        };
        for chunk in numbered.chunks(ROWS_PER_STATEMENT) {
            insert_chunk(
                &mut tx,
                chunk,
                created_at,
                &mut at,
                &mut outcomes,
                &mut seqs,
            )
            .await?;
        }
        tx.commit().await?;
        Ok((outcomes, seqs))
    }

    /// See [`super::Store::messages_after`].
    pub async fn messages_after(
        &self,
        after: ServerOffset,
        channels: ChannelFilter,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = match channels {
            ChannelFilter::All => {
                sqlx::query_as(
                    "SELECT id, content, created_at, author, channel_id, seq FROM messages \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            ChannelFilter::Only(ids) => {
                let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
                sqlx::query_as(
                    "SELECT id, content, created_at, author, channel_id, seq FROM messages \
                     WHERE id > $1 AND channel_id = ANY($2) ORDER BY id LIMIT $3",
                )
                .bind(after.0)
                .bind(ids)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows)
    }

    /// See [`super::Store::messages_before`].
    pub async fn messages_before(
        &self,
        channel: Option<ChannelId>,
        before: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut messages: Vec<StoredMessage> = match channel {
            Some(channel) => {
                sqlx::query_as(
                    "SELECT id, content, created_at, author, channel_id, seq FROM messages \
                     WHERE channel_id = $1 AND id < $2 ORDER BY seq DESC LIMIT $3",
                )
                .bind(channel.0)
                .bind(before.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT id, content, created_at, author, channel_id, seq FROM messages \
                     WHERE id < $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(before.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        messages.reverse(); // fetched newest first
        Ok(messages)
    }

    /// See [`super::Store::last_offset`].
    pub async fn last_offset(&self) -> Result<ServerOffset, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM messages")
            .fetch_one(&self.pool)
            .await?;
        Ok(ServerOffset(id.unwrap_or(0)))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The next id and, per channel, the last seq given: where a batch's new rows go.
struct Next<'a> {
    /// The next id.
    id: &'a mut i64,
    /// Each channel of the batch, with its highest seq so far.
    seqs: &'a mut HashMap<ChannelId, i64>,
}

/// The highest seq of every channel the batch posts to (0 for a channel with no message),
/// read under the table lock.
async fn last_seqs(
    tx: &mut sqlx::PgConnection,
    batch: &[(usize, &NewMessage)],
) -> Result<HashMap<ChannelId, i64>, StoreError> {
    let mut channels: Vec<i64> = batch.iter().map(|(_, m)| m.channel.0).collect();
    channels.sort_unstable();
    channels.dedup();
    let found: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT channel_id, MAX(seq) FROM messages WHERE channel_id = ANY($1) GROUP BY channel_id",
    )
    .bind(&channels)
    .fetch_all(&mut *tx)
    .await?;
    let mut last: HashMap<ChannelId, i64> = channels.iter().map(|c| (ChannelId(*c), 0)).collect();
    last.extend(found.into_iter().map(|(c, seq)| (ChannelId(c), seq)));
    Ok(last)
}

/// Stores one chunk of messages: look up the client offsets already stored, then
/// insert the rest with the ids from `next.id` on and their channels' next seqs, in chunk
/// order.
async fn insert_chunk(
    tx: &mut sqlx::PgConnection,
    chunk: &[(usize, &NewMessage)],
    created_at: i64,
    next: &mut Next<'_>,
    outcomes: &mut [WriteOutcome],
    seqs: &mut [i64],
) -> Result<(), StoreError> {
    let keys: Vec<&str> = chunk
        .iter()
        .map(|(_, m)| m.client_offset.as_str())
        .collect();
    let mut ids: HashMap<String, i64> =
        sqlx::query_as("SELECT client_offset, id FROM messages WHERE client_offset = ANY($1)")
            .bind(&keys)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let stored_before: HashSet<String> = ids.keys().cloned().collect();
    let mut fresh = Vec::new();
    for (at, message) in chunk {
        let key = message.client_offset.as_str();
        if !ids.contains_key(key) {
            let seq = next.seqs.entry(message.channel).or_insert(0);
            *seq += 1;
            ids.insert(key.to_owned(), *next.id);
            fresh.push((*next.id, *seq, *message));
            seqs[*at] = *seq;
            *next.id += 1;
        }
    }
    if !fresh.is_empty() {
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO messages (id, client_offset, content, created_at, author, channel_id, seq) ",
        );
        insert.push_values(&fresh, |mut row, (id, seq, message)| {
            row.push_bind(*id)
                .push_bind(message.client_offset.as_str())
                .push_bind(message.text.as_str())
                .push_bind(created_at)
                .push_bind(message.author.as_str())
                .push_bind(message.channel.0)
                .push_bind(*seq);
        });
        insert.build().execute(&mut *tx).await?;
        insert_mentions(tx, &fresh).await?;
    }
    let mut first = HashSet::new();
    for (at, message) in chunk {
        let key = message.client_offset.as_str();
        let id = ServerOffset(*ids.get(key).ok_or(StoreError::MissingRow)?);
        outcomes[*at] = if !stored_before.contains(key) && first.insert(key) {
            WriteOutcome::Inserted(id)
        } else {
            WriteOutcome::Duplicate(id)
        };
    }
    Ok(())
}

/// Records the accounts each new message mentions (`@name`), for their unread mention
/// counts.
async fn insert_mentions(
    tx: &mut sqlx::PgConnection,
    fresh: &[(i64, i64, &NewMessage)],
) -> Result<(), StoreError> {
    let mut names = Vec::new();
    let mut channels = Vec::new();
    let mut seqs = Vec::new();
    for (_, seq, message) in fresh {
        if message.text.as_str().contains('@') {
            for name in chat_protocol::channels::mentioned_names(message.text.as_str()) {
                if name.eq_ignore_ascii_case(message.author.as_str()) {
                    continue;
                }
                names.push(name);
                channels.push(message.channel.0);
                seqs.push(*seq);
            }
        }
    }
    if names.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO mentions (account_id, channel_id, seq) \
         SELECT accounts.id, m.channel_id, m.seq \
         FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS m (name, channel_id, seq) \
         JOIN accounts ON accounts.username_key = m.name ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .bind(&channels)
    .bind(&seqs)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
