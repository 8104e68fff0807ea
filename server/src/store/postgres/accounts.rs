//! Accounts and sessions on PostgreSQL; see [`crate::store::accounts`] for what each
//! operation promises. The same statements and the same rule as SQLite's
//! (`store/sqlite/accounts.rs`), so the store suite holds both to one behaviour. Writes on a
//! store opened read-only fail, as messages do.

use std::time::Duration;

use super::PostgresStore;
use crate::domain::{Username, UsernameKey};
use crate::store::accounts::{session_is_live, session_needs_touch};
use crate::store::{Account, AccountId, SessionAccount, SessionIdHash, StoreError};

impl PostgresStore {
    /// [`StoreError::ReadOnly`] unless the store was opened for writing.
    pub(super) fn check_writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }

    /// See [`crate::store::Store::create_account`]; `None` when the name is taken.
    pub async fn create_account(
        &self,
        username: &Username,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError> {
        self.check_writable()?;
        // ON CONFLICT DO NOTHING: a taken name writes nothing and returns no row (a
        // concurrent sign-up with the same name waits for the first and then conflicts).
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO accounts \
             (username, username_key, password_hash, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (username_key) DO NOTHING RETURNING id",
        )
        .bind(username.as_str())
        .bind(username.key().as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(AccountId))
    }

    /// See [`crate::store::Store::account_by_username`].
    pub async fn account_by_username(
        &self,
        key: &UsernameKey,
    ) -> Result<Option<Account>, StoreError> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT id, username, password_hash FROM accounts WHERE username_key = $1",
        )
        .bind(key.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, username, password_hash)| Account {
            id: AccountId(id),
            username,
            password_hash,
        }))
    }

    /// See [`crate::store::Store::set_password`]; `None` for an unknown account.
    pub async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<u64>, StoreError> {
        self.check_writable()?;
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        )
        .bind(account.0)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None); // dropping `tx` rolls back (nothing was written)
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// See [`crate::store::Store::create_session`]; `false` for an unknown account.
    pub async fn create_session(
        &self,
        id_hash: SessionIdHash,
        account: AccountId,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.check_writable()?;
        let inserted = sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, expires_at) \
             SELECT $1, id, $3, $3, $4 FROM accounts WHERE id = $2",
        )
        .bind(&id_hash[..])
        .bind(account.0)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// See [`crate::store::Store::session`]. The row is locked (`FOR UPDATE`) between the
    /// check and the touch, so a concurrent sign-out or password change either happens
    /// before the lookup (no session) or after it.
    pub async fn session(
        &self,
        id_hash: SessionIdHash,
        now: i64,
        idle_timeout: Duration,
    ) -> Result<Option<SessionAccount>, StoreError> {
        self.check_writable()?;
        let found: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT s.account_id, a.username, s.expires_at, s.last_seen_at \
             FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.id_hash = $1",
        )
        .bind(&id_hash[..])
        .fetch_optional(&self.pool)
        .await?;
        let Some((account_id, username, expires_at, last_seen_at)) = found else {
            return Ok(None);
        };
        let session = SessionAccount {
            account_id: AccountId(account_id),
            username,
            expires_at,
        };
        if !session_is_live(expires_at, last_seen_at, now, idle_timeout) {
            self.delete_session(id_hash).await?;
            return Ok(None);
        }
        if !session_needs_touch(last_seen_at, now, idle_timeout) {
            return Ok(Some(session));
        }
        // Touch only a row that is still there: a sign-out in between wins.
        let touched = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&id_hash[..])
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok((touched == 1).then_some(session))
    }

    /// See [`crate::store::Store::delete_session`].
    pub async fn delete_session(&self, id_hash: SessionIdHash) -> Result<bool, StoreError> {
        self.check_writable()?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// See [`crate::store::Store::delete_stale_sessions`]: sessions expiring by `now` or
    /// last seen by `idle_before`.
    pub async fn delete_stale_sessions(
        &self,
        now: i64,
        idle_before: i64,
    ) -> Result<u64, StoreError> {
        self.check_writable()?;
        let deleted =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(idle_before)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(deleted)
    }

    /// See [`crate::store::Store::delete_sessions_of`].
    pub async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError> {
        self.check_writable()?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
