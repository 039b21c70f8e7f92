//! Extension points for provider quirks: request hooks with per-call context, error-body
//! decoders, retries of throttled calls, and a client-side rate limit.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::call::Method;
use crate::error::{Error, ProviderError};
use crate::user::UserRef;

/// Values for one call or one end user's requests (an IP address, a device id), read by
/// [`RequestHook`]s. Attach it with [`Runtime::with_context`](crate::Runtime::with_context).
#[derive(Clone, Default)]
pub struct CallContext {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("values", &self.values.len())
            .finish()
    }
}

impl CallContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, replacing a value of the same type.
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

/// A request about to be sent to the API, as a [`RequestHook`] sees it.
#[derive(Debug)]
pub struct OutgoingRequest<'a> {
    /// The endpoint's name.
    pub endpoint: &'a str,
    /// The HTTP method.
    pub method: Method,
    /// The full URL.
    pub url: &'a url::Url,
    /// The user it is sent for.
    pub user: &'a UserRef,
    /// The environment's name.
    pub environment: &'a str,
    /// The context attached to the runtime that sends it.
    pub context: &'a CallContext,
    pub(crate) headers: &'a mut Vec<(String, String)>,
}

impl OutgoingRequest<'_> {
    /// Adds a header (kept beside any of the same name).
    pub fn add_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Whether a header of this name (any case) is already set.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Changes every API request before it is sent: HMRC's fraud-prevention headers, a
/// tracing header. An error stops the call.
pub trait RequestHook: Send + Sync + 'static {
    /// Adds to `request`.
    fn before_send(&self, request: &mut OutgoingRequest<'_>) -> Result<(), Error>;
}

impl<F> RequestHook for F
where
    F: Fn(&mut OutgoingRequest<'_>) -> Result<(), Error> + Send + Sync + 'static,
{
    fn before_send(&self, request: &mut OutgoingRequest<'_>) -> Result<(), Error> {
        self(request)
    }
}

/// Decodes a provider's error body when the built-in shapes (HMRC's `{"code","message"}`,
/// RFC 6749's `{"error","error_description"}`) do not fit.
pub trait ErrorDecoder: Send + Sync + 'static {
    /// The provider error in `body`, answered with `status`, if there is one.
    fn decode(&self, status: u16, body: &[u8]) -> Option<ProviderError>;
}

impl<F> ErrorDecoder for F
where
    F: Fn(u16, &[u8]) -> Option<ProviderError> + Send + Sync + 'static,
{
    fn decode(&self, status: u16, body: &[u8]) -> Option<ProviderError> {
        self(status, body)
    }
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

/// The extension points a runtime was built with.
#[derive(Default)]
pub(crate) struct Extensions {
    pub(crate) request_hooks: Vec<Arc<dyn RequestHook>>,
    pub(crate) error_decoder: Option<Arc<dyn ErrorDecoder>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: Option<RateLimiter>,
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

    #[test]
    fn context_holds_one_value_per_type() {
        #[derive(Debug, PartialEq)]
        struct Ip(&'static str);
        let ctx = CallContext::new()
            .with(Ip("198.51.100.1"))
            .with(Ip("203.0.113.9"));
        assert_eq!(ctx.get::<Ip>(), Some(&Ip("203.0.113.9")));
        assert_eq!(ctx.get::<u32>(), None);
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
