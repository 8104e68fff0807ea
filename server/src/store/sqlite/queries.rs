//! The store's SQL, run on one connection: a batch insert (group commit) and the reads.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Params, Row, Statement, params};

use crate::domain::{ChannelId, NewMessage, ServerOffset};
use crate::store::{ChannelFilter, StoredMessage, StoredPrivateMessage, WriteOutcome};

/// Finds a stored public message by its client offset.
const FIND_PUBLIC: &str = "SELECT id FROM messages WHERE client_offset = ?1";
/// Stores a public message whose client offset [`FIND_PUBLIC`] did not find. A plain
/// single-row `INSERT` needs no statement journal; an `INSERT … SELECT … WHERE NOT EXISTS`
/// needs one per row and measured 3× the instructions. Looking first also means a resend
/// consumes no id (an `ON CONFLICT DO NOTHING` would: AUTOINCREMENT takes the id before
/// the conflict is found, and clients detect a missed message by a jump in the ids).
const INSERT_PUBLIC: &str = "INSERT INTO messages \
     (client_offset, content, created_at, author, channel_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// A channel's highest seq (0 before its first message), by the `(channel_id, seq)` index.
const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE channel_id = ?1";
/// Records that the message at (channel, seq) mentions the account named `?1`, if any.
const INSERT_MENTION: &str = "INSERT OR IGNORE INTO mentions (account_id, channel_id, seq) \
     SELECT id, ?2, ?3 FROM accounts WHERE username_key = ?1";
/// Finds a stored private message by its client offset.
const FIND_PRIVATE: &str = "SELECT id FROM private_messages WHERE client_offset = ?1";
/// Stores a private message whose client offset [`FIND_PRIVATE`] did not find.
const INSERT_PRIVATE: &str = "INSERT INTO private_messages \
     (client_offset, sender, recipient, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Stores `batch` in one IMMEDIATE transaction and returns each message's outcome, in batch
/// order. IMMEDIATE takes the write lock up front, so a writer in another process waits (busy
/// timeout) instead of failing the upgrade from a read lock. Rows go in in batch order, so
/// public ids ascend in that order; a client offset stored before, or earlier in the batch,
/// is a duplicate of that row. Each new public message takes its channel's next seq
/// (returned beside the outcomes; 0 for duplicates and private messages). If anything
/// fails, nothing is stored.
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
    let mut find_public = connection.prepare_cached(FIND_PUBLIC)?;
    let mut insert_public = connection.prepare_cached(INSERT_PUBLIC)?;
    let mut last_seqs: HashMap<ChannelId, i64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut seqs = Vec::with_capacity(batch.len());
    for message in batch {
        let client_offset = message.client_offset.as_str();
        let (text, author) = (message.text.as_str(), message.author.as_str());
        let (outcome, seq) = match &message.recipient {
            None => {
                let stored: Option<i64> = find_public
                    .query_row([client_offset], |row| row.get(0))
                    .optional()?;
                match stored {
                    Some(id) => (WriteOutcome::Duplicate(ServerOffset(id)), 0),
                    None => {
                        let channel = message.channel;
                        let seq = match last_seqs.get(&channel) {
                            Some(last) => last + 1,
                            None => last_seq(connection, channel)? + 1,
                        };
                        last_seqs.insert(channel, seq);
                        let id = insert_public.insert(params![
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
                }
            }
            Some(recipient) => (
                find_or_insert(
                    &mut *connection.prepare_cached(FIND_PRIVATE)?,
                    &mut *connection.prepare_cached(INSERT_PRIVATE)?,
                    client_offset,
                    params![client_offset, author, recipient.as_str(), text, created_at],
                )?,
                0,
            ),
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
