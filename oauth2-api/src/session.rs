//! The records a [`SessionStore`](crate::store::SessionStore) keeps.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use crate::scope::ScopeSet;
use crate::user::UserRef;

/// What a session is stored under: (provider, environment, user).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The provider's name (what [`Runtime::provider`](crate::Runtime::provider) says).
    pub provider: Arc<str>,
    /// The environment's name.
    pub environment: Arc<str>,
    /// The user holding the tokens.
    pub user: UserRef,
}

impl SessionKey {
    /// A key from its parts.
    pub fn new(
        provider: impl Into<Arc<str>>,
        environment: impl Into<Arc<str>>,
        user: UserRef,
    ) -> Self {
        Self {
            provider: provider.into(),
            environment: environment.into(),
            user,
        }
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.provider, self.environment, self.user)
    }
}

/// The tokens a session holds. `Debug` shows no token.
#[derive(Clone)]
pub struct TokenSet {
    /// The bearer token sent to the API.
    pub access_token: SecretString,
    /// The token that obtains the next access token, when the grant has one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, when the provider said.
    pub expires_at: Option<SystemTime>,
    /// The scopes the token covers: those granted (or, when the provider did not say,
    /// those asked for), as the provider's [`ScopePolicy`](crate::ScopePolicy) and
    /// implications read them.
    pub scopes: Vec<String>,
    /// The token type, lower case (`bearer`).
    pub token_type: String,
}

impl TokenSet {
    /// Whether the access token is still valid `margin` from now. A token without a
    /// known expiry is taken as valid until the API refuses it.
    pub fn is_fresh(&self, now: SystemTime, margin: Duration) -> bool {
        match self.expires_at {
            Some(at) => now + margin < at,
            None => true,
        }
    }

    /// Whether every scope in `required` was granted.
    pub fn covers<S: AsRef<str>>(&self, required: &[S]) -> bool {
        crate::scope::all_granted(required.iter().map(AsRef::as_ref), &self.scopes)
    }

    /// Whether both sets hold the same access token.
    pub(crate) fn same_access_token(&self, other: &str) -> bool {
        self.access_token.expose_secret() == other
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// A token as a call sends it: the set, and its `Authorization` value, made once per
/// token rather than once per call. `None` when the token cannot be a header value
/// (then the call says so when it builds the request).
#[derive(Clone, Debug)]
pub(crate) struct Bearer {
    pub(crate) tokens: Arc<TokenSet>,
    pub(crate) authorization: Option<http::HeaderValue>,
    /// The version of the session it was read from, when it was: a refusal of it is of
    /// the session as it was then, not as another process may have written it since.
    pub(crate) read_at: Option<u64>,
}

impl Bearer {
    pub(crate) fn new(tokens: Arc<TokenSet>) -> Self {
        let value = format!("Bearer {}", tokens.access_token.expose_secret());
        let authorization = http::HeaderValue::try_from(value).ok().map(|mut v| {
            v.set_sensitive(true);
            v
        });
        Self {
            tokens,
            authorization,
            read_at: None,
        }
    }

    /// It, read from the session at `version`.
    pub(crate) fn read_at(self, version: u64) -> Self {
        Self {
            read_at: Some(version),
            ..self
        }
    }
}

/// A token a call may use, and when it is due for renewal (`None`: when the API refuses
/// it). What the lifecycle hands out and the call cache keeps.
#[derive(Clone, Debug)]
pub(crate) struct Usable {
    pub(crate) bearer: Bearer,
    pub(crate) renew_at: Option<SystemTime>,
}

impl Usable {
    /// Whether it may still be sent at `now` without renewing it first.
    pub(crate) fn is_fresh_at(&self, now: SystemTime) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// What a call takes from the call cache: its session key and token, shared, so that a
/// call counts one reference where it would copy (and count) the five of its parts.
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) key: SessionKey,
    pub(crate) usable: Usable,
}

/// Why a session last failed, kept so an application can show it to a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastError {
    /// When it happened.
    pub at: SystemTime,
    /// A short machine-readable kind: the OAuth2 error code (`invalid_grant`,
    /// `access_denied`) or `transport`, `server_error`.
    pub kind: String,
    /// A sentence for a person; never holds a token.
    pub message: String,
}

impl LastError {
    /// The [`kind`](Self::kind) of an authorization granted fewer scopes than it asked
    /// for; [`withheld_scopes`](Self::withheld_scopes) names them.
    pub const SCOPES_NOT_GRANTED: &'static str = "scopes_not_granted";

    /// How the message of [`SCOPES_NOT_GRANTED`](Self::SCOPES_NOT_GRANTED) begins: the
    /// scopes follow, space separated, so the record stays one readable sentence in every
    /// store.
    const NOT_GRANTED: &'static str = "the provider did not grant the scopes ";

    pub(crate) fn now(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            at: SystemTime::now(),
            kind: kind.into(),
            message: message.into(),
        }
    }

    pub(crate) fn scopes_not_granted(withheld: &ScopeSet) -> Self {
        let message = format!("{}{}", Self::NOT_GRANTED, withheld.join(" "));
        Self::now(Self::SCOPES_NOT_GRANTED, message)
    }

    /// The scopes an authorization asked for and the provider did not grant, when this
    /// is such an error: asking the person again would end the same way, so the redirect
    /// middleware does not.
    pub fn withheld_scopes(&self) -> Option<Vec<&str>> {
        if self.kind != Self::SCOPES_NOT_GRANTED {
            return None;
        }
        let scopes = self.message.strip_prefix(Self::NOT_GRANTED)?;
        Some(scopes.split_whitespace().collect())
    }
}

/// A session: what is stored under one [`SessionKey`].
#[derive(Clone, Debug)]
pub struct Session {
    /// Where it is stored.
    pub key: SessionKey,
    /// The current state.
    pub state: SessionState,
    /// Bumped by every write; the store's compare-and-swap compares it.
    pub version: u64,
    /// When it was last written.
    pub updated_at: SystemTime,
}

/// The part of a session that changes: tokens and the last error.
#[derive(Clone, Debug, Default)]
pub struct SessionState {
    /// The tokens, when the user is authorized.
    pub tokens: Option<TokenSet>,
    /// The last failure, cleared by the next success.
    pub last_error: Option<LastError>,
}

/// An authorization that was begun and waits for its callback.
#[derive(Clone)]
pub struct PendingAuthorization {
    /// The random `state` sent to the provider; the primary key.
    pub state: String,
    /// The session the authorization is for.
    pub key: SessionKey,
    /// The PKCE verifier the code must be exchanged with.
    pub pkce_verifier: SecretString,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Where to send the person once authorized (an application path).
    pub return_to: Option<String>,
    /// The SHA-256 (hex) of the browser-binding cookie's value, when the authorization
    /// was begun for a browser (`web`): the callback route then completes it
    /// only for the browser holding that cookie. The value itself is never stored.
    pub browser_binding: Option<String>,
    /// When it was begun.
    pub created_at: SystemTime,
    /// When the state stops being accepted.
    pub expires_at: SystemTime,
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("state", &self.state)
            .field("key", &self.key)
            .field("pkce_verifier", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("return_to", &self.return_to)
            .field(
                "browser_binding",
                &self.browser_binding.as_ref().map(|_| "[bound]"),
            )
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_scopes_are_read_back_only_from_their_own_kind() {
        let withheld: ScopeSet = ["write:vat", "read:vat"].iter().collect();
        let error = LastError::scopes_not_granted(&withheld);
        assert_eq!(error.kind, LastError::SCOPES_NOT_GRANTED);
        assert_eq!(error.withheld_scopes(), Some(vec!["write:vat", "read:vat"]));
        let other = LastError::now("invalid_grant", error.message.clone());
        assert_eq!(other.withheld_scopes(), None);
        let reworded = LastError::now(LastError::SCOPES_NOT_GRANTED, "something else");
        assert_eq!(reworded.withheld_scopes(), None);
    }
}
