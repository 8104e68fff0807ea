//! [`Accounts`]: sign-up, sign-in, sign-out and password change, and who a session cookie
//! signs in; the one place that combines the store, the password hasher, session ids and
//! the attempt limits, so that the HTTP forms and the socket handshake apply the same rules.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::attempts::AttemptLimiter;
use super::cookie::{CookiePolicy, SessionCookie};
use super::password::{self, PasswordError};
use super::session_id::{RandomError, SessionId};
use crate::domain::{CredentialError, Password, Username};
use crate::store::{AccountError, AccountId, SessionAccount, SessionIdHash, Store, StoreError};

/// How sessions and attempts are limited (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct AccountsConfig {
    /// How the cookie is written (and its lifetime: a session's maximum age).
    pub cookie: CookiePolicy,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// Sign-in (and sign-up) attempts a minute, per client address and per username.
    pub attempts_per_minute: u32,
}

/// A session that was just started: the account, and the id for the browser's cookie.
#[derive(Debug)]
pub struct Started {
    /// The account signed in.
    pub account: AccountId,
    /// Its name as typed at sign-up.
    pub username: String,
    /// The new session's id (only the browser keeps it; the store has its hash).
    pub session: SessionId,
}

/// Why an account operation was refused. The `Display` text is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The form broke a rule (too short, a character not allowed, …).
    #[error(transparent)]
    Invalid(#[from] CredentialError),
    /// Sign-up: the name is taken, in some case.
    #[error("that username is taken")]
    Taken,
    /// Sign-in or password change: no account has this name and password. Which of the two
    /// was wrong is not said.
    #[error("wrong username or password")]
    WrongCredentials,
    /// Too many attempts from this address or for this name.
    #[error("too many attempts; try again in {} s", retry_after_secs(*.0))]
    TooManyAttempts(Duration),
    /// The request needs a session and has none that is live.
    #[error("you are not signed in (or your session ended)")]
    NotSignedIn,
    /// The store, the hasher or the random source failed: nothing was changed.
    #[error("accounts are unavailable right now; try again")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

impl From<PasswordError> for AuthError {
    fn from(error: PasswordError) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

impl From<RandomError> for AuthError {
    fn from(error: RandomError) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

impl From<AccountError> for AuthError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::UsernameTaken => Self::Taken,
            AccountError::UnknownAccount => Self::NotSignedIn,
            AccountError::Store(error) => error.into(),
        }
    }
}

/// Whole seconds to wait, rounded up (a `Retry-After` of 0 would invite a retry at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The current time in unix milliseconds, as the store keeps times.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// The account service of one server process.
#[derive(Debug)]
pub struct Accounts {
    store: Store,
    config: AccountsConfig,
    by_address: AttemptLimiter<IpAddr>,
    by_name: AttemptLimiter<String>,
}

impl Accounts {
    /// The service over `store`.
    pub fn new(store: Store, config: AccountsConfig) -> Self {
        Self {
            store,
            by_address: AttemptLimiter::new(config.attempts_per_minute),
            by_name: AttemptLimiter::new(config.attempts_per_minute),
            config,
        }
    }

    /// How the cookie is written.
    pub fn cookie(&self) -> &CookiePolicy {
        &self.config.cookie
    }

    /// Creates an account and signs it in. Counted against the address's attempts, so one
    /// client cannot create accounts by the thousand.
    pub async fn sign_up(
        &self,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<Started, AuthError> {
        self.count_attempt(address, None)?;
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let hash = password::hash(&password).await?;
        let account = self
            .store
            .create_account(&username, &hash, unix_ms())
            .await?;
        self.start_session(account, username.into_inner()).await
    }

    /// Signs in with a name and password: a fresh session (a new id at every sign-in, so a
    /// session id planted before it is worth nothing). An unknown name costs the same
    /// hashing time as a wrong password, and both are [`AuthError::WrongCredentials`].
    pub async fn sign_in(
        &self,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<Started, AuthError> {
        // A name that breaks the rules has no account: the same answer as a wrong password
        // (after the same work), so the form's errors reveal nothing about the rules' edge.
        let username = Username::parse(username).ok();
        self.count_attempt(address, username.as_ref())?;
        let password = Password::parse(password).map_err(|_| AuthError::WrongCredentials)?;
        let account = match &username {
            Some(username) => self.store.account_by_username(&username.key()).await?,
            None => None,
        };
        let Some(account) = account else {
            password::verify_unknown(&password).await?;
            return Err(AuthError::WrongCredentials);
        };
        if !password::verify(&password, &account.password_hash).await? {
            return Err(AuthError::WrongCredentials);
        }
        self.start_session(account.id, account.username).await
    }

    /// Ends the session of `cookie` (if any); returns the hash it was kept under, so the
    /// caller can disconnect its sockets.
    pub async fn sign_out(
        &self,
        cookie: &SessionCookie,
    ) -> Result<Option<SessionIdHash>, AuthError> {
        let Some(id) = cookie.id() else {
            return Ok(None);
        };
        let hash = id.hash();
        self.store.delete_session(hash).await?;
        Ok(Some(hash))
    }

    /// Changes the password of the account signed in by `cookie`, after checking its
    /// current password: every session of the account ends (whoever else held one is
    /// signed out) and a fresh one is started for this browser.
    pub async fn change_password(
        &self,
        cookie: &SessionCookie,
        current: String,
        new: String,
        address: Option<IpAddr>,
    ) -> Result<Started, AuthError> {
        let session = self
            .signed_in(cookie)
            .await?
            .ok_or(AuthError::NotSignedIn)?;
        let username = Username::parse(&session.username).ok();
        self.count_attempt(address, username.as_ref())?;
        let new = Password::parse(new)?;
        let current = Password::parse(current).map_err(|_| AuthError::WrongCredentials)?;
        let key = username.as_ref().map(Username::key);
        let account = match key {
            Some(key) => self.store.account_by_username(&key).await?,
            None => None,
        }
        .filter(|account| account.id == session.account_id)
        .ok_or(AuthError::NotSignedIn)?;
        if !password::verify(&current, &account.password_hash).await? {
            return Err(AuthError::WrongCredentials);
        }
        let hash = password::hash(&new).await?;
        self.store
            .set_password(account.id, &hash, unix_ms())
            .await?;
        self.start_session(account.id, account.username).await
    }

    /// The account `cookie` signs in, if its session is live (not expired, not idle).
    /// A missing or malformed cookie is `None`, like an unknown session.
    pub async fn signed_in(
        &self,
        cookie: &SessionCookie,
    ) -> Result<Option<SessionAccount>, StoreError> {
        let Some(id) = cookie.id() else {
            return Ok(None);
        };
        self.store
            .session(id.hash(), unix_ms(), self.config.idle_timeout)
            .await
    }

    /// Deletes the sessions that ended (expired or idle) every `every`, for as long as the
    /// process runs: a session nobody looks up again would otherwise stay in the table.
    pub async fn sweep_sessions(self: std::sync::Arc<Self>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            match self
                .store
                .delete_stale_sessions(unix_ms(), self.config.idle_timeout)
                .await
            {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted ended sessions"),
                Err(error) => tracing::warn!(%error, "sweeping ended sessions failed"),
            }
        }
    }

    /// Counts an attempt for the address and, when known, the name.
    fn count_attempt(
        &self,
        address: Option<IpAddr>,
        username: Option<&Username>,
    ) -> Result<(), AuthError> {
        let now = Instant::now();
        if let Some(address) = address {
            self.by_address
                .attempt(address, now)
                .map_err(AuthError::TooManyAttempts)?;
        }
        if let Some(username) = username {
            self.by_name
                .attempt(username.key().as_str().to_owned(), now)
                .map_err(AuthError::TooManyAttempts)?;
        }
        Ok(())
    }

    /// Stores a new session of `account` and returns its id.
    async fn start_session(
        &self,
        account: AccountId,
        username: String,
    ) -> Result<Started, AuthError> {
        let session = SessionId::generate()?;
        let now = unix_ms();
        let max_age = i64::try_from(self.config.cookie.max_age.as_millis()).unwrap_or(i64::MAX);
        self.store
            .create_session(session.hash(), account, now, now.saturating_add(max_age))
            .await?;
        Ok(Started {
            account,
            username,
            session,
        })
    }
}
