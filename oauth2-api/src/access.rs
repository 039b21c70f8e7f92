//! Getting a usable access token: the stored one, a refreshed one, a client-credentials
//! one, or [`Error::AuthorizationRequired`].
//!
//! Renewal is single flight twice over: an async mutex per session within the process,
//! and a lease in the store across processes. The renewal runs in a spawned task, so a
//! caller that goes away mid-refresh cannot drop a rotated refresh token on the floor:
//! the task stores it first, then hands out the access token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::call::Scopes;
use crate::error::{AuthorizationReason, AuthorizationRequired, Error, TokenError};
use crate::runtime::Runtime;
use crate::session::{LastError, Session, SessionKey, SessionState, TokenSet};
use crate::store::CasOutcome;
use crate::token::LEASE_POLL;

/// How long to wait, and how often, when the provider says a refresh is in progress.
const REFRESH_IN_PROGRESS_WAIT: Duration = Duration::from_millis(500);
const REFRESH_IN_PROGRESS_WAITS: u32 = 3;

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
        let scopes = Scopes::Given(scopes.iter().map(|s| (*s).to_owned()).collect());
        let tokens = self.access_token(&key, &scopes, &scopes, None).await?;
        Ok(Arc::unwrap_or_clone(tokens))
    }

    /// A token for `key` covering `scopes`; when a person must authorize, they are asked
    /// for `ask` too (every scope of the API for this kind of user). `stale` is an access
    /// token the API just refused: a stored token equal to it is not usable.
    pub(crate) async fn access_token(
        &self,
        key: &SessionKey,
        scopes: &Scopes,
        ask: &Scopes,
        stale: Option<&str>,
    ) -> Result<Arc<TokenSet>, Error> {
        let cache = &self.inner.cache;
        match stale {
            None => {
                if let Some(tokens) = cache.tokens(key)
                    && scopes.covered_by(&tokens)
                    && self.is_fresh(&tokens)
                {
                    return Ok(tokens);
                }
            }
            // Refused by the API: whatever else, not that token again.
            Some(_) => cache.forget_tokens(key),
        }
        let (scopes, ask) = (scopes.to_vec(), ask.to_vec());
        let epoch = cache.epoch();
        let session = self.inner.store.load(key).await?;
        match self.assess(session.as_ref(), key, &scopes, stale) {
            Assessment::Usable(tokens) => {
                let tokens = Arc::new(tokens);
                cache.remember_tokens(key, &tokens, epoch);
                return Ok(tokens);
            }
            Assessment::Authorize(reason) => {
                return Err(self
                    .authorization_required(key, &scopes, &ask, session.as_ref(), reason)
                    .await);
            }
            Assessment::Renew => {}
        }
        let this = self.clone();
        let (key, stale) = (key.clone(), stale.map(str::to_owned));
        match tokio::spawn(async move { this.renew(&key, &scopes, &ask, stale.as_deref()).await })
            .await
        {
            Ok(result) => result.map(Arc::new),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Cancelled),
        }
    }

    fn assess(
        &self,
        session: Option<&Session>,
        key: &SessionKey,
        scopes: &[String],
        stale: Option<&str>,
    ) -> Assessment {
        let tokens = session.and_then(|s| s.state.tokens.as_ref());
        if let Some(t) = tokens {
            let refused = stale.is_some_and(|s| t.same_access_token(s));
            if !refused && t.covers(scopes) && self.is_fresh(t) {
                return Assessment::Usable(t.clone());
            }
        }
        if key.user.is_application() {
            return Assessment::Renew;
        }
        match tokens {
            None => Assessment::Authorize(AuthorizationReason::NotAuthorized),
            Some(t) if !t.covers(scopes) => {
                Assessment::Authorize(AuthorizationReason::MissingScopes)
            }
            Some(t) if t.refresh_token.is_none() => Assessment::Authorize(match stale {
                Some(_) => AuthorizationReason::Unauthorized,
                None => AuthorizationReason::Expired,
            }),
            Some(_) => Assessment::Renew,
        }
    }

    fn is_fresh(&self, tokens: &TokenSet) -> bool {
        tokens.is_fresh(SystemTime::now(), self.inner.settings.expiry_margin)
    }

    async fn renew(
        &self,
        key: &SessionKey,
        scopes: &[String],
        ask: &[String],
        stale: Option<&str>,
    ) -> Result<TokenSet, Error> {
        let flight = self.flight(key);
        let guard = flight.lock().await;
        let span = tracing::debug_span!("oauth2_api.renew", provider = %key.api, environment = %key.environment, user = %key.user);
        let result = self
            .renew_once(key, scopes, ask, stale)
            .instrument(span)
            .await;
        drop(guard);
        self.forget_flight(key, flight);
        result
    }

    async fn renew_once(
        &self,
        key: &SessionKey,
        scopes: &[String],
        ask: &[String],
        stale: Option<&str>,
    ) -> Result<TokenSet, Error> {
        let store = &self.inner.store;
        let lease_ttl = self.inner.settings.lease_ttl;
        let mut waited = Duration::ZERO;
        loop {
            // Whoever held the mutex or the lease before us may have done the work.
            let session = store.load(key).await?;
            match self.assess(session.as_ref(), key, scopes, stale) {
                Assessment::Usable(tokens) => return Ok(tokens),
                Assessment::Authorize(reason) => {
                    return Err(self
                        .authorization_required(key, scopes, ask, session.as_ref(), reason)
                        .await);
                }
                Assessment::Renew => {}
            }
            let now = SystemTime::now();
            if store
                .acquire_lease(key, &self.inner.holder, now, now + lease_ttl)
                .await?
            {
                // The session read above may predate a renewal that another process
                // stored just before releasing the lease: read it again under the lease,
                // or a used refresh token would be sent (and the grant revoked).
                let result = match store.load(key).await {
                    Ok(session) => match self.assess(session.as_ref(), key, scopes, stale) {
                        Assessment::Usable(tokens) => Ok(tokens),
                        Assessment::Authorize(reason) => Err(self
                            .authorization_required(key, scopes, ask, session.as_ref(), reason)
                            .await),
                        Assessment::Renew => {
                            self.renew_holding_lease(key, scopes, ask, session).await
                        }
                    },
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = store.release_lease(key, &self.inner.holder).await {
                    tracing::warn!(session = %key, error = %e, "could not release the refresh lease; it expires by itself");
                }
                return result;
            }
            // Another process is renewing: wait for its result to appear in the store. Its
            // lease bounds the wait; past it, the lease is free and we renew ourselves.
            if waited > lease_ttl + lease_ttl {
                return Err(Error::Timeout(waited));
            }
            tokio::time::sleep(LEASE_POLL).await;
            waited += LEASE_POLL;
        }
    }

    async fn renew_holding_lease(
        &self,
        key: &SessionKey,
        scopes: &[String],
        ask: &[String],
        session: Option<Session>,
    ) -> Result<TokenSet, Error> {
        let env = self.environment_named(&key.environment)?;
        let version = session.as_ref().map_or(0, |s| s.version);
        let current = session.and_then(|s| s.state.tokens);
        let result = if key.user.is_application() {
            // Ask for what was granted before too, so endpoints with different scopes
            // do not take turns replacing each other's token.
            let mut wanted = current.map(|t| t.scopes).unwrap_or_default();
            for s in scopes {
                if !wanted.contains(s) {
                    wanted.push(s.clone());
                }
            }
            self.client_credentials_grant(env, key, &wanted).await
        } else {
            let current =
                current.ok_or_else(|| Error::Config("no session to refresh".to_owned()))?;
            match self.refresh_patiently(env, key, &current).await {
                Ok(tokens) => Ok(tokens),
                Err(Error::Token(TokenError::Rejected {
                    code, description, ..
                })) if code == "invalid_grant" => {
                    tracing::info!(session = %key, "refresh token refused (invalid_grant): authorization required");
                    let message = format!(
                        "the provider refused the refresh token{}",
                        description.map(|d| format!(": {d}")).unwrap_or_default()
                    );
                    let state = SessionState {
                        tokens: None,
                        last_error: Some(LastError::now("invalid_grant", message)),
                    };
                    self.overwrite(key, &state).await?;
                    // The session is cleared: ask again for what the refused grant held.
                    let ask_again: Vec<String> =
                        current.scopes.iter().chain(ask).cloned().collect();
                    return Err(self
                        .authorization_required(
                            key,
                            scopes,
                            &ask_again,
                            None,
                            AuthorizationReason::RefreshRejected,
                        )
                        .await);
                }
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(tokens) => {
                self.store_renewed(key, version, &tokens).await?;
                Ok(tokens)
            }
            Err(e) => {
                self.record_error(key, last_error_of(&e)).await;
                Err(e)
            }
        }
    }

    /// Refreshes; when the provider answers that a refresh of this grant is already in
    /// progress (HMRC, when another holder of the token got there first), waits and reads
    /// the store, where that other refresh's result lands.
    async fn refresh_patiently(
        &self,
        env: &crate::config::ResolvedEnvironment,
        key: &SessionKey,
        current: &TokenSet,
    ) -> Result<TokenSet, Error> {
        let sent = current
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned());
        let mut waits = 0;
        loop {
            let outcome = self.refresh_grant(env, key, current).await;
            let in_progress = matches!(&outcome, Err(Error::Token(TokenError::Rejected { code, description, .. }))
                if code == "invalid_request"
                    && description.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains("in progress")));
            if !in_progress || waits == REFRESH_IN_PROGRESS_WAITS {
                return outcome;
            }
            waits += 1;
            tracing::info!(session = %key, "the provider is already refreshing this grant: waiting for the result");
            tokio::time::sleep(REFRESH_IN_PROGRESS_WAIT).await;
            let stored = self
                .inner
                .store
                .load(key)
                .await?
                .and_then(|s| s.state.tokens);
            if let Some(tokens) = stored
                && tokens
                    .refresh_token
                    .as_ref()
                    .map(|r| r.expose_secret().to_owned())
                    != sent
            {
                return Ok(tokens);
            }
        }
    }

    /// Stores a renewed token set, compare-and-swap on the version read before renewing.
    /// On a conflict the write is retried only while the stored set is still the one we
    /// renewed from; a newer grant written meanwhile (a completed authorization) wins.
    async fn store_renewed(
        &self,
        key: &SessionKey,
        mut version: u64,
        tokens: &TokenSet,
    ) -> Result<(), Error> {
        let state = SessionState {
            tokens: Some(tokens.clone()),
            last_error: None,
        };
        let store = &self.inner.store;
        let mut renewed_from: Option<Option<String>> = None;
        loop {
            match store.compare_and_swap(key, version, &state).await? {
                CasOutcome::Written(_) => return Ok(()),
                CasOutcome::Conflict => {
                    let now = store.load(key).await?;
                    let stored_refresh = now
                        .as_ref()
                        .and_then(|s| s.state.tokens.as_ref())
                        .and_then(|t| t.refresh_token.as_ref())
                        .map(|r| r.expose_secret().to_owned());
                    let first = renewed_from.get_or_insert_with(|| stored_refresh.clone());
                    if *first != stored_refresh {
                        tracing::warn!(session = %key, "the session changed while renewing; keeping the newer state");
                        return Ok(());
                    }
                    version = now.map_or(0, |s| s.version);
                }
            }
        }
    }

    pub(crate) async fn authorization_required(
        &self,
        key: &SessionKey,
        scopes: &[String],
        ask: &[String],
        session: Option<&Session>,
        reason: AuthorizationReason,
    ) -> Error {
        // Ask again for what was granted before as well, so authorizing for one endpoint
        // does not take away another's scopes.
        let mut wanted: Vec<String> = session
            .and_then(|s| s.state.tokens.as_ref())
            .map(|t| t.scopes.clone())
            .unwrap_or_default();
        for s in scopes.iter().chain(ask) {
            if !wanted.contains(s) {
                wanted.push(s.clone());
            }
        }
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

    fn flight(&self, key: &SessionKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.inner.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.entry(key.clone()).or_default().clone()
    }

    fn forget_flight(&self, key: &SessionKey, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self.inner.flights.lock().unwrap_or_else(|e| e.into_inner());
        drop(flight);
        // Only the map's own reference left: nobody waits, the entry can go.
        if flights.get(key).is_some_and(|f| Arc::strong_count(f) == 1) {
            flights.remove(key);
        }
    }
}

enum Assessment {
    Usable(TokenSet),
    Renew,
    Authorize(AuthorizationReason),
}

pub(crate) fn last_error_of(e: &Error) -> LastError {
    let kind = match e {
        Error::Token(TokenError::Rejected { code, .. }) => code.clone(),
        Error::Token(TokenError::Status { status, .. }) => format!("http_{status}"),
        Error::Token(TokenError::Malformed { .. }) => "malformed_response".to_owned(),
        Error::Token(TokenError::Transport { .. }) => "transport".to_owned(),
        Error::AuthorizationDenied { error, .. } => error.clone(),
        _ => "error".to_owned(),
    };
    LastError::now(kind, e.to_string())
}
