//! The store's SQL, run on one connection: a batch insert (group commit) and the reads.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{NewMessage, ServerOffset};
use crate::store::{StoredMessage, StoredPrivateMessage, WriteOutcome};

/// Finds a stored public message by its client offset.
const FIND_PUBLIC: &str = "SELECT id FROM messages WHERE client_offset = ?1";
/// Stores a public message whose client offset [`FIND_PUBLIC`] did not find. A plain
/// single-row `INSERT` needs no statement journal; an `INSERT … SELECT … WHERE NOT EXISTS`
/// needs one per row and measured 3× the instructions. Looking first also means a resend
/// consumes no id (an `ON CONFLICT DO NOTHING` would: AUTOINCREMENT takes the id before
/// the conflict is found, and clients detect a missed message by a jump in the ids).
const INSERT_PUBLIC: &str =
    "INSERT INTO messages (client_offset, content, created_at, author) VALUES (?1, ?2, ?3, ?4)";
/// Finds a stored private message by its client offset.
const FIND_PRIVATE: &str = "SELECT id FROM private_messages WHERE client_offset = ?1";
/// Stores a private message whose client offset [`FIND_PRIVATE`] did not find.
const INSERT_PRIVATE: &str = "INSERT INTO private_messages \
     (client_offset, sender, recipient, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Stores `batch` in one IMMEDIATE transaction and returns each message's outcome, in batch
/// order. IMMEDIATE takes the write lock up front, so a writer in another process waits (busy
/// timeout) instead of failing the upgrade from a read lock. Rows go in in batch order, so
/// public ids ascend in that order; a client offset stored before, or earlier in the batch,
/// is a duplicate of that row. If anything fails, nothing is stored.
pub fn insert_batch(
    connection: &Connection,
    batch: &[NewMessage],
    created_at: i64,
) -> rusqlite::Result<Vec<WriteOutcome>> {
    // BEGIN and COMMIT as cached statements (rusqlite's `Transaction` parses them anew each
    // time); the writer thread rolls back whatever this leaves open on an error.
    connection.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let outcomes = insert_all(connection, batch, created_at)?;
    connection.prepare_cached("COMMIT")?.execute([])?;
    Ok(outcomes)
}

/// The inserts of [`insert_batch`], inside its transaction.
fn insert_all(
    connection: &Connection,
    batch: &[NewMessage],
    created_at: i64,
) -> rusqlite::Result<Vec<WriteOutcome>> {
    let mut find_public = connection.prepare_cached(FIND_PUBLIC)?;
    let mut insert_public = connection.prepare_cached(INSERT_PUBLIC)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for message in batch {
        let client_offset = message.client_offset.as_str();
        // The write lock is held: nothing else can store this client offset in between.
        let stored: Option<i64> = match message.recipient {
            None => find_public.query_row([client_offset], |row| row.get(0)),
            Some(_) => connection
                .prepare_cached(FIND_PRIVATE)?
                .query_row([client_offset], |row| row.get(0)),
        }
        .optional()?;
        if let Some(id) = stored {
            outcomes.push(WriteOutcome::Duplicate(ServerOffset(id)));
            continue;
        }
        match &message.recipient {
            None => insert_public.execute(params![
                client_offset,
                message.text.as_str(),
                created_at,
                message.author.as_str(),
            ])?,
            Some(recipient) => connection.prepare_cached(INSERT_PRIVATE)?.execute(params![
                client_offset,
                message.author.as_str(),
                recipient.as_str(),
                message.text.as_str(),
                created_at,
            ])?,
        };
        outcomes.push(WriteOutcome::Inserted(ServerOffset(
            connection.last_insert_rowid(),
        )));
    }
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
