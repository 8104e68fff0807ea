//! Abuse limits of one process: connections (in total and per client address) and a
//! per-socket message rate (a token bucket). Each refusal names itself, so the client gets a
//! clear `connect_error` or error ack.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::lock;

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionRefused {
    /// The process holds its maximum of sockets.
    #[error("server full: {0} connections, try again later")]
    ServerFull(usize),
    /// This address holds its maximum of sockets.
    #[error("too many connections from your address (limit {0})")]
    TooManyFromAddress(usize),
}

impl ConnectionRefused {
    /// The metric label of this refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ServerFull(_) => "server_full",
            Self::TooManyFromAddress(_) => "too_many_from_address",
        }
    }
}

/// Counts sockets, in total and per address, against their limits (0: no limit).
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_address: usize,
    counts: Mutex<ConnectionCounts>,
}

#[derive(Debug, Default)]
struct ConnectionCounts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    /// Limits of `max_total` sockets and `max_per_address` per client address (0: none).
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            max_total,
            max_per_address,
            counts: Mutex::new(ConnectionCounts::default()),
        }
    }

    /// Counts one more socket from `address`, or says which limit it would exceed. Every
    /// admitted socket must be [`Self::release`]d once.
    pub fn admit(&self, address: Option<IpAddr>) -> Result<(), ConnectionRefused> {
        let mut counts = lock(&self.counts);
        if self.max_total > 0 && counts.total >= self.max_total {
            return Err(ConnectionRefused::ServerFull(self.max_total));
        }
        if let Some(address) = address {
            let from_address = counts.per_address.entry(address).or_default();
            if self.max_per_address > 0 && *from_address >= self.max_per_address {
                return Err(ConnectionRefused::TooManyFromAddress(self.max_per_address));
            }
            *from_address += 1;
        }
        counts.total += 1;
        Ok(())
    }

    /// Forgets one admitted socket from `address`.
    pub fn release(&self, address: Option<IpAddr>) {
        let mut counts = lock(&self.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(address) = address
            && let Some(n) = counts.per_address.get_mut(&address)
        {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&address);
            }
        }
    }

    /// Sockets currently admitted.
    pub fn total(&self) -> usize {
        lock(&self.counts).total
    }
}

/// A token bucket: `rate` messages per second on average, bursts of up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket. A `rate` of 0 means unlimited.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            refilled: Instant::now(),
        }
    }

    /// Takes one token at `now`, or says how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3);
        for _ in 0..3 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).expect_err("burst spent");
        assert!(wait <= Duration::from_millis(100) && wait > Duration::from_millis(90));
        assert!(bucket.take(start + Duration::from_millis(100)).is_ok());
        assert!(bucket.take(start + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn rate_zero_is_unlimited() {
        let mut bucket = TokenBucket::new(0, 1);
        let now = Instant::now();
        assert!((0..10_000).all(|_| bucket.take(now).is_ok()));
    }

    #[test]
    fn connections_are_limited_in_total_and_per_address() {
        let limits = ConnectionLimits::new(3, 2);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert!(limits.admit(a).is_ok());
        assert!(limits.admit(a).is_ok());
        assert_eq!(
            limits.admit(a),
            Err(ConnectionRefused::TooManyFromAddress(2))
        );
        assert!(limits.admit(b).is_ok());
        assert_eq!(limits.admit(b), Err(ConnectionRefused::ServerFull(3)));
        limits.release(a);
        assert!(limits.admit(b).is_ok());
        assert_eq!(limits.total(), 3);
    }
}
