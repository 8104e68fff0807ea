//! Accounts and sign-in sessions in the [`Store`]: the operations, their types, and the one
//! rule (when a session is still good) that both databases apply.
//!
//! The store keeps what it is given: a password hash (never a password) and the SHA-256 of
//! a session id (never the id), so a copy of the database signs no one in. Hashing and
//! session ids are made above it; the store only enforces what needs a database: one
//! account per case-folded name, a password change ending every session of the account,
//! and sessions that expire.

use std::time::Duration;

use super::{Store, StoreError};
use crate::domain::{Username, UsernameKey};

/// An account's row id: what sessions (and later messages) point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// The SHA-256 of a session id: the sessions table's key. The id itself, which the browser
/// holds, is never stored.
pub type SessionIdHash = [u8; 32];

/// An account as signing in needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// The name as its owner typed it at sign-up.
    pub username: String,
    /// Its password hash (a PHC string), to verify a sign-in against.
    pub password_hash: String,
}

impl std::fmt::Debug for Account {
    /// Leaves the hash out: it is not the password, but it is what an attacker would
    /// brute-force, so it stays out of logs too.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Who a live session signs in, as [`Store::session`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAccount {
    /// The account.
    pub account_id: AccountId,
    /// Its name as typed at sign-up.
    pub username: String,
    /// When the session ends whatever its use, in unix milliseconds.
    pub expires_at: i64,
}

/// Why an account operation did not happen, where the caller must tell the cases apart.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Another account has this name, in whatever case: nothing was stored.
    #[error("that username is taken")]
    UsernameTaken,
    /// No account has this id (it was deleted, or never existed): nothing was changed.
    #[error("no such account")]
    UnknownAccount,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a session last seen at `last_seen_at` and expiring at `expires_at` (unix ms) is
/// still good at `now`: before its expiry, and used within `idle_timeout`. Both stores
/// decide with this, so they agree to the millisecond.
pub(crate) fn session_is_live(
    expires_at: i64,
    last_seen_at: i64,
    now: i64,
    idle_timeout: Duration,
) -> bool {
    let idle_ms = i64::try_from(idle_timeout.as_millis()).unwrap_or(i64::MAX);
    now < expires_at && now < last_seen_at.saturating_add(idle_ms)
}

/// Whether a live session last seen at `last_seen_at` should have `last_seen_at` moved to
/// `now`: once a tenth of the idle timeout (at most a minute) has passed. Looking a session
/// up is then a read nearly every time (every page load and socket handshake looks one
/// up), and a session idles out at most that much earlier than its last use says.
pub(crate) fn session_needs_touch(last_seen_at: i64, now: i64, idle_timeout: Duration) -> bool {
    let interval = (idle_timeout / 10).min(Duration::from_secs(60));
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    now.saturating_sub(last_seen_at) >= interval_ms
}

/// The account operations. Times are unix milliseconds, as for messages. Writes (and
/// [`Store::session`], which writes) fail with [`StoreError::ReadOnly`] on a store opened
/// read-only, on both databases.
impl Store {
    /// Creates an account named `username` (kept as typed) with `password_hash`. A name
    /// taken in any case is [`AccountError::UsernameTaken`], and no row is written.
    pub async fn create_account(
        &self,
        username: &Username,
        password_hash: &str,
        now: i64,
    ) -> Result<AccountId, AccountError> {
        let created = match self {
            Self::Sqlite(store) => store.create_account(username, password_hash, now).await,
            Self::Postgres(store) => store.create_account(username, password_hash, now).await,
        }?;
        created.ok_or(AccountError::UsernameTaken)
    }

    /// The account whose name folds to `key`, if there is one.
    pub async fn account_by_username(
        &self,
        key: &UsernameKey,
    ) -> Result<Option<Account>, StoreError> {
        match self {
            Self::Sqlite(store) => store.account_by_username(key).await,
            Self::Postgres(store) => store.account_by_username(key).await,
        }
    }

    /// Replaces the account's password hash and deletes every session of the account (a
    /// password change signs out everywhere, including whoever stole a session), in one
    /// transaction. Returns how many sessions ended; an unknown account is
    /// [`AccountError::UnknownAccount`].
    pub async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        now: i64,
    ) -> Result<u64, AccountError> {
        let ended = match self {
            Self::Sqlite(store) => store.set_password(account, password_hash, now).await,
            Self::Postgres(store) => store.set_password(account, password_hash, now).await,
        }?;
        ended.ok_or(AccountError::UnknownAccount)
    }

    /// Stores a session of `account`, keyed by the hash of its id, good until `expires_at`
    /// (and while used, see [`Self::session`]). An unknown account is
    /// [`AccountError::UnknownAccount`].
    pub async fn create_session(
        &self,
        id_hash: SessionIdHash,
        account: AccountId,
        now: i64,
        expires_at: i64,
    ) -> Result<(), AccountError> {
        let created = match self {
            Self::Sqlite(store) => {
                store
                    .create_session(id_hash, account, now, expires_at)
                    .await
            }
            Self::Postgres(store) => {
                store
                    .create_session(id_hash, account, now, expires_at)
                    .await
            }
        }?;
        if created {
            Ok(())
        } else {
            Err(AccountError::UnknownAccount)
        }
    }

    /// The account a session signs in, if the session is live at `now`: not expired, and
    /// used within `idle_timeout`. A live session's `last_seen_at` becomes `now` when it is
    /// a tenth of the idle timeout old (at most a minute; otherwise this is only a read);
    /// an expired or idle one is deleted (it can never come back) and is `None`, like an
    /// unknown one.
    pub async fn session(
        &self,
        id_hash: SessionIdHash,
        now: i64,
        idle_timeout: Duration,
    ) -> Result<Option<SessionAccount>, StoreError> {
        match self {
            Self::Sqlite(store) => store.session(id_hash, now, idle_timeout).await,
            Self::Postgres(store) => store.session(id_hash, now, idle_timeout).await,
        }
    }

    /// Deletes one session (signing out). Returns whether there was one; an unknown hash is
    /// harmless.
    pub async fn delete_session(&self, id_hash: SessionIdHash) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(store) => store.delete_session(id_hash).await,
            Self::Postgres(store) => store.delete_session(id_hash).await,
        }
    }

    /// Deletes every session that is no longer live at `now` (expired, or unused for
    /// `idle_timeout`): the ones nobody will look up again. Returns how many.
    pub async fn delete_stale_sessions(
        &self,
        now: i64,
        idle_timeout: Duration,
    ) -> Result<u64, StoreError> {
        let idle_ms = i64::try_from(idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let idle_before = now.saturating_sub(idle_ms);
        match self {
            Self::Sqlite(store) => store.delete_stale_sessions(now, idle_before).await,
            Self::Postgres(store) => store.delete_stale_sessions(now, idle_before).await,
        }
    }

    /// Deletes every session of `account` (signing out everywhere). Returns how many there
    /// were; an unknown account has none.
    pub async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(store) => store.delete_sessions_of(account).await,
            Self::Postgres(store) => store.delete_sessions_of(account).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_touched_once_a_tenth_of_its_idle_timeout_has_passed() {
        let idle = Duration::from_millis(100);
        assert!(!session_needs_touch(500, 509, idle));
        assert!(session_needs_touch(500, 510, idle));
        let week = Duration::from_secs(7 * 24 * 3600);
        assert!(!session_needs_touch(0, 59_999, week), "at most a minute");
        assert!(session_needs_touch(0, 60_000, week));
    }

    #[test]
    fn a_session_is_live_before_its_expiry_and_its_idle_timeout_only() {
        let idle = Duration::from_millis(100);
        assert!(session_is_live(1_000, 500, 599, idle));
        assert!(
            !session_is_live(1_000, 500, 600, idle),
            "idle for exactly 100 ms"
        );
        assert!(session_is_live(1_000, 950, 999, idle));
        assert!(!session_is_live(1_000, 950, 1_000, idle), "at its expiry");
        assert!(
            session_is_live(i64::MAX, 0, 1, Duration::MAX),
            "no overflow"
        );
    }
}
