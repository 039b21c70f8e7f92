//! Browser binding (RFC 9700 §4.7.1): an authorization begun for a browser sets a cookie
//! holding a random value, and only its SHA-256 is stored with the pending authorization.
//! The callback route completes the state only for the browser that brings that cookie,
//! so a provider URL begun by one person cannot be completed in another person's browser
//! (the "authorization swap": the victim's grant stored under the attacker's user).
//!
//! The cookie is named after the state (a prefix of the state's SHA-256), so several
//! authorizations begun in one browser (two tabs) each keep their own; it is `HttpOnly`,
//! `SameSite=Lax` (sent on the provider's top-level redirect back, not on cross-site
//! sub-requests), scoped to the callback path, `Secure` on an `https` redirect URL, and
//! lasts as long as the state.

use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use oauth2::CsrfToken;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::oauth::authorize::AuthorizationRequest;

/// The cookie names' common prefix.
const COOKIE_PREFIX: &str = "oauth2_api_browser_";

/// A begun authorization bound to the browser it is sent to: redirect the browser to
/// `request.url` with [`set_cookie`](Self::set_cookie) as a `Set-Cookie` header (in axum,
/// the value is itself a response: a 303 with both). See
/// [`Runtime::begin_authorization_for_browser`](crate::Runtime::begin_authorization_for_browser).
///
/// `Debug` hides the cookie's value.
#[derive(Clone)]
#[non_exhaustive]
pub struct BrowserAuthorization {
    /// The authorization begun.
    pub request: AuthorizationRequest,
    set_cookie: SecretString,
}

impl BrowserAuthorization {
    pub(crate) fn new(request: AuthorizationRequest, set_cookie: SecretString) -> Self {
        Self {
            request,
            set_cookie,
        }
    }

    /// The `Set-Cookie` header value to send with the redirect. It holds the binding
    /// secret: send it to that browser only, never log it.
    pub fn set_cookie(&self) -> &str {
        self.set_cookie.expose_secret()
    }
}

impl fmt::Debug for BrowserAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserAuthorization")
            .field("request", &self.request)
            .field("set_cookie", &"[redacted]")
            .finish()
    }
}

/// A new binding: the cookie value (a secret, 256 random bits, base64url) and its hash.
pub(crate) fn new_binding() -> (SecretString, String) {
    let value = CsrfToken::new_random_len(32).secret().to_owned();
    let hash = hash(&value);
    (SecretString::from(value), hash)
}

fn hash(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The cookie name of `state`'s binding.
fn cookie_name(state: &str) -> String {
    format!("{COOKIE_PREFIX}{}", &hash(state)[..16])
}

/// The `Set-Cookie` value binding `state` to the browser with `value`, for the callback
/// at `redirect_url`, for `max_age`.
pub(crate) fn set_cookie(
    state: &str,
    value: &SecretString,
    redirect_url: &Url,
    max_age: Duration,
) -> SecretString {
    SecretString::from(format!(
        "{}={}{}",
        cookie_name(state),
        value.expose_secret(),
        attributes(redirect_url, max_age.as_secs())
    ))
}

fn attributes(redirect_url: &Url, max_age: u64) -> String {
    // A plain-http redirect URL (loopback, or a network the application declared trusted)
    // could never send a `Secure` cookie back.
    let secure = if redirect_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    format!(
        "; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        redirect_url.path()
    )
}

/// Whether the request's cookies hold the binding of `state` whose hash is `expected`.
/// Compared in constant time; a missing cookie is `false`.
pub(crate) fn matches(headers: &HeaderMap, state: &str, expected: &str) -> bool {
    let name = cookie_name(state);
    let found = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name);
    match found {
        Some((_, value)) => hash(value).as_bytes().ct_eq(expected.as_bytes()).into(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_matches_its_own_state_only() {
        let (value, hash) = new_binding();
        let url = Url::parse("https://app.example/oauth2/callback").unwrap();
        let cookie = set_cookie("state-a", &value, &url, Duration::from_secs(600));
        let cookie = cookie.expose_secret();
        assert!(
            cookie.contains("; Path=/oauth2/callback; Max-Age=600; HttpOnly; SameSite=Lax; Secure")
        );
        let pair = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("other=1; {pair}").parse().unwrap(),
        );
        assert!(matches(&headers, "state-a", &hash));
        assert!(
            !matches(&headers, "state-b", &hash),
            "another state's cookie"
        );
        assert!(!matches(&HeaderMap::new(), "state-a", &hash), "no cookie");
        let (_, other) = new_binding();
        assert!(!matches(&headers, "state-a", &other), "another value");
    }

    #[test]
    fn plain_http_loopback_cookies_are_not_secure() {
        let url = Url::parse("http://127.0.0.1:8765/cb").unwrap();
        let (value, _) = new_binding();
        let cookie = set_cookie("s", &value, &url, Duration::from_secs(5));
        assert!(
            cookie
                .expose_secret()
                .ends_with("; Path=/cb; Max-Age=5; HttpOnly; SameSite=Lax"),
            "not Secure on plain http"
        );
    }
}
