//! The store's SQL, run on one connection: a batch insert (group commit) and the reads.

use rusqlite::{Connection, Row, TransactionBehavior, params};

use crate::domain::{NewMessage, ServerOffset};
use crate::store::{StoredMessage, StoredPrivateMessage, WriteOutcome};

/// Stores a public message unless its client offset is stored already. The `NOT EXISTS`
/// filter means a resend inserts nothing and consumes no id (an `ON CONFLICT DO NOTHING`
/// would: AUTOINCREMENT takes the id before the conflict is found, and clients detect a
/// missed message by a jump in the ids).
const INSERT_PUBLIC: &str = "INSERT INTO messages (client_offset, content, created_at, author) \
     SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE client_offset = ?1)";
const FIND_PUBLIC: &str = "SELECT id FROM messages WHERE client_offset = ?1";
/// Private messages have a sequence of their own, so a consumed id there hides nothing.
const INSERT_PRIVATE: &str = "INSERT INTO private_messages \
     (client_offset, sender, recipient, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (client_offset) DO NOTHING";
const FIND_PRIVATE: &str = "SELECT id FROM private_messages WHERE client_offset = ?1";

/// Stores `batch` in one IMMEDIATE transaction and returns each message's outcome, in batch
/// order. IMMEDIATE takes the write lock up front, so a writer in another process waits (busy
/// timeout) instead of failing the upgrade from a read lock. Rows go in in batch order, so
/// public ids ascend in that order; a client offset stored before, or earlier in the batch,
/// is a duplicate of that row. If anything fails, nothing is stored.
pub fn insert_batch(
    connection: &mut Connection,
    batch: &[NewMessage],
    created_at: i64,
) -> rusqlite::Result<Vec<WriteOutcome>> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcomes = {
        let mut insert_public = tx.prepare_cached(INSERT_PUBLIC)?;
        let mut insert_private = tx.prepare_cached(INSERT_PRIVATE)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for message in batch {
            let client_offset = message.client_offset.as_str();
            let inserted = match &message.recipient {
                None => insert_public.execute(params![
                    client_offset,
                    message.text.as_str(),
                    created_at,
                    message.author.as_str(),
                ])?,
                Some(recipient) => insert_private.execute(params![
                    client_offset,
                    message.author.as_str(),
                    recipient.as_str(),
                    message.text.as_str(),
                    created_at,
                ])?,
            };
            outcomes.push(if inserted == 1 {
                WriteOutcome::Inserted(ServerOffset(tx.last_insert_rowid()))
            } else {
                let find = match message.recipient {
                    None => FIND_PUBLIC,
                    Some(_) => FIND_PRIVATE,
                };
                let id = tx
                    .prepare_cached(find)?
                    .query_row([client_offset], |row| row.get(0))?;
                WriteOutcome::Duplicate(ServerOffset(id))
            });
        }
        outcomes
    };
    tx.commit()?;
    Ok(outcomes)
}

/// Up to `limit` messages with an id greater than `after`, in id order.
pub fn messages_after(
    connection: &Connection,
    after: ServerOffset,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    connection
        .prepare_cached(
            "SELECT id, content, created_at, author FROM messages WHERE id > ?1 \
             ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after.0, limit], stored_message)?
        .collect()
}

/// Up to `limit` messages with an id below `before`, the latest of them, in id order.
pub fn messages_before(
    connection: &Connection,
    before: ServerOffset,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let mut messages = connection
        .prepare_cached(
            "SELECT id, content, created_at, author FROM messages WHERE id < ?1 \
             ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![before.0, limit], stored_message)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    messages.reverse(); // fetched newest first
    Ok(messages)
}

/// Up to `limit` private messages sent or received by `nickname` with an id greater than
/// `after`, in id order.
pub fn private_messages_after(
    connection: &Connection,
    nickname: &str,
    after: ServerOffset,
    limit: u32,
) -> rusqlite::Result<Vec<StoredPrivateMessage>> {
    connection
        .prepare_cached(
            "SELECT id, content, created_at, sender, recipient FROM private_messages \
             WHERE id > ?1 AND (sender = ?2 OR recipient = ?2) ORDER BY id LIMIT ?3",
        )?
        .query_map(params![after.0, nickname, limit], |row| {
            Ok(StoredPrivateMessage {
                id: ServerOffset(row.get(0)?),
                text: row.get(1)?,
                created_at: row.get(2)?,
                from: row.get(3)?,
                to: row.get(4)?,
            })
        })?
        .collect()
}

/// The highest stored id (0 when empty).
pub fn last_offset(connection: &Connection) -> rusqlite::Result<ServerOffset> {
    let id: Option<i64> = connection
        .prepare_cached("SELECT MAX(id) FROM messages")?
        .query_row([], |row| row.get(0))?;
    Ok(ServerOffset(id.unwrap_or(0)))
}

/// A `messages` row selected as `id, content, created_at, author`.
fn stored_message(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: ServerOffset(row.get(0)?),
        text: row.get(1)?,
        created_at: row.get(2)?,
        author: row.get(3)?,
    })
}
