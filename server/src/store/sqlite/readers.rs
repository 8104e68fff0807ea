//! [`Readers`]: read-only connections that serve replays and history pages off the async
//! runtime.
//!
//! WAL lets them read while the writer commits. Each read runs on tokio's blocking pool with
//! a connection taken from the idle list (or opened), which keeps its prepared statements
//! for the next read. At most [`READERS`] reads run at once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connection::{self, Access};
use crate::store::StoreError;

/// Reads that run at once (and idle connections kept).
const READERS: usize = 4;

/// The read-only connections of one database file.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    turns: Semaphore,
}

impl Readers {
    /// Readers of the database at `path`; one connection is opened now, so a missing or
    /// unreadable file is reported at startup.
    pub fn open(path: PathBuf) -> Result<Arc<Self>, StoreError> {
        let first = connection::open(&path, Access::ReadOnly)?;
        Ok(Arc::new(Self {
            path,
            idle: Mutex::new(vec![first]),
            turns: Semaphore::new(READERS),
        }))
    }

    /// Runs `read` on a read-only connection and returns its result.
    pub async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let _turn = self.turns.acquire().await.map_err(|_| StoreError::Closed)?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = read(&connection);
            readers.put_back(connection);
            Ok(result?)
        })
        .await
        .map_err(|error| StoreError::Thread(std::io::Error::other(error.to_string())))?
    }

    /// Closes the idle connections; reads after this fail.
    pub fn close(&self) {
        self.turns.close();
        self.idle_list().clear();
    }

    fn take(&self) -> Result<Connection, rusqlite::Error> {
        match self.idle_list().pop() {
            Some(connection) => Ok(connection),
            None => connection::open(&self.path, Access::ReadOnly),
        }
    }

    fn put_back(&self, connection: Connection) {
        let mut idle = self.idle_list();
        if idle.len() < READERS {
            idle.push(connection);
        }
    }

    /// The idle list; a panic while it was held cannot leave it inconsistent.
    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
