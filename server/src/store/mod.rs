//! Durable message storage.
//!
//! The store is the source of truth for the order of messages: a message's row id is its
//! [`ServerOffset`]. Writes come in batches (one transaction each, see
//! [`crate::chat::sequencer`]) and are idempotent on the client offset; reads page forward
//! from an offset for replay.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::domain::ServerOffset;

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
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A message as stored, ready to send to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its position in the global order.
    pub id: ServerOffset,
    /// Its text.
    pub text: String,
    /// Its author's nickname.
    pub author: String,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
}

/// A private message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPrivateMessage {
    /// Its position among private messages.
    pub id: ServerOffset,
    /// Its text.
    pub text: String,
    /// Who sent it.
    pub from: String,
    /// Who may read it besides the sender.
    pub to: String,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
}

/// What a `private message` carries after `(text, privateOffset)`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateMeta<'a> {
    /// The sender.
    pub from: &'a str,
    /// The recipient.
    pub to: &'a str,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
}

impl StoredPrivateMessage {
    /// The `private message` arguments: `(text, privateOffset, { from, to, createdAt })`.
    pub fn event_args(&self) -> (&str, ServerOffset, PrivateMeta<'_>) {
        (
            &self.text,
            self.id,
            PrivateMeta {
                from: &self.from,
                to: &self.to,
                created_at: self.created_at,
            },
        )
    }
}

/// What a `chat message` carries after `(text, serverOffset)`: who wrote it and when.
/// The tutorial's client ignores it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageMeta<'a> {
    /// The author's nickname.
    pub author: &'a str,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
}

impl StoredMessage {
    /// The `chat message` arguments: `(text, serverOffset, { author, createdAt })`.
    pub fn event_args(&self) -> (&str, ServerOffset, MessageMeta<'_>) {
        (
            &self.text,
            self.id,
            MessageMeta {
                author: &self.author,
                created_at: self.created_at,
            },
        )
    }
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
