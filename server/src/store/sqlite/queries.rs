//! The store's SQL, run on one connection: a batch insert (group commit) and the reads.

use rusqlite::{Connection, OptionalExtension, Params, Row, Statement, params};

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
    batch
        .iter()
        .map(|message| {
            let client_offset = message.client_offset.as_str();
            let (text, author) = (message.text.as_str(), message.author.as_str());
            match &message.recipient {
                None => find_or_insert(
                    &mut find_public,
                    &mut insert_public,
                    client_offset,
                    params![client_offset, text, created_at, author],
                ),
                Some(recipient) => find_or_insert(
                    &mut *connection.prepare_cached(FIND_PRIVATE)?,
                    &mut *connection.prepare_cached(INSERT_PRIVATE)?,
                    client_offset,
                    params![client_offset, author, recipient.as_str(), text, created_at],
                ),
            }
        })
        .collect()
}

/// The row stored under `client_offset` if there is one (found by `find`), else a new one
/// (`insert` with `values`). The write lock is held: nothing else can store the client
/// offset in between.
fn find_or_insert(
    find: &mut Statement<'_>,
    insert: &mut Statement<'_>,
    client_offset: &str,
    values: impl Params,
) -> rusqlite::Result<WriteOutcome> {
    let stored: Option<i64> = find
        .query_row([client_offset], |row| row.get(0))
        .optional()?;
    Ok(match stored {
        Some(id) => WriteOutcome::Duplicate(ServerOffset(id)),
        None => WriteOutcome::Inserted(ServerOffset(insert.insert(values)?)),
    })
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
