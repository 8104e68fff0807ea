//! Accounts and sessions on SQLite; see [`crate::store::accounts`] for what each operation
//! promises.
//!
//! Every write goes through the writer thread, in an IMMEDIATE transaction where it takes
//! more than one statement, so it never races the message batches for SQLite's one write
//! lock. [`SqliteStore::account_by_username`] and the lookup of [`SqliteStore::session`]
//! read on a reader connection; a session's touch (or deletion) goes to the writer only
//! when it is due.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::domain::{Username, UsernameKey};
use crate::store::accounts::{session_is_live, session_needs_touch};
use crate::store::{Account, AccountId, SessionAccount, SessionIdHash, StoreError};

impl SqliteStore {
    /// See [`crate::store::Store::create_account`]; `None` when the name is taken.
    pub async fn create_account(
        &self,
        username: &Username,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError> {
        let (username, key) = (username.as_str().to_owned(), username.key());
        let password_hash = password_hash.to_owned();
        self.writer()?
            .run(move |connection| {
                // ON CONFLICT DO NOTHING: a taken name writes nothing and returns no row,
                // without telling a unique violation from other constraint failures.
                connection
                    .prepare_cached(
                        "INSERT INTO accounts \
                         (username, username_key, password_hash, created_at, password_changed_at) \
                         VALUES (?1, ?2, ?3, ?4, ?4) \
                         ON CONFLICT (username_key) DO NOTHING RETURNING id",
                    )?
                    .query_row(params![username, key.as_str(), password_hash, now], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map(|id| id.map(AccountId))
            })
            .await
    }

    /// See [`crate::store::Store::account_by_username`].
    pub async fn account_by_username(
        &self,
        key: &UsernameKey,
    ) -> Result<Option<Account>, StoreError> {
        let key = key.clone();
        self.readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT id, username, password_hash FROM accounts WHERE username_key = ?1",
                    )?
                    .query_row([key.as_str()], |row| {
                        Ok(Account {
                            id: AccountId(row.get(0)?),
                            username: row.get(1)?,
                            password_hash: row.get(2)?,
                        })
                    })
                    .optional()
            })
            .await
    }

    /// See [`crate::store::Store::set_password`]; `None` for an unknown account.
    pub async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<u64>, StoreError> {
        let password_hash = password_hash.to_owned();
        self.writer()?
            .run(move |connection| {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let changed = tx
                    .prepare_cached(
                        "UPDATE accounts SET password_hash = ?2, password_changed_at = ?3 \
                         WHERE id = ?1",
                    )?
                    .execute(params![account.0, password_hash, now])?;
                if changed == 0 {
                    return Ok(None); // dropping `tx` rolls back (nothing was written)
                }
                let ended = delete_sessions_of(&tx, account)?;
                tx.commit()?;
                Ok(Some(ended))
            })
            .await
    }

    /// See [`crate::store::Store::create_session`]; `false` for an unknown account.
    pub async fn create_session(
        &self,
        id_hash: SessionIdHash,
        account: AccountId,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.writer()?
            .run(move |connection| {
                without_fsync(connection, |connection| {
                    // Inserting only where the account exists tells "unknown account"
                    // apart without parsing a foreign-key error (which the key still backs).
                    let inserted = connection
                        .prepare_cached(
                            "INSERT INTO sessions \
                             (id_hash, account_id, created_at, last_seen_at, expires_at) \
                             SELECT ?1, id, ?3, ?3, ?4 FROM accounts WHERE id = ?2",
                        )?
                        .execute(params![&id_hash[..], account.0, now, expires_at])?;
                    Ok(inserted == 1)
                })
            })
            .await
    }

    /// See [`crate::store::Store::session`]: read on a reader connection; the writer only
    /// touches (or deletes) the row when that is due.
    pub async fn session(
        &self,
        id_hash: SessionIdHash,
        now: i64,
        idle_timeout: Duration,
    ) -> Result<Option<SessionAccount>, StoreError> {
        let writer = self.writer()?.clone();
        let found = self
            .readers
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT s.account_id, a.username, s.expires_at, s.last_seen_at \
                         FROM sessions s JOIN accounts a ON a.id = s.account_id \
                         WHERE s.id_hash = ?1",
                    )?
                    .query_row([&id_hash[..]], |row| {
                        Ok((
                            SessionAccount {
                                account_id: AccountId(row.get(0)?),
                                username: row.get(1)?,
                                expires_at: row.get(2)?,
                            },
                            row.get::<_, i64>(3)?,
                        ))
                    })
                    .optional()
            })
            .await?;
        let Some((session, last_seen_at)) = found else {
            return Ok(None);
        };
        if !session_is_live(session.expires_at, last_seen_at, now, idle_timeout) {
            writer
                .run(move |connection| delete_session(connection, &id_hash))
                .await?;
            return Ok(None);
        }
        if !session_needs_touch(last_seen_at, now, idle_timeout) {
            return Ok(Some(session));
        }
        // Touch only a row that is still there: a sign-out in between wins.
        let touched = writer
            .run(move |connection| {
                without_fsync(connection, |connection| {
                    connection
                        .prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1")?
                        .execute(params![&id_hash[..], now])
                })
            })
            .await?;
        Ok((touched == 1).then_some(session))
    }

    /// See [`crate::store::Store::delete_session`].
    pub async fn delete_session(&self, id_hash: SessionIdHash) -> Result<bool, StoreError> {
        self.writer()?
            .run(move |connection| delete_session(connection, &id_hash))
            .await
    }

    /// See [`crate::store::Store::delete_stale_sessions`]: sessions expiring by `now` or
    /// last seen by `idle_before`.
    pub async fn delete_stale_sessions(
        &self,
        now: i64,
        idle_before: i64,
    ) -> Result<u64, StoreError> {
        self.writer()?
            .run(move |connection| {
                connection
                    .prepare_cached(
                        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2",
                    )?
                    .execute(params![now, idle_before])
                    .map(|deleted| deleted as u64)
            })
            .await
    }

    /// See [`crate::store::Store::delete_sessions_of`].
    pub async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError> {
        self.writer()?
            .run(move |connection| delete_sessions_of(connection, account))
            .await
    }
}

/// Runs `write` with `synchronous = NORMAL`, then restores `FULL`: in WAL mode the commit
/// is then not flushed to disk by itself but with the next durable commit (a message batch
/// flushes the WAL it shares). For starting and touching sessions only: a power loss in
/// between costs a sign-in (the user signs in again), never a message or an account, and
/// the write holds SQLite's one write lock for microseconds instead of an fsync, which
/// the message commits of every worker would wait behind (measured: fan-out p99 +25 % at 5
/// sign-ins a second with the fsync, BENCHMARKS.md). Sign-out, password changes and
/// account creation stay fully durable.
fn without_fsync<T>(
    connection: &Connection,
    write: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    let result = write(connection);
    let restored = connection.pragma_update(None, "synchronous", "FULL");
    let value = result?;
    restored?;
    Ok(value)
}

/// Deletes the session keyed `id_hash`; whether there was one.
fn delete_session(connection: &Connection, id_hash: &SessionIdHash) -> rusqlite::Result<bool> {
    let deleted = connection
        .prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?
        .execute([&id_hash[..]])?;
    Ok(deleted > 0)
}

/// Deletes every session of `account`; how many there were.
fn delete_sessions_of(connection: &Connection, account: AccountId) -> rusqlite::Result<u64> {
    let deleted = connection
        .prepare_cached("DELETE FROM sessions WHERE account_id = ?1")?
        .execute([account.0])?;
    Ok(deleted as u64)
}
