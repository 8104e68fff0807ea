//! Sign-in attempt limits: at most N attempts a minute per client address and per account
//! name, so guessing a password costs an attacker minutes per handful of guesses, whichever
//! addresses or names they spread the guesses over.
//!
//! Counted in memory, per server process, in fixed one-minute windows: an attempt past the
//! limit is refused with the time until the window ends (the `Retry-After`). The map of
//! windows is pruned of ended ones as it grows, so a flood of names or addresses cannot
//! grow it without bound. With several worker processes (or hosts) each counts alone: the
//! effective limit is N per process, stated in the README.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::lock;

/// The length of a window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Past this many tracked keys, ended windows are dropped before a new key is added.
const PRUNE_AT: usize = 10_000;

/// Attempts per key per [`WINDOW`].
#[derive(Debug)]
pub struct AttemptLimiter<K> {
    limit: u32,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq> AttemptLimiter<K> {
    /// A limiter allowing `limit` attempts per key per minute (at least 1).
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt by `key` at `now`: `Ok` when within the limit, otherwise how long
    /// until the key may try again.
    pub fn attempt(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut windows = lock(&self.windows);
        if windows.len() >= PRUNE_AT && !windows.contains_key(&key) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        if *count >= self.limit {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_per_key_until_the_window_ends() {
        let limiter = AttemptLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.attempt("a", t0).is_ok());
        }
        let wait = limiter
            .attempt("a", t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(
            limiter.attempt("b", t0).is_ok(),
            "another key has its own count"
        );
        assert!(limiter.attempt("a", t0 + WINDOW).is_ok(), "a new window");
    }

    #[test]
    fn a_flood_of_keys_is_pruned() {
        let limiter = AttemptLimiter::new(1);
        let t0 = Instant::now();
        for key in 0..PRUNE_AT {
            limiter.attempt(key, t0).unwrap();
        }
        limiter.attempt(usize::MAX, t0 + WINDOW).unwrap();
        assert_eq!(lock(&limiter.windows).len(), 1);
    }
}
