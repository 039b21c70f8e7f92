//! The token lifecycle: how a call gets a usable access token, and every write that
//! follows. The rules, in one place:
//!
//! **States of a session.** *None* (never authorized, or disconnected); *usable* (tokens
//! that cover the call's scopes and are not due); *due* (expiring within the margin, or
//! refused by the API once); *stuck* (not covering the scopes, or due without a way to
//! renew); *unreadable* (a row the store cannot decode).
//!
//! **Transitions**, and the store condition each write is made under:
//!
//! | from | event | to | written under |
//! |---|---|---|---|
//! | any | authorization completed | usable | none: replaces the row without reading it ([`replace`](crate::store::SessionStore::replace)) |
//! | due | refresh or client credentials answered | usable | the stored tokens are still those renewed from ([`Basis`]) |
//! | due | `invalid_grant` | none (last error kept) | the stored tokens are still those refused |
//! | usable | API refuses a freshly renewed token | none | the stored tokens are still those refused |
//! | any | token endpoint fails otherwise | unchanged, last error set | the version read |
//! | any | disconnect | gone | none: deleted without reading it |
//!
//! A renewal whose basis no longer holds (a disconnect, a newer authorization came first)
//! is discarded and revoked; it never writes back an older grant. Tokens the provider
//! issued that the store does not take, even after a bounded backoff, stay in this
//! process ([`keep`](crate::oauth::keep)) and are written at the next call; only a process
//! killed between the provider's answer and that write loses them (the next refresh is
//! then refused: [`AuthorizationReason::RefreshRejected`]).
//!
//! **Single flight.** One renewal per session at a time: an async mutex within the
//! process, a lease in the store across processes, renewed while the token request runs.
//! A caller that waited takes any newer token that is not expired instead of renewing
//! again, so even a token whose lifetime is below the margin is renewed once. The margin
//! is at most half a token's lifetime (counted from when it was stored). The renewal runs
//! in a spawned task, so a caller that goes away mid-refresh cannot drop a rotated
//! refresh token on the floor.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use crate::error::{AuthorizationReason, Error, TokenError, TokenRequest};
use crate::oauth::grants::is_unusable;
use crate::oauth::keep::{Basis, Pending, Written};
use crate::runtime::Runtime;
use crate::scope::ScopeSet;
use crate::session::{Bearer, LastError, Session, SessionKey, SessionState, TokenSet, Usable};

/// How long to wait before looking at the store again while another process refreshes.
const LEASE_POLL: Duration = Duration::from_millis(25);

/// What a caller saw before deciding to renew: the access token then stored (if any),
/// and whether the API refused it.
#[derive(Clone)]
pub(crate) struct Seen {
    access: Option<SecretString>,
    refused: bool,
}

impl Runtime {
    /// A usable access token of `user` for `scopes`, renewed when due: what every call
    /// uses, for requests this crate does not send itself. Fails with
    /// [`Error::AuthorizationRequired`] when a person must authorize first.
    pub async fn token(
        &self,
        user: &impl crate::ApiUser,
        scopes: &[&str],
    ) -> Result<TokenSet, Error> {
        let key = self.call_key(user.user_ref()).await?;
        let scopes: ScopeSet = scopes.iter().collect();
        let bearer = self.access_token(&key, &scopes, &scopes, None).await?;
        Ok(Arc::unwrap_or_clone(bearer.tokens))
    }

    /// A token for `key` covering `scopes`; when a person must authorize, they are asked
    /// for `ask` too (every scope of the API for this kind of user). `refused` is a token
    /// the API just refused: a stored token equal to it is not usable.
    pub(crate) async fn access_token(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        refused: Option<&Bearer>,
    ) -> Result<Bearer, Error> {
        let stale = refused.map(|b| b.tokens.access_token.expose_secret());
        let cache = self.inner.tokens.cache();
        let unsaved = self.inner.tokens.unsaved().holds(key);
        match stale {
            None if !unsaved => {
                if let Some(usable) = cache.tokens(key, scopes) {
                    return Ok(usable.bearer);
                }
            }
            None => {}
            // Refused by the API: whatever else, not that token again.
            Some(refused) => cache.refused(key, refused),
        }
        let (scopes, ask) = (scopes.clone(), ask.clone());
        let epoch = cache.epoch(&key.user);
        let session = self.inner.tokens.store().load(key).await?;
        let read_at = refused.and_then(|b| b.read_at);
        let refused = self.refused_token(key, session.as_ref(), stale, read_at);
        let seen = refused.map(|access| Seen {
            access: Some(access),
            refused: true,
        });
        if !unsaved {
            match self.assess(session.as_ref(), key, &scopes, seen.as_ref()) {
                Assessment::Usable(usable) => {
                    cache.remember_tokens(key, &usable, epoch);
                    return Ok(usable.bearer);
                }
                // What the cache held is not usable either: calls go on with it no
                // longer (an aged entry is served while a call reads it again), nor
                // does an older read bring it back.
                Assessment::Authorize(reason) => {
                    cache.forget_tokens(key);
                    return Err(self
                        .authorization_required(key, &scopes, &ask, session.as_ref(), reason)
                        .await);
                }
                Assessment::Renew => cache.forget_tokens(key),
            }
        }
        let seen = seen.unwrap_or_else(|| Seen {
            access: session
                .as_ref()
                .and_then(|s| s.state.tokens.as_ref())
                .map(|t| t.access_token.clone()),
            refused: false,
        });
        self.spawn_renewal(key.clone(), scopes, ask, seen).await
    }

    /// The token the API refused that `session` holds, if this runtime knows it did (as
    /// the session held it), else `stale`, refused in this call: not sent again while it
    /// is renewed, since until then the store still holds it. The stored one first: a
    /// late refusal of an older token must not make it look newer.
    ///
    /// `stale` was read from the session at `read_at`, when known: the refusal is of
    /// that version (a session written between the call and this load, by another
    /// process's new grant of the same token, is not refused), else of the one loaded.
    fn refused_token(
        &self,
        key: &SessionKey,
        session: Option<&Session>,
        stale: Option<&str>,
        read_at: Option<u64>,
    ) -> Option<SecretString> {
        let cache = self.inner.tokens.cache();
        let stored = session.and_then(|s| Some((s.version, s.state.tokens.as_ref()?)));
        if let (Some(stale), Some((version, tokens))) = (stale, stored)
            && tokens.same_access_token(stale)
        {
            cache.refused_at(key, stale, read_at.unwrap_or(version));
        }
        (stored.map(|(version, t)| (version, &t.access_token)))
            .filter(|(version, t)| cache.is_refused(key, t.expose_secret(), Some(*version)))
            .map(|(_, t)| t.clone())
            .or_else(|| stale.map(|token| SecretString::from(token.to_owned())))
    }

    /// Renews on a task of its own, which a dropped caller does not cancel halfway.
    async fn spawn_renewal(
        &self,
        key: SessionKey,
        scopes: ScopeSet,
        ask: ScopeSet,
        seen: Seen,
    ) -> Result<Bearer, Error> {
        let this = self.clone();
        let renewal = async move {
            let renewed = this.renew(&key, &scopes, &ask, &seen).await;
            if renewed.is_ok()
                && let Some(from) = &seen.access
            {
                // What the store holds now is the renewal's, even the refused token
                // given back unchanged (as some providers do): not refused any more.
                let cache = this.inner.tokens.cache();
                cache.renewed(&key, from.expose_secret());
            }
            renewed
        };
        match tokio::spawn(renewal).await {
            Ok(result) => result.map(Bearer::new),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Cancelled),
        }
    }

    /// What to do with `session` for a call needing `scopes`. With `seen` (a caller that
    /// decided to renew, or the API refused a token), a token other than the one seen is
    /// newer: usable until it expires, margin or not, so waiters do not renew again.
    fn assess(
        &self,
        session: Option<&Session>,
        key: &SessionKey,
        scopes: &ScopeSet,
        seen: Option<&Seen>,
    ) -> Assessment {
        let tokens = session.and_then(|s| s.state.tokens.as_ref());
        if let (Some(session), Some(t)) = (session, tokens)
            && scopes.is_subset_of(&t.scopes)
        {
            let renew_at = self.renew_at(t, session.updated_at);
            let now = SystemTime::now();
            let was_seen = seen.is_some_and(|s| {
                s.access
                    .as_ref()
                    .is_some_and(|a| t.same_access_token(a.expose_secret()))
            });
            // Refused by the API as stored (this runtime keeps which): whatever was seen.
            let cache = self.inner.tokens.cache();
            let refused =
                cache.is_refused(key, t.access_token.expose_secret(), Some(session.version));
            let usable = !refused
                && match seen {
                    Some(s) if was_seen => !s.refused && renew_at.is_none_or(|at| now < at),
                    Some(_) => t.expires_at.is_none_or(|at| now < at),
                    None => renew_at.is_none_or(|at| now < at),
                };
            if usable {
                return Assessment::Usable(Usable {
                    bearer: Bearer::new(Arc::new(t.clone())).read_at(session.version),
                    renew_at,
                });
            }
        }
        if key.user.is_application() {
            return Assessment::Renew;
        }
        match tokens {
            None => Assessment::Authorize(AuthorizationReason::NotAuthorized),
            Some(t) if !scopes.is_subset_of(&t.scopes) => {
                Assessment::Authorize(AuthorizationReason::MissingScopes)
            }
            Some(t) if t.refresh_token.is_none() => {
                Assessment::Authorize(match seen.is_some_and(|s| s.refused) {
                    true => AuthorizationReason::Unauthorized,
                    false => AuthorizationReason::Expired,
                })
            }
            Some(_) => Assessment::Renew,
        }
    }

    /// When `tokens`, stored at `stored_at`, are due: the margin before expiry, at most
    /// half their lifetime, so a short-lived token is used before it is renewed.
    fn renew_at(&self, tokens: &TokenSet, stored_at: SystemTime) -> Option<SystemTime> {
        let expires_at = tokens.expires_at?;
        let lifetime = expires_at.duration_since(stored_at).unwrap_or_default();
        let margin = self.inner.config.settings().expiry_margin.min(lifetime / 2);
        Some(expires_at.checked_sub(margin).unwrap_or(expires_at))
    }

    async fn renew(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        seen: &Seen,
    ) -> Result<Arc<TokenSet>, Error> {
        let flight = self.inner.tokens.flight(key);
        let guard = flight.lock().await;
        let span = tracing::debug_span!("oauth2_api.renew", provider = %key.provider, environment = %key.environment, user = %key.user);
        let result = self
            .renew_once(key, scopes, ask, seen)
            .instrument(span)
            .await;
        drop(guard);
        self.inner.tokens.forget_flight(key, flight);
        result
    }

    async fn renew_once(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        seen: &Seen,
    ) -> Result<Arc<TokenSet>, Error> {
        if let Some(kept) = self.settle_unsaved(key).await {
            let fresh = kept
                .tokens
                .expires_at
                .is_none_or(|at| SystemTime::now() < at);
            // Kept in memory and then refused by the API: not handed out again.
            let cache = self.inner.tokens.cache();
            let refused = cache.is_refused(key, kept.tokens.access_token.expose_secret(), None);
            if fresh && !refused && scopes.is_subset_of(&kept.tokens.scopes) {
                return Ok(Arc::new(kept.tokens));
            }
            if self.inner.tokens.unsaved().holds(key) {
                // Renewing from tokens the store never took would store a grant over one
                // it cannot tell apart; wait for the store instead.
                return Err(crate::store::StoreError::message(
                    "compare_and_swap",
                    "renewed tokens could not be stored yet; try again",
                )
                .into());
            }
        }
        let store = &self.inner.tokens.store();
        let settings = &self.inner.config.settings();
        // A live holder renews its lease for as long as its token request may take.
        let patience = settings.token_timeout + settings.lease_ttl * 2 + Duration::from_secs(5);
        let started = tokio::time::Instant::now();
        loop {
            // Whoever held the mutex or the lease before us may have done the work.
            if let Due::No(tokens) = self.due(key, scopes, ask, seen).await? {
                return Ok(tokens);
            }
            let now = SystemTime::now();
            if store
                .acquire_lease(
                    key,
                    self.inner.tokens.holder(),
                    now,
                    now + settings.lease_ttl,
                )
                .await?
            {
                let result = self.renew_under_lease(key, scopes, ask, seen).await;
                if let Err(e) = store.release_lease(key, self.inner.tokens.holder()).await {
                    tracing::warn!(session = %key, error = %e, "could not release the refresh lease; it expires by itself");
                }
                return result;
            }
            // Another process is renewing: wait for its result to appear in the store.
            if started.elapsed() > patience {
                return Err(Error::Timeout(started.elapsed()));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Reads the session: a token a waiter may take, an error asking for authorization,
    /// or the session to renew.
    async fn due(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        seen: &Seen,
    ) -> Result<Due, Error> {
        let session = self.inner.tokens.store().load(key).await?;
        match self.assess(session.as_ref(), key, scopes, Some(seen)) {
            Assessment::Usable(usable) => Ok(Due::No(usable.bearer.tokens)),
            Assessment::Authorize(reason) => Err(self
                .authorization_required(key, scopes, ask, session.as_ref(), reason)
                .await),
            Assessment::Renew => Ok(Due::Yes(session.map(Box::new))),
        }
    }

    /// Holding the lease: reads the session again (the read before may predate another
    /// process's renewal, and sending a used refresh token would get the grant revoked),
    /// then renews, renewing the lease meanwhile.
    async fn renew_under_lease(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        seen: &Seen,
    ) -> Result<Arc<TokenSet>, Error> {
        let session = match self.due(key, scopes, ask, seen).await? {
            Due::No(tokens) => return Ok(tokens),
            Due::Yes(session) => session,
        };
        let current = session.and_then(|s| s.state.tokens.clone());
        let renewal = self.renew_from(key, scopes, ask, current);
        tokio::pin!(renewal);
        let ttl = self.inner.config.settings().lease_ttl;
        let beat = (ttl / 3).max(Duration::from_millis(10));
        loop {
            tokio::select! {
                result = &mut renewal => return result,
                () = tokio::time::sleep(beat) => {
                    let now = SystemTime::now();
                    match self.inner.tokens.store().acquire_lease(key, self.inner.tokens.holder(), now, now + ttl).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(session = %key, "the refresh lease was taken over while renewing"),
                        Err(e) => tracing::warn!(session = %key, error = %e, "could not renew the refresh lease"),
                    }
                }
            }
        }
    }

    /// Asks the provider for new tokens in place of `current` and stores them under the
    /// condition that `current` is still what is stored.
    async fn renew_from(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        current: Option<TokenSet>,
    ) -> Result<Arc<TokenSet>, Error> {
        let env = self.environment_named(&key.environment)?;
        let basis = Basis::of(current.as_ref());
        let result = match &current {
            // Ask for what was granted before too, so endpoints with different scopes
            // do not take turns replacing each other's token.
            _ if key.user.is_application() => {
                let granted: ScopeSet = current.iter().flat_map(|t| &t.scopes).collect();
                let wanted = granted.union(scopes);
                self.client_credentials_grant(env, key, &wanted).await
            }
            Some(current) => self.refresh_patiently(env, key, current).await,
            None => {
                return Err(self
                    .authorization_required(
                        key,
                        scopes,
                        ask,
                        None,
                        AuthorizationReason::NotAuthorized,
                    )
                    .await);
            }
        };
        match result {
            Ok(tokens) if is_unusable(&tokens) => {
                let request = match key.user.is_application() {
                    true => TokenRequest::ClientCredentials,
                    false => TokenRequest::RefreshToken,
                };
                let e = Error::Token(TokenError::Malformed {
                    request,
                    detail:
                        "the access token holds a control character (its refresh token is kept)"
                            .to_owned(),
                });
                self.keep_renewed(key, scopes, ask, &basis, tokens).await?;
                self.record_error(key, last_error_of(&e)).await;
                Err(e)
            }
            Ok(tokens) => self.keep_renewed(key, scopes, ask, &basis, tokens).await,
            Err(Error::Token(TokenError::Rejected {
                code, description, ..
            })) if code == "invalid_grant" && !key.user.is_application() => {
                let granted: ScopeSet = current.iter().flat_map(|t| &t.scopes).collect();
                self.refresh_refused(key, scopes, ask, &basis, &granted, description)
                    .await
            }
            Err(e) => {
                self.record_error(key, last_error_of(&e)).await;
                Err(e)
            }
        }
    }

    /// Stores renewed tokens over `basis`; a newer state wins, and the tokens are then
    /// discarded; a store that keeps failing leaves them in memory.
    async fn keep_renewed(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        basis: &Basis,
        tokens: TokenSet,
    ) -> Result<Arc<TokenSet>, Error> {
        let state = SessionState {
            tokens: Some(tokens.clone()),
            last_error: None,
        };
        match self.write_if(key, basis, &state).await {
            Ok(Written::Yes) => Ok(Arc::new(tokens)),
            Ok(Written::Superseded(now)) => {
                self.discard(key, &tokens).await;
                self.use_newer(key, scopes, ask, now).await
            }
            Err(e) => {
                self.keep_unsaved(key, &tokens, Pending::Renewed(basis.clone()), &e)
                    .await;
                Ok(Arc::new(tokens))
            }
        }
    }

    /// The provider refused the refresh token: the grant is gone, unless a newer one was
    /// stored meanwhile (then that one is used and nothing is cleared).
    async fn refresh_refused(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        basis: &Basis,
        granted: &ScopeSet,
        description: Option<String>,
    ) -> Result<Arc<TokenSet>, Error> {
        let message = format!(
            "the provider refused the refresh token{}",
            description.map(|d| format!(": {d}")).unwrap_or_default()
        );
        let state = SessionState {
            tokens: None,
            last_error: Some(LastError::now("invalid_grant", message)),
        };
        match self.write_if(key, basis, &state).await {
            Ok(Written::Superseded(now)) => return self.use_newer(key, scopes, ask, now).await,
            Ok(Written::Yes) => {
                tracing::info!(session = %key, "refresh token refused (invalid_grant): authorization required");
            }
            Err(e) => {
                tracing::warn!(session = %key, error = %e, "could not clear the refused grant");
            }
        }
        // The session is cleared: ask again for what the refused grant held.
        let ask_again = granted.union(ask);
        Err(self
            .authorization_required(
                key,
                scopes,
                &ask_again,
                None,
                AuthorizationReason::RefreshRejected,
            )
            .await)
    }

    /// A newer state won over a renewal: its tokens if usable, else what it needs.
    async fn use_newer(
        &self,
        key: &SessionKey,
        scopes: &ScopeSet,
        ask: &ScopeSet,
        now: Option<Box<Session>>,
    ) -> Result<Arc<TokenSet>, Error> {
        let now = now.map(|s| *s);
        let seen = Seen {
            access: None,
            refused: false,
        };
        match self.assess(now.as_ref(), key, scopes, Some(&seen)) {
            Assessment::Usable(usable) => Ok(usable.bearer.tokens),
            Assessment::Authorize(reason) => Err(self
                .authorization_required(key, scopes, ask, now.as_ref(), reason)
                .await),
            Assessment::Renew => Err(self
                .authorization_required(
                    key,
                    scopes,
                    ask,
                    now.as_ref(),
                    AuthorizationReason::Expired,
                )
                .await),
        }
    }
}

/// Whether a session read under the single flight still needs renewing.
enum Due {
    No(Arc<TokenSet>),
    Yes(Option<Box<Session>>),
}

enum Assessment {
    Usable(Usable),
    Renew,
    Authorize(AuthorizationReason),
}

pub(crate) fn last_error_of(e: &Error) -> LastError {
    let kind = match e {
        Error::Token(TokenError::Rejected { code, .. }) => code.clone(),
        Error::Token(TokenError::Status { status, .. }) => format!("http_{status}"),
        Error::Token(TokenError::Malformed { .. } | TokenError::TooLarge { .. }) => {
            "malformed_response".to_owned()
        }
        Error::Token(TokenError::Transport { .. }) => "transport".to_owned(),
        Error::AuthorizationDenied { error, .. } => error.clone(),
        _ => "error".to_owned(),
    };
    LastError::now(kind, e.to_string())
}
