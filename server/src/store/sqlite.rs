//! The SQLite store: one file in WAL mode, one writer connection and a small reader pool.
//!
//! WAL lets replays read while the writer commits. `synchronous = FULL` makes every commit
//! durable on power loss, which is what an ack promises; group commit keeps that cheap.
//! The busy timeout absorbs other processes that open the same file (a second worker, the
//! `sqlite3` shell), so `SQLITE_BUSY` does not reach a client.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::{HashMap, HashSet};

use sqlx::{Executor, QueryBuilder, Sqlite};

use super::{StoreError, StoredMessage, StoredPrivateMessage, WriteOutcome};
use crate::domain::{NewMessage, ServerOffset};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per multi-row statement (4 bound values each, far below SQLite's variable limit).
const ROWS_PER_STATEMENT: usize = 512;

/// Connections that serve replays concurrently.
const READER_CONNECTIONS: u32 = 4;

/// Messages stored in one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// `None` when opened read-only (a worker: the primary writes).
    writer: Option<SqlitePool>,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, true).await
    }

    /// Opens an existing database for reading only (replays); writes fail with
    /// [`StoreError::ReadOnly`]. The writer elsewhere has applied the migrations.
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, false).await
    }

    async fn open_with(path: &Path, writable: bool) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let writer = if writable {
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .connect_with(options.clone())
                .await?;
            sqlx::migrate!("./migrations").run(&writer).await?;
            Some(writer)
        } else {
            None
        };
        let reader = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Stores a batch in one transaction and reports, in input order, each message's id and
    /// whether it is new. A client offset already stored (earlier, or earlier in this batch)
    /// is a duplicate and writes nothing. Either the whole batch commits or none of it does.
    pub async fn insert_batch(
        &self,
        batch: &[NewMessage],
        created_at: i64,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let writer = self.writer.as_ref().ok_or(StoreError::ReadOnly)?;
        let mut connection = writer.acquire().await?;
        let result = insert_batch_on(&mut connection, batch, created_at).await;
        if result.is_err() {
            // A failed COMMIT (disk full, I/O error) can leave the connection believing it
            // is still inside a transaction, so every later BEGIN would fail: replace it, and
            // the store recovers as soon as the fault clears.
            connection.close_on_drop();
        }
        result
    }

    /// Up to `limit` messages with an id greater than `after`, in id order.
    pub async fn messages_after(
        &self,
        after: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, content, created_at, author FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows)
    }

    /// Up to `limit` messages with an id below `before`, the latest of them, in id order
    /// (paging back through the history).
    pub async fn messages_before(
        &self,
        before: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut messages: Vec<StoredMessage> = sqlx::query_as(
            "SELECT id, content, created_at, author FROM messages WHERE id < ?1 \
             ORDER BY id DESC LIMIT ?2",
        )
        .bind(before.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        messages.reverse(); // fetched newest first
        Ok(messages)
    }

    /// Up to `limit` private messages sent or received by `nickname` with an id greater than
    /// `after`, in id order.
    pub async fn private_messages_after(
        &self,
        nickname: &str,
        after: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredPrivateMessage>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, content, created_at, sender, recipient FROM private_messages \
             WHERE id > ?1 AND (sender = ?2 OR recipient = ?2) ORDER BY id LIMIT ?3",
        )
        .bind(after.0)
        .bind(nickname)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows)
    }

    /// The highest stored id (0 when empty).
    pub async fn last_offset(&self) -> Result<ServerOffset, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM messages")
            .fetch_one(&self.reader)
            .await?;
        Ok(ServerOffset(id.unwrap_or(0)))
    }

    /// Closes every connection, checkpointing the WAL so the file is whole on its own.
    pub async fn close(&self) {
        self.reader.close().await;
        if let Some(writer) = &self.writer {
            if let Err(error) = writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").await {
                tracing::warn!(%error, "WAL checkpoint at shutdown failed");
            }
            writer.close().await;
        }
    }
}

/// A message of a batch with its position in the batch.
type Indexed<'a> = (usize, &'a NewMessage);

/// [`SqliteStore::insert_batch`] on one connection: one IMMEDIATE transaction.
async fn insert_batch_on(
    connection: &mut sqlx::SqliteConnection,
    batch: &[NewMessage],
    created_at: i64,
) -> Result<Vec<WriteOutcome>, StoreError> {
    if let Some(outcomes) = insert_in_one_trip(connection, batch, created_at).await? {
        return Ok(outcomes);
    }
    // IMMEDIATE takes the write lock up front, so a concurrent writer in another process
    // waits (busy timeout) instead of failing the upgrade from a read lock.
    let mut tx = sqlx::Connection::begin_with(connection, "BEGIN IMMEDIATE").await?;
    // Public messages in batch order (their ids ascend in that order), private ones on their
    // own sequence; the outcomes go back in batch order.
    let (public, private): (Vec<Indexed<'_>>, Vec<Indexed<'_>>) = batch
        .iter()
        .enumerate()
        .partition(|(_, m)| m.recipient.is_none());
    let mut outcomes = vec![WriteOutcome::Duplicate(ServerOffset(0)); batch.len()];
    for chunk in public.chunks(ROWS_PER_STATEMENT) {
        let messages: Vec<&NewMessage> = chunk.iter().map(|(_, m)| *m).collect();
        let stored = insert_chunk(&mut tx, &messages, created_at).await?;
        for ((at, _), outcome) in chunk.iter().zip(stored) {
            outcomes[*at] = outcome;
        }
    }
    for (at, message) in private {
        outcomes[at] = insert_private(&mut tx, message, created_at).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Stores the common batch (public messages, distinct client offsets) in one round trip to
/// sqlx's SQLite thread instead of four: `BEGIN IMMEDIATE`, one
/// `INSERT … SELECT … WHERE NOT EXISTS … RETURNING` and `COMMIT`, as one query. A client
/// offset stored before is filtered out by the `SELECT`, so it inserts nothing and consumes
/// no id; rows go in in batch order (`ORDER BY` the position), so their ids ascend in that
/// order. Only when the batch held resends is a second query needed, after the commit, for
/// their ids. Returns `None` for any other batch (private messages, a client offset twice).
///
/// The query manages the transaction itself, out of sqlx's sight: if any statement fails,
/// the transaction may still be open, and the caller replaces the connection.
async fn insert_in_one_trip(
    connection: &mut sqlx::SqliteConnection,
    batch: &[NewMessage],
    created_at: i64,
) -> Result<Option<Vec<WriteOutcome>>, StoreError> {
    if batch.is_empty()
        || batch.len() > ROWS_PER_STATEMENT
        || batch.iter().any(|m| m.recipient.is_some())
    {
        return Ok(None);
    }
    let mut keys = HashSet::with_capacity(batch.len());
    if !batch.iter().all(|m| keys.insert(m.client_offset.as_str())) {
        return Ok(None);
    }
    let mut query = QueryBuilder::<Sqlite>::new(
        "BEGIN IMMEDIATE; \
         INSERT INTO messages (client_offset, content, created_at, author) \
         SELECT column2, column3, column4, column5 FROM (",
    );
    query.push_values(batch.iter().enumerate(), |mut row, (at, message)| {
        row.push_bind(at as i64)
            .push_bind(message.client_offset.as_str())
            .push_bind(message.text.as_str())
            .push_bind(created_at)
            .push_bind(message.author.as_str());
    });
    query.push(
        ") WHERE NOT EXISTS (SELECT 1 FROM messages WHERE client_offset = column2) \
         ORDER BY column1 RETURNING client_offset, id; COMMIT;",
    );
    let mut inserted: Vec<(String, i64)> =
        query.build_query_as().fetch_all(&mut *connection).await?;
    inserted.sort_unstable_by_key(|(_, id)| *id);
    // No resends (the usual case): the ids, ascending, are the batch's, in order.
    if inserted.len() == batch.len()
        && inserted
            .iter()
            .zip(batch)
            .all(|((key, _), message)| key == message.client_offset.as_str())
    {
        return Ok(Some(
            inserted
                .into_iter()
                .map(|(_, id)| WriteOutcome::Inserted(ServerOffset(id)))
                .collect(),
        ));
    }
    let mut fresh: HashMap<String, i64> = inserted.into_iter().collect();
    let resent: Vec<&NewMessage> = batch
        .iter()
        .filter(|m| !fresh.contains_key(m.client_offset.as_str()))
        .collect();
    let mut lookup = QueryBuilder::<Sqlite>::new(
        "SELECT client_offset, id FROM messages WHERE client_offset IN (",
    );
    let mut list = lookup.separated(", ");
    for message in &resent {
        list.push_bind(message.client_offset.as_str());
    }
    lookup.push(")");
    let stored_before: HashMap<String, i64> = lookup
        .build_query_as::<(String, i64)>()
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .collect();
    batch
        .iter()
        .map(|message| {
            let key = message.client_offset.as_str();
            if let Some(id) = fresh.remove(key) {
                Ok(WriteOutcome::Inserted(ServerOffset(id)))
            } else {
                let id = stored_before.get(key).ok_or(StoreError::MissingRow)?;
                Ok(WriteOutcome::Duplicate(ServerOffset(*id)))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Stores one private message (or finds it stored under its client offset).
async fn insert_private(
    tx: &mut sqlx::SqliteConnection,
    message: &NewMessage,
    created_at: i64,
) -> Result<WriteOutcome, StoreError> {
    let recipient = message.recipient.as_ref().map_or("", |r| r.as_str());
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO private_messages (client_offset, sender, recipient, content, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (client_offset) DO NOTHING RETURNING id",
    )
    .bind(message.client_offset.as_str())
    .bind(message.author.as_str())
    .bind(recipient)
    .bind(message.text.as_str())
    .bind(created_at)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = inserted {
        return Ok(WriteOutcome::Inserted(ServerOffset(id)));
    }
    let id: i64 = sqlx::query_scalar("SELECT id FROM private_messages WHERE client_offset = ?1")
        .bind(message.client_offset.as_str())
        .fetch_one(&mut *tx)
        .await?;
    Ok(WriteOutcome::Duplicate(ServerOffset(id)))
}

/// Stores one chunk of a batch with two statements: look up the client offsets already
/// stored, then insert the rest in one multi-row `INSERT`. Looking before inserting matters:
/// with AUTOINCREMENT, an `INSERT .. ON CONFLICT DO NOTHING` that hits the conflict still
/// consumes an id, and ids must stay consecutive (clients detect missed messages by a jump).
/// Rows are inserted in chunk order, so their ids ascend in that order.
async fn insert_chunk(
    tx: &mut sqlx::SqliteConnection,
    chunk: &[&NewMessage],
    created_at: i64,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let mut lookup = QueryBuilder::<Sqlite>::new(
        "SELECT client_offset, id FROM messages WHERE client_offset IN (",
    );
    let mut keys = lookup.separated(", ");
    for message in chunk {
        keys.push_bind(message.client_offset.as_str());
    }
    lookup.push(")");
    let mut ids: HashMap<String, i64> = lookup
        .build_query_as::<(String, i64)>()
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let fresh: Vec<&NewMessage> = chunk
        .iter()
        .copied()
        .filter(|m| {
            !ids.contains_key(m.client_offset.as_str()) && seen.insert(m.client_offset.as_str())
        })
        .collect();
    let stored_before: HashSet<String> = ids.keys().cloned().collect();
    if !fresh.is_empty() {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (client_offset, content, created_at, author) ",
        );
        insert.push_values(&fresh, |mut row, message| {
            row.push_bind(message.client_offset.as_str())
                .push_bind(message.text.as_str())
                .push_bind(created_at)
                .push_bind(message.author.as_str());
        });
        insert.push(" RETURNING client_offset, id");
        let inserted: Vec<(String, i64)> = insert.build_query_as().fetch_all(&mut *tx).await?;
        ids.extend(inserted);
    }
    // The first occurrence of a new key is the insert; any later one in the chunk repeats it.
    let mut first = HashSet::new();
    chunk
        .iter()
        .map(|message| {
            let key = message.client_offset.as_str();
            let id = ServerOffset(*ids.get(key).ok_or(StoreError::MissingRow)?);
            Ok(if !stored_before.contains(key) && first.insert(key) {
                WriteOutcome::Inserted(id)
            } else {
                WriteOutcome::Duplicate(id)
            })
        })
        .collect()
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
