//! Per-client rate limiting: a token bucket for each authenticated client.
//!
//! NOTE: the buckets live in this process's memory, so N instances behind a
//! load balancer allow up to N times the configured rate to one client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many requests a client may make: one token is earned every
/// `refill_interval`, and at most `burst` tokens are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub refill_interval: Duration,
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` requests per second sustained, with bursts of `burst`.
    /// Returns `None`, meaning no limit, when either is 0.
    pub fn per_second(per_second: u32, burst: u32) -> Option<RateLimit> {
        if per_second == 0 || burst == 0 {
            return None;
        }
        Some(RateLimit { refill_interval: Duration::from_secs(1) / per_second, burst })
    }
}

/// The token buckets of every client seen since start-up, keyed by client id.
/// Only authenticated clients get a bucket, so the map contains at most one
/// entry per client in the store.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    /// Each bucket is kept as the instant at which it would be full again
    /// (the GCRA form of a token bucket): one value per client instead of a
    /// token count and a time.
    full_at: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter { limit, full_at: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one token from the client's bucket, or returns how long until
    /// one is available.
    pub fn acquire(&self, client_id: &str, now: Instant) -> Result<(), Duration> {
        let capacity = self.limit.refill_interval * self.limit.burst;
        let mut buckets = self.full_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let full_at = buckets.get(client_id).copied().filter(|full_at| *full_at > now).unwrap_or(now);

        // Taking a token moves the full instant one interval later. The
        // bucket is empty when that instant would lie more than its whole
        // capacity ahead.
        let after_taking = full_at + self.limit.refill_interval;
        let overflow = after_taking.saturating_duration_since(now).saturating_sub(capacity);
        if !overflow.is_zero() {
            return Err(overflow);
        }
        buckets.insert(client_id.to_string(), after_taking);
        Ok(())
    }

    /// Returns the token a request took, for a request found afterwards to be
    /// a replay: replays spend nothing.
    pub fn give_back(&self, client_id: &str) {
        let mut buckets = self.full_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(full_at) = buckets.get_mut(client_id) {
            *full_at = full_at.checked_sub(self.limit.refill_interval).unwrap_or(*full_at);
        }
    }
}

/// Whole seconds for a `Retry-After` header, rounded up and at least 1, so a
/// client that waits that long finds a token.
pub(crate) fn retry_after_secs(wait: Duration) -> u32 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(whole).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimit::per_second(per_second, burst).unwrap())
    }

    #[test]
    fn burst_is_allowed_then_rejected() {
        let limiter = limiter(10, 3);
        let now = Instant::now();
        for request in 0..3 {
            assert_eq!(limiter.acquire("a", now), Ok(()), "request {request}");
        }
        assert_eq!(limiter.acquire("a", now), Err(Duration::from_millis(100)));
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let limiter = limiter(10, 1);
        let start = Instant::now();
        assert_eq!(limiter.acquire("a", start), Ok(()));
        assert_eq!(limiter.acquire("a", start + Duration::from_millis(40)), Err(Duration::from_millis(60)));
        assert_eq!(limiter.acquire("a", start + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn idle_bucket_refills_only_to_burst() {
        let limiter = limiter(10, 2);
        let start = Instant::now();
        assert_eq!(limiter.acquire("a", start), Ok(()));
        let later = start + Duration::from_secs(60);
        assert_eq!(limiter.acquire("a", later), Ok(()));
        assert_eq!(limiter.acquire("a", later), Ok(()));
        assert!(limiter.acquire("a", later).is_err());
    }

    #[test]
    fn rejection_takes_no_token() {
        let limiter = limiter(10, 1);
        let start = Instant::now();
        assert_eq!(limiter.acquire("a", start), Ok(()));
        for _ in 0..5 {
            assert!(limiter.acquire("a", start).is_err());
        }
        assert_eq!(limiter.acquire("a", start + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn clients_have_separate_buckets() {
        let limiter = limiter(1, 1);
        let now = Instant::now();
        assert_eq!(limiter.acquire("a", now), Ok(()));
        assert!(limiter.acquire("a", now).is_err());
        assert_eq!(limiter.acquire("b", now), Ok(()));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert_eq!(RateLimit::per_second(0, 200), None);
        assert_eq!(RateLimit::per_second(100, 0), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
