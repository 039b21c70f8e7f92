//! The OAuth2 side: beginning and completing authorizations (state, PKCE, browser
//! binding, return targets), the grants through the `oauth2` crate and the token
//! endpoint's HTTP, and the token lifecycle (renewal, single flight, conditional writes).
//! Its rules are in [`renewal`]'s header.

pub(crate) mod authorize;
pub(crate) mod binding;
pub(crate) mod callback;
pub(crate) mod grants;
pub(crate) mod keep;
pub(crate) mod renewal;
pub(crate) mod return_to;
pub(crate) mod token_http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::Rng;

use crate::config::Settings;
use crate::error::Error;
use crate::session::SessionKey;
use crate::store::SessionStore;
use crate::store::cache::CachedStore;

/// Where a runtime's tokens come from and go to: the store (behind its call cache), the
/// token endpoint's client, and what keeps renewal single and grants safe.
pub(crate) struct TokenSource {
    /// The application's store behind [`CachedStore`]: what
    /// [`Runtime::store`](crate::Runtime::store) hands out, so the application's own
    /// writes also reach the cache.
    store: Arc<dyn SessionStore>,
    cache: Arc<CachedStore>,
    token_http: token_http::TokenHttp,
    /// Names this runtime as a refresh-lease holder in a shared store.
    holder: String,
    /// One async mutex per session being renewed, so a process refreshes once.
    flights: Mutex<HashMap<SessionKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Tokens issued but not yet taken by the store (see [`keep`]).
    unsaved: keep::UnsavedTokens,
}

impl TokenSource {
    /// The store (behind the call cache): what every layer reads sessions from.
    pub(crate) fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The call cache in front of the store: environment choices and usable tokens.
    pub(crate) fn cache(&self) -> &CachedStore {
        &self.cache
    }

    pub(crate) fn token_http(&self) -> &token_http::TokenHttp {
        &self.token_http
    }

    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    pub(crate) fn unsaved(&self) -> &keep::UnsavedTokens {
        &self.unsaved
    }

    /// The single flight of `key`'s renewal: one async mutex per session being renewed.
    pub(crate) fn flight(&self, key: &SessionKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.entry(key.clone()).or_default().clone()
    }

    pub(crate) fn forget_flight(&self, key: &SessionKey, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        drop(flight);
        // Only the map's own reference left: nobody waits, the entry can go.
        if flights.get(key).is_some_and(|f| Arc::strong_count(f) == 1) {
            flights.remove(key);
        }
    }

    pub(crate) fn new(store: Arc<dyn SessionStore>, settings: &Settings) -> Result<Self, Error> {
        let token_http = token_http::TokenHttp::new(settings.token_timeout, &settings.user_agent)
            .map_err(|e| Error::HttpClient(Box::new(e)))?;
        let cache = Arc::new(CachedStore::new(store, settings.cache_ttl));
        Ok(Self {
            store: cache.clone(),
            cache,
            token_http,
            holder: format!(
                "{}-{:016x}",
                std::process::id(),
                rand::rng().random::<u64>()
            ),
            flights: Mutex::new(HashMap::new()),
            unsaved: keep::UnsavedTokens::default(),
        })
    }
}
