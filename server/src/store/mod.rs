//! Durable message storage: [`Store`], over SQLite (embedded, the default) or PostgreSQL
//! (shared by several hosts).
//!
//! The store is the source of truth for the order of messages: a message's row id is its
//! [`ServerOffset`]. Writes come in batches (one transaction each, see
//! [`crate::chat::sequencer`]) and are idempotent on the client offset; reads page forward
//! from an offset for replay. It also keeps accounts and their sign-in sessions
//! ([`accounts`]).

pub mod accounts;
pub mod channels;
mod postgres;
mod sqlite;

pub use accounts::{Account, AccountError, AccountId, SessionAccount, SessionIdHash};
pub use channels::{Channel, DirectChannel, NewChannel};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use std::path::PathBuf;

use crate::domain::{ChannelId, NewMessage, ServerOffset};

/// A failure of the storage engine. A message whose write failed gets an error ack saying
/// it may be resent (never its details, which go to the log).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file's directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A write on a store opened read-only.
    #[error("the store is open read-only")]
    ReadOnly,
    /// An inserted row was not returned by its `INSERT .. RETURNING`.
    #[error("an inserted message was not returned by the database")]
    MissingRow,
    /// A query failed (PostgreSQL, or SQLite's migrations).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An SQLite query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A thread that runs SQLite calls could not be started, or stopped unexpectedly.
    #[error("database thread failed: {0}")]
    Thread(std::io::Error),
    /// The store was closed (the server is shutting down).
    #[error("the store is closed")]
    Closed,
}

/// Where messages are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`), shared by several hosts.
    Postgres(String),
}

/// The message store: SQLite or PostgreSQL, the same operations and guarantees.
#[derive(Clone, Debug)]
pub enum Store {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the store for writing (the process that sequences writes), creating it and
    /// applying migrations.
    pub async fn open(location: &StoreLocation) -> Result<Self, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => Self::Sqlite(SqliteStore::open(path).await?),
            StoreLocation::Postgres(url) => Self::Postgres(PostgresStore::open(url, true).await?),
        })
    }

    /// Opens the store as a worker does: replays, history, accounts and sessions; messages
    /// are written by the primary (no migrations are applied: the primary has).
    pub async fn open_worker(location: &StoreLocation) -> Result<Self, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => Self::Sqlite(SqliteStore::open_worker(path).await?),
            StoreLocation::Postgres(url) => {
                Self::Postgres(PostgresStore::open_without_migrating(url).await?)
            }
        })
    }

    /// Opens the store for reading only: writes fail with [`StoreError::ReadOnly`].
    pub async fn open_read_only(location: &StoreLocation) -> Result<Self, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => Self::Sqlite(SqliteStore::open_read_only(path).await?),
            StoreLocation::Postgres(url) => Self::Postgres(PostgresStore::open(url, false).await?),
        })
    }

    /// Stores a batch in one transaction and reports, in input order, each message's id and
    /// whether it is new. A client offset already stored (earlier, or earlier in this batch)
    /// is a duplicate and writes nothing. Either the whole batch commits or none of it does.
    /// New messages get consecutive ids in batch order, and each its channel's next seq.
    /// The batch comes back with the outcomes, so its texts are published without a copy.
    pub async fn insert_batch(
        &self,
        batch: Vec<NewMessage>,
        created_at: i64,
    ) -> Result<Committed, StoreError> {
        match self {
            Self::Sqlite(store) => store.insert_batch(batch, created_at).await,
            Self::Postgres(store) => store.insert_batch(batch, created_at).await,
        }
    }

    /// Up to `limit` messages of the channels `channels` lets through with an id greater
    /// than `after`, in id order.
    pub async fn messages_after(
        &self,
        after: ServerOffset,
        channels: ChannelFilter,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        match self {
            Self::Sqlite(store) => store.messages_after(after, channels, limit).await,
            Self::Postgres(store) => store.messages_after(after, channels, limit).await,
        }
    }

    /// Up to `limit` messages with an id below `before`, the latest of them, in id order:
    /// of one channel, or of all (`None`).
    pub async fn messages_before(
        &self,
        channel: Option<ChannelId>,
        before: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        match self {
            Self::Sqlite(store) => store.messages_before(channel, before, limit).await,
            Self::Postgres(store) => store.messages_before(channel, before, limit).await,
        }
    }

    /// The highest stored id (0 when empty).
    pub async fn last_offset(&self) -> Result<ServerOffset, StoreError> {
        match self {
            Self::Sqlite(store) => store.last_offset().await,
            Self::Postgres(store) => store.last_offset().await,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

/// A message as stored, ready to send to clients (read from a `messages` row, on either
/// database).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredMessage {
    /// Its position in the global order.
    #[sqlx(try_from = "i64")]
    pub id: ServerOffset,
    /// Its text.
    #[sqlx(rename = "content")]
    pub text: String,
    /// Its author's nickname.
    pub author: String,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
    /// Its channel.
    #[sqlx(rename = "channel_id", try_from = "i64")]
    pub channel: ChannelId,
    /// Its position in its channel, from 1.
    pub seq: i64,
}

impl StoredMessage {
    /// Where it is: its channel and its seq there.
    pub fn place(&self) -> chat_protocol::message::InChannel {
        chat_protocol::message::InChannel {
            channel: self.channel,
            seq: self.seq,
        }
    }
}

/// Which channels' messages a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelFilter {
    /// Every channel's (the primary's relay, and the feed's ring).
    All,
    /// Only these channels' (a socket's replay: the channels it is in).
    Only(Vec<ChannelId>),
}

impl ChannelFilter {
    /// Whether a message of `channel` passes.
    pub fn lets_through(&self, channel: ChannelId) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(&channel),
        }
    }
}

/// A committed batch: its messages, and what happened to each, in the same order.
#[derive(Debug)]
pub struct Committed {
    /// The messages, as given to [`Store::insert_batch`].
    pub messages: Vec<NewMessage>,
    /// Each message's outcome.
    pub outcomes: Vec<WriteOutcome>,
    /// Each new message's seq in its channel (0 for duplicates).
    pub seqs: Vec<i64>,
    /// When the batch was stored (unix milliseconds): every new row's `created_at`.
    pub created_at: i64,
}

/// What happened to one message of a written batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored now under this id.
    Inserted(ServerOffset),
    /// Its client offset was already stored, under this id: nothing was written.
    Duplicate(ServerOffset),
}

impl WriteOutcome {
    /// The id the message is stored under, whether now or before.
    pub fn id(self) -> ServerOffset {
        match self {
            Self::Inserted(id) | Self::Duplicate(id) => id,
        }
    }
}

/// What a writer learns of its message once the batch holding it committed: where it is
/// stored, and the `created_at` its new row got (for a duplicate, that of this commit, not
/// of the earlier one), so a handler can send the row as stored without reading it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Stored now, or found stored.
    pub outcome: WriteOutcome,
    /// The commit's time, in unix milliseconds.
    pub created_at: i64,
}

/// Why a write was not committed. Nothing was stored: the client gets an error ack (or, at
/// shutdown, none) and may resend the same message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The store failed; the batch was rolled back.
    #[error("storage failed: {0}")]
    Storage(std::sync::Arc<str>),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}
