//! The authorization-code grant with PKCE: begin (a URL and a stored state) and complete
//! (the callback's `code` and `state`).

use std::time::{Duration, SystemTime};

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::access::last_error_of;
use crate::error::{CallbackError, Error};
use crate::keep::Pending;
use crate::runtime::Runtime;
use crate::session::{PendingAuthorization, SessionKey, SessionState, TokenSet};
use crate::store::Consumed;
use crate::user::{ApiUser, UserRef};

/// Used states are remembered this long after their expiry, to tell a replay from an
/// unknown state.
const USED_STATE_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// A begun authorization: send the person to `url`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The provider's authorization URL with `state` and the PKCE challenge.
    pub url: Url,
    /// The random state, bound server side to the session, scopes and verifier.
    pub state: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// When the state stops being accepted.
    pub expires_at: SystemTime,
}

/// A completed authorization.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Authorized {
    /// The session that now holds tokens.
    pub session: SessionKey,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The return target given when the authorization was begun.
    pub return_to: Option<String>,
    /// The state that was completed.
    pub state: String,
}

/// The parameters of a callback to the redirect URL. `Debug` hides the code.
#[derive(Clone, Default)]
pub struct CallbackParams {
    code: Option<SecretString>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("iss", &self.iss)
            .finish()
    }
}

/// Longest query accepted; real callbacks are a few hundred bytes.
const MAX_QUERY: usize = 8 * 1024;

impl CallbackParams {
    /// Reads a callback's query string (without the `?`). Repeated known parameters,
    /// bad percent-encoding and oversized queries are refused.
    pub fn from_query(query: &str) -> Result<Self, CallbackError> {
        if query.len() > MAX_QUERY {
            return Err(CallbackError::Malformed(format!(
                "the query is {} bytes long, more than {MAX_QUERY}",
                query.len()
            )));
        }
        let mut params = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            let slot = match name.as_str() {
                "state" => &mut params.state,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                "iss" => &mut params.iss,
                "code" => {
                    if params.code.is_some() {
                        return Err(CallbackError::DuplicateParameter(name));
                    }
                    params.code = Some(SecretString::from(value));
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(CallbackError::DuplicateParameter(name));
            }
            *slot = Some(value);
        }
        Ok(params)
    }

    /// Reads the query of a full callback URL.
    pub fn from_url(url: &str) -> Result<Self, CallbackError> {
        let url = Url::parse(url).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        Self::from_query(url.query().unwrap_or(""))
    }

    /// The `state` parameter.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The `error` parameter, when the provider refused.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

fn decode(raw: &str) -> Result<String, CallbackError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| CallbackError::Malformed("a parameter is not UTF-8 once decoded".to_owned()))
}

impl Runtime {
    /// Begins authorizing `user` for `scopes` in the environment it works in. The state
    /// is stored with the PKCE verifier and `return_to`, so any instance sharing the
    /// store can complete it.
    pub async fn begin_authorization(
        &self,
        user: &impl ApiUser,
        scopes: &[&str],
        return_to: Option<&str>,
    ) -> Result<AuthorizationRequest, Error> {
        let key = self.session_key(user).await?;
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self.begin_for_key(&key, scopes, return_to.map(str::to_owned))
            .await
    }

    pub(crate) async fn begin_for_key(
        &self,
        key: &SessionKey,
        scopes: Vec<String>,
        return_to: Option<String>,
    ) -> Result<AuthorizationRequest, Error> {
        if key.user.is_application() {
            return Err(Error::Config(
                "the application is authorized by client credentials, not by a person".to_owned(),
            ));
        }
        let env = self.environment_named(&key.environment)?;
        if env.redirect_url.is_none() {
            return Err(Error::Config(format!(
                "no redirect URL for environment `{}`: set `Credentials::redirect_url`",
                env.name
            )));
        }
        let client = self.oauth_client(env)?;
        let store = &self.inner.store;
        let now = SystemTime::now();
        store.purge_pending(now - USED_STATE_MEMORY).await?;

        // Many calls failing at once for one user should not each leave a new state:
        // a fresh pending authorization for the same scopes is handed out again.
        let reusable = store.pending_for(key, now).await?.into_iter().find(|p| {
            p.scopes == scopes
                && p.return_to == return_to
                && p.expires_at > now + self.inner.settings.state_ttl / 2
        });
        let pending = match reusable {
            Some(p) => p,
            None => {
                let (_, verifier) = PkceCodeChallenge::new_random_sha256();
                let pending = PendingAuthorization {
                    state: CsrfToken::new_random_len(32).secret().to_owned(),
                    key: key.clone(),
                    pkce_verifier: SecretString::from(verifier.secret().to_owned()),
                    scopes,
                    return_to,
                    created_at: now,
                    expires_at: now + self.inner.settings.state_ttl,
                };
                store.insert_pending(&pending).await?;
                pending
            }
        };
        let verifier = PkceCodeVerifier::new(pending.pkce_verifier.expose_secret().to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let state = pending.state.clone();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        if let Some(scope) = self.scope_param(&pending.scopes) {
            request = request.add_scope(scope);
        }
        let (url, _) = request.url();
        tracing::debug!(session = %key, "authorization begun");
        Ok(AuthorizationRequest {
            url,
            state: pending.state,
            scopes: pending.scopes,
            expires_at: pending.expires_at,
        })
    }

    /// Completes an authorization from its callback: checks the state, exchanges the
    /// code (with the PKCE verifier) and stores the tokens in the session the state names.
    ///
    /// An unknown, used, expired or foreign state changes nothing. A refusal
    /// (`error=...`) or a failed exchange is recorded as that session's last error.
    pub async fn complete_authorization(
        &self,
        callback: &CallbackParams,
    ) -> Result<Authorized, Error> {
        self.complete(callback, None, None).await
    }

    /// Like [`complete_authorization`](Self::complete_authorization), and also checks that
    /// the state was begun for `user` (the person signed in to the application), so one
    /// person cannot complete an authorization for another.
    pub async fn complete_authorization_for(
        &self,
        user: &impl ApiUser,
        callback: &CallbackParams,
    ) -> Result<Authorized, Error> {
        self.complete(callback, Some(user.user_ref()), None).await
    }

    /// Like [`complete_authorization`](Self::complete_authorization), and also checks that
    /// the state was begun in `environment` (the one whose redirect URL received it).
    pub async fn complete_authorization_in(
        &self,
        environment: &str,
        callback: &CallbackParams,
    ) -> Result<Authorized, Error> {
        self.complete(callback, None, Some(environment)).await
    }

    async fn complete(
        &self,
        callback: &CallbackParams,
        user: Option<UserRef>,
        environment: Option<&str>,
    ) -> Result<Authorized, Error> {
        let state = callback
            .state
            .as_deref()
            .ok_or(CallbackError::MissingState)?;
        let store = &self.inner.store;
        let pending = store
            .peek_pending(state)
            .await?
            .ok_or(CallbackError::UnknownState)?;
        let key = pending.key.clone();
        if key.api != self.inner.provider {
            return Err(CallbackError::StateMismatch("provider").into());
        }
        let env = self
            .environment_named(&key.environment)
            .map_err(|_| CallbackError::StateMismatch("environment"))?;
        if environment.is_some_and(|e| e != &*key.environment) {
            return Err(CallbackError::StateMismatch("environment").into());
        }
        if user.is_some_and(|u| u != key.user) {
            return Err(CallbackError::StateMismatch("user").into());
        }
        if let (Some(expected), Some(got)) = (&env.issuer, &callback.iss)
            && expected != got
        {
            return Err(CallbackError::IssuerMismatch {
                expected: expected.clone(),
                got: got.clone(),
            }
            .into());
        }
        if callback.error.is_none() && callback.code.is_none() {
            return Err(CallbackError::MissingCode.into());
        }
        let pending = match store.consume_pending(state, SystemTime::now()).await? {
            Consumed::Taken(p) => p,
            Consumed::AlreadyUsed => return Err(CallbackError::StateAlreadyUsed.into()),
            Consumed::Expired => return Err(CallbackError::StateExpired.into()),
            Consumed::Unknown => return Err(CallbackError::UnknownState.into()),
        };
        if let Some(error) = &callback.error {
            let denied = Error::AuthorizationDenied {
                error: error.clone(),
                description: callback.error_description.clone(),
                session: Some(Box::new(key.clone())),
            };
            tracing::info!(session = %key, error = %error, "authorization refused");
            self.record_error(&key, last_error_of(&denied)).await;
            return Err(denied);
        }
        let code = callback
            .code
            .as_ref()
            .map(|c| c.expose_secret().to_owned())
            .unwrap_or_default();
        match self
            .exchange_code(env, &key, code, &pending.pkce_verifier, &pending.scopes)
            .await
        {
            Ok(tokens) => {
                let scopes = tokens.scopes.clone();
                self.keep_granted(&key, tokens).await;
                tracing::info!(session = %key, "authorization completed");
                Ok(Authorized {
                    session: key,
                    scopes,
                    return_to: pending.return_to,
                    state: pending.state,
                })
            }
            Err(e) => {
                self.record_error(&key, last_error_of(&e)).await;
                Err(e)
            }
        }
    }

    /// Stores a new grant over whatever the session held (even a row that cannot be
    /// read); a store that keeps failing leaves it in memory, written at the next call.
    async fn keep_granted(&self, key: &SessionKey, tokens: TokenSet) {
        // A renewal or a kept token of the previous grant must not come back over this one.
        self.inner.unsaved.take(key);
        let state = SessionState {
            tokens: Some(tokens),
            last_error: None,
        };
        if let Err(e) = self.replace_session(key, &state).await
            && let Some(tokens) = &state.tokens
        {
            self.keep_unsaved(key, tokens, Pending::Granted, &e).await;
        }
    }

    /// Pending authorizations of `user` (begun, neither completed nor expired).
    pub async fn pending_authorizations(
        &self,
        user: &impl ApiUser,
    ) -> Result<Vec<PendingAuthorization>, Error> {
        let key = self.session_key(user).await?;
        Ok(self
            .inner
            .store
            .pending_for(&key, SystemTime::now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_callback_query() {
        let p = CallbackParams::from_query(
            "code=abc&state=a%20b%2Bc%2F%3D%3F%26&iss=http%3A%2F%2F127.0.0.1%3A4010",
        )
        .unwrap();
        assert_eq!(p.state(), Some("a b+c/=?&"));
        assert_eq!(p.iss.as_deref(), Some("http://127.0.0.1:4010"));
        assert_eq!(p.code.as_ref().unwrap().expose_secret(), "abc");
        assert!(!format!("{p:?}").contains("abc"));
    }

    #[test]
    fn refuses_bad_queries() {
        assert_eq!(
            CallbackParams::from_query("state=a&state=b").unwrap_err(),
            CallbackError::DuplicateParameter("state".into())
        );
        assert_eq!(
            CallbackParams::from_query("code=a&code=b&state=x").unwrap_err(),
            CallbackError::DuplicateParameter("code".into())
        );
        assert!(matches!(
            CallbackParams::from_query("state=%FF%FE").unwrap_err(),
            CallbackError::Malformed(_)
        ));
        assert!(matches!(
            CallbackParams::from_query(&"a".repeat(MAX_QUERY + 1)).unwrap_err(),
            CallbackError::Malformed(_)
        ));
    }
}
