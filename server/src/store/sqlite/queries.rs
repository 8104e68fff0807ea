//! The store's SQL, run on one connection: a batch insert (group commit) and the reads.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{ChannelId, NewMessage, ServerOffset};
use crate::store::{ChannelFilter, StoredMessage, WriteOutcome};

/// Finds a stored message by its client offset.
const FIND_MESSAGE: &str = "SELECT id FROM messages WHERE client_offset = ?1";
/// Stores a message whose client offset [`FIND_MESSAGE`] did not find. A plain
/// single-row `INSERT` needs no statement journal; an `INSERT … SELECT … WHERE NOT EXISTS`
/// needs one per row and measured 3× the instructions. Looking first also means a resend
/// consumes no id (an `ON CONFLICT DO NOTHING` would: AUTOINCREMENT takes the id before
/// the conflict is found, and clients detect a missed message by a jump in the ids).
const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (client_offset, content, created_at, author, channel_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// A channel's highest seq (0 before its first message), by the `(channel_id, seq)` index.
const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE channel_id = ?1";
/// Records that the message at (channel, seq) mentions the account named `?1`, if any.
const INSERT_MENTION: &str = "INSERT OR IGNORE INTO mentions (account_id, channel_id, seq) \
     SELECT id, ?2, ?3 FROM accounts WHERE username_key = ?1";
/// Stores `batch` in one IMMEDIATE transaction and returns each message's outcome, in batch
/// order. IMMEDIATE takes the write lock up front, so a writer in another process waits (busy
/// timeout) instead of failing the upgrade from a read lock. Rows go in in batch order, so
/// ids ascend in that order; a client offset stored before, or earlier in the batch, is a
/// duplicate of that row. Each new message takes its channel's next seq (returned beside
/// the outcomes; 0 for duplicates). If anything fails, nothing is stored.
pub fn insert_batch(
    connection: &Connection,
    batch: &[NewMessage],
    created_at: i64,
) -> rusqlite::Result<(Vec<WriteOutcome>, Vec<i64>)> {
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
) -> rusqlite::Result<(Vec<WriteOutcome>, Vec<i64>)> {
    let mut find_message = connection.prepare_cached(FIND_MESSAGE)?;
    let mut insert_message = connection.prepare_cached(INSERT_MESSAGE)?;
    let mut last_seqs: HashMap<ChannelId, i64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut seqs = Vec::with_capacity(batch.len());
    for message in batch {
        let client_offset = message.client_offset.as_str();
        let (text, author) = (message.text.as_str(), message.author.as_str());
        let stored: Option<i64> = find_message
            .query_row([client_offset], |row| row.get(0))
            .optional()?;
        let (outcome, seq) = match stored {
            Some(id) => (WriteOutcome::Duplicate(ServerOffset(id)), 0),
            None => {
                let channel = message.channel;
                let seq = match last_seqs.get(&channel) {
                    Some(last) => last + 1,
                    None => last_seq(connection, channel)? + 1,
                };
                last_seqs.insert(channel, seq);
                let id = insert_message.insert(params![
                    client_offset,
                    text,
                    created_at,
                    author,
                    channel.0,
                    seq
                ])?;
                insert_mentions(connection, text, author, channel, seq)?;
                (WriteOutcome::Inserted(ServerOffset(id)), seq)
            }
        };
        outcomes.push(outcome);
        seqs.push(seq);
    }
    Ok((outcomes, seqs))
}

/// The highest seq stored in `channel` (0 when it has no message yet).
fn last_seq(connection: &Connection, channel: ChannelId) -> rusqlite::Result<i64> {
    connection
        .prepare_cached(LAST_SEQ)?
        .query_row([channel.0], |row| row.get(0))
}

/// Records the accounts `text` mentions (`@name`, its author aside), for their unread
/// mention counts.
fn insert_mentions(
    connection: &Connection,
    text: &str,
    author: &str,
    channel: ChannelId,
    seq: i64,
) -> rusqlite::Result<()> {
    if !text.contains('@') {
        return Ok(());
    }
    let mut insert = connection.prepare_cached(INSERT_MENTION)?;
    for name in chat_protocol::channels::mentioned_names(text) {
        if !name.eq_ignore_ascii_case(author) {
            insert.execute(params![name, channel.0, seq])?;
        }
    }
    Ok(())
}

/// The columns [`stored_message`] reads.
const MESSAGE_COLUMNS: &str = "id, content, created_at, author, channel_id, seq";

/// Up to `limit` messages of the channels `channels` lets through with an id greater than
/// `after`, in id order.
pub fn messages_after(
    connection: &Connection,
    after: ServerOffset,
    channels: &ChannelFilter,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    match channels {
        ChannelFilter::All => connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?
            .query_map(params![after.0, limit], stored_message)?
            .collect(),
        ChannelFilter::Only(ids) => {
            let ids: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
            connection
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id > ?1 \
                     AND channel_id IN (SELECT value FROM json_each(?2)) ORDER BY id LIMIT ?3"
                ))?
                .query_map(
                    params![after.0, format!("[{}]", ids.join(",")), limit],
                    stored_message,
                )?
                .collect()
        }
    }
}

/// Up to `limit` messages with an id below `before`, the latest of them, in id order: of
/// one channel (by its `(channel_id, seq)` index), or of all (`None`).
pub fn messages_before(
    connection: &Connection,
    channel: Option<ChannelId>,
    before: ServerOffset,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let mut messages = match channel {
        Some(channel) => connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel_id = ?1 AND id < ?2 \
                 ORDER BY seq DESC LIMIT ?3"
            ))?
            .query_map(params![channel.0, before.0, limit], stored_message)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        None => connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
            ))?
            .query_map(params![before.0, limit], stored_message)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    messages.reverse(); // fetched newest first
    Ok(messages)
}

/// The highest stored id (0 when empty).
pub fn last_offset(connection: &Connection) -> rusqlite::Result<ServerOffset> {
    let id: Option<i64> = connection
        .prepare_cached("SELECT MAX(id) FROM messages")?
        .query_row([], |row| row.get(0))?;
    Ok(ServerOffset(id.unwrap_or(0)))
}

/// A `messages` row selected as [`MESSAGE_COLUMNS`].
fn stored_message(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: ServerOffset(row.get(0)?),
        text: row.get(1)?,
        created_at: row.get(2)?,
        author: row.get(3)?,
        channel: ChannelId(row.get(4)?),
        seq: row.get(5)?,
    })
}
