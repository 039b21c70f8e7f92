//! The authorization-code grant with PKCE: begin (a URL and a stored state) and complete
//! (the callback's `code` and `state`).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::ResolvedEnvironment;
use crate::error::{AuthorizationReason, AuthorizationRequired, CallbackError, Error};
use crate::oauth::binding::{self, BrowserAuthorization};
use crate::oauth::callback::CallbackParams;
use crate::oauth::keep::{Basis, Pending};
use crate::oauth::renewal::last_error_of;
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::session::{
    LastError, PendingAuthorization, Session, SessionKey, SessionState, TokenSet,
};
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

impl Runtime {
    /// Begins authorizing `user` for `scopes` in the environment it works in. The state
    /// is stored with the PKCE verifier and `return_to`, so any instance sharing the
    /// store can complete it.
    ///
    /// `return_to` must be a path of this application (`/vat?year=2017`): anything a
    /// browser could read as another site is refused with [`Error::UnsafeReturnTo`] and
    /// nothing is stored. An identical request (same user, scopes in any order and
    /// return target) reuses the pending authorization begun before, while it is fresh.
    ///
    /// The callback route of `web` completes only authorizations begun for
    /// a browser ([`begin_authorization_for_browser`](Self::begin_authorization_for_browser))
    /// or checked against the signed-in user (`web::CallbackRouter::check_user`).
    pub async fn begin_authorization(
        &self,
        user: &impl ApiUser,
        scopes: &[&str],
        return_to: Option<&str>,
    ) -> Result<AuthorizationRequest, Error> {
        let key = self.session_key(user).await?;
        let scopes = scopes.iter().collect();
        self.begin_for_key(&key, scopes, return_to.map(str::to_owned))
            .await
    }

    /// Begins authorizing `user` for `scopes`, bound to the browser the person uses:
    /// send that browser to `request.url` with the returned `Set-Cookie` (in axum the
    /// value is itself the response). The callback route completes it only in the
    /// browser holding that cookie, so the provider URL is useless to anyone else
    /// (RFC 9700 §4.7.1). For applications that build their own redirect; the
    /// `web::redirect_to_authorize` middleware does
    /// this itself. `return_to` as in [`begin_authorization`](Self::begin_authorization).
    pub async fn begin_authorization_for_browser(
        &self,
        user: &impl ApiUser,
        scopes: &[&str],
        return_to: Option<&str>,
    ) -> Result<BrowserAuthorization, Error> {
        let key = self.session_key(user).await?;
        let scopes = scopes.iter().collect();
        self.begin_for_browser(&key, scopes, return_to.map(str::to_owned))
            .await
    }

    pub(crate) async fn begin_for_key(
        &self,
        key: &SessionKey,
        scopes: ScopeSet,
        return_to: Option<String>,
    ) -> Result<AuthorizationRequest, Error> {
        self.begin(key, scopes, return_to, None).await
    }

    pub(crate) async fn begin_for_browser(
        &self,
        key: &SessionKey,
        scopes: ScopeSet,
        return_to: Option<String>,
    ) -> Result<BrowserAuthorization, Error> {
        let (value, hash) = binding::new_binding();
        let request = self.begin(key, scopes, return_to, Some(&hash)).await?;
        let redirect = self.redirect_url(&key.environment)?;
        let lasts = request
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let cookie = binding::set_cookie(&request.state, &value, redirect, lasts);
        Ok(BrowserAuthorization::new(request, cookie))
    }

    /// The redirect URL of `environment`, which receives its callbacks.
    pub(crate) fn redirect_url(&self, environment: &str) -> Result<&Url, Error> {
        let env = self.environment_named(environment)?;
        env.redirect_url.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "no redirect URL for environment `{}`: set `Credentials::redirect_url`",
                env.name
            ))
        })
    }

    async fn begin(
        &self,
        key: &SessionKey,
        scopes: ScopeSet,
        return_to: Option<String>,
        browser: Option<&str>,
    ) -> Result<AuthorizationRequest, Error> {
        if key.user.is_application() {
            return Err(Error::InvalidArgument {
                endpoint: "begin_authorization".to_owned(),
                argument: "user".to_owned(),
                message: "is the application, which is authorized by client credentials, \
                          not by a person"
                    .to_owned(),
            });
        }
        if let Some(target) = &return_to {
            crate::oauth::return_to::check(target)
                .map_err(|reason| Error::UnsafeReturnTo { reason })?;
        }
        self.redirect_url(&key.environment)?;
        let client = self.oauth_client(self.environment_named(&key.environment)?, &key.user)?;
        let pending = self
            .pending_to_send(key, scopes, return_to, browser)
            .await?;
        let verifier = PkceCodeVerifier::new(pending.pkce_verifier.expose_secret().to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let state = pending.state.clone();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        // The provider's always-asked scopes go into the URL only: they are required by
        // no endpoint, so a grant without them is not a grant of less than asked.
        let always = self.inner.config.authorization_scopes();
        let asked: ScopeSet = pending.scopes.iter().collect();
        if let Some(scope) = self.scope_param(&asked.union(always)) {
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

    /// The pending authorization to send the person with: the one an identical request
    /// began before, while it is fresh (rebound to `browser` when that differs), else a
    /// new one. The store keeps a session's newest few, so this reads a bounded number
    /// of rows however often a user begins.
    async fn pending_to_send(
        &self,
        key: &SessionKey,
        scopes: ScopeSet,
        return_to: Option<String>,
        browser: Option<&str>,
    ) -> Result<PendingAuthorization, Error> {
        let store = &self.inner.tokens.store();
        let now = SystemTime::now();
        store.purge_pending(now - USED_STATE_MEMORY).await?;
        let reusable = store
            .pending_for(key, now)
            .await?
            .into_iter()
            .rev()
            .find(|p| {
                p.scopes.iter().collect::<ScopeSet>() == scopes
                    && p.return_to == return_to
                    && p.expires_at > now + self.inner.config.settings().state_ttl / 2
            });
        if let Some(mut pending) = reusable {
            let same_browser = browser.is_none() || pending.browser_binding.as_deref() == browser;
            if same_browser || store.rebind_pending(&pending.state, browser).await? {
                if let Some(hash) = browser {
                    pending.browser_binding = Some(hash.to_owned());
                }
                return Ok(pending);
            }
        }
        let (_, verifier) = PkceCodeChallenge::new_random_sha256();
        let pending = PendingAuthorization {
            state: CsrfToken::new_random_len(32).secret().to_owned(),
            key: key.clone(),
            pkce_verifier: SecretString::from(verifier.secret().to_owned()),
            scopes: scopes.to_vec(),
            return_to,
            browser_binding: browser.map(str::to_owned),
            created_at: now,
            expires_at: now + self.inner.config.settings().state_ttl,
        };
        store.insert_pending(&pending).await?;
        Ok(pending)
    }

    /// [`Error::AuthorizationRequired`] for `key`, with a pending authorization begun
    /// for what was granted before, `scopes` and `ask`.
    pub(crate) async fn authorization_required(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        session: Option<&Session>,
        reason: AuthorizationReason,
    ) -> Error {
        // Ask again for what was granted before as well, so authorizing for one endpoint
        // does not take away another's scopes.
        let granted: ScopeSet = (session.and_then(|s| s.state.tokens.as_ref()))
            .iter()
            .flat_map(|t| &t.scopes)
            .collect();
        let wanted = granted.union(scopes).union(ask);
        match self.begin_for_key(key, wanted, None).await {
            Ok(request) => Error::AuthorizationRequired(Box::new(AuthorizationRequired {
                url: request.url,
                state: request.state,
                session: key.clone(),
                scopes: request.scopes,
                reason,
            })),
            Err(e) => e,
        }
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
        self.complete(callback, &Checks::default()).await
    }

    /// Like [`complete_authorization`](Self::complete_authorization), and also checks that
    /// the state was begun for `user` (the person signed in to the application), so one
    /// person cannot complete an authorization for another.
    pub async fn complete_authorization_for(
        &self,
        user: &impl ApiUser,
        callback: &CallbackParams,
    ) -> Result<Authorized, Error> {
        let checks = Checks {
            user: Some(user.user_ref()),
            ..Checks::default()
        };
        self.complete(callback, &checks).await
    }

    /// Like [`complete_authorization`](Self::complete_authorization), and also checks that
    /// the state was begun in `environment` (the one whose redirect URL received it).
    pub async fn complete_authorization_in(
        &self,
        environment: &str,
        callback: &CallbackParams,
    ) -> Result<Authorized, Error> {
        let checks = Checks {
            environment: Some(environment),
            ..Checks::default()
        };
        self.complete(callback, &checks).await
    }

    pub(crate) async fn complete(
        &self,
        callback: &CallbackParams,
        checks: &Checks<'_>,
    ) -> Result<Authorized, Error> {
        let state = callback
            .state
            .as_deref()
            .ok_or(CallbackError::MissingState)?;
        let store = &self.inner.tokens.store();
        let (key, env) = self.check_callback(callback, state, checks).await?;
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
        let asked: ScopeSet = pending.scopes.iter().collect();
        match self
            .exchange_code(env, &key, code, &pending.pkce_verifier, &asked)
            .await
        {
            Ok(tokens) => {
                let scopes = tokens.scopes.clone();
                let withheld = asked.missing_from(&scopes);
                let withheld =
                    (!withheld.is_empty()).then(|| LastError::scopes_not_granted(&withheld));
                self.keep_granted(&key, tokens, withheld).await;
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
    /// read), with `last_error` saying what the provider withheld, if anything; a store
    /// that keeps failing leaves it in memory, written at the next call.
    async fn keep_granted(
        &self,
        key: &SessionKey,
        tokens: TokenSet,
        last_error: Option<LastError>,
    ) {
        // A renewal or a kept token of the previous grant must not come back over this one.
        self.inner.tokens.unsaved().take(key);
        // Nor a refusal of the previous grant's token: a provider may give it again.
        self.inner.tokens.cache().granted(key);
        // What this grant replaces, should it have to wait in memory: a disconnect or
        // another authorization stored meanwhile must then win. Unreadable: anything.
        let basis = match self.inner.tokens.store().load(key).await {
            Ok(session) => Some(Basis::of(session.and_then(|s| s.state.tokens).as_ref())),
            Err(_) => None,
        };
        let state = SessionState {
            tokens: Some(tokens),
            last_error,
        };
        if let Err(e) = self.replace_session(key, &state).await
            && let Some(tokens) = &state.tokens
        {
            self.keep_unsaved(key, tokens, Pending::Granted(basis), &e)
                .await;
        }
    }

    /// Everything that refuses a callback without using up its state: the state names a
    /// pending authorization of this provider (and of `checks`' environment and user),
    /// the issuer is the environment's, the browser is the one it was begun for.
    async fn check_callback(
        &self,
        callback: &CallbackParams,
        state: &str,
        checks: &Checks<'_>,
    ) -> Result<(SessionKey, &ResolvedEnvironment), Error> {
        let pending = self
            .inner
            .tokens
            .store()
            .peek_pending(state)
            .await?
            .ok_or(CallbackError::UnknownState)?;
        let key = pending.key.clone();
        if key.provider != *self.inner.config.provider() {
            return Err(CallbackError::StateMismatch("provider").into());
        }
        let env = self
            .environment_named(&key.environment)
            .map_err(|_| CallbackError::StateMismatch("environment"))?;
        if checks.environment.is_some_and(|e| e != &*key.environment) {
            return Err(CallbackError::StateMismatch("environment").into());
        }
        if checks.user.as_ref().is_some_and(|u| *u != key.user) {
            return Err(CallbackError::StateMismatch("user").into());
        }
        check_issuer(env, callback.iss.as_deref())?;
        if let Some(headers) = checks.browser {
            let bound = pending
                .browser_binding
                .as_deref()
                .is_some_and(|hash| binding::matches(headers, state, hash));
            // An unbound state (begun without a browser) is only accepted when the
            // application vouches for the user instead.
            let vouched = pending.browser_binding.is_none() && checks.user_check.is_some();
            if !bound && !vouched {
                return Err(CallbackError::BrowserMismatch.into());
            }
        }
        if let Some(check) = checks.user_check
            && !check(key.user.clone()).await
        {
            return Err(CallbackError::StateMismatch("user").into());
        }
        Ok((key, env))
    }

    /// Pending authorizations of `user` (begun, neither completed nor expired).
    pub async fn pending_authorizations(
        &self,
        user: &impl ApiUser,
    ) -> Result<Vec<PendingAuthorization>, Error> {
        let key = self.session_key(user).await?;
        Ok(self
            .inner
            .tokens
            .store()
            .pending_for(&key, SystemTime::now())
            .await?)
    }
}

/// What a callback must match besides its state; see [`Runtime::complete`].
#[derive(Default)]
pub(crate) struct Checks<'a> {
    /// The user the state must have been begun for.
    pub(crate) user: Option<UserRef>,
    /// The environment whose redirect URL received the callback.
    pub(crate) environment: Option<&'a str>,
    /// The callback request's headers, when it came from a browser: the state's binding
    /// cookie must be among them.
    pub(crate) browser: Option<&'a http::HeaderMap>,
    /// The application's check of its signed-in user against the state's user.
    pub(crate) user_check: Option<&'a UserCheckFn>,
}

/// An application's check that the person at the callback is the state's user.
pub(crate) type UserCheckFn =
    dyn Fn(UserRef) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync;

/// RFC 9207: a declared issuer must be the callback's `iss`, and a missing `iss` is
/// refused unless the environment says its provider does not send it.
fn check_issuer(env: &ResolvedEnvironment, got: Option<&str>) -> Result<(), CallbackError> {
    match (&env.issuer, got) {
        (Some(expected), Some(got)) if expected != got => Err(CallbackError::IssuerMismatch {
            expected: expected.clone(),
            got: got.to_owned(),
        }),
        (Some(_), None) if !env.issuer_optional => Err(CallbackError::MissingIssuer),
        _ => Ok(()),
    }
}
