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
use sqlx::{Executor, Row};

use super::{StoreError, StoredMessage, WriteOutcome};
use crate::domain::{NewMessage, ServerOffset};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
        // IMMEDIATE takes the write lock up front, so a concurrent writer in another process
        // waits (busy timeout) instead of failing the upgrade from a read lock.
        let writer = self.writer.as_ref().ok_or(StoreError::ReadOnly)?;
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for message in batch {
            // Look before inserting: with AUTOINCREMENT, an `INSERT .. ON CONFLICT DO NOTHING`
            // that hits the conflict still consumes an id, and ids must stay consecutive
            // (clients detect missed messages by a jump in offsets).
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM messages WHERE client_offset = ?1")
                    .bind(message.client_offset.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let outcome = match existing {
                Some(id) => WriteOutcome::Duplicate(ServerOffset(id)),
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO messages (client_offset, content, created_at) \
                         VALUES (?1, ?2, ?3) RETURNING id",
                    )
                    .bind(message.client_offset.as_str())
                    .bind(message.text.as_str())
                    .bind(created_at)
                    .fetch_one(&mut *tx)
                    .await?;
                    WriteOutcome::Inserted(ServerOffset(id))
                }
            };
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Up to `limit` messages with an id greater than `after`, in id order.
    pub async fn messages_after(
        &self,
        after: ServerOffset,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, content, created_at FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StoredMessage {
                    id: ServerOffset(row.try_get(0)?),
                    text: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                })
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientOffset, MessageText};

    fn message(text: &str, key: &str) -> NewMessage {
        NewMessage {
            text: MessageText::parse(text.into(), 4096).unwrap(),
            client_offset: ClientOffset::parse(key.into()).unwrap(),
        }
    }

    async fn open_temp() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("nested/chat.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn creates_the_file_and_its_directory() {
        let (dir, store) = open_temp().await;
        assert!(dir.path().join("nested/chat.db").exists());
        assert_eq!(store.last_offset().await.unwrap(), ServerOffset(0));
    }

    #[tokio::test]
    async fn inserts_in_order_with_increasing_ids() {
        let (_dir, store) = open_temp().await;
        let out = store
            .insert_batch(&[message("a", "k1"), message("b", "k2")], 1)
            .await
            .unwrap();
        assert_eq!(
            out,
            [
                WriteOutcome::Inserted(ServerOffset(1)),
                WriteOutcome::Inserted(ServerOffset(2))
            ]
        );
        let out = store.insert_batch(&[message("c", "k3")], 2).await.unwrap();
        assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(3))]);
    }

    #[tokio::test]
    async fn a_resent_client_offset_is_stored_once() {
        let (_dir, store) = open_temp().await;
        store.insert_batch(&[message("a", "k1")], 1).await.unwrap();
        let out = store
            .insert_batch(
                &[
                    message("a again", "k1"),
                    message("b", "k2"),
                    message("b", "k2"),
                ],
                2,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            [
                WriteOutcome::Duplicate(ServerOffset(1)),
                WriteOutcome::Inserted(ServerOffset(2)),
                WriteOutcome::Duplicate(ServerOffset(2)),
            ]
        );
        let all = store.messages_after(ServerOffset(0), 100).await.unwrap();
        assert_eq!(
            all.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[tokio::test]
    async fn replay_resumes_after_the_given_offset_in_id_order() {
        let (_dir, store) = open_temp().await;
        let batch: Vec<_> = (0..10)
            .map(|i| message(&format!("m{i}"), &format!("k{i}")))
            .collect();
        store.insert_batch(&batch, 7).await.unwrap();
        let page = store.messages_after(ServerOffset(4), 3).await.unwrap();
        assert_eq!(
            page.iter()
                .map(|m| (m.id.0, m.text.as_str(), m.created_at))
                .collect::<Vec<_>>(),
            [(5, "m4", 7), (6, "m5", 7), (7, "m6", 7)]
        );
        assert!(
            store
                .messages_after(ServerOffset(10), 3)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.last_offset().await.unwrap(), ServerOffset(10));
    }

    #[tokio::test]
    async fn text_is_stored_verbatim() {
        let (_dir, store) = open_temp().await;
        let html = "<img src=x onerror=alert(1)> 'quotes' \"and\" ünïcode 🎉";
        store.insert_batch(&[message(html, "k")], 1).await.unwrap();
        let all = store.messages_after(ServerOffset(0), 10).await.unwrap();
        assert_eq!(all[0].text, html);
    }

    #[tokio::test]
    async fn reopening_keeps_messages_and_ids_keep_growing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.insert_batch(&[message("a", "k1")], 1).await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        let out = store.insert_batch(&[message("b", "k2")], 2).await.unwrap();
        assert_eq!(out, [WriteOutcome::Inserted(ServerOffset(2))]);
    }
}
