//! The SQLite store: one file in WAL mode, one writer connection on a thread of its own and
//! a few read-only connections for replays.
//!
//! sqlx applies the schema migrations; the queries then run through rusqlite on the same
//! SQLite library. A batch is one hand-off to the writer thread, where prepared statements
//! insert its rows in one transaction, and a replay page is one hand-off to a reader. Before
//! this, sqlx's per-statement argument copies, per-row channel and by-name row decoding cost
//! more than SQLite itself (see BENCHMARKS.md). Accounts and sessions are in [`accounts`].

mod accounts;
mod channels;
mod connection;
mod queries;
mod readers;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use self::readers::Readers;
use self::writer::WriterThread;
use super::{ChannelFilter, Committed, StoreError, StoredMessage};
use crate::domain::{ChannelId, NewMessage, ServerOffset};

/// Messages stored in one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// `None` when opened read-only (a worker: the primary writes).
    writer: Option<WriterThread>,
    readers: Arc<Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        create_parent_dir(path)?;
        migrate(path).await?;
        Ok(Self {
            writer: Some(WriterThread::start(path.to_owned())?),
            readers: Readers::open(path.to_owned())?,
        })
    }

    /// Opens an existing database as a worker does: reads, and a writer connection of its
    /// own for accounts and sessions (sign-ups, sign-ins and session touches happen on the
    /// worker that serves the form or the handshake). Messages are still written by the
    /// primary alone; this store is never given any. The primary has applied the
    /// migrations. Both writers take SQLite's one write lock in turn (busy timeout).
    pub async fn open_worker(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            writer: Some(WriterThread::start(path.to_owned())?),
            readers: Readers::open(path.to_owned())?,
        })
    }

    /// Opens an existing database for reading only (replays); writes fail with
    /// [`StoreError::ReadOnly`]. The writer elsewhere has applied the migrations.
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            writer: None,
            readers: Readers::open(path.to_owned())?,
        })
    }

    /// Stores a batch in one transaction; see [`super::Store::insert_batch`].
    pub async fn insert_batch(
        &self,
        batch: Vec<NewMessage>,
        created_at: i64,
    ) -> Result<Committed, StoreError> {
        let writer = self.writer.as_ref().ok_or(StoreError::ReadOnly)?;
        writer
            .run(move |connection| {
                let (outcomes, seqs) = queries::insert_batch(connection, &batch, created_at)?;
                Ok(Committed {
                    messages: batch,
                    outcomes,
                    seqs,
                    created_at,
                })
            })
            .await
    }

    /// See [`super::Store::messages_after`].
    pub async fn messages_after(
        &self,
        after: ServerOffset,
        channels: ChannelFilter,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.readers
            .run(move |connection| queries::messages_after(connection, after, &channels, limit))
            .await
    }

    /// See [`super::Store::messages_before`].
    pub async fn messages_before(
        &self,
        channel: Option<ChannelId>,
        before: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.readers
            .run(move |connection| queries::messages_before(connection, channel, before, limit))
            .await
    }

    /// The highest stored id (0 when empty).
    pub async fn last_offset(&self) -> Result<ServerOffset, StoreError> {
        self.readers.run(queries::last_offset).await
    }

    /// The writer thread, or [`StoreError::ReadOnly`] on a store opened read-only.
    fn writer(&self) -> Result<&WriterThread, StoreError> {
        self.writer.as_ref().ok_or(StoreError::ReadOnly)
    }

    /// Closes every connection, checkpointing the WAL so the file is whole on its own.
    pub async fn close(&self) {
        self.readers.close();
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
    }
}

/// Creates the database file's directory.
fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// Creates the file if needed, switches it to WAL (which persists in the file) and applies
/// pending migrations, on a connection of its own that is closed afterwards.
async fn migrate(path: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::migrate!("./migrations").run(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! SQLite specifics; the behaviour shared with PostgreSQL is in `tests/store.rs`.
    use super::*;

    #[tokio::test]
    async fn creates_the_file_and_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("nested/chat.db"))
            .await
            .unwrap();
        assert!(dir.path().join("nested/chat.db").exists());
        assert_eq!(store.last_offset().await.unwrap(), ServerOffset(0));
    }
}
