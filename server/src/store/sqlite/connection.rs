//! Opening an SQLite connection with the settings every connection of the store shares.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements each connection keeps (the store uses fewer than this: 9 for
/// messages, 9 for accounts and sessions).
const STATEMENT_CACHE: usize = 32;

/// Whether a connection may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The one writer connection: may create the file.
    ReadWrite,
    /// Replays and history: never writes, never creates.
    ReadOnly,
}

/// Opens `path`. `synchronous = FULL` makes every commit durable on power loss, which is what
/// an ack promises (group commit keeps that cheap); the busy timeout absorbs other processes
/// that open the same file (the `sqlite3` shell), so `SQLITE_BUSY` does not reach a client.
/// The file is already in WAL mode: the migrations set it, and it persists.
pub fn open(path: &Path, access: Access) -> rusqlite::Result<Connection> {
    let flags = match access {
        Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(connection)
}
