//! Extension points for provider quirks: request hooks with per-call context, error-body
//! decoders, retries of throttled calls, and a client-side rate limit.

mod context;
mod throttle;

use std::sync::Arc;

use crate::error::{Error, ProviderError};
use crate::http::Method;
use crate::user::UserRef;

pub use context::CallContext;
pub(crate) use throttle::RateLimiter;
pub use throttle::{RetryPolicy, ThrottleClassifier, Throttled, standard_throttle};

/// A request about to be sent to the API, as a [`RequestHook`] sees it. Its headers are
/// every header the request sends but the token's `Authorization`: the API's, the
/// endpoint's and the call's own, a narrower one replacing a wider one of its name.
/// `Debug` shows header names and the URL without its query, never a value.
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

impl std::fmt::Debug for OutgoingRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| &**name).collect();
        f.debug_struct("OutgoingRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("url", &crate::redact::url_shown(self.url))
            .field("user", &self.user)
            .field("environment", &self.environment)
            .field("headers", &headers)
            .finish_non_exhaustive()
    }
}

impl OutgoingRequest<'_> {
    /// Adds a header (kept beside any of the same name).
    pub fn add_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Sets a header, replacing every one of the same name (any case): the API's
    /// `Accept`, say.
    pub fn set_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove_header(&name);
        self.headers.push((name, value.into()));
    }

    /// Removes every header of this name (any case); whether there was one.
    pub fn remove_header(&mut self, name: &str) -> bool {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.len() != before
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

/// The extension points a runtime was built with.
#[derive(Default)]
pub(crate) struct Extensions {
    pub(crate) request_hooks: Vec<Arc<dyn RequestHook>>,
    pub(crate) error_decoder: Option<Arc<dyn ErrorDecoder>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) throttle: Option<Arc<dyn ThrottleClassifier>>,
    pub(crate) rate_limit: Option<RateLimiter>,
}
