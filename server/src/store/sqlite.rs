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

/// Rows per multi-row statement (5 bound values each, far below SQLite's variable limit).
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

/// Where the transaction around an `INSERT` of public messages is managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transaction {
    /// By sqlx: the statement runs inside a transaction it began.
    Open,
    /// By the query itself, `BEGIN IMMEDIATE; INSERT …; COMMIT`: one round trip to sqlx's
    /// SQLite thread for a whole batch. Out of sqlx's sight, so if a statement fails the
    /// transaction may still be open: the caller then replaces the connection.
    InQuery,
}

/// [`SqliteStore::insert_batch`] on one connection: one IMMEDIATE transaction (IMMEDIATE
/// takes the write lock up front, so a concurrent writer in another process waits, busy
/// timeout, instead of failing the upgrade from a read lock).
async fn insert_batch_on(
    connection: &mut sqlx::SqliteConnection,
    batch: &[NewMessage],
    created_at: i64,
) -> Result<Vec<WriteOutcome>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // Public messages in batch order (their ids ascend in that order), private ones on their
    // own sequence; the outcomes go back in batch order.
    let (public, private): (Vec<Indexed<'_>>, Vec<Indexed<'_>>) = batch
        .iter()
        .enumerate()
        .partition(|(_, m)| m.recipient.is_none());
    if private.is_empty() && public.len() <= ROWS_PER_STATEMENT {
        // The common batch: transaction and insert in one query. Resends' ids are read
        // after the commit; they are stored and do not change.
        let messages: Vec<&NewMessage> = batch.iter().collect();
        let inserted =
            insert_public(connection, &messages, created_at, Transaction::InQuery).await?;
        return outcomes_of(connection, &messages, inserted).await;
    }
    let mut tx = sqlx::Connection::begin_with(connection, "BEGIN IMMEDIATE").await?;
    let mut outcomes = vec![WriteOutcome::Duplicate(ServerOffset(0)); batch.len()];
    for chunk in public.chunks(ROWS_PER_STATEMENT) {
        let messages: Vec<&NewMessage> = chunk.iter().map(|(_, m)| *m).collect();
        let inserted = insert_public(&mut tx, &messages, created_at, Transaction::Open).await?;
        let stored = outcomes_of(&mut tx, &messages, inserted).await?;
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

/// Inserts the public messages of `chunk` whose client offset is not stored yet, in one
/// multi-row `INSERT … SELECT … FROM (VALUES …) WHERE NOT EXISTS … RETURNING`, and returns
/// the ids it gave, by client offset. A client offset already stored is filtered out by the
/// `SELECT`, so it inserts nothing and consumes no id (with AUTOINCREMENT an
/// `ON CONFLICT DO NOTHING` would consume one, and clients detect missed messages by a jump
/// in the ids). Only the first message of a client offset repeated within the chunk goes in.
/// Rows go in in chunk order (`ORDER BY` the position), so their ids ascend in that order.
async fn insert_public(
    connection: &mut sqlx::SqliteConnection,
    chunk: &[&NewMessage],
    created_at: i64,
    transaction: Transaction,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut seen = HashSet::with_capacity(chunk.len());
    let firsts = chunk
        .iter()
        .enumerate()
        .filter(|(_, m)| seen.insert(m.client_offset.as_str()));
    let mut query = QueryBuilder::<Sqlite>::new(match transaction {
        Transaction::Open => "",
        Transaction::InQuery => "BEGIN IMMEDIATE; ",
    });
    query.push(
        "INSERT INTO messages (client_offset, content, created_at, author) \
         SELECT column2, column3, column4, column5 FROM (",
    );
    query.push_values(firsts, |mut row, (at, message)| {
        row.push_bind(at as i64)
            .push_bind(message.client_offset.as_str())
            .push_bind(message.text.as_str())
            .push_bind(created_at)
            .push_bind(message.author.as_str());
    });
    query.push(
        ") WHERE NOT EXISTS (SELECT 1 FROM messages WHERE client_offset = column2) \
         ORDER BY column1 RETURNING client_offset, id;",
    );
    if transaction == Transaction::InQuery {
        query.push(" COMMIT;");
    }
    let inserted: Vec<(String, i64)> = query.build_query_as().fetch_all(&mut *connection).await?;
    Ok(inserted.into_iter().collect())
}

/// The outcome of each message of `chunk`, in order, given the ids `inserted` gave: the
/// first message of an inserted client offset is `Inserted`, any other is a `Duplicate` of
/// the stored row (looked up, in one query, only when some client offset was stored
/// before).
async fn outcomes_of(
    connection: &mut sqlx::SqliteConnection,
    chunk: &[&NewMessage],
    mut inserted: HashMap<String, i64>,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let stored_before: Vec<&str> = chunk
        .iter()
        .map(|m| m.client_offset.as_str())
        .filter(|key| !inserted.contains_key(*key))
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::new();
    if !stored_before.is_empty() {
        let mut lookup = QueryBuilder::<Sqlite>::new(
            "SELECT client_offset, id FROM messages WHERE client_offset IN (",
        );
        let mut keys = lookup.separated(", ");
        for key in stored_before {
            keys.push_bind(key);
        }
        lookup.push(")");
        ids = lookup
            .build_query_as::<(String, i64)>()
            .fetch_all(&mut *connection)
            .await?
            .into_iter()
            .collect();
    }
    chunk
        .iter()
        .map(|message| {
            let key = message.client_offset.as_str();
            // Taken out on its first message, so a repeat in the chunk finds it in `ids`.
            if let Some(id) = inserted.remove(key) {
                ids.insert(key.to_owned(), id);
                return Ok(WriteOutcome::Inserted(ServerOffset(id)));
            }
            let id = ids.get(key).ok_or(StoreError::MissingRow)?;
            Ok(WriteOutcome::Duplicate(ServerOffset(*id)))
        })
        .collect()
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
