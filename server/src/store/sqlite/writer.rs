//! [`WriterThread`]: the one connection that writes, on a thread of its own.
//!
//! SQLite calls block, and a commit waits for `fsync`. Running them on a dedicated thread
//! keeps the async runtime free, and lets the connection keep its prepared statements: a
//! whole batch is one hand-off to the thread and one reply, however many rows it has.

use std::path::PathBuf;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::connection::{self, Access};
use crate::store::StoreError;

/// Work for the writer thread, run on its connection.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer thread is asked to do.
enum Command {
    /// Run a job.
    Run(Job),
    /// Checkpoint the WAL into the database file, close the connection and stop.
    Close(oneshot::Sender<()>),
}

/// The handle to the writer thread; clones share the thread. It stops when asked to close,
/// or when every handle is dropped.
#[derive(Clone, Debug)]
pub struct WriterThread {
    commands: mpsc::Sender<Command>,
}

impl WriterThread {
    /// Opens the writer connection to `path` and starts its thread.
    pub fn start(path: PathBuf) -> Result<Self, StoreError> {
        let connection = connection::open(&path, Access::ReadWrite)?;
        let (commands, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(path, connection, queue))
            .map_err(StoreError::Thread)?;
        Ok(Self { commands })
    }

    /// Runs `job` on the writer connection and returns its result. If the job fails inside
    /// a transaction it could not end (a failed `COMMIT` and `ROLLBACK`, on a full or
    /// read-only disk), the connection is replaced, so the store recovers once the fault
    /// clears.
    pub async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = reply.send(job(connection));
        });
        self.commands
            .send(Command::Run(job))
            .map_err(|_| StoreError::Closed)?;
        Ok(result.await.map_err(|_| StoreError::Closed)??)
    }

    /// Checkpoints the WAL (so the file is whole on its own), closes the connection and
    /// stops the thread.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.commands.send(Command::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// The writer thread's loop.
fn serve(path: PathBuf, mut connection: Connection, queue: mpsc::Receiver<Command>) {
    while let Ok(command) = queue.recv() {
        match command {
            Command::Run(job) => {
                job(&mut connection);
                if !connection.is_autocommit() {
                    connection = recover(&path, connection);
                }
            }
            Command::Close(done) => {
                if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                    tracing::warn!(%error, "WAL checkpoint at shutdown failed");
                }
                drop(connection);
                let _ = done.send(());
                return;
            }
        }
    }
}

/// A job left a transaction open (it failed and could not roll back): roll back, or open a
/// fresh connection, or, if even that fails, keep the old one for the next job to retry.
fn recover(path: &std::path::Path, connection: Connection) -> Connection {
    if connection.execute_batch("ROLLBACK").is_ok() && connection.is_autocommit() {
        return connection;
    }
    match connection::open(path, Access::ReadWrite) {
        Ok(fresh) => fresh,
        Err(error) => {
            tracing::error!(%error, "reopening the SQLite writer failed; will retry");
            connection
        }
    }
}
