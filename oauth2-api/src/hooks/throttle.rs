//! Throttling: which answers are throttling, when a throttled call is sent again, and a
//! client-side rate limit.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::http::{Method, retry_after};

/// An answer found to be throttling, by a [`ThrottleClassifier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// How long the server asks to wait; `None` waits as the [`RetryPolicy`] says.
    pub retry_after: Option<Duration>,
}

/// Says which API answers mean "too many requests, try later", for a provider that does
/// not say it with 429: GitHub answers 403 with `x-ratelimit-remaining: 0` and the time
/// its limit resets in `x-ratelimit-reset`. Set with
/// [`RuntimeBuilder::throttle_classifier`](crate::RuntimeBuilder::throttle_classifier);
/// throttled answers are retried per the [`RetryPolicy`], and returned as they are when
/// it gives up.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use oauth2_api::Throttled;
///
/// fn github(status: u16, headers: &http::HeaderMap) -> Option<Throttled> {
///     let header = |name: &str| headers.get(name)?.to_str().ok()?.parse::<u64>().ok();
///     if status != 403 || header("x-ratelimit-remaining") != Some(0) {
///         return None;
///     }
///     let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
///     let wait = header("x-ratelimit-reset").map(|at| Duration::from_secs(at.saturating_sub(now)));
///     Some(Throttled { retry_after: wait })
/// }
/// ```
pub trait ThrottleClassifier: Send + Sync + 'static {
    /// `Some` when an answer with `status` and `headers` is throttling. `None` leaves
    /// the answer to the built-in rule ([`standard_throttle`]).
    fn classify(&self, status: u16, headers: &http::HeaderMap) -> Option<Throttled>;
}

impl<F> ThrottleClassifier for F
where
    F: Fn(u16, &http::HeaderMap) -> Option<Throttled> + Send + Sync + 'static,
{
    fn classify(&self, status: u16, headers: &http::HeaderMap) -> Option<Throttled> {
        self(status, headers)
    }
}

/// The built-in rule: 429, or 503 with `Retry-After`, waiting what `Retry-After` says
/// (seconds or an HTTP date).
pub fn standard_throttle(status: u16, headers: &http::HeaderMap) -> Option<Throttled> {
    let throttled =
        status == 429 || (status == 503 && headers.contains_key(http::header::RETRY_AFTER));
    throttled.then(|| Throttled {
        retry_after: retry_after(headers),
    })
}

/// When a throttled call (429, or 503 with `Retry-After`) is sent again.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) non_idempotent: bool,
}

impl Default for RetryPolicy {
    /// Two retries, 500 ms then 1 s unless the server says `Retry-After`, at most 30 s;
    /// `POST` and `PATCH` are not retried.
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            non_idempotent: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a throttled call is sent again.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first wait when the server gives no `Retry-After`; it doubles each retry.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait, even when `Retry-After` asks for more (then the error is returned).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Also retry `POST` and `PATCH` (only when the API treats a repeat safely).
    pub fn retry_non_idempotent(mut self, retry: bool) -> Self {
        self.non_idempotent = retry;
        self
    }

    /// The wait before retry number `attempt` (0-based), or `None` to give up.
    pub(crate) fn delay(
        &self,
        method: Method,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let idempotent = !matches!(method, Method::Post | Method::Patch);
        if attempt >= self.max_retries || !(idempotent || self.non_idempotent) {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.base_delay * 2u32.saturating_pow(attempt));
        (delay <= self.max_delay).then_some(delay)
    }
}

/// At most `requests` API calls in any `window`, shared by every user of a runtime (HMRC:
/// 3 per second per application). Calls over the limit wait their turn.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    requests: usize,
    window: Duration,
    sent: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub(crate) fn new(requests: usize, window: Duration) -> Self {
        Self {
            requests: requests.max(1),
            window,
            sent: tokio::sync::Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until one more request fits in the window, and counts it.
    pub(crate) async fn acquire(&self) {
        let mut sent = self.sent.lock().await;
        loop {
            let now = Instant::now();
            while sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                sent.pop_front();
            }
            if sent.len() < self.requests {
                sent.push_back(now);
                return;
            }
            let oldest = *sent.front().expect("the window is full");
            // Holding the lock while waiting keeps the order of arrival.
            tokio::time::sleep_until(oldest + self.window).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_bounded_and_skip_non_idempotent_calls() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(Method::Get, 0, None),
            Some(Duration::from_millis(500))
        );
        assert_eq!(p.delay(Method::Get, 1, None), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(Method::Get, 2, None), None);
        assert_eq!(
            p.delay(Method::Get, 0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            p.delay(Method::Get, 0, Some(Duration::from_secs(60))),
            None,
            "too long: give up"
        );
        assert_eq!(p.delay(Method::Post, 0, None), None);
        assert!(
            p.clone()
                .retry_non_idempotent(true)
                .delay(Method::Post, 0, None)
                .is_some()
        );
        assert_eq!(RetryPolicy::none().delay(Method::Get, 0, None), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_spaces_requests() {
        let limiter = RateLimiter::new(3, Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        for _ in 0..7 {
            limiter.acquire().await;
        }
        // 3 at once, 3 after a second, the seventh after two (virtual time).
        assert_eq!(start.elapsed().as_secs(), 2);
    }
}
