//! Calling the API: typed endpoint calls (what generated code uses) and the raw escape
//! hatch, sharing one path: get a token, send, on 401 renew once and resend once.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tracing::Instrument;

mod answer;
mod build;
mod challenge;
mod headers;
mod outgoing;
pub(crate) mod pages;
mod query;
mod raw;
pub(crate) mod request;
mod response;
pub(crate) mod scalar;
mod spare;
mod target;
mod text;

use crate::error::{ApiError, AuthorizationReason, Error};
use crate::hooks::{Throttled, standard_throttle};
pub use crate::http::Method;
use crate::http::{BodyError, describe_reqwest, read_capped};
use crate::oauth::keep::Basis;
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::session::{Bearer, LastError, Ready, SessionKey, SessionState, TokenSet};
use crate::user::UserRef;
pub use answer::{FromAnswer, Response};
pub(crate) use outgoing::Outgoing;
pub use pages::{Items, Pages};
pub use raw::RawRequest;
pub use response::RawResponse;
use response::{insufficient_scope, redact_in};

/// How a runtime calls the API: its HTTP client and the provider's extension points.
pub(crate) struct ApiClient {
    http: reqwest::Client,
    extensions: crate::hooks::Extensions,
    recent_urls: target::RecentUrls,
}

impl ApiClient {
    /// The URLs its calls built last.
    fn recent_urls(&self) -> &target::RecentUrls {
        &self.recent_urls
    }

    /// Its HTTP client is `own` when the application gave one (its own timeout, user
    /// agent, proxies and roots apply), else one with the runtime's settings.
    pub(crate) fn new(
        settings: &crate::config::Settings,
        extensions: crate::hooks::Extensions,
        own: Option<reqwest::Client>,
    ) -> Result<Self, Error> {
        let http = match own {
            Some(client) => client,
            None => {
                let builder = reqwest::Client::builder()
                    .timeout(settings.api_timeout)
                    .redirect(crate::http::same_origin_redirects())
                    .user_agent(crate::config::user_agent_header(&settings.user_agent)?);
                (crate::http::direct_unless_proxied(builder).build())
                    .map_err(|e| Error::HttpClient(Box::new(e)))?
            }
        };
        Ok(Self {
            http,
            extensions,
            recent_urls: target::RecentUrls::default(),
        })
    }
}

/// A call's boxed future, on a path calls rarely take.
pub(crate) type Sending<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<RawResponse, Error>> + Send + 'a>>;

impl Runtime {
    /// Sends `out` for `user`: the whole token dance, the 401 retry, the raw answer.
    ///
    /// The common call (a token in the call cache, no span to record) awaits the request's
    /// own future with nothing between: each level of `async fn` between them would be
    /// built, and copied whole into its parent, on every call. Anything else takes the
    /// general path, boxed. [`call`](crate::__private::call) repeats these lines rather
    /// than await this, for the same reason.
    pub(crate) async fn send(&self, user: UserRef, out: &Outgoing) -> Result<RawResponse, Error> {
        let ready = match self.common_call(user, out) {
            Ok(ready) => ready,
            Err(general) => return general.await,
        };
        let first = (self.send_once(&ready.key, Some(&ready.usable.bearer), out)).await?;
        if self.is_final(out, &first) {
            return Ok(first);
        }
        self.follow_up(&ready, out, first).await
    }

    /// The session key and cached token of a common call (see [`send`](Self::send)),
    /// else the general path's future.
    pub(crate) fn common_call<'a>(
        &'a self,
        user: UserRef,
        out: &'a Outgoing,
    ) -> Result<Arc<Ready>, Sending<'a>> {
        match self.cached_call(user, out.scopes()) {
            Ok(found) if !tracing::enabled!(CALL_SPAN_LEVEL) => Ok(found),
            found => Err(self.general_path(found, out)),
        }
    }

    /// Whether `first`, a common call's answer, is its last: neither throttled nor a
    /// refusal of its token. Asked of a borrowed answer: the common one is not moved.
    #[inline]
    pub(crate) fn is_final(&self, out: &Outgoing, first: &RawResponse) -> bool {
        // A success is final unless the provider classifies answers itself (a throttled
        // answer may come with any status).
        if (200..300).contains(&first.status) && self.inner.api.extensions.throttle.is_none() {
            return true;
        }
        self.is_final_answer(out, first)
    }

    #[cold]
    #[inline(never)]
    fn is_final_answer(&self, out: &Outgoing, first: &RawResponse) -> bool {
        self.throttle_delay(out, 0, first).is_none() && refusal(first).is_none()
    }

    /// What is left after a common call's `first` answer that is not final: resend a
    /// throttled request, renew a refused token or ask for wider scopes.
    pub(crate) fn follow_up<'a>(
        &'a self,
        ready: &'a Ready,
        out: &'a Outgoing,
        first: RawResponse,
    ) -> Sending<'a> {
        let (key, token) = (&ready.key, ready.usable.bearer.clone());
        Box::pin(async move {
            let first = match self.throttle_delay(out, 0, &first) {
                Some(delay) => {
                    self.resend_throttled(key, Some(&token), out, first, delay)
                        .await?
                }
                None => first,
            };
            match refusal(&first) {
                None => Ok(first),
                Some(wanted) => self.after_refusal(key, token, out, first, wanted).await,
            }
        })
    }

    /// [`send_traced`](Self::send_traced), boxed. Out of line and cold, as are the other
    /// rare paths of a call: the common one's code then fits in fewer cache lines.
    #[cold]
    #[inline(never)]
    fn general_path<'a>(
        &'a self,
        found: Result<Arc<Ready>, UserRef>,
        out: &'a Outgoing,
    ) -> Sending<'a> {
        Box::pin(self.send_traced(found, out))
    }

    /// [`send`](Self::send)'s general path: the session key from the store when the call
    /// cache did not have it, in the call's span.
    async fn send_traced(
        &self,
        found: Result<Arc<Ready>, UserRef>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        let (key, cached) = match found {
            Ok(ready) => (ready.key.clone(), Some(ready.usable.bearer.clone())),
            Err(user) => (self.call_key(user).await?, None),
        };
        // The future is made where it is awaited: bound to a name first, it would be
        // copied into this one's state.
        match call_span(&key, out) {
            Some(span) => self.send_as(&key, cached, out).instrument(span).await,
            None => self.send_as(&key, cached, out).await,
        }
    }

    /// [`send`](Self::send) for `key`, with the token the call cache held if any. What
    /// a call rarely needs (the token lifecycle, a renewal after a 401, a wider grant) is
    /// awaited boxed: its state is kilobytes, which every call would otherwise carry and
    /// copy.
    async fn send_as(
        &self,
        key: &SessionKey,
        cached: Option<Bearer>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        let token = match cached {
            Some(token) => token,
            None => Box::pin(self.fetch_token(key, out)).await?,
        };
        let first = self.send_with(key, Some(&token), out).await?;
        match refusal(&first) {
            None => {
                record_status(first.status);
                Ok(first)
            }
            Some(wanted) => Box::pin(self.after_refusal(key, token, out, first, wanted)).await,
        }
    }

    /// A token for `out` from the token lifecycle (the store, a renewal, or an
    /// authorization to ask for).
    async fn fetch_token(&self, key: &SessionKey, out: &Outgoing) -> Result<Bearer, Error> {
        if is_absolute(&out.path) {
            // Before any token is fetched: a foreign URL is the caller's mistake.
            self.target_url(key, out)?;
        }
        self.access_token(key, out.scopes(), out.ask(), None).await
    }

    /// The API refused `token` (`first` is its answer): for lack of scopes (`wanted`,
    /// when it said which), or with a 401, after which the token is renewed once and the
    /// request sent again.
    async fn after_refusal(
        &self,
        key: &SessionKey,
        token: Bearer,
        out: &Outgoing,
        first: RawResponse,
        wanted: Option<ScopeSet>,
    ) -> Result<RawResponse, Error> {
        if let Some(wanted) = wanted {
            return self
                .needs_wider_scopes(key, out, &token.tokens, first, wanted)
                .await;
        }
        tracing::debug!("the API answered 401: renewing the token once");
        let token = self
            .access_token(key, out.scopes(), out.ask(), Some(&token))
            .await?;
        let second = self.send_with(key, Some(&token), out).await?;
        if let Some(wanted) = insufficient_scope(&second) {
            return self
                .needs_wider_scopes(key, out, &token.tokens, second, wanted)
                .await;
        }
        record_status(second.status);
        if second.status != 401 {
            return Ok(second);
        }
        if key.user.is_application() {
            // Its answer is returned as is; the next call renews again rather than send
            // this token, refused too.
            let refused = token.tokens.access_token.expose_secret();
            self.inner.tokens.cache().refused(key, refused);
            return Ok(second);
        }
        // A fresh token refused too: the grant is gone (revoked, or scopes withdrawn).
        let message = format!("`{}` refused a freshly renewed token", out.endpoint());
        self.forget_tokens(key, &token.tokens, LastError::now("unauthorized", message))
            .await?;
        Err(self
            .authorization_required(
                key,
                out.scopes(),
                out.ask(),
                None,
                AuthorizationReason::Unauthorized,
            )
            .await)
    }

    /// The API refused `token` for lack of scopes (`wanted`, when it said which): the
    /// token is kept for what it was granted, and a person is asked for more. The
    /// application's own token is not a person's to widen: its answer is returned as is.
    async fn needs_wider_scopes(
        &self,
        key: &SessionKey,
        out: &Outgoing,
        token: &TokenSet,
        answer: RawResponse,
        wanted: ScopeSet,
    ) -> Result<RawResponse, Error> {
        record_status(answer.status);
        if key.user.is_application() {
            return Ok(answer);
        }
        let granted: ScopeSet = token.scopes.iter().collect();
        let ask = granted.union(out.ask()).union(&wanted);
        let scopes = out.scopes().union(&wanted);
        Err(self
            .authorization_required(
                key,
                &scopes,
                &ask,
                None,
                AuthorizationReason::InsufficientScope,
            )
            .await)
    }

    /// Clears the session's tokens if they are still `refused`; newer ones are kept.
    async fn forget_tokens(
        &self,
        key: &SessionKey,
        refused: &TokenSet,
        error: LastError,
    ) -> Result<(), Error> {
        let state = SessionState {
            tokens: None,
            last_error: Some(error),
        };
        self.write_if(key, &Basis::of(Some(refused)), &state)
            .await?;
        Ok(())
    }

    /// Sends `out` once per attempt, retrying throttled answers per the retry policy.
    async fn send_with(
        &self,
        key: &SessionKey,
        token: Option<&Bearer>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        let answer = self.send_once(key, token, out).await?;
        match self.throttle_delay(out, 0, &answer) {
            None => Ok(answer),
            Some(delay) => self.resend_throttled(key, token, out, answer, delay).await,
        }
    }

    /// The wait before attempt `attempt + 1` when `answer` is throttled and the retry
    /// policy allows another.
    fn throttle_delay(
        &self,
        out: &Outgoing,
        attempt: u32,
        answer: &RawResponse,
    ) -> Option<std::time::Duration> {
        let extensions = &self.inner.api.extensions;
        let throttled = extensions
            .throttle
            .as_ref()
            .and_then(|c| c.classify(answer.status, &answer.headers))
            .or_else(|| standard_throttle(answer.status, &answer.headers));
        let Throttled { retry_after } = throttled?;
        extensions.retry.delay(out.method(), attempt, retry_after)
    }

    /// Sends `out` again after the throttled `answer`, `delay` later, for as long as the
    /// retry policy allows.
    async fn resend_throttled(
        &self,
        key: &SessionKey,
        token: Option<&Bearer>,
        out: &Outgoing,
        mut answer: RawResponse,
        mut delay: std::time::Duration,
    ) -> Result<RawResponse, Error> {
        let mut attempt = 0;
        loop {
            tracing::info!(
                session = %key,
                endpoint = out.endpoint(),
                status = answer.status,
                ?delay,
                attempt,
                "throttled: retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
            answer = self.send_once(key, token, out).await?;
            match self.throttle_delay(out, attempt, &answer) {
                None => return Ok(answer),
                Some(next) => delay = next,
            }
        }
    }

    pub(crate) async fn send_once(
        &self,
        key: &SessionKey,
        token: Option<&Bearer>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        // Built before its turn under the rate limit is taken: a request that cannot be
        // sent neither waits nor takes a place.
        let request = self.build_request(key, token, out)?;
        let transport = |e| transport(out, e);
        let http = &self.inner.api.http;
        // The request is moved into what sends it before any wait: held across one, it
        // would be copied into the call's state on every call.
        let sent = match &self.inner.api.extensions.rate_limit {
            None => http.execute(request).await,
            // Boxed: its state would otherwise be part of every call's, limited or not.
            Some(limit) => Box::pin(in_turn(limit, http, request)).await,
        };
        let mut response = sent.map_err(transport)?;
        let status = response.status().as_u16();
        let limit = self.inner.config.settings().max_response_bytes;
        let mut body = match read_capped(&mut response, limit).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return Err(too_large(out, limit)),
            Err(BodyError::Read(e)) => return Err(transport(e)),
        };
        // Taken once the body is read: not held beside the response while it is.
        let headers = std::mem::take(response.headers_mut());
        if !(200..300).contains(&status)
            && let Some(token) = token
        {
            // An error page that echoes the request must not carry the token into an error.
            redact_in(&mut body, token.tokens.access_token.expose_secret());
        }
        Ok(RawResponse {
            status,
            headers,
            body,
            sent_token: token.map(|t| t.tokens.clone()),
        })
    }

    /// Sends `out` with no token: an open endpoint (HMRC's `/hello/world`), in the
    /// default environment.
    pub(crate) async fn send_open(&self, out: &Outgoing) -> Result<RawResponse, Error> {
        let key = self.key_in(self.default_environment(), UserRef::anonymous());
        let send = async {
            let answer = self.send_with(&key, None, out).await?;
            record_status(answer.status);
            Ok(answer)
        };
        match call_span(&key, out) {
            Some(span) => send.instrument(span).await,
            None => send.await,
        }
    }

    /// An [`ApiError`] for a non-success answer, decoded by the runtime's
    /// [`ErrorDecoder`](crate::ErrorDecoder) first, then by the built-in shapes, and as
    /// the provider's [`error_body`](crate::Provider::error_body) type: what a declared
    /// endpoint returns, for answers of the escape hatch.
    pub fn decode_error(&self, answer: &RawResponse, endpoint: &str) -> ApiError {
        let mut error = answer.error(endpoint);
        if let Some(body) = &self.inner.config.error_body() {
            // The body is already without the sent token (`send_once` redacts it).
            error.typed = body.decode(&answer.body);
        }
        if let Some(decoder) = &self.inner.api.extensions.error_decoder
            && let Some(decoded) = decoder.decode(answer.status, &answer.body)
        {
            error.provider = Some(decoded);
        }
        error
    }
}

/// The name of a call's span.
const CALL_SPAN: &str = "oauth2_api.call";

/// The level of a call's span: `DEBUG`, as `tower-http` gives each request's. At `INFO`,
/// the level of an application's usual subscriber (`tracing_subscriber::fmt::init()`),
/// every call would pay for a span whose fields the subscriber formats and keeps (~20%
/// more instructions a call); the runtime's own events at `INFO` and above name their
/// session themselves.
const CALL_SPAN_LEVEL: tracing::Level = tracing::Level::DEBUG;

/// The span of one call: what it is for, never a token; `status` is recorded once known.
/// None when nothing listens to this module at [`CALL_SPAN_LEVEL`]: creating a disabled
/// span still costs its fields (and a `log` record where `tracing`'s `log` feature is
/// on), and entering one costs on every poll. `enabled!`, not `level_enabled!`: the
/// level hint is the most any subscriber wants of any target, and an application at
/// `info,myapp=debug` would send every call down the traced path for a span it filters
/// out. The callsite's interest is cached, so the common answer costs one load.
fn call_span(key: &SessionKey, out: &Outgoing) -> Option<tracing::Span> {
    if !tracing::enabled!(CALL_SPAN_LEVEL) {
        return None;
    }
    Some(tracing::span!(
        CALL_SPAN_LEVEL,
        CALL_SPAN,
        provider = %key.provider,
        environment = %key.environment,
        endpoint = %out.endpoint(),
        user = %key.user,
        status = tracing::field::Empty,
    ))
}

/// `request` sent in its turn under the rate `limit`.
async fn in_turn(
    limit: &crate::hooks::RateLimiter,
    http: &reqwest::Client,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    limit.acquire().await;
    http.execute(request).await
}

/// An answer longer than `limit`.
#[cold]
#[inline(never)]
fn too_large(out: &Outgoing, limit: usize) -> Error {
    Error::ResponseTooLarge {
        endpoint: out.endpoint().to_owned(),
        limit,
    }
}

/// A request that could not be sent or answered.
#[cold]
#[inline(never)]
fn transport(out: &Outgoing, e: reqwest::Error) -> Error {
    Error::Transport {
        endpoint: out.endpoint().to_owned(),
        message: describe_reqwest(&e),
        source: Box::new(e.without_url()),
    }
}

/// Records the answer's status on the call's span: only where [`call_span`] made one, as
/// finding the current span costs a look at the subscriber. A call span the subscriber
/// filtered out is not current: the current span is then the application's, whose own
/// `status` is not the runtime's to write.
fn record_status(status: u16) {
    if tracing::enabled!(CALL_SPAN_LEVEL) {
        let span = tracing::Span::current();
        if span.metadata().is_some_and(|m| m.name() == CALL_SPAN) {
            span.record("status", status);
        }
    }
}

/// Whether the API refused the token `answer` was sent with: `Some(Some(wanted))` for
/// lack of scopes (those it named, if any), `Some(None)` for a 401.
fn refusal(answer: &RawResponse) -> Option<Option<ScopeSet>> {
    match insufficient_scope(answer) {
        Some(wanted) => Some(Some(wanted)),
        None if answer.status == 401 => Some(None),
        None => None,
    }
}

/// Whether a request's path is an absolute URL: declared paths begin with `/`. Schemes
/// are case-insensitive (`HTTPS://` is one too).
pub(crate) fn is_absolute(path: &str) -> bool {
    let scheme = |s: &str| {
        path.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    };
    scheme("https://") || scheme("http://")
}
