//! Calling the API: typed endpoint calls (what generated code uses) and the raw escape
//! hatch, sharing one path: get a token, send, on 401 renew once and resend once.

use std::borrow::Cow;
use std::fmt;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::access::union;
use crate::error::{ApiError, AuthorizationReason, Error, ProviderError, excerpt};
use crate::hooks::OutgoingRequest;
use crate::http::{BodyError, describe_reqwest, read_capped, retry_after};
use crate::keep::Basis;
use crate::runtime::Runtime;
use crate::session::{LastError, SessionKey, SessionState, TokenSet};
use crate::user::{ApiUser, UserRef};

/// An HTTP method an endpoint may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    fn as_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Patch => http::Method::PATCH,
            Method::Delete => http::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_http().as_str())
    }
}

/// An API answer, as the escape hatch returns it.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as JSON; an empty body decodes as `null` (so `()` and `Option`
    /// work for answers without a body).
    pub fn json<T: DeserializeOwned>(&self, endpoint: &str) -> Result<T, Error> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).or_else(|source| {
            // A plain-text answer (PISTE's `pong`) decodes into a `String`.
            let text = self
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/"));
            let as_text = text
                .then(|| serde_json::from_value(serde_json::Value::String(self.text())).ok())
                .flatten();
            as_text.ok_or_else(|| Error::Decode {
                endpoint: endpoint.to_owned(),
                body: excerpt(&self.body, 1024),
                source,
            })
        })
    }

    /// An [`ApiError`] for a non-success answer.
    pub fn error(&self, endpoint: &str) -> ApiError {
        ApiError {
            endpoint: endpoint.to_owned(),
            status: self.status,
            provider: ProviderError::from_body(&self.body),
            body: excerpt(&self.body, 2048),
            retry_after: retry_after(&self.headers),
        }
    }
}

/// One request to send, before authentication. What a declaration fixes is borrowed
/// from its `static`, so a call copies nothing it does not have to.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) endpoint: Cow<'static, str>,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) scopes: Scopes,
    /// Scopes to ask for when a person must authorize: every scope of the API for this
    /// kind of user, so one authorization serves all its endpoints.
    pub(crate) ask: Scopes,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub(crate) body: Option<Vec<u8>>,
}

/// A list of scopes: a declaration's, or one given at run time.
#[derive(Clone, Debug)]
pub(crate) enum Scopes {
    Declared(&'static [&'static str]),
    Given(Vec<String>),
}

impl Scopes {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (declared, given) = match self {
            Scopes::Declared(d) => (*d, &[][..]),
            Scopes::Given(g) => (&[][..], g.as_slice()),
        };
        declared
            .iter()
            .copied()
            .chain(given.iter().map(String::as_str))
    }

    pub(crate) fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// Whether `tokens` were granted every one of these scopes.
    pub(crate) fn covered_by(&self, tokens: &TokenSet) -> bool {
        self.iter().all(|r| tokens.scopes.iter().any(|s| s == r))
    }
}

impl Runtime {
    /// Sends `out` for `user`: the whole token dance, the 401 retry, the raw answer.
    pub(crate) async fn send(&self, user: UserRef, out: &Outgoing) -> Result<RawResponse, Error> {
        let key = self.call_key(user).await?;
        let span = tracing::info_span!(
            "oauth2_api.call",
            provider = %key.api,
            environment = %key.environment,
            endpoint = %out.endpoint,
            user = %key.user,
            status = tracing::field::Empty,
        );
        async {
            let token = self.access_token(&key, &out.scopes, &out.ask, None).await?;
            let first = self.send_with(&key, Some(&token), out).await?;
            if let Some(wanted) = insufficient_scope(&first) {
                tracing::Span::current().record("status", first.status);
                if key.user.is_application() {
                    return Ok(first);
                }
                // The token is fine for what it was granted: keep it, ask for more.
                let ask = union(&union(&token.scopes, &out.ask.to_vec()), &wanted);
                let scopes = union(&out.scopes.to_vec(), &wanted);
                return Err(self
                    .authorization_required(
                        &key,
                        &scopes,
                        &ask,
                        None,
                        AuthorizationReason::InsufficientScope,
                    )
                    .await);
            }
            if first.status != 401 {
                tracing::Span::current().record("status", first.status);
                return Ok(first);
            }
            tracing::debug!("the API answered 401: renewing the token once");
            let stale = token.access_token.expose_secret();
            let token = self
                .access_token(&key, &out.scopes, &out.ask, Some(stale))
                .await?;
            let second = self.send_with(&key, Some(&token), out).await?;
            tracing::Span::current().record("status", second.status);
            if second.status != 401 || key.user.is_application() {
                return Ok(second);
            }
            // A fresh token refused too: the grant is gone (revoked, or scopes withdrawn).
            let message = format!("`{}` refused a freshly renewed token", out.endpoint);
            self.forget_tokens(&key, &token, LastError::now("unauthorized", message))
                .await?;
            Err(self
                .authorization_required(
                    &key,
                    &out.scopes.to_vec(),
                    &out.ask.to_vec(),
                    None,
                    AuthorizationReason::Unauthorized,
                )
                .await)
        }
        .instrument(span)
        .await
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
        token: Option<&TokenSet>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        let mut attempt = 0;
        loop {
            let answer = self.send_once(key, token, out).await?;
            let throttled = answer.status == 429
                || (answer.status == 503 && answer.headers.contains_key(http::header::RETRY_AFTER));
            if !throttled {
                return Ok(answer);
            }
            let retry_after = retry_after(&answer.headers);
            let Some(delay) = self
                .inner
                .extensions
                .retry
                .delay(out.method, attempt, retry_after)
            else {
                return Ok(answer);
            };
            tracing::info!(
                status = answer.status,
                ?delay,
                attempt,
                "throttled: retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        key: &SessionKey,
        token: Option<&TokenSet>,
        out: &Outgoing,
    ) -> Result<RawResponse, Error> {
        let env = self.environment_named(&key.environment)?;
        let mut url = env.base_url.clone();
        url.set_path(&format!(
            "{}{}",
            env.base_url.path().trim_end_matches('/'),
            out.path
        ));
        if !out.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&out.query);
        }
        // Hooks see (and may change) every header of the request; without hooks the
        // declared ones are sent as they are.
        let hooks = &self.inner.extensions.request_hooks;
        let mut hooked = Vec::new();
        if !hooks.is_empty() {
            hooked = out
                .headers
                .iter()
                .map(|(n, v)| (n.clone().into_owned(), v.clone().into_owned()))
                .collect();
        }
        for hook in hooks {
            hook.before_send(&mut OutgoingRequest {
                endpoint: &out.endpoint,
                method: out.method,
                url: &url,
                user: &key.user,
                environment: &key.environment,
                context: &self.context,
                headers: &mut hooked,
            })?;
        }
        if let Some(limit) = &self.inner.extensions.rate_limit {
            limit.acquire().await;
        }
        let mut request = self.inner.api_http.request(out.method.as_http(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token.access_token.expose_secret());
        }
        for (name, value) in &self.inner.headers {
            request = request.header(name, value);
        }
        if hooks.is_empty() {
            for (name, value) in &out.headers {
                request = request.header(name.as_ref(), value.as_ref());
            }
        } else {
            for (name, value) in &hooked {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        if let Some(body) = &out.body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let transport = |e: reqwest::Error| Error::Transport {
            endpoint: out.endpoint.clone().into_owned(),
            message: describe_reqwest(&e),
            source: Box::new(e.without_url()),
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let limit = self.inner.settings.max_response_bytes;
        let mut body = match read_capped(&mut response, limit).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(Error::ResponseTooLarge {
                    endpoint: out.endpoint.clone().into_owned(),
                    limit,
                });
            }
            Err(BodyError::Read(e)) => return Err(transport(e)),
        };
        if !(200..300).contains(&status)
            && let Some(token) = token
        {
            // An error page that echoes the request must not carry the token into an error.
            redact_in(&mut body, token.access_token.expose_secret());
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Sends `out` with no token: an open endpoint (HMRC's `/hello/world`), in the
    /// default environment.
    pub(crate) async fn send_open(&self, out: &Outgoing) -> Result<RawResponse, Error> {
        let env = &self.inner.environments[self.inner.default_environment];
        let key = SessionKey::new(
            self.inner.provider.clone(),
            env.name.clone(),
            UserRef::anonymous(),
        );
        let span = tracing::info_span!(
            "oauth2_api.call",
            provider = %key.api,
            environment = %key.environment,
            endpoint = %out.endpoint,
            user = %key.user,
        );
        self.send_with(&key, None, out).instrument(span).await
    }

    /// An [`ApiError`] for a non-success answer, decoded by the runtime's
    /// [`ErrorDecoder`](crate::ErrorDecoder) first, then by the built-in shapes: what a
    /// declared endpoint returns, for answers of the escape hatch.
    pub fn decode_error(&self, answer: &RawResponse, endpoint: &str) -> ApiError {
        let mut error = answer.error(endpoint);
        if let Some(decoder) = &self.inner.extensions.error_decoder
            && let Some(decoded) = decoder.decode(answer.status, &answer.body)
        {
            error.provider = Some(decoded);
        }
        error
    }

    /// Starts an authorized request to a path no trait declares yet (the escape hatch).
    /// It gets the same token handling and 401 retry as a declared endpoint, and returns
    /// the raw answer whatever its status.
    pub fn request(&self, user: &impl ApiUser, method: Method, path: &str) -> RawRequest {
        RawRequest {
            runtime: self.clone(),
            user: user.user_ref(),
            out: Outgoing {
                endpoint: format!("{method} {path}").into(),
                method,
                path: path.to_owned(),
                scopes: Scopes::Declared(&[]),
                ask: Scopes::Declared(&[]),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
            },
        }
    }
}

/// An authorized request being built; see [`Runtime::request`].
#[derive(Debug)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct RawRequest {
    runtime: Runtime,
    user: UserRef,
    out: Outgoing,
}

impl RawRequest {
    /// Scopes the token must cover.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.out.scopes = Scopes::Given(scopes.iter().map(|s| (*s).to_owned()).collect());
        self.out.ask = self.out.scopes.clone();
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.out.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.out
            .headers
            .push((name.to_owned().into(), value.into().into()));
        self
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("the request body does not serialize: {e}")))?;
        self.out.body = Some(body);
        Ok(self)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<RawResponse, Error> {
        self.runtime.send(self.user, &self.out).await
    }
}

/// The scopes an answer says the token lacks: RFC 6750 §3.1's `insufficient_scope` in a
/// `WWW-Authenticate: Bearer` challenge of a 401 or 403 (its `scope`, when given).
fn insufficient_scope(answer: &RawResponse) -> Option<Vec<String>> {
    if answer.status != 401 && answer.status != 403 {
        return None;
    }
    let challenge = answer
        .headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| {
            v.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        })?;
    let params = auth_params(&challenge[7..]);
    let error = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("error"))?;
    if error.1 != "insufficient_scope" {
        return None;
    }
    let scope = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("scope"));
    Some(scope.map_or_else(Vec::new, |(_, v)| {
        v.split_whitespace().map(str::to_owned).collect()
    }))
}

/// `name=value` and `name="quoted value"` pairs of a challenge, in order.
fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim_start();
    while let Some((name, after)) = rest.split_once('=') {
        let name = name.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (
                    quoted[..end].replace('\\', ""),
                    quoted.get(end + 1..).unwrap_or(""),
                )
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        params.push((name, value));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

/// Replaces each occurrence of `secret` in `body` with `[redacted]`.
fn redact_in(body: &mut Vec<u8>, secret: &str) {
    let secret = secret.as_bytes();
    if secret.is_empty() || body.len() < secret.len() {
        return;
    }
    if !body.windows(secret.len()).any(|w| w == secret) {
        return;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(secret) {
            out.extend_from_slice(b"[redacted]");
            i += secret.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    *body = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, challenge: &str) -> RawResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::WWW_AUTHENTICATE, challenge.parse().unwrap());
        RawResponse {
            status,
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn reads_insufficient_scope_challenges() {
        let wide = answer(
            401,
            r#"Bearer realm="api", error="insufficient_scope", scope="read:vat write:vat""#,
        );
        assert_eq!(
            insufficient_scope(&wide),
            Some(vec!["read:vat".into(), "write:vat".into()])
        );
        let bare = answer(403, "Bearer error=insufficient_scope");
        assert_eq!(insufficient_scope(&bare), Some(vec![]));
        assert_eq!(
            insufficient_scope(&answer(401, r#"Bearer error="invalid_token""#)),
            None
        );
        assert_eq!(insufficient_scope(&answer(401, r#"Basic realm="x""#)), None);
        assert_eq!(
            insufficient_scope(&answer(500, r#"Bearer error="insufficient_scope""#)),
            None
        );
    }

    #[test]
    fn redacts_a_token_in_a_body() {
        let mut body = b"you sent Bearer tok-123 and tok-123".to_vec();
        redact_in(&mut body, "tok-123");
        assert_eq!(body, b"you sent Bearer [redacted] and [redacted]");
    }
}
