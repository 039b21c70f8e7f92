//! What the API answered: the raw answer, and what the runtime reads in it before
//! handing it on (an `insufficient_scope` challenge, its own token echoed in an error page).

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, ProviderError, excerpt, redact};
use crate::http::retry_after;
use crate::scope::ScopeSet;
use crate::session::TokenSet;

use super::challenge::challenges;

/// An API answer, as the escape hatch returns it.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, as it arrived (one chunk is not copied).
    pub body: bytes::Bytes,
    /// The token the request carried: never shown in an error made of this answer.
    pub(crate) sent_token: Option<Arc<TokenSet>>,
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
        self.decoded(endpoint, self.is_text())
    }

    /// [`json`](Self::json), with the headers dropped before the body is decoded: the
    /// decoder's many small blocks then reuse theirs, freed a moment before, rather than
    /// take the allocator's slow path (a hand-written `reqwest` `json()` drops its response
    /// before decoding, too).
    pub(crate) fn into_json<T: DeserializeOwned>(mut self, endpoint: &str) -> Result<T, Error> {
        let is_text = self.is_text();
        drop(std::mem::take(&mut self.headers));
        self.decoded(endpoint, is_text)
    }

    /// Whether the answer says it is text, which a `String` takes as it is.
    fn is_text(&self) -> bool {
        // The answer's few headers walked rather than looked up: a lookup hashes the name
        // and probes, on every call, for a header that matters only when decoding fails.
        (self.headers.iter())
            .find(|(name, _)| *name == http::header::CONTENT_TYPE)
            .is_some_and(|(_, v)| v.as_bytes().starts_with(b"text/"))
    }

    fn decoded<T: DeserializeOwned>(&self, endpoint: &str, is_text: bool) -> Result<T, Error> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).or_else(|source| {
            // A plain-text answer (PISTE's `pong`) decodes into a `String`.
            let as_text = is_text
                .then(|| serde_json::from_value(serde_json::Value::String(self.text())).ok())
                .flatten();
            as_text.ok_or_else(|| Error::Decode {
                endpoint: endpoint.to_owned(),
                body: self.excerpt(1024),
                source,
            })
        })
    }

    /// At most `max` bytes of the body for an error value, without the sent token.
    pub(crate) fn excerpt(&self, max: usize) -> String {
        match &self.sent_token {
            Some(token) => {
                let text = String::from_utf8_lossy(&self.body);
                let text = redact(&text, &[token.access_token.expose_secret()]);
                excerpt(text.as_bytes(), max)
            }
            None => excerpt(&self.body, max),
        }
    }

    /// An [`ApiError`] for a non-success answer.
    pub fn error(&self, endpoint: &str) -> ApiError {
        ApiError {
            endpoint: endpoint.to_owned(),
            status: self.status,
            provider: ProviderError::from_body(&self.body),
            body: self.excerpt(2048),
            retry_after: retry_after(&self.headers),
            typed: None,
        }
    }
}

/// The scopes an answer says the token lacks: RFC 6750 §3.1's `insufficient_scope` in a
/// `Bearer` challenge of a 401 or 403 (its `scope`, when given).
pub(crate) fn insufficient_scope(answer: &RawResponse) -> Option<ScopeSet> {
    if answer.status != 401 && answer.status != 403 {
        return None;
    }
    let values = answer
        .headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let bearer = challenges(values).into_iter().find(|c| {
        c.scheme.eq_ignore_ascii_case("bearer") && c.param("error") == Some("insufficient_scope")
    })?;
    Some(
        bearer
            .param("scope")
            .map_or(ScopeSet::EMPTY, |v| ScopeSet::split(v, " ")),
    )
}

/// Replaces each occurrence of `secret` in `body` with `[redacted]`. Only error answers
/// are searched: out of line and cold.
#[cold]
#[inline(never)]
pub(crate) fn redact_in(body: &mut bytes::Bytes, secret: &str) {
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
    *body = out.into();
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
            body: Default::default(),
            sent_token: None,
        }
    }

    #[test]
    fn reads_insufficient_scope_challenges() {
        let wide = answer(
            401,
            r#"Bearer realm="api", error="insufficient_scope", scope="read:vat write:vat""#,
        );
        let wanted = insufficient_scope(&wide).map(|s| s.join(" "));
        assert_eq!(wanted.as_deref(), Some("read:vat write:vat"));
        let bare = answer(403, "Bearer error=insufficient_scope");
        assert_eq!(insufficient_scope(&bare), Some(ScopeSet::EMPTY));
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

    /// PISTE's `ping` answers `pong` as `text/plain`: a `String` takes it as it is; the
    /// same body said to be JSON, or not said to be anything, is a decoding error.
    #[test]
    fn a_text_answer_decodes_into_a_string_and_only_a_text_one() {
        let answer = |content_type: Option<&'static str>| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::DATE,
                "Mon, 30 Nov 2026 12:00:00 GMT".parse().unwrap(),
            );
            if let Some(content_type) = content_type {
                headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
            }
            RawResponse {
                status: 200,
                headers,
                body: bytes::Bytes::from_static(b"pong"),
                sent_token: None,
            }
        };
        let text = answer(Some("text/plain; charset=utf-8"));
        assert_eq!(text.json::<String>("ping").unwrap(), "pong");
        assert_eq!(text.into_json::<String>("ping").unwrap(), "pong");
        for content_type in [Some("application/json"), None] {
            let err = answer(content_type)
                .into_json::<String>("ping")
                .unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        }
    }

    #[test]
    fn redacts_a_token_in_a_body() {
        let mut body = bytes::Bytes::from_static(b"you sent Bearer tok-123 and tok-123");
        redact_in(&mut body, "tok-123");
        assert_eq!(body, &b"you sent Bearer [redacted] and [redacted]"[..]);
    }
}
